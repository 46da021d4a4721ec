"""Lifted operations that run at their call site instead: when, and how.

A lifted operation (``Trace.lift``) runs once the lazy values it needs exist, on
copies of the containers it is given, taken at the call. That keeps plain Python's
meaning only while nothing it reads can change in between and nothing it does to its
arguments has to show. Otherwise it runs at its call site, on the caller's own
objects, once its lazy values exist (a barrier), as plain Python runs it. It does so
when it is handed:

- a function of the user's (``usercode.calls_user_code``), or an object whose class
  has special methods of the user's (``lazy.operates_on_user_object``): lifted, that
  code would read the glue's variables as they are by then;
- containers whose copies could show (``tree.copies_shared_objects``): a list the
  result may hand back, a ``defaultdict`` that adds the keys it is asked for;
- an iterator of the glue (``sep.join(prefix + x for x in items)``, ``map(f, xs)``,
  ``islice(rows, 2)``) or a view of one of its dicts (``r in answers.values()``,
  ``MappingProxyType(cfg)``), as ``handover.hands_over_iterator`` finds them: lifted, it
  would be read once the glue had gone on, reading it too, or changing what it reads;
- a method bound to an object of the glue that may change (``sorted(scores,
  key=scores.get)``, ``key=counts.__getitem__``, a ``functools.partial`` holding a
  dict): lifted, it would read that object as the glue changed it since;
- an array to write its result into (``np.multiply(r, 2, out=buf)``, a ufunc's
  outputs after its inputs: ``np.add(buf, r, buf)``, see ``outputs_after_inputs``):
  lifted, ``buf`` would hold the result only later, and ``buf[0]`` right after the
  call would read the old contents.

A call that runs now and calls code of the user's it is handed uses what that code
returns at once (``calls_back``): ``re.sub``'s ``repl`` must give a str, ``json.dumps``
calls its ``default`` (or a ``JSONEncoder`` subclass's) again on what is not JSON, a
``functools.cache`` wrapper keeps what its function returns. That code runs under
``protocols.calling_back`` (its ops run at their call), with the lazy values it can
reach through its closure, its defaults and the objects its methods are bound to
resolved first, so it gives values. Not so the ``key=`` of ``sorted``, ``min`` and
``max``, whose results are only compared: a lazy value compares as its value, and the
keys' ops keep running in parallel (a key function of the user's runs rewritten, as
the glue would run it).

Example:
    >>> scores = {"a": 2}
    >>> reads_live_objects((["a"],), {"key": scores.get}), reads_live_objects((), {"key": len})
    (True, False)
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Callable
from typing import Any

from ember.xcs import tree
from ember.xcs.ir.graph import SourceLocation
from ember.xcs.tracing.handover import hands_over_iterator, iterators_giving_values
from ember.xcs.tracing.lazy import Lazy, operates_on_user_object
from ember.xcs.tracing.protocols import calling_back
from ember.xcs.tracing.proxy import IN_PLACE
from ember.xcs.tracing.usercode import calls_user_code
from ember.xcs.tracing.wrappers import behind_cache

__all__ = ["calls_back", "compares_results", "outputs_after_inputs", "reads_live_objects",
           "resolve_closures", "run_at_call", "runs_at_call"]

_BOUND = frozenset({types.BuiltinMethodType, types.MethodWrapperType, types.MethodType})
# Objects that never change: a method bound to one reads the same thing at any time.
_UNCHANGING = tree.ATOMS | {tuple, frozenset, re.Pattern}


def runs_at_call(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], *,
                 stores: bool) -> bool:
    """Whether lifted operation ``name`` given these arguments runs at its call site
    (see the module docstring); ``stores``: it may keep or hand back its arguments."""
    return (calls_user_code(args, kwargs)
            or (name != "getattr" and operates_on_user_object(args, kwargs))
            or tree.copies_shared_objects(args, kwargs, Lazy, stores=stores)
            or hands_over_iterator(args, kwargs)
            or reads_live_objects(args, kwargs)
            or _writes_out(kwargs))


def _writes_out(kwargs: dict[str, Any]) -> bool:
    """Whether a call is given an array to write its result into (``out=``; NumPy
    hands ``__array_ufunc__`` a tuple, ``None`` for an output it is to allocate)."""
    out = kwargs.get("out") if kwargs else None
    return out is not None and not (type(out) is tuple and all(o is None for o in out))


def outputs_after_inputs(fn: Any, args: tuple[Any, ...]) -> bool:
    """Whether a NumPy ufunc's call gives arrays to write into after its inputs
    (``np.add(buf, r, buf)``): it changes ``args[fn.nin]``, as ``out=buf`` would."""
    nin = getattr(fn, "nin", None)
    return type(nin) is int and len(args) > nin and type(fn).__name__ == "ufunc"


def reads_live_objects(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a call is handed a method bound to an object of the glue that may
    change, directly or inside a ``functools.partial`` (see the module docstring)."""
    return any(_bound_to_changing(value)
               for value in ((*args, *kwargs.values()) if kwargs else args))


