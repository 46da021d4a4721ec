"""The coroutine side of the op policies (``ember.xcs.policies``): what the engine awaits
for an ``async def`` op, or the async twin of an op, with a cache, retries or a timeout.

The layer (``policies._Policies``) is handed in, never imported: that module builds on
this one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ember.xcs.cache.store import MISSING

__all__ = ["async_body"]


def async_body(layer: Any, afn: Callable[..., Any]) -> Callable[..., Any]:
    """An ``async def`` running ``afn`` with the policies (awaited by the engine).

    The closure only forwards to ``_run_async``: shipped by value (cloudpickle), it
    still finds the module's own ``MISSING`` and helpers by reference.
    """

    async def run(*args: Any, **kwargs: Any) -> Any:
        if layer.passes_through():  # a model call with no cache in use: one frame less
            return await afn(*args, **kwargs)
        return await _run_async(layer, afn, args, kwargs)

    functools.update_wrapper(run, afn)
    run.__xcs_policies__ = (layer, afn)  # type: ignore[attr-defined]
    return run


async def _run_async(layer: Any, afn: Callable[..., Any], args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> Any:
    store, key, value, flight = layer.lookup(args, kwargs)
    if value is not MISSING:
        return value
    if flight is not None and not flight.leader:
        await flight.landed()  # without blocking the loop; then followed() does not wait
    value = layer.followed(flight, store, key)
    if value is not MISSING:
        return value
    policy = layer.policy
    attempt = 1
    try:
        while True:
            try:
                if layer.timeout is None:  # no wrapper frame for the engine to resume
                    value = await afn(*args, **kwargs)
                else:
                    value = await _with_timeout(afn(*args, **kwargs), layer)
                break
            except Exception as error:
                if policy is None:
                    raise
                # The same schedule as a sync body's (RetryPolicy.run): backoff, or the
                # wait a Retry-After header asks for.
                wait = policy.next_wait(attempt, error, retryable=layer.retryable,
                                        describe=f"op {layer.name}")
                if wait is None:
                    raise
            import asyncio  # loaded: this coroutine runs on an event loop

            await asyncio.sleep(wait)
            attempt += 1
        layer.keep(store, key, value)
    finally:
        if flight is not None:
            flight.land(value)
    return value


async def _with_timeout(coro: Any, layer: Any) -> Any:
    if layer.timeout is None:
        return await coro
    import asyncio  # loaded: this coroutine runs on an event loop

    deadline = asyncio.timeout(layer.timeout)
    try:
        async with deadline:
            return await coro
    except TimeoutError:
        if not deadline.expired():
            raise  # the body's own (a wait_for of its own, a socket timeout): unchanged
        raise layer.timed_out() from None
