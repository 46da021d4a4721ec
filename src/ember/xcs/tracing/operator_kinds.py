"""Whether an instance of a user's ``Operator`` subclass may be handed lazy values.

``Operator.__call__`` runs a leaf's op (which waits for its arguments), or ``forward``
through ``context.glue``: the user's ``forward`` rewritten, or Ember's own ``forward``
(``Ensemble``, ``Judge``...), which handles lazy values. Either way the arguments may
stay lazy, unless plain (unrewritten) code would see them first: a ``forward``
without source or wrapped by a library, or a method of Ember's that Ember's code calls
with the arguments (``_run``, ``Judge.decide``, a router's ``choose``) overridden by
the user's class. Such an operator gets values, as any unknown callable does.
"""

from __future__ import annotations

import types

from ember.xcs.tracing import rewrite
from ember.xcs.tracing.frames import is_user_code

__all__ = ["takes_lazy"]

# Overriding these changes nothing Ember's code does with an operator's arguments.
_HARMLESS = frozenset({"forward", "__init__", "__repr__", "__str__", "__eq__", "__hash__",
                       "__getstate__", "__setstate__", "__init_subclass__"})
_METHODS = (types.FunctionType, staticmethod, classmethod)


def takes_lazy(kind: type) -> bool:
    """Whether calling an instance of Operator subclass ``kind`` may keep its lazy arguments.

    Example:
        >>> from ember.operators import Operator
        >>> def _run(self, text):  # Operator.__call__ would hand it the lazy values
        ...     return type(text).__name__
        >>> takes_lazy(type("Mine", (Operator,), {"_run": _run, "__module__": "__main__"}))
        False
    """
    if _overrides_ember(kind):
        return False
    if getattr(kind, "leaf", False):
        return True
    forward = getattr(kind, "forward", None)
    if not isinstance(forward, types.FunctionType):
        return False
    if str(forward.__module__).startswith("ember."):
        return True  # a subclass of Ensemble, Judge...: Ember's forward handles them
    return is_user_code(forward.__code__.co_filename) and rewrite.can_rewrite(forward.__code__)


def _overrides_ember(kind: type) -> bool:
    """Whether a class of the user's in ``kind``'s MRO redefines a method of Ember's."""
    mro = kind.__mro__[:-1]  # not object
    ember = [vars(base) for base in mro if base.__module__.startswith("ember.")]
    return any(
        name not in _HARMLESS and isinstance(value, _METHODS)
        and any(name in names for names in ember)
        for base in mro if not base.__module__.startswith("ember.")
        for name, value in vars(base).items())
