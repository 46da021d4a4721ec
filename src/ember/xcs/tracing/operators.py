"""Binary operators and comparisons whose left operand is an object of the user's class.

Python asks the left operand first: ``V() < r`` calls ``V.__lt__(r)`` before ``r`` has a
say. With ``r`` an op result under ``@jit`` that method would be handed the lazy value
(and, when it declines, be asked again with the value through the lazy value's reflected
method: two calls where plain Python makes one). The rewriter (``tracing.observed_sites``)
routes an operator whose operands are both written as expressions (not literals) through
``operate``, which gives such a method the value, as plain Python does.

Each operator has a function of its own here (``op_lt(a, b)`` for ``a < b``, named in
``tracing.observed_sites.NAMES``), which the rewritten code calls by a built-in name
(``__xcs_op_lt__(a, b)``, ``install``): when the right operand is no
lazy value (the common case, arithmetic in a loop) it is the operator itself, at the
cost of one call.

Example:
    >>> operate("<", 1, 2), operate("+", "a", "b"), op_lt(2, 1)
    (True, 'ab', False)
"""

from __future__ import annotations

import builtins
import operator
from collections.abc import Callable
from typing import Any

from ember.xcs.tracing.lazy import Lazy
from ember.xcs.tracing.observing import inplace
from ember.xcs.tracing.usercode import has_user_special_methods
from ember.xcs.tree import ATOMS

__all__ = ["inplace_attribute", "inplace_item", "install", "operate"]

# The operation of each symbol, for values.
_FUNCTIONS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne, "+": operator.add, "-": operator.sub,
    "*": operator.mul, "/": operator.truediv, "//": operator.floordiv, "**": operator.pow,
    "@": operator.matmul, "<<": operator.lshift, ">>": operator.rshift, "&": operator.and_,
    "|": operator.or_, "^": operator.xor}

