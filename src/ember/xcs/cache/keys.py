"""Result-cache keys: a call's arguments written canonically, and the key of a call.

A key is the SHA-256 of the op's identity and version (``identity``) and of its
arguments, written canonically: equal values give equal bytes in every process
(``hash()`` randomisation plays no part), and values a function can tell apart give
different bytes. So the type is part of the encoding (``{1}`` and ``frozenset({1})``,
``np.float64(1.5)`` and ``1.5``), and so is order wherever iterating shows it: a
``dict`` is written in its order, a ``set`` in its iteration order.

Canonical values: ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``, ``bytes``,
``bytearray``, ``list``, ``tuple`` (named tuples by type and fields), ``dict``,
``OrderedDict``, ``Counter``, ``defaultdict`` (of a builtin factory), ``set``,
``frozenset``, ``range``, enum members, dataclass instances, ``datetime``/``date``/
``time`` (with their time zone and ``fold``), ``timedelta``, ``Decimal``, ``Fraction``,
``UUID``, ``ipaddress`` values, ``pathlib`` paths, NumPy arrays (plain, ``matrix``,
``recarray``, masked: with their mask) and scalars, pydantic models (by their fields'
values, excluded fields too), ``str`` subclasses (by type, text and attributes: a model
``Response`` by its text, model, provider, usage...), and any object with a
``__xcs_cache_key__()`` method (its result is encoded in its place). Anything else,
including other subclasses of ``int``, ``float``, ``list``, ``tuple`` and ``dict`` (their
extra state and methods are invisible to the key), raises ``UncacheableError``: a key
must never depend on an object's address, nor conflate values a function can tell apart.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import struct
import sys
from collections.abc import Callable
from typing import Any

from ember.xcs.errors import XCSError

__all__ = ["KEY_FORMAT", "UncacheableError", "encode", "result_key"]

KEY_FORMAT = 3
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
        >>> encode({"a": 1, "b": [1, 2.0]}) == encode({"a": 1, "b": [1, 2.0]})
        True
        >>> encode({"a": 1, "b": 2}) == encode({"b": 2, "a": 1})  # iteration shows order
        False
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
        # A Flag value may have no name (Perm(0), unknown bits): its value is the member.
        _write(value._value_ if isinstance(value, enum.Flag) else value.name, out, depth + 1)
        return
    module = kind.__module__.split(".", 1)[0]
    if module == "numpy":  # before str and bytes: np.str_ is a str, not a plain one
        _write_numpy(value, out, depth)
        return
    if isinstance(value, str):
        _write_str_subclass(value, out, depth)
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
    if module == "pathlib":
        _tagged(out, b"p", kind.__name__.encode() + b"|" + os.fsencode(value))
        return
    if module != "builtins" and _write_pydantic(value, out, depth):
        return
    base = next((b for b in _WRITERS if b is not type(None) and isinstance(value, b)), None)
    why = (f"a subclass of {base.__name__}, its own state and methods are invisible to the "
           f"key; pass {base.__name__}(value) if the op only needs the {base.__name__}"
           if base is not None else "no canonical form; its repr would hold a memory address")
    raise _refused(kind, why)


def _refused(kind: type, why: str) -> UncacheableError:
    return UncacheableError(
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


def _write_dict(value: dict[Any, Any], out: bytearray, depth: int, tag: bytes = b"M") -> None:
    body = bytearray()
    for key, item in value.items():  # in order: iterating a dict shows it
        _write(key, body, depth + 1)
        _write(item, body, depth + 1)
    _tagged(out, tag, bytes(body))


def _write_str_subclass(value: str, out: bytearray, depth: int) -> None:
    """A ``str`` subclass by its type, text and attributes (a model ``Response``: its
    text, model, provider, usage...); state in ``__slots__`` is invisible, so refused."""
    kind = type(value)
    for base in kind.__mro__:
        slots = () if base is str or base is object else base.__dict__.get("__slots__", ())
        names = (slots,) if isinstance(slots, str) else tuple(slots)
        if any(name not in ("__dict__", "__weakref__") for name in names):
            raise _refused(kind, f"a str subclass with __slots__ {names}, which the key "
                                 "cannot see; pass str(value) if the op only needs the text")
    _tagged(out, b"X", _qualified(kind).encode())
    _write_str(str.__str__(value), out, depth)
    _write_dict(getattr(value, "__dict__", {}), out, depth)


def _write_defaultdict(value: Any, out: bytearray, depth: int) -> None:
    factory = value.default_factory
    if factory is not None and not (isinstance(factory, type) and factory.__module__ == "builtins"):
        raise UncacheableError(
            f"a defaultdict whose default_factory is {factory!r:.60} cannot be part of a "
            "result-cache key (only a builtin type such as int or list has a canonical name). "
            "Pass dict(value), or use cache=False for this op."
        )
    _tagged(out, b"V", b"" if factory is None else factory.__qualname__.encode())
    _write_dict(value, out, depth)


def _write_float(value: float, out: bytearray, depth: int) -> None:
    _tagged(out, b"F", struct.pack(">d", value) if value == value else b"nan")


def _write_numpy(value: Any, out: bytearray, depth: int) -> None:
    """A NumPy scalar or array by its exact type, dtype (field names too), shape and
    data; a masked array with its mask, fill value and hardness."""
    np = sys.modules["numpy"]
    kind = type(value)
    if kind is np.ma.MaskedArray:
        _tagged(out, b"m", f"{value.hardmask}".encode())
        _write_numpy(value.data, out, depth)
        _write_numpy(np.ma.getmaskarray(value), out, depth)
        _write(value.fill_value, out, depth + 1)
        return
    if not (isinstance(value, np.generic) or kind in (np.ndarray, np.matrix, np.recarray)):
        raise _refused(kind, "a NumPy type whose state the key cannot see; pass "
                             "np.asarray(value)")
    dtype = value.dtype
    if dtype.metadata is not None:
        raise _refused(kind, "a dtype with metadata, which the key cannot see")
    header = f"{_qualified(kind)}|{dtype.str}|{dtype!r}|"  # the repr: fields, alignment
    if dtype.hasobject:  # object (and string) dtypes hold Python objects, written as such
        _tagged(out, b"A", f"{header}{value.shape}".encode())
        _write_sequence(b"L", np.ravel(value).tolist(), out, depth)
        return
    _tagged(out, b"A", f"{header}{value.shape}|".encode() + value.tobytes(order="C"))


def _write_pydantic(value: Any, out: bytearray, depth: int) -> bool:
    """A pydantic model by its type and every field's Python value (excluded fields,
    extras, which fields were set, private attributes); a URL by its text and a secret
    by its value. ``False``: not a pydantic value this knows."""
    kind = type(value)
    bases = {_qualified(base) for base in kind.__mro__}
    if "pydantic.main.BaseModel" in bases:
        _tagged(out, b"P", _qualified(kind).encode())
        _write_dict(value.__dict__, out, depth)
        _write(value.__pydantic_extra__, out, depth + 1)
        _write(sorted(value.__pydantic_fields_set__), out, depth + 1)
        _write(value.__pydantic_private__, out, depth + 1)
        return True
    if bases & {"pydantic.networks._BaseUrl", "pydantic.networks._BaseMultiHostUrl",
                "pydantic_core._pydantic_core.Url", "pydantic_core._pydantic_core.MultiHostUrl"}:
        _tagged(out, b"u", f"{_qualified(kind)}|{value}".encode())
        return True
    if "pydantic.types._SecretBase" in bases:
        _tagged(out, b"k", _qualified(kind).encode())
        _write(value.get_secret_value(), out, depth + 1)
        return True
    return False


def _time_zone(zone: Any) -> str:
    """What a ``tzinfo`` is (not just today's offset: date arithmetic across a DST change
    and ``tzname()`` tell a zone from a fixed offset)."""
    if zone is None:
        return ""
    kind = _qualified(type(zone))
    if kind == "datetime.timezone":
        return repr(zone)  # its offset and name
    if kind == "zoneinfo.ZoneInfo" and zone.key is not None:
        return f"zoneinfo:{zone.key}"
    raise UncacheableError(
        f"a date or time in the time zone {zone!r:.60} ({kind}) cannot be part of a result-"
        "cache key: only datetime.timezone and zoneinfo.ZoneInfo (by its key) have a "
        "canonical form. Convert it (dt.astimezone(ZoneInfo(...))), or use cache=False."
    )


def _clock(value: Any) -> bytes:
    return f"{value.isoformat()}|{value.fold}|{_time_zone(value.tzinfo)}".encode()


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
    # In iteration order, which equal sets may not share ({1, 9} and {9, 1}), and which
    # for strings follows the per-process hash seed: a miss then, never a wrong hit.
    set: lambda v, out, d: _write_sequence(b"s", v, out, d),
    frozenset: lambda v, out, d: _write_sequence(b"z", v, out, d),
    range: lambda v, out, d: _tagged(out, b"R", repr(v).encode()),
}

# Standard-library value types, by qualified name: importing their modules here would
# slow down `import ember.xcs` for values most programs never pass. Tag, then bytes.
_STDLIB_WRITERS: dict[str, tuple[bytes, Callable[[Any], bytes]]] = {
    "decimal.Decimal": (b"d", lambda v: str(v).encode()),
    "fractions.Fraction": (b"q", lambda v: str(v).encode()),
    "uuid.UUID": (b"U", lambda v: bytes(v.bytes)),
    "datetime.datetime": (b"W", _clock),
    "datetime.date": (b"Y", lambda v: v.isoformat().encode()),
    "datetime.time": (b"H", _clock),
    "datetime.timedelta": (b"Z", lambda v: repr(v).encode()),
    **{f"ipaddress.{name}": (b"i", lambda v: f"{type(v).__name__}|{v}".encode())
       for name in ("IPv4Address", "IPv6Address", "IPv4Network", "IPv6Network",
                    "IPv4Interface", "IPv6Interface")},
}

# Dict subclasses of the standard library, by qualified name: each keeps what sets it
# apart from a dict (an OrderedDict's type, a Counter's type, a defaultdict's factory).
_CONTAINER_WRITERS: dict[str, Callable[[Any, bytearray, int], None]] = {
    "collections.OrderedDict": lambda v, out, d: _write_dict(v, out, d, b"O"),
    "collections.Counter": lambda v, out, d: _write_dict(v, out, d, b"c"),
    "collections.defaultdict": _write_defaultdict,
}


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
