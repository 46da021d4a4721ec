"""What ``ember-xcs explain`` runs: ``MODULE:FUNCTION`` and JSON arguments, checked.

Each mistake becomes a ``UsageError`` whose message says what was wrong and what to
type instead; the command line prints it on one line.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import PurePath
from typing import Any

__all__ = ["UsageError", "json_argument", "load_target"]

_EXAMPLE = "e.g. pipeline:summarise for summarise() in pipeline.py"


class UsageError(Exception):
    """A command line that cannot run; the message says why and what to do instead."""


def load_target(target: str) -> Any:
    """The callable ``target`` names (``module:function``, dotted attributes allowed).

    Raises:
        UsageError: the text is not ``module:function``, names a file or a relative
            module, the module cannot be imported, or the attribute is missing or not
            callable.
    """
    module_name, colon, attribute = target.rpartition(":")  # a drive letter stays
    if not colon or not module_name or not attribute:
        raise UsageError(f"expected module:function ({_EXAMPLE}), got {target!r}")
    _refuse_file_names(module_name, attribute)
    if "." not in sys.path:
        sys.path.insert(0, ".")
    try:
        value: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is not None and module_name.startswith(error.name):
            raise UsageError(
                f"cannot import module {module_name!r}: no {error.name.replace('.', '/')}.py "
                "here or on sys.path; run ember-xcs from the directory that contains it"
            ) from None
        raise UsageError(
            f"importing {module_name!r} failed: it imports {error.name!r}, which is not "
            "installed"
        ) from None
    except Exception as error:
        raise UsageError(
            f"importing {module_name!r} raised {type(error).__name__}: {error}"
        ) from None
    path = module_name
    for part in attribute.split("."):
        if not hasattr(value, part):
            from ember.xcs.checks import did_you_mean

            names = [n for n in dir(value) if not n.startswith("_")]
            raise UsageError(f"{path} has no attribute {part!r}{did_you_mean(part, names)}")
        value = getattr(value, part)
        path = f"{path}.{part}"
    if not callable(value):
        raise UsageError(f"{target} is a {type(value).__name__}, not a function")
    return value


def _refuse_file_names(module_name: str, attribute: str) -> None:
    """``UsageError`` for a file path (``pipeline.py``, ``src/pipeline``) or ``.pipeline``."""
    if module_name.endswith(".py") or "/" in module_name or "\\" in module_name:
        file = PurePath(module_name.replace("\\", "/"))
        stem = file.stem if file.suffix == ".py" else file.name
        where = "this directory" if str(file.parent) == "." else f"the directory {file.parent}"
        raise UsageError(
            f"{module_name!r} is a file path, but MODULE:FUNCTION takes a module name: use "
            f"{stem}:{attribute} from {where} (or with that directory on PYTHONPATH)"
        )
    if module_name.startswith("."):
        raise UsageError(
            f"{module_name!r} is a relative module name, which cannot be imported on its "
            f"own; give its full name ({module_name.lstrip('.') or 'package'}:{attribute})"
        )


def json_argument(position: int, raw: str) -> Any:
    """The JSON value of the ``position``-th argument (1 for the first).

    Raises:
        UsageError: ``raw`` is not JSON; the message shows it quoted as a JSON string.
    """
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        quoted = json.dumps(raw)
        raise UsageError(
            f"argument {position} {raw!r} is not JSON; arguments are JSON values, so quote "
            f"a string inside the shell quotes: '{quoted}'"
        ) from None
