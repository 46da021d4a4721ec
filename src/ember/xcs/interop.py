"""Ops from other frameworks: LangChain Runnables and any object with an invoke method.

A LangChain ``Runnable`` (a chain, a chat model, a retriever) is called with
``.invoke(input)`` and awaited with ``.ainvoke(input)``. ``op`` wraps it like any
callable, with the async twin for the engine's event loop::

    summarise = xcs.op(chain.invoke, async_fn=chain.ainvoke, name="summarise")

``invoke_op(obj)`` does exactly that for any object with an invoke-style method (LlamaIndex
query engines: ``method="query"``; DSPy modules: ``method="__call__"``), naming the op after
the object. Under ``@jit`` the calls then run concurrently: the async method on the
engine's event loop when the object has one, else the sync method on the thread pool.
"""

from __future__ import annotations

import inspect
from typing import Any

from ember.xcs.errors import XCSError
from ember.xcs.ops import Op

__all__ = ["invoke_op"]


def invoke_op(obj: Any, *, method: str = "invoke", async_method: str | None = None,
              name: str | None = None, **options: Any) -> Op:
    """An op that calls ``obj.<method>(...)`` (and awaits ``obj.a<method>`` under ``@jit``).

    Args:
        obj: the object (a LangChain Runnable, a query engine, a client...).
        method: the name of its synchronous method (default ``"invoke"``).
        async_method: the name of its ``async def`` twin (default: ``"a" + method``
            when the object has one; ``""`` for none).
        name: the op's name in the IR (default: the object's ``name`` attribute, else its
            class name).
        **options: further ``op`` options (``max_concurrency``, ``retries``, ``cache``
            with ``version=``, ...).

    Returns:
        The ``Op``.

    Raises:
        XCSError: ``obj`` has no such method, or the async one is not ``async def``.

    Example:
        >>> class Shouter:
        ...     def invoke(self, text):
        ...         return text.upper()
        >>> shout = invoke_op(Shouter())
        >>> shout.name, shout("hi")
        ('Shouter', 'HI')
    """
    sync = getattr(obj, method, None)
    if not callable(sync):
        methods = [n for n in ("invoke", "run", "query", "predict", "__call__")
                   if callable(getattr(obj, n, None))]
        hint = f"; it has {', '.join(methods)}: pass method=..." if methods else ""
        raise XCSError(f"{type(obj).__name__} object has no method {method!r}{hint}.")
    twin_name = ("a" + method.strip("_")) if async_method is None else async_method
    twin = getattr(obj, twin_name, None) if twin_name else None
    if twin is not None and not inspect.iscoroutinefunction(twin):
        if async_method:
            raise XCSError(
                f"{type(obj).__name__}.{async_method} is not an async def method; pass "
                "async_method='' to use only the synchronous one."
            )
        twin = None
    label = name or _name_of(obj)
    return Op(sync, name=label, async_fn=twin, **options)


def _name_of(obj: Any) -> str:
    own = getattr(obj, "name", None)
    if isinstance(own, str) and own:
        return own
    return type(obj).__name__
