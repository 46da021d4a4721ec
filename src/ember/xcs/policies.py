"""Op policies: result caching, retries and a timeout around an op's body.

``op(fn, cache=..., version=..., retries=..., timeout=...)`` wraps ``fn`` (and its
``async_fn`` twin) in one policy layer, in this order:

1. **cache** — look the call up in the result cache (see ``ember.xcs.cache``); a hit
   returns the stored value without running the body;
2. **retries** — run the body; when it raises an ``Exception`` (but not a
   ``ConfigError`` or ``UncacheableError``: retrying cannot cure those) try again, with
   the backoff of an ``ember.models.RetryPolicy`` (``retries=3``: up to 3 more attempts);
3. **timeout** — each attempt may take at most ``timeout`` seconds, then it fails with
   ``XCSTimeoutError`` (a ``TimeoutError``, retried like any other failure; a
   ``TimeoutError`` the body raises itself stays the body's error). A
   coroutine attempt is cancelled; a synchronous body cannot be stopped from outside,
   so it runs in a helper thread that is abandoned: it finishes in the background and
   its result is dropped;
4. a successful result is stored in the cache (exceptions never are).

While one call of a key is computing its value, a second call of the same key (under
``@jit`` both may run at once) waits for it and takes its value, as the second call
would have been a hit in plain Python; if the first fails, the second runs itself. A
synchronous call never waits on a thread that runs an event loop (the first call may be
a coroutine on that loop): it runs the body itself.

Under ``@jit`` the whole layer runs inside the op's node: a node's duration includes
its retries, and a cache hit makes a node that takes microseconds.

**Ops shipped to other processes.** The active result cache is a setting of the calling
thread (a context variable), which other processes cannot see: a process forked earlier
holds a stale copy of it, a Dask worker none. So a policy layer that was pickled and
loaded elsewhere never reads the settings of the process it lands in. An executor that
ships ops consults the cache in the caller instead (``ember.xcs.cache.shipping``; the Dask executor
does): a hit is never shipped, a miss ships the body without the cache step, and the
result is stored in the caller's store when it comes back. Without that step (the
engine's ``executor="process"`` pool) only a store named on the op (``cache="path"``)
is used in the worker; ``cache=True`` and ``cache=None`` ops run uncached there.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from ember.xcs.cache.counters import record
from ember.xcs.cache.flights import Flight
from ember.xcs.cache.identity import BoundValues, op_identity
from ember.xcs.cache.keys import UncacheableError, result_key
from ember.xcs.cache.scope import active, store_for
from ember.xcs.cache.store import MISSING
from ember.xcs.config import check_result_cache, check_timeout
from ember.xcs.engine.processes import named, register_later
from ember.xcs.errors import ConfigError, XCSTimeoutError
from ember.xcs.policy_runs import async_body
from ember.xcs.timeouts import call_with_timeout

__all__ = ["call_with_timeout", "retry_policy", "with_policies"]

_logger = logging.getLogger("ember.xcs")


def retry_policy(retries: Any) -> Any:
    """The ``RetryPolicy`` for an op's ``retries=`` setting (``None`` for no retries).

    Args:
        retries: ``None`` or ``0`` (no retries), a number of extra attempts, or an
            ``ember.models.RetryPolicy``.

    Raises:
        ConfigError: anything else.

    Example:
        >>> retry_policy(2).max_attempts
        3
    """
    from ember.models.retry import RetryPolicy

    if retries is None or isinstance(retries, RetryPolicy):
        return retries
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigError(
            f"op(retries=...) must be a number of extra attempts (an int >= 0) or an "
            f"ember.models.RetryPolicy, got {type(retries).__name__} {retries!r}."
        )
    return RetryPolicy(max_attempts=retries + 1) if retries else None


def _check_cache(cache: Any, version: Any, effect: bool) -> None:
    if cache is not True and cache is not None and cache is not False:
        check_result_cache("op(cache=...)", cache)
    if effect and cache is not False:
        raise ConfigError(
            "op(cache=...) cannot be used with effect=True: an effect op runs for its side "
            "effect, which a cache hit would skip. Drop cache=, or split the effect out."
        )
    if version is not None and (not isinstance(version, str) or not version.strip()):
        raise ConfigError(f"op(version=...) must be a non-empty str, got {version!r}.")
    if version is not None and cache is False:
        raise ConfigError(
            "op(version=...) only names the cached results of an op; add cache=True (or "
            "cache=<path or store>), or drop version=."
        )


def with_policies(
    fn: Callable[..., Any],
    async_fn: Callable[..., Any] | None,
    *,
    name: str,
    effect: bool = False,
    cache: Any = False,
    version: str | None = None,
    retries: Any = None,
    timeout: float | None = None,
) -> tuple[Callable[..., Any], Callable[..., Any] | None]:
    """``(fn, async_fn)`` wrapped in the policy layer (see the module docstring).

    Args:
        fn: the op's body.
        async_fn: its ``async def`` twin, or ``None``.
        name: the op's display name (for messages and counters).
        effect: whether the op is an effect op (those cannot be cached).
        cache: ``False`` (off), ``True`` (the active result cache, else the default
            file), ``None`` (the active result cache only: meant for model calls), or a
            path or store (always that one).
        version: pins the op's cache identity instead of its code fingerprint.
        retries: extra attempts (int) or an ``ember.models.RetryPolicy``.
        timeout: seconds one attempt may take.

    Returns:
        The wrapped pair; both share one cache identity (taken from ``fn``), so plain
        calls and calls under ``@jit`` find each other's results.

    Raises:
        ConfigError: a setting is invalid or the combination makes no sense.
        UncacheableError: ``cache`` is on and the op has no stable identity.
    """
    _check_cache(cache, version, effect)
    policy = retry_policy(retries)
    check_timeout("op(timeout=...)", timeout)
    identity = None
    if cache is not False:
        named, base = op_identity(fn, version)
        identity = (named, BoundValues(fn, base, pinned=version is not None))
    layer = _Policies(name, cache, identity, policy, timeout)
    is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    )
    wrapped = async_body(layer, fn) if is_async else _PolicyCall(layer, fn)
    return wrapped, (async_body(layer, async_fn) if async_fn is not None else None)


class _Policies:
    """The settings of one op's policy layer, and the steps both wrappers share."""

    __slots__ = ("cache", "identity", "name", "policy", "shipped", "timeout")

    def __init__(self, name: str, cache: Any, identity: tuple[str, BoundValues] | None,
                 policy: Any, timeout: float | None, origin: int | None = None) -> None:
        self.name = name
        self.cache = cache
        self.identity = identity
        self.policy = policy
        self.timeout = timeout
        # Loaded from a pickle made in another process: the cache settings of this one
        # (a forked copy of some earlier caller's, or none) are not the caller's.
        self.shipped = origin is not None and origin != os.getpid()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Policies, (self.name, self.cache, self.identity, self.policy, self.timeout,
                            os.getpid()))

    def without_cache(self) -> _Policies:
        """The same retries and timeout, no cache step (for a body shipped after a miss)."""
        return _Policies(self.name, False, None, self.policy, self.timeout)

    def passes_through(self) -> bool:
        """Whether a call now would only await the body: no retries, no timeout, and no
        store to look in (``cache=None`` with no result cache in use: a model call)."""
        if self.policy is not None or self.timeout is not None:
            return False
        return self.identity is None or (self.cache is None
                                         and (self.shipped or active().store is None))

    def lookup(self, args: tuple[Any, ...], kwargs: dict[str, Any]
               ) -> tuple[Any, str, Any, Flight | None]:
        """``(store, key, value, flight)``: the value is ``MISSING`` on a miss or with no
        store; on a miss, ``flight`` is this call's, or another running call's of the key."""
        if self.identity is None:
            return None, "", MISSING, None
        if self.shipped and (self.cache is True or self.cache is None):
            _uncached_in_worker(self)
            return None, "", MISSING, None
        store = store_for(self.cache, self.name)
        if store is None:
            return None, "", MISSING, None
        identity, bound = self.identity
        key = result_key(identity, bound.version(), args, kwargs)
        value = store.get(key)
        if value is not MISSING:
            record(self.name, "hits")
            return store, key, value, None
        return store, key, MISSING, Flight.join(store, key)

    def followed(self, flight: Flight | None, store: Any, key: str) -> Any:
        """The value another running call of the key computed (a hit), or ``MISSING``
        when this call computes it (a miss): it leads the flight, or the leader failed,
        or its result could not be stored, or this synchronous call runs on an event
        loop's thread, where waiting could stop the leader itself (``Flight.wait``).

        A hit is read from the store once the leader has stored it, so each call gets
        its own object, as the later call in plain Python would (a hit, never the
        leader's object); a result that could not be stored is computed again, as
        plain Python's second call would."""
        if flight is None:
            return MISSING
        if not flight.leader and flight.wait() is not MISSING:
            value = store.get(key)
            if value is not MISSING:
                record(self.name, "hits")
                return value
        record(self.name, "misses")
        return MISSING

    def keep(self, store: Any, key: str, value: Any) -> bool:
        """Store a fresh result (``True``: stored). Storing never fails the call: a result
        that cannot be pickled (whatever pickling raises: a ``__reduce__`` may raise
        anything, a deep structure ``RecursionError``) or that the store refuses is not kept."""
        if store is None:
            return False
        try:
            store.put(key, self.name, value)
        except Exception as error:  # the body succeeded: its result is the call's
            record(self.name, "unstorable")
            _logger.warning("ember.xcs result cache: the result of op %s cannot be stored "
                            "(%s: %s); it is returned but not cached", self.name,
                            type(error).__name__, error)
            return False
        record(self.name, "writes")
        return True

    def retryable(self, error: BaseException) -> bool:
        return not isinstance(error, ConfigError | UncacheableError)

    def timed_out(self) -> XCSTimeoutError:
        return XCSTimeoutError(
            f"op {self.name} did not finish within timeout={self.timeout} s. Raise "
            "op(timeout=...), or add retries=... if a slow attempt is a transient fault."
        )


