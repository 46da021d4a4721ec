"""IPython's ``%autoreload`` and jitted functions and ops.

``%autoreload`` runs an edited module again and then updates the objects of its old
version in place, so that names a notebook imported from it (``from agent import
answer``) run the new code: a function gets the new ``__code__``, a class the new
methods. It does so by a list of rules (``IPython.extensions.autoreload.UPDATE_RULES``)
for functions, classes, properties and methods; a jitted function or an op is none of
these, and would keep running its old code. ``follow_autoreload`` adds a rule for such
a class: the old object becomes the new one (its function, settings and statistics).

The rule is added when a jitted function or op is made while the extension is loaded,
which the reloaded module itself does before the old objects are updated.

Example:
    >>> from ember.xcs.ops import Op
    >>> follow_autoreload(Op)  # nothing to do without IPython's autoreload
"""

from __future__ import annotations

import sys
import threading
from typing import Any

__all__ = ["follow_autoreload"]

_lock = threading.Lock()  # guards _followed
_followed: set[type] = set()  # the classes whose rule is added


def follow_autoreload(kind: type) -> None:
    """Have IPython's autoreload, if loaded, update ``kind`` objects of a reloaded
    module in place (once per ``kind``)."""
    autoreload = sys.modules.get("IPython.extensions.autoreload")
    if autoreload is None or kind in _followed:
        return
    rules = getattr(autoreload, "UPDATE_RULES", None)
    with _lock:
        if isinstance(rules, list) and kind not in _followed:
            _followed.add(kind)
            rules.append((lambda old, new: isinstance(old, kind) and isinstance(new, kind),
                          _update))


def _update(old: Any, new: Any) -> None:
    vars(old).update(vars(new))
