"""``ModelsAPI``: the ``models`` object users call (see ``ember.api.models``)."""

from __future__ import annotations

import builtins
from collections.abc import Coroutine, Iterable
from typing import Any

from ember.models.binding import ModelBinding
from ember.models.catalog import describe_models
from ember.models.model_op import awaited_call, coroutine_function
from ember.models.ratelimit import RateLimit
from ember.models.registry import ProviderRegistry, ProviderSource, default_registry
from ember.models.response import ModelInvocation, Response
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

    def response(self, model_id: str, prompt: Any, **params: Any) -> Response:
        """pyember's spelling of a call that returns the structured reply.

        Our ``models(...)`` already returns the ``Response`` (a ``str`` with
        ``.text``, ``.usage``, ``.model_id``, ``.metadata`` ...), so this is the same
        call: an XCS op, lazy and concurrent under ``@jit``.

        Raises:
            As ``models(...)``.

        Example:
            >>> reply = models.response("simulated/demo", "What is 2 + 2?")
            >>> reply.model_id, reply.metadata["provider"], reply.usage["total_tokens"] > 0
            ('simulated/demo', 'simulated', True)
        """
        return self(model_id, prompt, **params)

    def with_metadata(self, model_id: str, prompt: Any, **params: Any) -> ModelInvocation:
        """Call the model and return the text beside the whole ``Response``.

        Returns:
            A ``ModelInvocation`` with ``.text``, ``.response``, and ``.usage``,
            ``.model_id``, ``.latency_ms``, ``.metadata`` read from the response.

        Raises:
            As ``models(...)``.

        Example:
            >>> result = models.with_metadata("simulated/demo", "hi")
            >>> result.text == result.response.text, result.metadata["model_id"]
            (True, 'simulated/demo')
        """
        reply = self(model_id, prompt, **params)
        return ModelInvocation(text=reply.text, response=reply)

    @coroutine_function
    def acall(self, model_id: str, prompt: Any, **params: Any) -> Coroutine[Any, Any, Response]:
        """``models(...)`` for async code: ``await models.acall(model_id, prompt)``.

        In plain ``async def`` code it awaits the provider's async client on the
        caller's loop. In ``@jit async def`` code it is an op call, as an ``async def``
        op's: the call starts at once and the ``await`` does not wait, so awaited calls
        run concurrently. Errors (an unknown model included) are raised at the ``await``.

        Example:
            >>> import asyncio
            >>> asyncio.run(models.acall("simulated/demo", "hi")) == models("simulated/demo", "hi")
            True
        """
        return awaited_call(lambda: self.registry.call_target(model_id)[1], prompt, params)

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

    def list(self, provider: str | None = None) -> builtins.list[str]:
        """The ``provider/model`` ids the registered providers know, sorted by provider.

        Args:
            provider: only this provider's models (default: all providers').

        Raises:
            ProviderNotFoundError: ``provider`` is not registered (the message lists
                the registered ones).
            InvalidParamsError: ``provider`` is not a str.

        Example:
            >>> models.list("openai")[:2]
            ['openai/gpt-4o', 'openai/gpt-4o-mini']
        """
        return self.registry.list_models(provider)

    def discover(self, provider: str | None = None) -> dict[str, dict[str, Any]]:
        """What the registry knows about each model ``list`` gives, keyed by its id.

        No request is sent: the facts come from the registered providers. Each entry
        has ``provider``, ``model``, ``simulated``, ``parameters`` (the call parameters
        the provider accepts), ``max_concurrency`` and ``base_url``.

        Args:
            provider: only this provider's models (default: all providers').

        Raises:
            As ``list``.

        Example:
            >>> facts = models.discover("ollama")["ollama/llama3.2:1b"]
            >>> facts["base_url"], "temperature" in facts["parameters"]
            ('http://localhost:11434/v1', True)
        """
        return describe_models(self.registry, provider)

    def providers(self) -> builtins.list[str]:
        """The registered provider names."""
        return self.registry.names()

    def register_provider(
        self,
        name: str,
        provider: ProviderSource,
        *,
        model_prefixes: str | Iterable[str] | None = None,
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
