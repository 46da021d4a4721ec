"""Result-cache keys: who the op is, and its arguments written canonically.

A key is the SHA-256 of three parts:

- the op's **identity**: ``module:qualname`` of the function (or what the callable
  declares in ``__xcs_cache_identity__``, as a model-call body can);
- its **version**: the ``version=`` the user pinned, else a fingerprint of the code
  (bytecode, constants, names, defaults), so editing the body changes the key;
- its **arguments**, written canonically: equal values give equal bytes whatever the
  dict order, set order or process (``hash()`` randomisation plays no part).

Canonical values: ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str`` (and
``str`` subclasses such as model ``Response`` objects, by their text), ``bytes``,
``bytearray``, ``list``, ``tuple`` (named tuples by type and fields), ``dict``,
``OrderedDict`` (in order), ``Counter``, ``defaultdict`` (of a builtin factory), ``set``,
``frozenset``, ``range``, enum members, dataclass instances, ``datetime``/``date``/
``time``/``Decimal``/``Fraction``/``UUID``/``Path`` values, NumPy arrays and scalars,
pydantic models (``model_dump``), and any object with a ``__xcs_cache_key__()`` method
(its result is encoded in its place). The type is part of the encoding: equal values of
different types (``{1}`` and ``frozenset({1})``) are different keys. Anything else,
including other subclasses of ``int``, ``float``, ``list``, ``tuple`` and ``dict`` (their
extra state and methods are invisible to the key), raises ``UncacheableError``: a key
must never depend on an object's address, nor conflate values a function can tell apart.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import os
import struct
import types
from collections.abc import Callable
from typing import Any

from ember.xcs.errors import XCSError

__all__ = ["KEY_FORMAT", "UncacheableError", "code_fingerprint", "encode", "op_identity",
           "result_key"]

KEY_FORMAT = 2
"""Bumped whenever the encoding below changes, so old keys can never match new ones."""


class UncacheableError(XCSError, TypeError):
    """An argument (or the op itself) cannot be written into a result-cache key.

    Fix: pass plain data (str, numbers, lists, dicts, dataclasses...), give the type a
    ``__xcs_cache_key__(self)`` method returning plain data, or turn the cache off for
    this op (``cache=False``).
    """


def encode(value: Any) -> bytes:
    """The canonical bytes of ``value`` (see the module docstring).

    Raises:
        UncacheableError: ``value`` holds something without a canonical form.

    Example:
        >>> encode({"b": 1, "a": [1, 2.0]}) == encode({"a": [1, 2.0], "b": 1})
        True
        >>> encode(1) == encode(1.0) or encode(True) == encode(1)
        False
    """
    out = bytearray()
    _write(value, out, 0)
    return bytes(out)


_MAX_DEPTH = 200


def _tagged(out: bytearray, tag: bytes, payload: bytes) -> None:
    out += tag
    out += struct.pack(">Q", len(payload))
    out += payload


def _write(value: Any, out: bytearray, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise UncacheableError(
            f"a cache-key argument is nested more than {_MAX_DEPTH} levels deep (or contains "
            "itself); pass flatter data or cache=False."
        )
    kind = type(value)
    writer = _WRITERS.get(kind)
    if writer is not None:
        writer(value, out, depth)
        return
    key_method = getattr(kind, "__xcs_cache_key__", None)
    if key_method is not None:
        _tagged(out, b"K", _qualified(kind).encode())
        _write(key_method(value), out, depth + 1)
        return
    if isinstance(value, enum.Enum):  # before str: a StrEnum member is not its text
        _tagged(out, b"E", _qualified(kind).encode())
        _write(value.name, out, depth + 1)
        return
    if isinstance(value, str):  # str subclasses (model Responses) count by their text
        _write_str(str.__str__(value), out, depth)
        return
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        _tagged(out, b"N", _qualified(kind).encode())
        _write_sequence(b"T", value, out, depth)
        return
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        _tagged(out, b"D", _qualified(kind).encode())
        _write_sequence(
            b"T",
            [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)],
            out, depth,
        )
        return
    by_name = _STDLIB_WRITERS.get(_qualified(kind))
    if by_name is not None:
        _tagged(out, by_name[0], by_name[1](value))
        return
    container = _CONTAINER_WRITERS.get(_qualified(kind))
    if container is not None:
        container(value, out, depth)
        return
    if isinstance(value, os.PathLike):  # pathlib paths
        _tagged(out, b"p", os.fsencode(value))
        return
    module = kind.__module__.split(".", 1)[0]
    if module == "numpy":
        _write_numpy(value, out, depth)
        return
    dump = getattr(value, "model_dump", None)
    if module != "builtins" and callable(dump) and hasattr(kind, "model_fields"):
        _tagged(out, b"P", _qualified(kind).encode())
        _write(dump(mode="json"), out, depth + 1)
        return
    base = next((b for b in _WRITERS if b is not type(None) and isinstance(value, b)), None)
    why = (f"a subclass of {base.__name__}, its own state and methods are invisible to the "
           f"key; pass {base.__name__}(value) if the op only needs the {base.__name__}"
           if base is not None else "no canonical form; its repr would hold a memory address")
    raise UncacheableError(
        f"an argument of type {_qualified(kind)} cannot be part of a result-cache key ({why}). "
        f"Pass plain data, give {kind.__name__} a __xcs_cache_key__(self) method returning "
        "plain data, or use cache=False for this op."
    )


def _qualified(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def _write_str(value: str, out: bytearray, depth: int) -> None:
    _tagged(out, b"S", value.encode("utf-8", "surrogatepass"))


def _write_sequence(tag: bytes, items: Any, out: bytearray, depth: int) -> None:
    body = bytearray()
    for item in items:
        _write(item, body, depth + 1)
    _tagged(out, tag, bytes(body))


def _write_unordered(tag: bytes, items: Any, out: bytearray, depth: int) -> None:
    parts = []
    for item in items:
        part = bytearray()
        _write(item, part, depth + 1)
        parts.append(bytes(part))
    _tagged(out, tag, b"".join(sorted(parts)))


def _write_dict(value: dict[Any, Any], out: bytearray, depth: int, tag: bytes = b"M") -> None:
    parts = []
    for key, item in value.items():
        part = bytearray()
        _write(key, part, depth + 1)
        _write(item, part, depth + 1)
        parts.append(bytes(part))
    _tagged(out, tag, b"".join(sorted(parts)))


def _write_defaultdict(value: Any, out: bytearray, depth: int) -> None:
    factory = value.default_factory
    if factory is not None and not (isinstance(factory, type) and factory.__module__ == "builtins"):
        raise UncacheableError(
            f"a defaultdict whose default_factory is {_short(factory)} cannot be part of a "
            "result-cache key (only a builtin type such as int or list has a canonical name). "
            "Pass dict(value), or use cache=False for this op."
        )
    _tagged(out, b"V", b"" if factory is None else factory.__qualname__.encode())
    _write_dict(value, out, depth)


def _write_float(value: float, out: bytearray, depth: int) -> None:
    _tagged(out, b"F", struct.pack(">d", value) if value == value else b"nan")


def _write_numpy(value: Any, out: bytearray, depth: int) -> None:
    if hasattr(value, "dtype") and hasattr(value, "tobytes") and hasattr(value, "shape"):
        if value.dtype.hasobject:
            _tagged(out, b"A", str(value.shape).encode())
            _write_sequence(b"L", value.ravel().tolist(), out, depth)
            return
        header = f"{value.dtype.str}|{tuple(value.shape)}".encode()
        _tagged(out, b"A", header + b"|" + value.tobytes(order="C"))
        return
    raise UncacheableError(
        f"a NumPy value of type {type(value).__name__} cannot be part of a result-cache key; "
        "pass an array or a Python number."
    )


_WRITERS: dict[type, Callable[[Any, bytearray, int], None]] = {
    type(None): lambda v, out, d: out.extend(b"0"),
    bool: lambda v, out, d: out.extend(b"t" if v else b"f"),
    int: lambda v, out, d: _tagged(out, b"I", str(v).encode()),
    float: _write_float,
    complex: lambda v, out, d: _tagged(out, b"C", repr(v).encode()),
    str: _write_str,
    bytes: lambda v, out, d: _tagged(out, b"B", v),
    bytearray: lambda v, out, d: _tagged(out, b"b", bytes(v)),
    list: lambda v, out, d: _write_sequence(b"L", v, out, d),
    tuple: lambda v, out, d: _write_sequence(b"T", v, out, d),
    dict: _write_dict,
    set: lambda v, out, d: _write_unordered(b"s", v, out, d),
    frozenset: lambda v, out, d: _write_unordered(b"z", v, out, d),
    range: lambda v, out, d: _tagged(out, b"R", repr(v).encode()),
}

# Standard-library value types, by qualified name: importing their modules here would
# slow down `import ember.xcs` for values most programs never pass. Tag, then bytes.
_STDLIB_WRITERS: dict[str, tuple[bytes, Callable[[Any], bytes]]] = {
    "decimal.Decimal": (b"d", lambda v: str(v).encode()),
    "fractions.Fraction": (b"q", lambda v: str(v).encode()),
    "uuid.UUID": (b"U", lambda v: bytes(v.bytes)),
    "datetime.datetime": (b"W", lambda v: v.isoformat().encode()),
    "datetime.date": (b"Y", lambda v: v.isoformat().encode()),
    "datetime.time": (b"H", lambda v: v.isoformat().encode()),
    "datetime.timedelta": (b"Z", lambda v: repr(v).encode()),
}

# Dict subclasses of the standard library, by qualified name: each keeps what sets it
# apart from a dict (an OrderedDict's order, a Counter's type, a defaultdict's factory).
_CONTAINER_WRITERS: dict[str, Callable[[Any, bytearray, int], None]] = {
    "collections.OrderedDict": lambda v, out, d: _write_sequence(b"O", v.items(), out, d),
    "collections.Counter": lambda v, out, d: _write_dict(v, out, d, b"c"),
    "collections.defaultdict": _write_defaultdict,
}


# -- op identity ---------------------------------------------------------------------


def op_identity(fn: Callable[..., Any], version: str | None) -> tuple[str, str]:
    """``(identity, version)`` of an op body for its cache keys.

    Args:
        fn: the op's callable.
        version: the user's pinned version, or ``None`` for a code fingerprint.

    Returns:
        The identity (``module:qualname`` or the declared ``__xcs_cache_identity__``)
        and the version (``version`` itself, or ``"code:<hash>"``).

    Raises:
        UncacheableError: a callable object that declares no identity and was given no
            ``version`` (its state is invisible to the key), or a ``functools.partial``
            whose bound arguments have no canonical form.

    Example:
        >>> def summarise(text):
        ...     return text[:10]
        >>> op_identity(summarise, "2")
        ('ember.xcs.cache.keys:summarise', '2')
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
        import hashlib

        inner, inner_version = op_identity(fn.func, version)
        bound = hashlib.sha256(encode((fn.args, fn.keywords))).hexdigest()[:16]
        return f"{inner}[partial {bound}]", inner_version
    if isinstance(fn, types.MethodType) and not isinstance(fn.__self__, type | types.ModuleType):
        # A method bound to an object (chain.invoke): the object's state decides the
        # result, so it is part of the identity, or the user pins it with version=.
        identity, inner_version = op_identity(fn.__func__, version)
        owner = fn.__self__
        if getattr(type(owner), "__xcs_cache_key__", None) is not None:
            import hashlib

            bound = hashlib.sha256(encode(owner)).hexdigest()[:16]
            return f"{identity}[self {bound}]", inner_version
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


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def code_fingerprint(fn: Callable[..., Any]) -> str:
    """A hash of a function's code: bytecode, constants, names and default values.

    It changes when the body changes (or under another CPython version, whose bytecode
    differs); globals and closure variables the body reads are not part of it.
    """
    import hashlib

    digest = hashlib.sha256()
    code = getattr(fn, "__code__", None)
    if code is None:  # a builtin: its name is its identity
        digest.update(repr(fn).encode())
        return digest.hexdigest()[:16]
    _hash_code(code, digest)
    for defaults in (getattr(fn, "__defaults__", None), getattr(fn, "__kwdefaults__", None)):
        if defaults:
            try:
                digest.update(encode(defaults))
            except UncacheableError:
                digest.update(type(defaults).__name__.encode())  # only the shape counts
    return digest.hexdigest()[:16]


def _hash_code(code: types.CodeType, digest: Any) -> None:
    digest.update(code.co_code)
    digest.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _hash_code(const, digest)
        else:
            digest.update(repr(const).encode())


def result_key(identity: str, version: str, args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> str:
    """The key of one call: SHA-256 over the format, identity, version and arguments.

    Raises:
        UncacheableError: an argument has no canonical form.

    Example:
        >>> result_key("m:f", "1", (1,), {"a": 2}) == result_key("m:f", "1", (1,), {"a": 2})
        True
        >>> result_key("m:f", "1", (1,), {}) == result_key("m:f", "2", (1,), {})
        False
    """
    import hashlib

    digest = hashlib.sha256()
    digest.update(f"ember-xcs-result/{KEY_FORMAT}\0{identity}\0{version}\0".encode())
    digest.update(encode((args, kwargs)))
    return digest.hexdigest()
