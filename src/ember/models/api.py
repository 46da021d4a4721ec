"""``ModelsAPI``: the ``models`` object users call (see ``ember.api.models``)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

from ember.models.binding import ModelBinding
from ember.models.registry import ProviderRegistry, ProviderSource, default_registry
from ember.models.response import Response

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
            InvalidParamsError: bad prompt or parameters.
            The SDK's own error when the provider fails after retries.
        """
        return ModelBinding(model_id, registry=self.registry)(prompt, **params)

    def instance(self, model_id: str, **defaults: Any) -> ModelBinding:
        """A reusable binding of ``model_id`` with default parameters.

        Example:
            >>> terse = models.instance("simulated/demo", max_tokens=2)
            >>> len(terse("Say something long").usage.__dict__)
            3
        """
        return ModelBinding(model_id, registry=self.registry, **defaults)

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
