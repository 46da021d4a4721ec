"""What rewritten glue code calls at the sites where a lazy value could be observed.

``tracing.rewrite`` compiles a jitted function's source again with a few kinds of
expression routed through this module (the built-in name ``__xcs_rt__`` there):

- every call ``f(a, b)`` becomes ``__xcs_rt__.prep(f, a, b)()``: ``prep`` decides,
  by the kind of callee (``tracing.callees``), whether lazy arguments pass through,
  are resolved first, or turn the call into a lifted node; it returns a C-level
  ``functools.partial``, so the callee still runs directly under the caller's frame
  (``logging``, ``warnings`` and ``super()`` see what they would see in plain Python);
- f-strings become ``fstring(fmt(value, conversion, spec), "text", ...)``: over lazy
  values they are lifted nodes instead of barriers;
- ``a % b`` becomes ``mod(a, b)``: ``"%s" % lazy_tuple`` formats the tuple's items;
- the operands of ``is`` / ``is not`` go through ``observe``, the subject of ``match``
  through ``observe_deep``: the real objects, never a proxy (and ``LazyValue``, a class
  pattern, matches what a class pattern reads by its value: ``tracing.patterns``);
- ``await x`` becomes ``await awaitable(x)``: awaiting an op result does not wait.

Inside ``async def`` glue the points where a value is needed are awaited first
(``ready``, ``ready_deep``, ``aprep``), so the caller's event loop keeps running while
the ops behind them finish; ``asyncio.gather`` and its kin accept op results.

Outside a trace every helper does exactly what the original expression does.
"""

from __future__ import annotations

import builtins
import collections.abc
import dataclasses
import functools
import itertools
import operator
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

from ember.xcs import tree
from ember.xcs.ops import Op
from ember.xcs.tracing import operators
from ember.xcs.tracing.awaiting import (
    AfterWaiting,
    Ready,
    Waiting,
    pending,
    ready,
    ready_deep,
    settled,
)
from ember.xcs.tracing.callees import Callee, classify, compared_arguments, reads_items
from ember.xcs.tracing.constructing import construct
from ember.xcs.tracing.context import _local, calls_underway, use_earlier, use_prepare
from ember.xcs.tracing.coroutines import awaitable
from ember.xcs.tracing.earlier import asettle_earlier, settle_earlier, unfinished
from ember.xcs.tracing.failures import DeferredFailure
from ember.xcs.tracing.files import given_paths, touched_paths
from ember.xcs.tracing.formatting import (
    acontains,
    active_trace,
    contains,
    fmt,
    fstring,
    imod,
    mod,
)
from ember.xcs.tracing.frames import CallMode, is_user_code
from ember.xcs.tracing.guards import (
    ACellLoop,
    CellLoop,
    abound,
    abound_cell,
    achanging,
    arebinding,
    arebinding_cell,
    astored,
    bound,
    bound_cell,
    changing,
    library_object,
    rebinding,
    rebinding_cell,
    stored,
)
from ember.xcs.tracing.handover import from_data_library, handed_over
from ember.xcs.tracing.holding import changed_by, end_first, outputs_after_inputs, settle
from ember.xcs.tracing.immediate import calls_back, compares_results, resolve_closures, run_at_call
from ember.xcs.tracing.lazy import Lazy
from ember.xcs.tracing.methods import MethodCall, method_call
from ember.xcs.tracing.observing import (
    LazyValue,
    ainplace,
    evaluator,
    inplace,
    key,
    observe,
    observe_deep,
    unpacked,
    yielded,
)
from ember.xcs.tracing.outside import outside_tree
from ember.xcs.tracing.protocols import mapped, probing, refused_class_info
from ember.xcs.tracing.reads import shared_generator
from ember.xcs.tracing.rebinding import settle_rebound
from ember.xcs.tracing.settings import changes_setting
from ember.xcs.tracing.trace import Trace
from ember.xcs.tracing.unpacking import (
    as_written,
    check_unpacked,
    keywords,
    splat,
    splat_listed,
    splat_mapping,
)
from ember.xcs.tracing.validation import validated_items
from ember.xcs.tracing.warning_filters import REASON as FILTERS_CHANGED
from ember.xcs.tracing.warning_filters import changes_filters
from ember.xcs.tracing.wrappers import DISPATCHING, behind_cache, seen_through

