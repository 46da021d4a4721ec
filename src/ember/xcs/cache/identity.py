"""Who a cached op is: its identity, its version, and the values its callable binds.

Three parts of a result-cache key come from the op rather than from the call's
arguments (``keys.result_key`` puts them together with the arguments):

- the **identity**: ``module:qualname`` of the function, or what a callable object
  declares in ``__xcs_cache_identity__`` (a model call does);
- the **version**: the ``version=`` the user pinned, else a fingerprint of the code:
  bytecode, constants, names (of globals, attributes, locals, parameters, closure
  variables), the argument layout and flags, and the same of every nested function, so
  any edit of the body changes it. Constants are hashed canonically (a ``frozenset`` of
  strings in sorted order), so the fingerprint is the same in every process;
- the **bound values**, read again at each call (``BoundValues``): the function's default
  values, a ``functools.partial``'s arguments and the key of the object a method is
  bound to. The body sees them as it sees arguments, and they may change after the op
  was made (``LABELS.append(...)`` on a default list), so a key made once at decoration
  would answer with a stale value.
"""

from __future__ import annotations

import enum
import functools
import types
from collections.abc import Callable
from typing import Any

from ember.xcs.cache.keys import UncacheableError, encode

__all__ = ["BoundValues", "code_fingerprint", "op_identity"]


def op_identity(fn: Callable[..., Any], version: str | None) -> tuple[str, str]:
    """``(identity, version)`` of an op body for its cache keys.

    Args:
        fn: the op's callable.
        version: the user's pinned version, or ``None`` for a code fingerprint.

    Returns:
        The identity (``module:qualname`` or the declared ``__xcs_cache_identity__``)
        and the version (``version`` itself, or ``"code:<hash>"``). The values ``fn``
        binds (``BoundValues``) are keyed with each call, not here.

    Raises:
        UncacheableError: a callable object that declares no identity and was given no
            ``version`` (its state is invisible to the key).

    Example:
        >>> def summarise(text):
        ...     return text[:10]
        >>> op_identity(summarise, "2")
        ('ember.xcs.cache.identity:summarise', '2')
    """
    declared = getattr(fn, "__xcs_cache_identity__", None)
    if declared is not None:
        identity = declared() if callable(declared) else declared
        if not isinstance(identity, str) or not identity:
            raise UncacheableError(
                f"{fn!r}.__xcs_cache_identity__ must be a non-empty str, got {identity!r}."
            )
        return identity, version if version is not None else "declared"
    if isinstance(fn, functools.partial):
        inner, inner_version = op_identity(fn.func, version)
        return f"{inner}[partial]", inner_version
    if isinstance(fn, types.MethodType) and not isinstance(fn.__self__, type | types.ModuleType):
        # A method bound to an object (chain.invoke): the object's state decides the
        # result, so its key is a bound value, or the user pins it with version=.
        identity, inner_version = op_identity(fn.__func__, version)
        owner = fn.__self__
        if _keyed(owner):
            return f"{identity}[self]", inner_version
        if version is None:
            raise UncacheableError(
                f"cannot cache calls of {_short(fn)}: the state of the "
                f"{type(owner).__name__} it is bound to is not part of the cache key. Pin "
                f"what it is with version='...', or give {type(owner).__name__} a "
                "__xcs_cache_key__(self) method."
            )
        return identity, version
    target = fn.__func__ if isinstance(fn, types.MethodType) else fn
    if isinstance(target, types.FunctionType | types.BuiltinFunctionType):
        identity = f"{target.__module__}:{target.__qualname__}"
        if version is not None:
            return identity, version
        return identity, "code:" + code_fingerprint(target)
    if version is None:
        raise UncacheableError(
            f"cannot cache calls of {type(fn).__name__} object {_short(fn)}: its state is "
            "not part of the cache key, so results of differently configured objects would "
            "mix. Pin what it is with version='...' (e.g. the model and prompt template it "
            "wraps), or define __xcs_cache_identity__ on it."
        )
    kind = type(fn)
    return f"{kind.__module__}:{kind.__qualname__}", version


def _keyed(owner: Any) -> bool:
    return getattr(type(owner), "__xcs_cache_key__", None) is not None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def code_fingerprint(fn: Callable[..., Any]) -> str:
    """A hash of a function's code (see the module docstring), the same in every process.

    It changes when the body, a name in it or its parameters change (or under another
    CPython version, whose bytecode differs); the values of globals and closure
    variables are not part of it, nor are default values (``BoundValues``).
    """
    import hashlib  # only once a cached op is keyed (import time)

    digest = hashlib.sha256()
    code = getattr(fn, "__code__", None)
    if code is None:  # a builtin: its name is its identity
        digest.update(repr(fn).encode())
        return digest.hexdigest()[:16]
    _hash_code(code, digest)
    return digest.hexdigest()[:16]


def _hash_code(code: types.CodeType, digest: Any) -> None:
    # Locals, parameters and closure cells are read by position in the bytecode: their
    # names (keyword arguments bind by name), the layout of the parameters and the
    # flags (*args, **kwargs, generator, coroutine) are what tell two bodies apart.
    layout = (code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount, code.co_flags,
              code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars)
    for part in (code.co_code, getattr(code, "co_exceptiontable", b""), repr(layout).encode()):
        _update(digest, part)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _update(digest, b"code")
            _hash_code(const, digest)
        else:
            _update(digest, _constant_text(const).encode("utf-8", "surrogatepass"))


def _update(digest: Any, part: bytes) -> None:
    digest.update(len(part).to_bytes(8, "big"))
    digest.update(part)


