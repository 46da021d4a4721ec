"""Consulting the result cache in the caller before an op is shipped to another process.

The active result cache is a setting of the calling thread (``scope``), which worker
processes cannot see. An executor that ships ops (the Dask executor) calls
``plan_shipping`` in the caller for each submitted op: a hit is answered at once and
nothing is shipped; a miss ships the op's body without its cache step (its retries and
timeout still run on the worker), and the plan's ``keep`` stores the result in the
caller's store when it comes back.

Calls of one key that run at once take part in the key's flight (``flights``), here in
the caller, as they do on the thread engine: the first is shipped, and the others wait
for it without holding a thread (``ShippingPlan.follow``), then read its stored value,
a hit, as a later call in plain Python would (``[sample(p) for _ in range(3)]`` under a
cache gives one value three times, and pays once). If the first fails, or its result
cannot be stored, each of the others is shipped itself.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from ember.xcs.cache.counters import record
from ember.xcs.cache.flights import Flight
from ember.xcs.cache.store import MISSING
from ember.xcs.policies import _Policies, _PolicyCall
from ember.xcs.policy_runs import async_body

__all__ = ["ShippingPlan", "plan_shipping"]


@dataclass(frozen=True)
class ShippingPlan:
    """What an executor that ships ops elsewhere does about the result cache.

    Attributes:
        value: the cached result (a hit: ship nothing), or ``MISSING``.
        ship: the callable to send instead of the one submitted (same arguments): the
            op's body with its retries and timeout but without the cache step.
        keep: a ``Future`` done-callback that stores a successful result in the
            caller's store (register it before anyone else sees the future, and only
            on a future that ships: it also tells the calls following this one that it
            is done, so a call that is not shipped after all must cancel its future).
        follow: ``None``, or (another call of the key is running) a function to call
            with ``then(value, error)`` instead of shipping: ``then`` is called once
            that call is done, on the thread that finished it, with the value read
            from the store (a hit, counted), or ``MISSING`` (a miss, counted: ship it
            now, with ``keep``), or the error the store raised.
    """

    value: Any
    ship: Callable[..., Any]
    keep: Callable[[Future[Any]], None]
    follow: Callable[[Callable[[Any, BaseException | None], None]], None] | None = None


def _policy_body(body: Any) -> tuple[_Policies, Callable[[_Policies], Any]] | None:
    """The cache-enabled policy layer of an op body, and how to rebuild the body."""
    if isinstance(body, types.MethodType):
        found = _policy_body(body.__func__)
        if found is None:
            return None
        layer, rebuild = found
        owner = body.__self__
        return layer, lambda new: types.MethodType(rebuild(new), owner)
    if isinstance(body, _PolicyCall):
        fn = body.fn
        return body.layer, lambda new: _PolicyCall(new, fn)
    marked = getattr(body, "__xcs_policies__", None)
    if isinstance(marked, tuple):
        layer, afn = marked
        return layer, lambda new: async_body(new, afn)
    return None


def plan_shipping(fn: Callable[..., Any], args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> ShippingPlan | None:
    """Consult the result cache in the caller before ``fn`` is shipped to another process.

    ``fn(*args, **kwargs)`` is what the engine hands an executor for an op:
    ``op.invoke(op_args, op_kwargs)``. Call this in the calling process, in the
    calling context (where ``Config(result_cache=...)`` or ``cache.use(...)`` is
    active); the store is found, the key made and the lookup counted here.

    Args:
        fn: the submitted callable.
        args: its positional arguments.
        kwargs: its keyword arguments.

    Returns:
        ``None`` when ``fn`` is not an op with a cache step or no store applies (ship
        ``fn`` as it is); otherwise a ``ShippingPlan``.

    Raises:
        ConfigError: the store is refused (``Presets.SECURE`` and a persistent store).
        UncacheableError: an argument has no canonical form for the key.
    """
    from ember.xcs.ops import Op

    op = getattr(fn, "__self__", None)
    if not isinstance(op, Op) or getattr(fn, "__name__", None) != "invoke" or kwargs:
        return None
    found = _policy_body(op.fn)
    if found is None or found[0].identity is None or len(args) != 2:
        return None
    layer, rebuild = found
    op_args, op_kwargs = args
    store, key, value, flight = layer.lookup(tuple(op_args), dict(op_kwargs))
    if store is None:
        return None
    uncached = Op(rebuild(layer.without_cache()), name=op.name, kind=op.kind)
    leading = flight if flight is not None and flight.leader else None
    follow = None
    if flight is not None and not flight.leader:
        follow = functools.partial(_follow, layer.name, flight, store, key)
    elif leading is not None:
        layer.followed(leading, store, key)  # counts the miss; a leader never waits

    def keep(future: Future[Any]) -> None:
        kept = MISSING
        try:
            if not future.cancelled() and future.exception() is None:
                result = future.result()
                if layer.keep(store, key, result):
                    kept = result
        finally:
            if leading is not None:
                leading.land(kept)  # after the store: its followers read it there

    return ShippingPlan(value, uncached.invoke, keep, follow)


def _follow(name: str, flight: Flight, store: Any, key: str,
            then: Callable[[Any, BaseException | None], None]) -> None:
    """Call ``then`` once the running call of ``key`` is done (see ``ShippingPlan``)."""

    def landed(value: Any) -> None:
        error: BaseException | None = None
        if value is not MISSING:
            try:
                value = store.get(key)  # a copy of its own, as a later plain call's hit
            except Exception as raised:
                value, error = MISSING, raised
        if error is None:
            record(name, "misses" if value is MISSING else "hits")
        then(value, error)

    flight.on_land(landed)