__all__ = ["ACellLoop", "CellLoop", "LazyValue", "abound", "abound_cell", "achanging", "acontains",
           "ainplace", "aprep", "aprep_unpacked", "arebinding", "arebinding_cell", "astored",
           "awaitable", "bound", "bound_cell", "changing", "contains", "evaluator", "fmt",
           "fstring", "imod", "inplace", "install", "key", "keywords", "mod", "observe",
           "observe_deep", "operators", "prep", "prep_unpacked", "ready", "ready_deep", "rebinding",
           "rebinding_cell", "settled", "splat", "splat_listed", "splat_mapping", "stored",
           "unpacked", "yielded"]

_partial = functools.partial
_BUILTIN = types.BuiltinFunctionType  # C functions and bound methods of C types
# What may rebind a global (tracing.rebinding): C functions (setattr, exec), bound methods
# and slots of a dict (globals().update, .__setitem__), and the class's (dict.update).
_MAY_REBIND = frozenset({_BUILTIN, types.MethodWrapperType, types.MethodDescriptorType,
                         types.WrapperDescriptorType})
_FUNCTION = types.FunctionType
_METHODCALLER = operator.methodcaller
_get = object.__getattribute__
_CONTAINERS = frozenset({list, dict, set})
_ITERATORS = (collections.abc.Iterator, collections.abc.MappingView)  # read once, not kept
# Functions whose result may be one of their arguments itself (max(a, b), the default
# of getattr/next/reduce): a lifted call of one must not be handed copies.
_RETURNS_ARGUMENT = (max, min, getattr, next, functools.reduce)


# Past its deadline (Config(timeout=...)), the glue still makes its plain calls: the
# XCSTimeoutError raised at its wait unwinds it through its `finally` and `except`
# blocks, which run as plain Python runs them for any exception. Its op calls stop it.
_GOES_ON = (None, "timeout")


def install() -> None:
    """Make this module reachable from rewritten code as the built-in ``__xcs_rt__``."""

    # A built-in name: reachable from rewritten code, invisible in locals() and globals.
    builtins.__xcs_rt__ = sys.modules[__name__]  # type: ignore[attr-defined]


def _returning(value: Any) -> Callable[[], Any]:
    """A C-level callable with no arguments that returns ``value``."""
    return itertools.repeat(value).__next__


def _name_of(fn: Any) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    return str(name or type(fn).__name__)


