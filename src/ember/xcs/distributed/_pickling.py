"""The picklers an op call to a Dask worker and its result travel with: cloudpickle's,
keeping the file names of the code they carry.

cloudpickle ships some functions by value: those of ``__main__`` and of modules
registered with ``cloudpickle.register_pickle_by_value``, and the bodies of ``@op``
functions. It writes ``"<dynamic-code>"`` as the file of their code, so that a payload
does not depend on where a function was defined. A traceback from such an op would then
name no file and show no source line, and a warning it issues would be attributed to
``<dynamic-code>``. These picklers write the real file name instead: the caller shows
the source lines when the traceback comes back, and so does a worker on the same
machine. (A payload that is the same wherever a function was defined matters for
Dask's own hashing of tasks; ours are submitted with ``pure=False``.)

Imported when a call is first shipped (it imports cloudpickle).
"""

from __future__ import annotations

import types
from collections import ChainMap
from typing import Any

import cloudpickle

from ember.xcs.engine.shipped import Referring

__all__ = ["CallPickler", "ResultPickler"]

_ANONYMOUS = "<dynamic-code>"
_reduce_code = cloudpickle.CloudPickler.dispatch_table[types.CodeType]


def _code_with_its_file(code: types.CodeType) -> Any:
    """cloudpickle's reduction of ``code``, with ``code.co_filename`` for its file."""
    constructor, args = _reduce_code(code)
    args = tuple(code.co_filename if isinstance(arg, str) and arg == _ANONYMOUS else arg
                 for arg in args)
    return constructor, args


class CallPickler(cloudpickle.CloudPickler):  # type: ignore[misc]  # cloudpickle: untyped
    """cloudpickle's pickler, keeping the file name of code shipped by value."""

    dispatch_table = ChainMap({types.CodeType: _code_with_its_file},
                              cloudpickle.CloudPickler.dispatch_table)


class ResultPickler(Referring, CallPickler):
    """What a Dask worker pickles a result with (``engine.shipped.Arrived``)."""

