"""Quoting user data in error messages without copying it: ``clip`` and ``check_encodable``.

A model call can carry megabytes (a prompt, a document, a reply body). An error
message quotes at most ``LIMIT`` characters of any one value, cut with a marker that
says how much was left out, and never builds the full ``repr`` of a big string first.
"""

from __future__ import annotations

import reprlib

__all__ = ["LIMIT", "check_encodable", "clip", "shorten"]

LIMIT = 200
_REPR = reprlib.Repr()
_REPR.maxstring = LIMIT
_REPR.maxother = LIMIT
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxdict = 8
_REPR.maxlevel = 3


def clip(value: object, limit: int = LIMIT) -> str:
    """A ``repr`` of ``value`` of at most about ``limit`` characters.

    Strings and bytes are cut before ``repr`` runs, so a 10 MB prompt costs nothing;
    containers show their first items only.

    Example:
        >>> clip("x" * 1000, limit=10)
        "'xxxxxxxxxx'... (1,000 chars in all)"
        >>> clip([1, 2])
        '[1, 2]'
    """
    if isinstance(value, str | bytes | bytearray):
        if len(value) <= limit:
            return repr(value)
        unit = "chars" if isinstance(value, str) else "bytes"
        return f"{value[:limit]!r}... ({len(value):,} {unit} in all)"
    text = _REPR.repr(value)  # reprlib also survives a __repr__ that raises
    if len(text) > limit:
        return text[:limit] + f"... ({len(text):,} chars of repr in all)"
    return text


def shorten(text: str, limit: int = LIMIT) -> str:
    """``text`` itself when short, else its first ``limit`` characters and a marker.

    For names that appear in messages as they are (model ids, parameter names).

    Example:
        >>> shorten("openai/gpt-4o"), shorten("m" * 30, limit=4)
        ('openai/gpt-4o', 'mmmm... (30 chars in all)')
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} chars in all)"


def check_encodable(text: str) -> int | None:
    """The index of the first character UTF-8 cannot encode (a lone surrogate), or None.

    Example:
        >>> check_encodable("fine"), check_encodable("bad \\ud800 here")
        (None, 4)
    """
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return error.start
    return None