# The same, written as operators: a lazy right operand's reflected method reads the
# comparison being run from its caller's bytecode (``tracing.proxy._ordering``), so that
# ``"3" < r`` fails with plain Python's message.
_WRITTEN: dict[str, Callable[[Any, Any], Any]] = {
    "<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b}


def operate(symbol: str, left: Any, right: Any) -> Any:
    """``left <symbol> right``, with ``right`` made real first when it is a lazy value
    and ``left`` an object whose class has special methods of the user's."""
    if type(right) is not Lazy or type(left) is Lazy:
        return _FUNCTIONS[symbol](left, right)
    kind = type(left)
    if kind not in ATOMS and has_user_special_methods(kind):
        # V.__lt__ runs now, as in plain Python, and is given what plain Python gives it.
        right = right._xcs_force(f"{kind.__name__} {symbol} op result")
        return _FUNCTIONS[symbol](left, right)
    return _WRITTEN.get(symbol, _FUNCTIONS[symbol])(left, right)


def install() -> None:
    """Make each operator function reachable from rewritten code as a built-in name
    (``__xcs_op_lt__``, ``tracing.observed_sites.builtin_name``): invisible in the
    user's globals, and cheaper to reach than ``__xcs_rt__.operators.op_lt``."""
    from ember.xcs.tracing.observed_sites import NAMES, builtin_name

    for symbol, name in NAMES.items():
        setattr(builtins, builtin_name(symbol), globals()[name])
    # Rewritten code asks ``__xcs_type__(b) is not __xcs_lazy__`` before ``a + b`` between
    # two variables (``tracing.observed_sites``): unlike ``type``, the user cannot rebind it.
    builtins.__xcs_inplace_attribute__ = inplace_attribute  # type: ignore[attr-defined]
    builtins.__xcs_inplace_item__ = inplace_item  # type: ignore[attr-defined]
    builtins.__xcs_type__ = type  # type: ignore[attr-defined]
    builtins.__xcs_lazy__ = Lazy  # type: ignore[attr-defined]


def inplace_attribute(owner: Any, name: str, value: Any) -> Any:
    """The right operand of ``owner.name += value``: as ``observing.inplace`` decides for
    the attribute's object (the real value for a list or an object of the user's), where
    that object can be read without running code (an instance's own ``__dict__``, no
    property or slot of its class by that name, no ``__getattribute__`` of the user's);
    else ``value``."""
    kind = type(owner)
    reading: Any = kind.__getattribute__
    if type(value) is not Lazy or reading is not object.__getattribute__ \
            or any(_data_descriptor(vars(klass).get(name)) for klass in kind.__mro__):
        return value
    try:  # not getattr: a class's __getattr__ would be asked for it
        namespace = object.__getattribute__(owner, "__dict__")
    except AttributeError:
        return value
    if type(namespace) is not dict or name not in namespace:
        return value
    return inplace(namespace[name], value)


def _data_descriptor(found: Any) -> bool:
    """Whether a class attribute takes precedence over an instance's own (a property,
    a slot): reading or writing it runs its code."""
    return hasattr(type(found), "__set__") or hasattr(type(found), "__delete__")


def inplace_item(owner: Any, key: Any, value: Any) -> Any:
    """The right operand of ``owner[key] += value``: as ``inplace_attribute``, for an item
    of a dict or list read without running code (a key of a built-in type)."""
    if type(value) is not Lazy or type(key) not in (str, int):
        return value
    if type(owner) is dict and key in owner:
        return inplace(owner[key], value)
    if type(owner) is list and type(key) is int and -len(owner) <= key < len(owner):
        return inplace(owner[key], value)
    return value


# One function per operator, the operator written in its own code: a lazy left operand's
# method reads the operator being run from its caller's bytecode.

def op_lt(left: Any, right: Any) -> Any:
    return left < right if type(right) is not Lazy else operate("<", left, right)


def op_gt(left: Any, right: Any) -> Any:
    return left > right if type(right) is not Lazy else operate(">", left, right)


def op_le(left: Any, right: Any) -> Any:
    return left <= right if type(right) is not Lazy else operate("<=", left, right)


def op_ge(left: Any, right: Any) -> Any:
    return left >= right if type(right) is not Lazy else operate(">=", left, right)


def op_eq(left: Any, right: Any) -> Any:
    return left == right if type(right) is not Lazy else operate("==", left, right)


def op_ne(left: Any, right: Any) -> Any:
    return left != right if type(right) is not Lazy else operate("!=", left, right)


def op_add(left: Any, right: Any) -> Any:
    return left + right if type(right) is not Lazy else operate("+", left, right)


def op_sub(left: Any, right: Any) -> Any:
    return left - right if type(right) is not Lazy else operate("-", left, right)


def op_mul(left: Any, right: Any) -> Any:
    return left * right if type(right) is not Lazy else operate("*", left, right)


def op_truediv(left: Any, right: Any) -> Any:
    return left / right if type(right) is not Lazy else operate("/", left, right)


def op_floordiv(left: Any, right: Any) -> Any:
    return left // right if type(right) is not Lazy else operate("//", left, right)


def op_pow(left: Any, right: Any) -> Any:
    return left ** right if type(right) is not Lazy else operate("**", left, right)


def op_matmul(left: Any, right: Any) -> Any:
    return left @ right if type(right) is not Lazy else operate("@", left, right)


def op_lshift(left: Any, right: Any) -> Any:
    return left << right if type(right) is not Lazy else operate("<<", left, right)


def op_rshift(left: Any, right: Any) -> Any:
    return left >> right if type(right) is not Lazy else operate(">>", left, right)


def op_and(left: Any, right: Any) -> Any:
    return left & right if type(right) is not Lazy else operate("&", left, right)


def op_or(left: Any, right: Any) -> Any:
    return left | right if type(right) is not Lazy else operate("|", left, right)


def op_xor(left: Any, right: Any) -> Any:
    return left ^ right if type(right) is not Lazy else operate("^", left, right)
