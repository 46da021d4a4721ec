"""The XCS op that calls one model: a sync body with an async twin.

``model_op`` builds the op named ``llm[model]`` that ``ProviderRegistry.op_for`` caches
and ``ModelBinding`` calls: its body is ``Provider.complete`` (outside a trace the call
runs now, in the caller's thread) and its ``async_fn`` is ``Provider.acomplete`` (under
``@jit`` the engine awaits it on its event loop, no thread per call); its
``max_concurrency`` and ``limit_key`` carry the provider's cap to the engine.

``ModelOp.acall`` is what ``await models.acall(...)`` awaits. Outside a trace it is the
async twin's coroutine. In ``@jit async def`` glue it is a call of the same model as an
``async def`` op (same name, same cap): the op starts at the call and awaiting it does
not wait, so awaited model calls overlap and are counted, explained and traced as ops.
"""

from __future__ import annotations

import asyncio
import asyncio.coroutines
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ember.models._slots import limit_key
from ember.models._text import shorten
from ember.models.errors import ModelError
from ember.models.providers import Provider
from ember.models.ratelimit import RateLimit
from ember.models.response import Response
from ember.xcs import Op

__all__ = ["ModelOp", "awaited_call", "coroutine_function", "model_op"]

F = TypeVar("F", bound=Callable[..., Any])


def coroutine_function(method: F) -> F:
    """Mark ``method`` (which returns a coroutine) as a coroutine function, as an
    ``async def`` is, for ``asyncio.iscoroutinefunction`` and (3.12+) ``inspect``'s:
    frameworks choose how to call a handler by them."""
    method._is_coroutine = asyncio.coroutines._is_coroutine  # type: ignore[attr-defined]
    getattr(inspect, "markcoroutinefunction", id)(method)
    return method


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
        return await self.start(prompt, **params)

    def start(self, prompt: object, **params: Any) -> Coroutine[Any, Any, Response]:
        """``acall``'s coroutine without a frame of its own (what the policy layer awaits)."""
        return self.provider.acomplete(
            self.provider_name, self.model, prompt, params, rate_limits=self.rate_limits
        )


class ModelOp(Op):
    """The op of one model (see ``model_op``), with ``acall`` for ``await``.

    The op of a provider with a ``max_concurrency`` is a ``_CappedModelOp``, whose call
    first checks the cap; any other is called as an ``Op`` is, with no frame of its own
    (every model call under ``@jit`` goes through it).
    """

    def __new__(cls, body: _ModelCall | None = None, /, **settings: Any) -> ModelOp:
        if (cls is ModelOp and body is not None
                and getattr(body.provider, "_slots", None) is not None):
            cls = _CappedModelOp
        made: ModelOp = super().__new__(cls)
        return made

    def __init__(self, body: _ModelCall, **settings: Any) -> None:
        # Under a policy layer (every model op but a binding's with ``cache=False``) the
        # layer's coroutine awaits the provider's directly: one frame less per call.
        twin = body.acall if settings.get("cache") is False else body.start
        super().__init__(body, async_fn=twin, **settings)
        assert self.async_fn is not None
        # The same call as an ``async def`` op (the policies are already in async_fn):
        # under ``@jit async def`` calling it gives the coroutine of an op call.
        self._awaited = Op(self.async_fn, name=self.name,
                           max_concurrency=self.max_concurrency, limit_key=self.limit_key)
        self._slots = getattr(body.provider, "_slots", None)  # the cap its body takes a slot of

    @coroutine_function
    def acall(self, prompt: object, **params: Any) -> Coroutine[Any, Any, Response]:
        """The call as a coroutine: the twin's, or an op call in ``@jit async def`` glue."""
        try:
            asyncio.get_running_loop()  # async code: the glue of a jitted ``async def``?
        except RuntimeError:  # synchronous code, a jitted ``def`` included: plain Python
            call = self.async_fn
        else:
            call = self._awaited
            if self._slots is not None:  # raised where awaited, as by ``Slots.aacquire``
                try:
                    self._slots.refuse_waiting_for_itself(asyncio.current_task(), "task")
                except ModelError as error:
                    return _raising(error)
        assert call is not None
        coroutine: Coroutine[Any, Any, Response] = call(prompt, **params)
        return coroutine


class _CappedModelOp(ModelOp):
    """The op of a model whose provider caps its concurrent calls (``Slots``)."""

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        """The call, as an op's; refused at once (also under ``@jit``, where it would
        not wait) when this thread holds every slot of the provider, as plain Python's
        call, which would wait for itself, is (see ``Slots``)."""
        if self._slots is not None:
            self._slots.refuse_waiting_for_itself(threading.get_ident(), "thread")
        return super().__call__(*args, **kwargs)


def awaited_call(
    find: Callable[[], ModelOp], prompt: object, params: dict[str, Any]
) -> Coroutine[Any, Any, Response]:
    """``find()``'s ``acall``; an error of ``find`` (an unknown model, a missing key) is
    raised where the coroutine is awaited, as from the body of an ``async def``."""
    try:
        model = find()
    except Exception as error:  # re-raised unchanged, where it is awaited
        return _raising(error)
    return model.acall(prompt, **params)


async def _raising(error: Exception) -> Any:
    raise error


def model_op(
    provider_name: str,
    provider: Provider,
    model: str,
    *,
    rate_limits: tuple[RateLimit, ...] = (),
    cache: Any = None,
) -> ModelOp:
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
    return ModelOp(
        _ModelCall(provider_name, provider, model, rate_limits),
        name=f"llm[{shorten(model, 80)}]",
        max_concurrency=provider.max_concurrency,
        limit_key=limit_key(provider_name),
        cache=cache,
    )
