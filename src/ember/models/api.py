"""``ModelsAPI``: the ``models`` object users call (see ``ember.api.models``)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

from ember.models.binding import ModelBinding
from ember.models.ratelimit import RateLimit
from ember.models.registry import ProviderRegistry, ProviderSource, default_registry
from ember.models.response import Response
from ember.models.stream import AsyncModelStream, ModelStream

__all__ = ["ModelsAPI", "models"]


class ModelsAPI:
    """Call models by id, bind settings, list models and register providers.

    Args:
        registry: the provider registry to use (default: the process-wide one).

    Example:
        >>> reply = models("simulated/demo", "What is XCS?")
        >>> reply.simulated, reply.model_id, reply.usage.total_tokens > 0
        (True, 'simulated/demo', True)
    """

    def __init__(self, registry: ProviderRegistry | None = None) -> None:
        self.registry = registry if registry is not None else default_registry()

    def __call__(self, model_id: str, prompt: Any, **params: Any) -> Response:
        """Call ``model_id`` with ``prompt``: an XCS op, lazy and concurrent under ``@jit``.

        Args:
            model_id: ``provider/model`` (``openai/gpt-4o``, ``simulated/a``) or a bare
                name (``gpt-4o``, ``claude-sonnet-4-5``).
            prompt: a str, or a list of ``{"role", "content"}`` messages.
            **params: ``temperature``, ``max_tokens``, ``system``, ... (per provider).

        Returns:
            The reply: a ``str`` with ``.text``, ``.usage``, ``.model_id``,
            ``.provider`` and ``.simulated``.

        Raises:
            ModelNotFoundError, ProviderNotFoundError: the id does not resolve.
            MissingAPIKeyError, MissingDependencyError: the provider cannot start.
            InvalidParamsError: bad prompt or parameters (with a "did you mean").
            ProviderError: an unusable reply (``MalformedResponseError``), a simulated
                failure, ...; the message starts with the model id.
            The SDK's own error when the provider fails after retries.
        """
        result: Response = self.registry.call_target(model_id)[1](prompt, **params)
        return result

    async def acall(self, model_id: str, prompt: Any, **params: Any) -> Response:
        """``models(...)`` for plain async code: awaits the provider's async client.

        Under ``@jit`` call ``models(...)`` itself: the engine awaits the same async
        path on its event loop.

        Example:
            >>> import asyncio
            >>> asyncio.run(models.acall("simulated/demo", "hi")) == models("simulated/demo", "hi")
            True
        """
        async_call = self.registry.call_target(model_id)[1].async_fn
        assert async_call is not None  # every model op has its async twin
        result: Response = await async_call(prompt, **params)
        return result

    def stream(self, model_id: str, prompt: Any, **params: Any) -> ModelStream:
        """Stream a reply: iterate its text chunks, then read ``.response``.

        Under ``@jit`` a stream is consumed in the glue like any iterator: it waits
        for a lazy prompt (a barrier) and runs in program order.

        Returns:
            A ``ModelStream``: an iterator of ``str`` chunks; once exhausted its
            ``.response`` is the full ``Response`` with usage.

        Raises:
            As ``models(...)``; bad arguments at once, provider errors while iterating.

        Example:
            >>> stream = models.stream("simulated/demo", "What is XCS?")
            >>> text = "".join(stream)
            >>> text == stream.response.text, stream.response.usage.total_tokens > 0
            (True, True)
        """
        return ModelBinding(model_id, registry=self.registry).stream(prompt, **params)

    def astream(self, model_id: str, prompt: Any, **params: Any) -> AsyncModelStream:
        """``stream`` for ``async for`` (see ``AsyncModelStream``)."""
        return ModelBinding(model_id, registry=self.registry).astream(prompt, **params)

    def instance(
        self,
        model_id: str,
        *,
        rate_limit: RateLimit | None = None,
        cache: Any = None,
        **defaults: Any,
    ) -> ModelBinding:
        """A reusable binding of ``model_id`` with default parameters.

        Args:
            model_id: ``provider/model`` or a bare name.
            rate_limit: a requests/tokens-per-minute budget for this binding's calls.
            cache: result-cache setting (default ``None``: cached when the caller
                turned a result cache on; ``True``, ``False``, or a path or store).
            **defaults: parameters for every call (a call's own parameters win).

        Example:
            >>> terse = models.instance("simulated/demo", max_tokens=2)
            >>> len(terse("Say something long").usage.__dict__)
            3
        """
        return ModelBinding(
            model_id, registry=self.registry, rate_limit=rate_limit, cache=cache, **defaults
        )

    def list(self) -> list[str]:
        """The ``provider/model`` ids the registered providers know, sorted by provider."""
        return self.registry.list_models()

    def providers(self) -> builtins.list[str]:
        """The registered provider names."""
        return self.registry.names()

    def register_provider(
        self, name: str, provider: ProviderSource, *, model_prefixes: Iterable[str] | None = None
    ) -> None:
        """Register or replace a provider (see ``ProviderRegistry.register``).

        Example:
            >>> from ember.models.providers import SimulatedProvider
            >>> models.register_provider("slow", SimulatedProvider(latency=0.01))
            >>> models("slow/echo", "hi").provider
            'slow'
        """
        self.registry.register(name, provider, model_prefixes=model_prefixes)


models = ModelsAPI()