def prep(fn: Any, /, *args: Any, **kwargs: Any) -> Callable[[], Any]:
    """Prepare the call ``fn(*args, **kwargs)`` made by rewritten glue (see module doc)."""
    if not callable(fn):  # `callback(r)` with callback None: Python's own error, at the call
        return _partial(operator.call, fn, *args, **kwargs)
    handler = _local.trace
    if handler is None or type(fn) is Lazy or type(handler) is not Trace:
        if handler is None and calls_underway.ids and tree.contains((args, kwargs), Lazy):
            # Rewritten code where no trace is: a coroutine or generator of the glue's run
            # on another thread (run_coroutine_threadsafe, pool.submit(next, gen)). Plain
            # Python had the values by then: the call gets them, not the proxies.
            args, kwargs = outside_tree(args), outside_tree(kwargs)
        return _partial(fn, *args, **kwargs)
    trace = handler
    run = trace.run
    if run is not None and (run.failure is not None or run.stopped not in _GOES_ON):
        raise DeferredFailure()  # an op failed: plain Python would not have got here
    kind_of_fn = type(fn)
    if kind_of_fn is Op:  # the hot path: record the op call here, hand back its lazy value
        return _returning(trace.call_op(fn, args, kwargs))
    if run is not None and changes_filters(fn):  # the ops before it warned under the old ones
        settle_earlier(trace, None, FILTERS_CHANGED)
    if (kind_of_fn is _FUNCTION and fn.__code__ is DISPATCHING) or kind_of_fn is _METHODCALLER:
        seen = seen_through(fn, args, kwargs)  # singledispatch, methodcaller: what they call
        if seen is not None:
            return prep(seen[0], *seen[1], **seen[2])
    if trace.ordering.holders.held and (changed := changed_by(fn, args, kwargs)) is not None:
        settle(trace, changed)  # an op still holds the object this call may change
    if kind_of_fn in _MAY_REBIND and trace.ordering.holders.globals:
        settle_rebound(trace, fn, args, kwargs)  # globals().update(MODE="b"), setattr(module...
    if kind_of_fn is _BUILTIN and type(fn.__self__) in _CONTAINERS:
        if trace.lazies:  # out.append(r): where escape repair looks first
            trace.ordering.stores.hold(fn.__self__)
            if fn.__name__ == "update" and type(fn.__self__) is dict:  # what it replaces
                trace.ordering.stores.note_update(fn.__self__, args, kwargs)
            elif fn.__name__ == "sort" and type(fn.__self__) is list:  # compares every item
                trace.force_tree(fn.__self__, "list.sort")  # as plain Python, in its order
        return _partial(fn, *args, **kwargs)  # out.append(r), d.get(k): pass values on
    if kind_of_fn is functools.partial:
        inner = fn.func
        if classify(inner) in (Callee.USER, Callee.PURE, Callee.CONSUMER):
            args = (*fn.args, *args)
            kwargs = {**fn.keywords, **kwargs}
            fn = inner
    kind = classify(fn)
    if kind is Callee.UNKNOWN and trace.lazies:
        if (setting := changes_setting(fn, args, kwargs)) is not None:
            settle_earlier(trace, None, f"{setting} (a setting ops issued before it read)")
        elif paths := touched_paths(fn, args, kwargs):  # p.unlink() after transcribe(p)
            end_first(trace, given_paths(trace, paths), "file used", "was given its path")
        elif trace.ordering.holders.globals and (shared := shared_generator(fn)):
            end_first(trace, trace.ordering.holders.readers(*shared),  # random.seed(1)
                      "random generator used", "draws from it")
    if fn is dataclasses.replace and args and (type(args[0]) is Lazy or hasattr(
            type(args[0]), "__post_init__")):
        kind = Callee.UNKNOWN  # it runs the class's __post_init__: now, as in plain Python
    if kind is Callee.OP or kind is Callee.TRANSPARENT:
        return _partial(fn, *args, **kwargs)
    if (behind_cache(fn) if kind is Callee.UNKNOWN else kind is Callee.PURE
            or kind is Callee.CONSUMER) and calls_back(fn, args, kwargs):
        # re.sub(p, repl, s), json.dumps(x, default=f), a functools.cache of the user's:
        # it uses what the user's code returns at once, which must be values
        return _partial(run_at_call, trace, f"call {_name_of(fn)}", fn, args, kwargs, None)
    if kind is Callee.USER:
        return _partial(trace.instrumented(fn), *args, **kwargs)
    if kind is Callee.USER_CLASS:
        return _partial(construct, trace, fn, args, kwargs)
    if kind is Callee.CONSUMER:
        # It reads its iterables to the end anyway: reading them first lets the items
        # be seen (a generator's own op calls included) before the call.
        args = tuple(list(a) if type(a) is not Lazy and isinstance(a, _ITERATORS)  # type: ignore[arg-type]
                     else a for a in args)  # (isinstance would make a lazy value wait)
        key = kwargs.get("key")
        if key is not None and compares_results(fn) and classify(key) is Callee.USER:
            kwargs = {**kwargs, "key": trace.instrumented(key)}  # as the glue would call it
    elif (fn is map or fn is filter) and args and args[0] is not None:
        args = (_partial(mapped, prep, args[0]), *args[1:])  # an item's call: the glue's
    if kind is Callee.UNKNOWN and from_data_library(fn):  # df.apply(f), s.map(op)...
        args, kwargs = handed_over(trace, args, kwargs, f"result for {_name_of(fn)}")
    if fn is isinstance and len(args) == 2 and refused_class_info(args[1]):
        return _partial(probing, fn, *args)  # isinstance(r, "str"): plain Python's TypeError
    if fn is hasattr or (fn is getattr and len(args) == 3):
        # They catch the AttributeError of what they read: a property's ops run at once.
        return _partial(probing, fn, *trace.force_tree(args, f"call of {_name_of(fn)}"))
    if not trace.lazies:
        return _partial(fn, *args, **kwargs)
    if fn is setattr and len(args) == 3 and library_object(args[0]):  # setattr(df, "index", v)
        args = trace.force_tree(args, f"setattr on {type(args[0]).__name__}")
    if kind is Callee.SHALLOW:
        if reads_items(fn, args, kwargs):  # type(name, bases, ns); isinstance(x, (k, str))
            return _partial(fn, *trace.force_tree(args, reason := f"call of {_name_of(fn)}"),
                            **trace.force_tree(kwargs, reason))
        if any(type(a) is Lazy for a in args) or any(type(v) is Lazy for v in kwargs.values()):
            reason = f"call of {_name_of(fn)}"
            args = tuple(trace.force(a, reason) if type(a) is Lazy else a for a in args)
            kwargs = {k: trace.force(v, reason) if type(v) is Lazy else v
                      for k, v in kwargs.items()}
        if any(tree.kind_of(a) is tree.Kind.RECORD for a in args):
            # str(obj), len(obj): obj's dunder runs unrewritten: its attributes must be values.
            args = trace.force_tree(args, f"call of {_name_of(fn)}", records=True)
        return _partial(fn, *args, **kwargs)
    if kind is Callee.PURE or kind is Callee.CONSUMER:
        if tree.contains((args, kwargs), Lazy, records=True):
            mode = trace.site_mode()
            if mode is CallMode.LAZY and not outputs_after_inputs(fn, args):  # add(b, r, b)
                lifted, args = validated_items(fn, args, kwargs)  # Model.model_validate(d)
                return _returning(trace.lift(f"call {_name_of(fn)}", lifted, args, kwargs,
                                             returns_argument=_returns_argument(fn)))
        else:
            return _partial(fn, *args, **kwargs)
    reason = f"call of {_name_of(fn)}"
    args = trace.force_tree(args, reason, records=True)  # objects' attributes too
    kwargs = trace.force_tree(kwargs, reason, records=True)
    handed = (*args, *kwargs.values()) if kwargs else args
    if type(fn) is types.MethodType and tree.kind_of(fn.__self__) is tree.Kind.RECORD:
        # A library's method reads its own object too (state.model_dump_json()).
        trace.force_tree(fn.__self__, reason, records=True)
        if isinstance(fn.__self__, threading.Thread):  # start() runs its run() on a thread
            handed += tuple(method for klass in type(fn.__self__).__mro__
                            for method in vars(klass).values()
                            if type(method) is types.FunctionType
                            and is_user_code(method.__code__.co_filename))
    resolve_closures(trace, handed, reason)
    return _partial(fn, *args, **kwargs)


