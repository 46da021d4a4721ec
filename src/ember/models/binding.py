"""``ModelBinding``: a model id with default parameters, callable with a prompt."""

from __future__ import annotations

from collections.abc import Coroutine
from types import MappingProxyType
from typing import Any

from ember.models._checks import check_instance
from ember.models.model_op import ModelOp, awaited_call, coroutine_function, model_op
from ember.models.providers import Provider
from ember.models.ratelimit import RateLimit
from ember.models.registry import ProviderRegistry, default_registry
from ember.models.response import ModelInvocation, Response
from ember.models.stream import AsyncModelStream, ModelStream

__all__ = ["ModelBinding"]


class ModelBinding:
    """A reusable handle on one model: ``binding(prompt, **params)``.

    The model id and the defaults are checked when the binding is made. Each call is
    an XCS op: under ``@jit`` it returns at once and runs concurrently with other
    calls (awaited on the engine's event loop); outside a trace it runs now and
    returns the ``Response``.

    Args:
        model_id: ``provider/model`` or a bare name a provider claims.
        registry: where providers are looked up.
        rate_limit: a requests/tokens-per-minute budget for the calls made through
            this binding (on top of the provider's own, if any).
        cache: the result-cache setting of this binding's calls: ``None`` (default:
            cached exactly when the caller turned a result cache on), ``True``
            (always), ``False`` (never), or a path or store (see docs/caching.md).
        **defaults: parameters for every call (a call's own parameters win).

    Raises:
        ModelNotFoundError, ProviderNotFoundError: the id does not resolve.
        InvalidParamsError: a default is unknown to the provider or out of range, or
            ``rate_limit`` is not a ``RateLimit``.

    Example:
        >>> from ember.models.registry import default_registry
        >>> judge = ModelBinding("simulated/judge", registry=default_registry(), temperature=0)
        >>> judge("Is water wet? Answer with one of: yes, no").simulated
        True
    """

    def __init__(
        self,
        model_id: str,
        *,
        registry: ProviderRegistry,
        rate_limit: RateLimit | None = None,
        cache: Any = None,
        **defaults: Any,
    ) -> None:
        check_instance("ModelBinding", "rate_limit", rate_limit, RateLimit)
        self.provider_name, self.model = registry.resolve(model_id)
        self.model_id = f"{self.provider_name}/{self.model}"
        self.defaults = MappingProxyType(dict(defaults))
        self.rate_limit = rate_limit
        self.cache = cache
        self._limits = (rate_limit,) if rate_limit is not None else ()
        self._registry = registry
        self._own_op: tuple[Provider, ModelOp] | None = None
        provider = registry.provider(self.provider_name)
        provider.validate(self.model_id, self.defaults)
        if rate_limit is not None or cache is not None:
            self._own_op = (provider, self._build_op(provider))  # checks ``cache`` now

    @property
    def params(self) -> MappingProxyType[str, Any]:
        """pyember's name for ``defaults``: the parameters bound for every call."""
        return self.defaults

    def _provider(self) -> Provider:
        provider = self._registry.provider(self.provider_name)
        provider.prepare()
        return provider

    def _build_op(self, provider: Provider) -> ModelOp:
        return model_op(
            self.provider_name, provider, self.model, rate_limits=self._limits, cache=self.cache
        )

    def _op(self) -> ModelOp:
        """The op of a call: the registry's (after ``prepare``), or this binding's own."""
        if self.rate_limit is None and self.cache is None:
            return self._registry.call_target(self.model_id)[1]
        provider = self._provider()
        # A binding with its own budget or cache setting has its own op, rebuilt if the
        # provider was replaced.
        own = self._own_op
        if own is None or own[0] is not provider:
            own = (provider, self._build_op(provider))
            self._own_op = own
        return own[1]

    def _params(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**self.defaults, **params} if self.defaults else params

    def __call__(self, prompt: Any, **params: Any) -> Response:
        result: Response = self._op()(prompt, **self._params(params))
        return result

    def response(self, prompt: Any, **params: Any) -> Response:
        """pyember's spelling of a call that returns the ``Response`` (the same call).

        Example:
            >>> from ember.models.registry import default_registry
            >>> ModelBinding("simulated/demo", registry=default_registry()).response("hi").model_id
            'simulated/demo'
        """
        return self(prompt, **params)

    def with_metadata(self, prompt: Any, **params: Any) -> ModelInvocation:
        """Call the model; the text beside the whole ``Response`` (``ModelInvocation``).

        Example:
            >>> from ember.models.registry import default_registry
            >>> binding = ModelBinding("simulated/demo", registry=default_registry())
            >>> binding.with_metadata("hi").model_id
            'simulated/demo'
        """
        reply = self(prompt, **params)
        return ModelInvocation(text=reply.text, response=reply)

    @coroutine_function
    def acall(self, prompt: Any, **params: Any) -> Coroutine[Any, Any, Response]:
        """Call the model from async code: ``await binding.acall(prompt)``.

        In plain ``async def`` code (a web handler, an agent loop) every wait is an
        ``await`` on the caller's loop. In ``@jit async def`` code it is an op call, as
        an ``async def`` op's: it starts at once and the ``await`` does not wait, so
        awaited calls run concurrently.

        Example:
            >>> import asyncio
            >>> from ember.models.registry import default_registry
            >>> binding = ModelBinding("simulated/demo", registry=default_registry())
            >>> asyncio.run(binding.acall("hi")) == binding("hi")
            True
        """
        return awaited_call(self._op, prompt, self._params(params))

    def stream(self, prompt: Any, **params: Any) -> ModelStream:
        """Stream the reply: iterate the text chunks, then read ``.response``.

        Raises:
            InvalidParamsError: bad prompt or parameters (at once).
        """
        provider = self._provider()
        return provider.stream(
            self.provider_name, self.model, prompt, self._params(params), rate_limits=self._limits
        )

    def astream(self, prompt: Any, **params: Any) -> AsyncModelStream:
        """``stream`` for ``async for``; the request starts when first awaited."""
        provider = self._provider()
        return provider.astream(
            self.provider_name, self.model, prompt, self._params(params), rate_limits=self._limits
        )

    def __reduce__(self) -> tuple[Any, ...]:
        """A pickled binding is made again where it is loaded: the same model id,
        defaults, ``rate_limit`` and ``cache``, looked up in the process-wide registry.

        Raises:
            TypeError: the binding is of a registry of its own, whose providers hold
                API keys and connections, which a pickle must not carry.
        """
        if self._registry is not default_registry():
            raise TypeError(
                f"{self!r} is of a registry of its own and does not pickle: its providers "
                "hold API keys and connections. Pickle a binding of the default registry "
                "(models.instance(...)), or make the binding again where it is loaded "
                "(copy.copy and copy.deepcopy keep the registry).")
        return (_rebuilt, (self.model_id, None, self.rate_limit, self.cache,
                           dict(self.defaults)))

    def __copy__(self) -> ModelBinding:
        return _rebuilt(self.model_id, self._registry, self.rate_limit, self.cache,
                        dict(self.defaults))

    def __deepcopy__(self, memo: dict[int, Any]) -> ModelBinding:
        """A copy calls the same model through the same registry and shares the
        ``rate_limit`` budget (a budget of the account, not of one object)."""
        return self.__copy__()

    def __repr__(self) -> str:
        settings = "".join(f", {key}={value!r}" for key, value in self.defaults.items())
        limit = f", rate_limit={self.rate_limit!r}" if self.rate_limit is not None else ""
        cache = f", cache={self.cache!r}" if self.cache is not None else ""
        return f"ModelBinding({self.model_id!r}{settings}{limit}{cache})"


def _rebuilt(model_id: str, registry: ProviderRegistry | None, rate_limit: RateLimit | None,
             cache: Any, defaults: dict[str, Any]) -> ModelBinding:
    """The binding a pickle or a copy stands for (``ModelBinding.__reduce__``)."""
    return ModelBinding(model_id, registry=registry or default_registry(),
                        rate_limit=rate_limit, cache=cache, **defaults)