class _PolicyCall:
    """The synchronous body with its policies (picklable when the body is)."""

    def __init__(self, layer: _Policies, fn: Callable[..., Any]) -> None:
        self.layer = layer
        self.fn = fn
        self.__xcs_policies__ = (layer, fn)  # as on the async body: Op.body reads it
        functools.update_wrapper(self, fn, updated=())

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        layer = self.layer
        store, key, value, flight = layer.lookup(args, kwargs)
        if value is not MISSING:
            return value
        value = layer.followed(flight, store, key)
        if value is not MISSING:
            return value
        try:
            if layer.policy is None:
                value = self._attempt(args, kwargs)
            else:
                value = layer.policy.run(lambda: self._attempt(args, kwargs),
                                         retryable=layer.retryable, describe=f"op {layer.name}")
            layer.keep(store, key, value)
        finally:
            if flight is not None:
                flight.land(value)
        return value

    def _attempt(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.layer.timeout is None:
            return self.fn(*args, **kwargs)
        return call_with_timeout(self.fn, args, kwargs, self.layer.timeout, self.layer.timed_out)

    def __repr__(self) -> str:
        return f"<policies of {self.layer.name}>"


def _reduce_for_processes(call: _PolicyCall) -> Any:
    """How a process pool pickles a policy body (registered with ``ForkingPickler``).

    ``@op(cache=...)`` on a module-level function leaves the module's name bound to the
    op, so pickle cannot find the bare function by its name: send the op's name and
    take its body on the other side. Only for multiprocessing: cloudpickle (Dask)
    ships such functions by value, since the workers may not have the module.
    """
    module = getattr(call.fn, "__module__", None)
    qualname = getattr(call.fn, "__qualname__", "")
    if isinstance(module, str) and "<locals>" not in qualname \
            and getattr(named(module, qualname), "fn", None) is call:
        return (_decorated_body, (module, qualname, os.getpid()))
    import pickle

    return call.__reduce_ex__(pickle.HIGHEST_PROTOCOL)


register_later(_PolicyCall, _reduce_for_processes)  # multiprocessing: imported when used


def _decorated_body(module: str, qualname: str, origin: int) -> _PolicyCall:
    """The policy body of the op named ``module.qualname`` (see ``_PolicyCall.__reduce__``)."""
    body = named(module, qualname).fn
    layer = body.layer
    return _PolicyCall(_Policies(layer.name, layer.cache, layer.identity, layer.policy,
                                 layer.timeout, origin), body.fn)


_warned: set[str] = set()
_warned_lock = threading.Lock()


def _uncached_in_worker(layer: _Policies) -> None:
    """Say once per op and process that a ``cache=True`` op runs uncached here."""
    if layer.cache is not True:
        return  # cache=None: cached only where a cache is active, which it is not here
    with _warned_lock:
        if layer.name in _warned:
            return
        _warned.add(layer.name)
    _logger.warning(
        "ember.xcs result cache: op %s (cache=True) runs in a worker process that cannot see "
        "the caller's result cache, so it runs uncached. Name the store on the op "
        "(@op(cache='results.sqlite')) or use ember.xcs.dask_executor(), which consults "
        "the cache in the caller.", layer.name)