def aprep(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    """``prep`` for ``async def`` glue: an awaitable of the prepared call.

    The lazy values the call would have to resolve are awaited first, so ``prep``
    finds them finished instead of blocking the event loop: those of a call of library
    code, those a method of a list, dict or set hashes or compares (``seen.add(r)``,
    ``answers.count("yes")``), and those of a call that would be lifted but must run
    now (in a ``try`` block, given a function of the user's, on a value of the user's
    class).
    """
    trace = active_trace()
    if trace is None:
        return Ready(prep(fn, *args, **kwargs))
    if getattr(trace, "run", None) is not None and changes_filters(fn):
        return _after_earlier_ops(trace, fn, args, kwargs)
    holding: list[Any] = []
    if trace.ordering.holders.held and (changed := changed_by(fn, args, kwargs)) is not None:
        holding = pending(trace.ordering.holders.unfinished(changed))
    if not trace.lazies and not holding:
        return Ready(prep(fn, *args, **kwargs))
    if (fn is any or fn is all) and len(args) == 1 and not kwargs and type(args[0]) is not Lazy:
        return _truth_of(fn is any, iter(args[0]))  # any(w in r for w in words)
    found: list[Any] = []
    if type(fn) is Op:  # one that runs at its call (in a try block, effect=True) gets values
        if fn.effect and trace.run is not None:
            holding += [task for task in trace.run.tasks if not task.final]  # it follows them
        elif trace.site_mode() is not CallMode.LAZY:
            found = tree.leaves((args, kwargs), Lazy, records=True)
    elif type(fn) is Lazy:
        found = _run_now(trace, fn, args, kwargs)
    elif type(fn) is _BUILTIN and type(fn.__self__) in _CONTAINERS:
        found = compared_arguments(fn, args, Lazy)
    else:
        kind = classify(fn)
        if kind is Callee.SHALLOW:
            found = [a for a in (*args, *kwargs.values()) if type(a) is Lazy]
        elif kind is Callee.UNKNOWN:
            found = tree.leaves((args, kwargs), Lazy, records=True)
            if changes_setting(fn, args, kwargs) is not None and trace.run is not None:
                holding += unfinished(trace.run)  # os.chdir: they end first
            elif paths := touched_paths(fn, args, kwargs):
                holding += pending(given_paths(trace, paths))
            elif shared := shared_generator(fn):
                holding += pending(trace.ordering.holders.readers(*shared))
        elif kind is Callee.PURE or kind is Callee.CONSUMER:
            found = tree.leaves((args, kwargs), Lazy, records=True)
            if found and not outputs_after_inputs(fn, args) and trace.lifts(
                    trace.site_mode(), "call", args, kwargs,
                    returns_argument=_returns_argument(fn)):
                found = []
    waits = (pending(found) if found else []) + holding
    if not waits:
        return Ready(prep(fn, *args, **kwargs))
    return AfterWaiting(Waiting(waits, None), prep, (fn, *args), kwargs)


async def _after_earlier_ops(trace: Any, fn: Any, args: tuple[Any, ...],
                             kwargs: dict[str, Any]) -> Callable[[], Any]:
    """``prep`` of a call changing the warnings filters, once the ops before it ended."""
    await asettle_earlier(trace, None, FILTERS_CHANGED)
    return prep(fn, *args, **kwargs)


async def _truth_of(wanted: bool, items: Any) -> Callable[[], bool]:
    """``any(items)`` (``wanted``: ``True``) or ``all(items)``, prepared: each item that is
    an op result is awaited before its truth is tested; it stops where they stop."""
    for item in items:
        if type(item) is Lazy:
            await ready(item)
        if bool(item) is wanted:
            return _returning(wanted)
    return _returning(not wanted)


def _run_now(trace: Trace, fn: Lazy, args: tuple[Any, ...], kwargs: dict[str, Any]
             ) -> list[Any]:
    """The lazy values a call of an op result's method needs now (none when it is lifted);
    calling the value itself runs it now (``Lazy._xcs_lift``)."""
    attribute = _get(fn, "_xcs_attribute")
    if attribute is not None:
        how = method_call(_get(fn, "_xcs_owner"), attribute)  # as Lazy._xcs_lift decides
        reads = how is MethodCall.READS
        if how is not MethodCall.NOW and trace.lifts(
                trace.site_mode(), "call", (fn, *args), kwargs, not reads,
                reads and attribute == "get"):
            return []
    return [fn, *tree.leaves((args, kwargs), Lazy, records=True)]


use_prepare(prep)  # library code calls user callables through context.call
use_earlier(settle_earlier, asettle_earlier)  # a capped provider's stream (models)


def prep_unpacked(fn: Any, /, *args: Any, **kwargs: Any) -> Callable[[], Any]:
    """``prep`` of a call with ``*`` or ``**`` arguments (see ``splat``)."""
    fn, args, kwargs = check_unpacked(fn, args, kwargs)
    return as_written(fn, args, kwargs) or prep(fn, *args, **kwargs)


def aprep_unpacked(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    """``aprep`` of a call with ``*`` or ``**`` arguments (see ``splat``)."""
    fn, args, kwargs = check_unpacked(fn, args, kwargs)
    written = as_written(fn, args, kwargs)
    return aprep(fn, *args, **kwargs) if written is None else Ready(written)


def _returns_argument(fn: Any) -> bool:
    return any(fn is known for known in _RETURNS_ARGUMENT)  # by identity: never ask ==
