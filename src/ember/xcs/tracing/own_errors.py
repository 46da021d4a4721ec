"""Telling the program's own errors from C code rejecting a lazy value.

When a line of the glue raises, XCS must choose: the error is the program's own (plain
Python raises it too, so it is raised as it is), or C code met a lazy value it cannot
take (then the glue runs again with the value concrete). Running the glue again repeats
its prints and appends, so the choice leans on what the traceback and the bytecode of
the failing instruction prove:

- an error that came out of Ember's own code, or out of library code none of whose
  frames holds a lazy value, is the program's own;
- with no frame below the user's line: binding errors (``f() missing 1 required
  positional argument``), errors of operators (every operand of ``+``, ``<``, unary
  ``-`` is asked through its special method, so a lazy one would have answered), errors
  of instructions taking an object whole that name its type (``[*5]``, ``with None:``),
  and a C function whose own expression makes no other call and reads no variable holding a
  lazy value (``len(5)``; ``print("best", max(scores))`` for ``max``: ``print`` runs
  after it), and C code refusing an object whose type it names (``unhashable type:
  'list'``, ``'NoneType' object is not callable``, ``'list' object is not an iterator``:
  a lazy value is asked through Python code of Ember's, or named ``Lazy``).

Example:
    >>> def f():
    ...     return None + 1
    >>> try:
    ...     f()
    ... except TypeError as error:
    ...     program_error(error, error.__traceback__.tb_next.tb_frame, object)
    True
"""

from __future__ import annotations

import dis
import os
import re
import types
from types import CodeType, FrameType

from ember.xcs.tracing import versions
from ember.xcs.tracing.frames import is_internal

__all__ = ["program_error"]

_OPERATOR_FUNCTIONS = os.path.join(os.path.dirname(__file__), "operators.py")

# What CPython says when the arguments of a call do not fit a Python function.
_BINDING_ERROR = re.compile(
    r"^[\w.<>]+\(\) (missing \d+ required (positional|keyword-only) argument"
    r"|takes (from )?\d+ (to \d+ )?positional arguments? but \d+ (was|were) given"
    r"|got (an unexpected|multiple values for) (keyword )?argument"
    r"|got some positional-only arguments passed as keyword arguments)")
# What CPython says when an operator or comparison had no method for its operands' types,
# which it names: a lazy operand answers through its own methods, so unless one of the
# names is its class, the operands were values (``pairs.sort()`` meeting ``0 < (1, "a")``
# where ``pairs`` holds op results deeper down).
_OPERANDS_REJECTED = re.compile(
    r"^(?:'[<>]=?' not supported between instances of"
    r"|unsupported operand type\(s\) for [^:]+:) '([^']+)' and '([^']+)'$")
# What CPython says when C code refuses an object it was given, naming its type: a dict
# key or set item it cannot hash (``{k: ask(k) for k in keys}`` meeting a list key), an
# object it cannot call (``callback(reply)`` with ``callback`` None), iterate, measure,
# use as an integer or take as an attribute name (``next(replies)`` on a list,
# ``len(w for w in r)``, ``range(text)``). A lazy value is asked all that through its own
# methods (a frame below the user's line), made real first, or named as ``Lazy``; so
# with no frame below, the object named is a value.
_VALUE_REFUSED = re.compile(
    r"^(?:unhashable type: '([^']+)'"
    r"|'([^']+)' object (?:is not (?:callable|iterable|an iterator|subscriptable)"
    r"|cannot be interpreted as an integer)"
    r"|object of type '([^']+)' has no len\(\)"
    r"|attribute name must be string, not '([^']+)')$")


def program_error(error: BaseException, frame: FrameType, leaf: type) -> bool:
    """Whether ``error``, raised below the user's ``frame``, is certainly the program's
    own and not code rejecting a lazy value (so running the glue again would only
    repeat its side effects).

    It is when it came out of Ember's own code (which works on values: a forced
    operand, a lifted operation run at once), or out of library functions none of
    whose frames holds a lazy value (a ``leaf``; ``json.loads`` of a reply that is no JSON). C
    code rejects a proxy with ``TypeError`` (or ``AttributeError``); any other error
    raised by C code right below the user's line is the program's own.
    """
    from ember.xcs import tree

    tb = error.__traceback__
    while tb is not None and tb.tb_frame is not frame:
        tb = tb.tb_next
    if tb is None:
        return False
    user_lasti = tb.tb_lasti
    below = []
    tb = tb.tb_next
    while tb is not None:
        below.append(tb.tb_frame)
        tb = tb.tb_next
    if not below:
        # A call of a Python function with the wrong arguments ("f() missing 1 required
        # positional argument"): binding never looks at the values, lazy or not.
        return not isinstance(error, TypeError | AttributeError) or (
            type(error) is TypeError and _BINDING_ERROR.match(str(error)) is not None
        ) or _operator_error(frame.f_code, user_lasti, error) or _values_rejected(
            error, leaf) or _object_rejected(frame.f_code, user_lasti, error, leaf) \
            or _lone_call_on_values(frame, user_lasti, leaf)
    # The operator functions rewritten code calls (``tracing.operators``): what a library
    # called under them raised is judged as if the user's line had called it.
    below = [f for f in below if f.f_code.co_filename != _OPERATOR_FUNCTIONS] or below
    if any(is_internal(f.f_code) for f in below):
        return True
    return not any(tree.contains(value, leaf, records=True)
                   for f in below for value in f.f_locals.values())


# Operators whose every operand gets its special method called before C gives up: a lazy
# operand answers with a lifted result (or a frame of its own below the user's line), so
# a TypeError raised by the operator itself is about concrete operands (`None + 1`). Not
# `%`: str formatting takes its right operand as one argument without asking it.
_OPERATORS = frozenset({"COMPARE_OP", "UNARY_NEGATIVE", "UNARY_INVERT", "UNARY_POSITIVE"})
_REMAINDER = frozenset({"%", "%="})


