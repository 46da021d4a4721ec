"""Where a call that raised left its lazy values: the frames its exception unwound.

A call that raises (a service's 404, a cancelled request) leaves the glue's frame, and
those of the functions it called, alive in the exception's traceback, with the op
results their locals held: in a list the glue built (``rows = [lookup(k), ...]``), or
bound to a name. Escape repair (``tracing.escapes``) gives such containers their values,
as after any call; searching for them with ``gc.get_referrers`` is a pass over every
object of the process, which a large heap makes cost tens of milliseconds on every
failing call, on the caller's thread (for an ``async def``: its event loop).

``holders_near`` finds them from those frames instead: the objects their locals reach,
three levels deep (at most ``LIMIT`` objects). A value a frame holds directly stays
with the frame, which is never patched; ``held_only_by`` then tells whether anything
else holds a value, and only then is the whole heap searched.

Example:
    >>> def fails():
    ...     rows = [object()]
    ...     raise KeyError("k")
    >>> try:
    ...     fails()
    ... except KeyError as error:
    ...     frames = unwound_frames(error)
    >>> [frame.f_code.co_name for frame in frames][-1]
    'fails'
"""

from __future__ import annotations

import collections
import gc
import sys
import types
from typing import Any

from ember.xcs.tracing.lazy import Lazy

__all__ = ["LIMIT", "held_only_by", "holders_near", "unwound_frames"]

LIMIT = 2_000  # objects looked at: the walk stays cheap next to a pass over the heap
_DEPTH = 3
_CHAIN = 4  # exceptions followed through __context__
# Reached from a frame, but not the state its locals keep: not walked into.
_OPAQUE = (type, types.ModuleType, types.FunctionType, types.CodeType, types.FrameType,
           types.BuiltinFunctionType, str, bytes, Lazy)


def unwound_frames(error: BaseException | None) -> list[types.FrameType]:
    """The frames the traceback of ``error`` (and of those it was raised while
    handling) keeps alive, outermost first."""
    frames: list[types.FrameType] = []
    seen: set[int] = set()
    while error is not None and id(error) not in seen and len(seen) < _CHAIN:
        seen.add(id(error))
        traceback = error.__traceback__
        while traceback is not None:
            frames.append(traceback.tb_frame)
            traceback = traceback.tb_next
        error = error.__context__
    return frames


def holders_near(frames: list[types.FrameType], wanted: set[int]) -> list[Any]:
    """The objects the locals of ``frames`` reach that refer to an object whose id is in
    ``wanted`` (the frames themselves aside)."""
    skip = {id(frame) for frame in frames}
    for frame in frames:  # a frame refers to its module's globals: not its locals' state
        skip.update((id(frame.f_globals), id(frame.f_builtins)))
    level = [item for frame in frames for item in gc.get_referents(frame)]
    found: list[Any] = []
    looked = 0
    for _ in range(_DEPTH):
        deeper: list[Any] = []
        for item in level:
            # By type(): isinstance would ask a lazy value for its __class__ (its value).
            if id(item) in skip or issubclass(type(item), _OPAQUE) or looked >= LIMIT:
                continue
            skip.add(id(item))
            looked += 1
            referents = gc.get_referents(item)
            if any(id(referent) in wanted for referent in referents):
                found.append(item)
            deeper += referents
        level = deeper
    return found


def held_only_by(olds: list[Any], holders: list[Any]) -> bool:
    """Whether every reference to the objects in ``olds`` comes from ``holders`` (which
    must include ``olds`` itself), beyond the caller's loop variable."""
    counts = collections.Counter(id(referent) for holder in holders
                                 for referent in gc.get_referents(holder))
    # Beyond the holders: the loop variable and getrefcount's argument.
    return all(sys.getrefcount(old) - 2 <= counts[id(old)] for old in olds)