def _constant_text(const: Any) -> str:
    """A code constant as text; a ``frozenset`` (``x in {"a", "b"}``) in sorted order,
    since its repr follows the per-process string hash."""
    if isinstance(const, frozenset):
        return "frozenset({" + ", ".join(sorted(map(_constant_text, const))) + "})"
    if isinstance(const, tuple):
        return "(" + "".join(_constant_text(item) + ", " for item in const) + ")"
    return f"{type(const).__name__}:{const!r}"


# -- values bound to the callable, keyed at each call ----------------------------------


def _bound_parts(fn: Any) -> tuple[Any, ...]:
    """The values ``fn`` passes its body besides the call's arguments."""
    if isinstance(fn, functools.partial):
        return (fn.args, tuple(fn.keywords.items()), *_bound_parts(fn.func))
    if isinstance(fn, types.MethodType):
        owner = fn.__self__
        head = (owner,) if _keyed(owner) else ()
        return (*head, *_bound_parts(fn.__func__))
    if isinstance(fn, types.FunctionType):
        keyword = fn.__kwdefaults__
        return (fn.__defaults__, tuple(keyword.items()) if keyword else None)
    return ()


_FROZEN = frozenset({type(None), bool, int, float, complex, str, bytes, range})


def _frozen(value: Any) -> bool:
    """Whether ``value`` can never change (so its key, made once, stays true)."""
    kind = type(value)
    if kind in _FROZEN or isinstance(value, enum.Enum):
        return True
    return (kind is tuple or kind is frozenset) and all(_frozen(item) for item in value)


def _same(old: Any, new: Any) -> bool:
    """The same objects, part by part (``tuple(kw.items())`` is a new tuple each time)."""
    if old is new:
        return True
    if type(old) is not tuple or type(new) is not tuple or len(old) != len(new):
        return False
    return all(_same(a, b) for a, b in zip(old, new, strict=True))


def _unchanged(keyword: dict[str, Any], items: tuple[tuple[str, Any], ...]) -> bool:
    """Whether a function's keyword-only defaults still hold the same objects."""
    if len(keyword) != len(items):
        return False
    return all(keyword.get(name, _unchanged) is value for name, value in items)


class BoundValues:
    """The version of an op's keys with the values its callable binds, read at each call.

    Defaults, a partial's arguments and a keyed ``self`` are arguments the body sees, so
    they are part of each call's key. Values that cannot change (numbers, strings,
    tuples of them) are keyed once, and only checked to be the same objects at a call;
    anything else (a list default, a dict, a ``self``) is keyed again at every call, so
    a later change is a miss, never a stale hit.

    Args:
        fn: the op's callable.
        version: the version from ``op_identity``.
        pinned: whether the user pinned ``version=``: it then stands for bound values
            without a canonical form, as it stands for a callable object's state.

    Raises:
        UncacheableError: a bound value has no canonical form and no version is pinned.

    Example:
        >>> labels = ["spam", "ham"]
        >>> def classify(text, options=labels):
        ...     return text in options
        >>> bound = BoundValues(classify, "v", pinned=True)
        >>> before = bound.version()
        >>> labels.append("eggs")
        >>> bound.version() == before
        False
    """

    __slots__ = ("_base", "_defaults", "_fn", "_keyword", "_keyword_items", "_pinned",
                 "_plain", "_seen", "_version")

    def __init__(self, fn: Callable[..., Any], version: str, *, pinned: bool) -> None:
        self._fn = fn
        self._base = version
        self._pinned = pinned
        parts = _bound_parts(fn)
        self._version = self._versioned(parts)
        self._seen = parts if _frozen(parts) else None
        # A plain function (the common case) is checked by its two attributes alone.
        self._plain = isinstance(fn, types.FunctionType) and self._seen is not None
        self._defaults = getattr(fn, "__defaults__", None)
        self._keyword = getattr(fn, "__kwdefaults__", None)
        self._keyword_items = tuple(self._keyword.items()) if self._keyword else ()

    def version(self) -> str:
        """The version for a call now: the base version and the current bound values."""
        fn: Any = self._fn
        if self._plain and fn.__defaults__ is self._defaults:
            keyword = fn.__kwdefaults__
            if keyword is self._keyword and (keyword is None or _unchanged(keyword,
                                                                          self._keyword_items)):
                return self._version
        parts = _bound_parts(fn)
        if self._seen is not None and _same(self._seen, parts):
            return self._version
        return self._versioned(parts)

    def _versioned(self, parts: tuple[Any, ...]) -> str:
        if all(part is None or (type(part) is tuple and not part) for part in parts):
            return self._base  # nothing bound: the key of a function without defaults
        try:
            data = encode(parts)
        except UncacheableError as error:
            if not self._pinned:
                raise UncacheableError(
                    f"cannot cache calls of {_short(self._fn)}: one of its default values "
                    f"(or bound arguments) has no canonical form ({error}). Pass it as an "
                    "argument, or pin version='...' to stand for it."
                ) from None
            data = repr([_canonical_or_type(part) for part in parts]).encode()
        import hashlib

        return f"{self._base}|bound:{hashlib.sha256(data).hexdigest()[:16]}"


def _canonical_or_type(value: Any) -> str:
    """A bound value's canonical bytes, or (a pinned version stands for it) its type."""
    if isinstance(value, tuple):
        return repr([_canonical_or_type(item) for item in value])
    try:
        return encode(value).hex()
    except UncacheableError:
        kind = type(value)
        return f"<{kind.__module__}.{kind.__qualname__}>"