# Instructions that ask a lazy operand through Python code of Ember's (a frame below the
# user's line) before they could fail on it: ``lazy[i]``, ``a, b = lazy`` and ``lazy.x``
# call its ``__getitem__``, ``__iter__``, ``__getattr__``, and a lazy index is its value
# already in rewritten code (``observing.key``). Failing with no frame below, they
# failed on values: ``["a", "b"]["1"]``, ``a, b = None``, ``"s".__radd__``.
_ASKING = {TypeError: frozenset({"BINARY_SUBSCR", "STORE_SUBSCR", "DELETE_SUBSCR",
                                 "BINARY_SLICE", "STORE_SLICE", "UNPACK_SEQUENCE",
                                 "UNPACK_EX"}),
           AttributeError: frozenset({"LOAD_ATTR", "LOAD_METHOD"})}


def _operator_error(code: CodeType, lasti: int, error: BaseException) -> bool:
    """Whether the instruction at ``lasti`` (which raised ``error`` with no frame below
    it) is an operator whose error no lazy operand can have caused (``_OPERATORS``,
    ``_ASKING``)."""
    instruction = versions.instruction_at(code, lasti)
    if instruction is None:
        return False
    if instruction.opname in _ASKING.get(type(error), ()):
        return True
    if instruction.opname == "BINARY_OP":
        return instruction.argrepr not in _REMAINDER
    return instruction.opname in _OPERATORS


# Instructions that take an object whole and fail naming its type: ``[*5]`` ("Value
# after * must be an iterable, not int"), ``with None:`` ("'NoneType' object does not
# support the context manager protocol"), ``for x in 5``. A lazy object would have
# answered through its own methods, or been named: an error that does not name it is
# about a value (the rewriter makes an op result real before them).
_TAKING_WHOLE = frozenset({"LIST_EXTEND", "SET_UPDATE", "DICT_MERGE", "DICT_UPDATE",
                           "BEFORE_WITH", "BEFORE_ASYNC_WITH", "GET_ITER", "GET_AITER"})


def _object_rejected(code: CodeType, lasti: int, error: BaseException, leaf: type) -> bool:
    """Whether the instruction at ``lasti`` takes an object whole (``_TAKING_WHOLE``) and
    ``error`` names a type that is not ``leaf``'s."""
    instruction = versions.instruction_at(code, lasti)
    return type(error) is TypeError and instruction is not None \
        and instruction.opname in _TAKING_WHOLE and leaf.__name__ not in str(error)


_CALLS = frozenset({"CALL", "CALL_KW", "CALL_FUNCTION_EX"})


def _values_rejected(error: BaseException, leaf: type) -> bool:
    """Whether ``error`` is an operator's refusal of two operands of the types it names,
    neither of them ``leaf`` (``_OPERANDS_REJECTED``), or C code's refusal of an object
    of a type other than ``leaf`` (``_VALUE_REFUSED``)."""
    if type(error) is not TypeError:
        return False
    text = str(error)
    found = _OPERANDS_REJECTED.match(text) or _VALUE_REFUSED.match(text)
    return found is not None and leaf.__name__ not in found.groups()


def _lone_call_on_values(frame: FrameType, lasti: int, leaf: type) -> bool:
    """Whether the C function called at ``lasti`` (``len(5)``) can only have been given
    concrete values: no other call inside its own expression made a temporary lazy
    value for it (calls around it, as ``print`` in ``print(max(xs))``, run after it)
    and no variable that expression reads holds a ``leaf``."""
    from ember.xcs import tree

    code = frame.f_code
    failing = versions.instruction_at(code, lasti)
    if failing is None or failing.opname not in _CALLS or failing.positions is None:
        return False
    span = failing.positions
    if span.lineno is None:
        return False
    start = (span.lineno, span.col_offset or 0)
    end = (span.end_lineno or span.lineno, span.end_col_offset or 0)
    # Rewritten code calls the runtime's helpers (``__xcs_rt__.prep(len, ...)``,
    # ``__xcs_op_add__(a, b)``) too:
    # those make no value of the user's, so they do not count.
    calls = 0
    names: dict[str, None] = {}
    for i in dis.get_instructions(code):
        where = i.positions
        if where is None or where.lineno is None or where.col_offset is None \
                or not start <= (where.lineno, where.col_offset) \
                or (where.end_lineno or where.lineno, where.end_col_offset or 0) > end:
            continue
        if i.opname in _CALLS:
            calls += 1
        elif i.opname == "LOAD_GLOBAL" and str(i.argval).startswith("__xcs_"):
            calls -= 1
        elif i.opname in versions.VARIABLE_LOADS:
            names.update(dict.fromkeys(i.argval if isinstance(i.argval, tuple) else (i.argval,)))
    if calls != 1:
        return False
    local_vars = frame.f_locals
    scope = frame.f_globals
    def hiding(value: object) -> bool:  # a lazy value, or an object that may hold one
        return type(value) is leaf or not _seen_through(value)

    for name in names:
        value = local_vars[name] if name in local_vars else scope.get(name)
        if tree.first_match(value, hiding, records=True) is not None:
            return False
    return True


def _seen_through(value: object) -> bool:
    """Whether what ``value`` can hand to a call is visible to a walk of it: data,
    records, modules, classes and functions are; an iterator or any other object XCS
    does not look into (a generator of op results given to ``"".join``) is not."""
    from ember.xcs import tree

    if isinstance(value, types.ModuleType | type):
        return True
    if tree.kind_of(value) is not tree.Kind.OPAQUE:
        return True
    return callable(value) and not hasattr(type(value), "__iter__")