def _bound_to_changing(value: Any, depth: int = 4) -> bool:
    kind = type(value)
    if kind is functools.partial:
        return depth > 0 and (_bound_to_changing(value.func, depth - 1) or any(
            _may_change(item) for item in (*value.args, *value.keywords.values())))
    return kind in _BOUND and _may_change(value.__self__)


def _may_change(value: Any) -> bool:
    kind = type(value)
    return not (kind in _UNCHANGING or kind is Lazy or isinstance(value, type | types.ModuleType))


def compares_results(fn: Any) -> bool:
    """Whether ``fn`` only compares what the function it is handed returns (``sorted``,
    ``min`` and ``max`` with a ``key=``; see the module docstring)."""
    return fn is sorted or fn is min or fn is max  # by identity: never ask ==


def calls_back(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether ``fn(*args, **kwargs)``, a call of library code that runs now, calls code
    of the user's and uses what it returns at once (see the module docstring): code it
    is handed, or the function behind a ``functools.cache`` wrapper ``fn``.

    Example:
        >>> import re
        >>> calls_back(re.sub, ("a", lambda m: m.group(0), "abc"), {})
        True
        >>> calls_back(sorted, (["b", "a"],), {"key": lambda item: item})
        False
    """
    if behind_cache(fn):
        return True
    if not calls_user_code(args, kwargs):
        return False
    if compares_results(fn):  # unless a key hides the user's code from the rewriting
        return any(behind_cache(value) for value in (*args, *kwargs.values()))
    return True


def run_at_call(trace: Any, name: str, fn: Callable[..., Any], args: tuple[Any, ...],
                kwargs: dict[str, Any], location: SourceLocation | None) -> Any:
    """``fn(*args, **kwargs)`` now, on the caller's objects, with the lazy values they
    hold (and those of the objects the methods it is given are bound to) waited for, and
    its iterators giving values; code of the user's it calls back gives values."""
    given = args
    args = trace.force_tree(args, name, records=True, location=location)
    kwargs = trace.force_tree(kwargs, name, records=True, location=location)
    for value in (*args, *kwargs.values()):
        if type(value) in _BOUND and _may_change(value.__self__):
            trace.force_tree(value.__self__, name, records=True, location=location)
    args, kwargs = iterators_giving_values(trace, args, kwargs, name)
    if calls_back(fn, args, kwargs):
        resolve_closures(trace, (fn, *args, *kwargs.values()), name)
        return calling_back(fn, *args, **kwargs)
    result = fn(*args, **kwargs)
    if name in IN_PLACE and type(given[0]) is Lazy and result is args[0]:
        # ``messages += [q]`` changed the op's list here: the name goes on standing for
        # the op result, so a later change through it still waits for the ops reading
        # the list meanwhile (through another name: ``reply(context["messages"])``).
        return given[0]
    return result


def resolve_closures(trace: Any, values: tuple[Any, ...], reason: str) -> None:
    """Give the functions among ``values`` the values of the op results they close over
    or have as defaults, and the objects their methods are bound to the values of those
    they hold, in place (``lambda m: answers[m.group(0)]``, where ``answers`` holds op
    results): what they return is used at once, or they run where no trace turns a lazy
    value into its value (``pool.submit(lambda: json.dumps(r))``, ``pool.submit(job.run)``
    run them on another thread)."""
    for value in values:
        if type(value) is functools.partial:
            value = value.func
        if type(value) is types.MethodType:
            if tree.kind_of(value.__self__) is tree.Kind.RECORD:  # pool.submit(job.run)
                trace.force_tree(value.__self__, reason, records=True)
            value = value.__func__
        value = getattr(value, "__wrapped__", value) if behind_cache(value) else value
        if type(value) is not types.FunctionType:
            continue
        for cell in value.__closure__ or ():
            try:
                contents = cell.cell_contents
            except ValueError:  # a variable not assigned yet
                continue
            if type(contents) is Lazy or (type(contents) not in tree.ATOMS
                                          and tree.contains(contents, Lazy, records=True)):
                cell.cell_contents = trace.force_tree(contents, reason, records=True)
        defaults = value.__defaults__
        if defaults and tree.contains(defaults, Lazy, records=True):
            value.__defaults__ = trace.force_tree(defaults, reason, records=True)
