"""The XCS op that calls one model: a sync body with an async twin.

``model_op`` builds the op named ``llm[model]`` that ``ProviderRegistry.op_for`` caches
and ``ModelBinding`` calls: its body is ``Provider.complete`` (outside a trace the call
runs now, in the caller's thread) and its ``async_fn`` is ``Provider.acomplete`` (under
``@jit`` the engine awaits it on its event loop, no thread per call); its
``max_concurrency`` and ``limit_key`` carry the provider's cap to the engine.
"""

from __future__ import annotations

from typing import Any

from ember.models._text import shorten
from ember.models.providers import Provider
from ember.models.ratelimit import RateLimit
from ember.models.response import Response
from ember.xcs import Op

__all__ = ["model_op"]


class _ModelCall:
    """The body of a model op: ``complete`` (sync) and ``acomplete`` (async) of one model."""

    __slots__ = ("model", "provider", "provider_name", "rate_limits")

    def __init__(
        self,
        provider_name: str,
        provider: Provider,
        model: str,
        rate_limits: tuple[RateLimit, ...],
    ) -> None:
        self.provider_name = provider_name
        self.provider = provider
        self.model = model
        self.rate_limits = rate_limits

    @property
    def __xcs_cache_identity__(self) -> str:
        """What the result cache keys this model's replies by (besides the arguments)."""
        return f"model:{self.provider_name}/{self.model}|{self.provider.cache_identity()}"

    def __call__(self, prompt: object, **params: Any) -> Response:
        return self.provider.complete(
            self.provider_name, self.model, prompt, params, rate_limits=self.rate_limits
        )

    async def acall(self, prompt: object, **params: Any) -> Response:
        return await self.provider.acomplete(
            self.provider_name, self.model, prompt, params, rate_limits=self.rate_limits
        )


def model_op(
    provider_name: str,
    provider: Provider,
    model: str,
    *,
    rate_limits: tuple[RateLimit, ...] = (),
    cache: Any = None,
) -> Op:
    """The XCS op that calls ``model`` on ``provider`` (sync body, async twin).

    Args:
        provider_name: the name the provider is registered under.
        provider: the provider.
        model: the model name within the provider.
        rate_limits: budgets to respect besides the provider's own (a binding's).
        cache: the op's result-cache setting: ``None`` (default: cached exactly when
            the caller turned a result cache on, ``Config(result_cache=...)``),
            ``True`` (always), ``False`` (never), or a path or store.

    Returns:
        An op named ``llm[model]`` carrying the provider's ``max_concurrency``; its
        cache identity is the provider, the model and where the provider sends
        requests (``base_url``), so replies of different servers never mix.

    Example:
        >>> from ember.models.providers import SimulatedProvider
        >>> call = model_op("simulated", SimulatedProvider(), "demo")
        >>> call.name, call("hi").model_id
        ('llm[demo]', 'simulated/demo')
    """
    body = _ModelCall(provider_name, provider, model, rate_limits)
    # ``Op(...)`` is what ``xcs.op(body, name=..., ...)`` builds; the class is typed for it.
    return Op(
        body,
        name=f"llm[{shorten(model, 80)}]",
        max_concurrency=provider.max_concurrency,
        limit_key=("provider", provider_name),
        async_fn=body.acall,
        cache=cache,
    )
