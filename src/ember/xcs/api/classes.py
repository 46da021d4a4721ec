"""``jit`` on a class: a subclass of it whose instances' calls are jitted.

``jit(Panel)`` returns a class that differs from ``Panel`` only in ``__call__``, a
``JitFunction`` of ``Panel.__call__``; ``Panel`` itself is left as it is (so
``Fast = jit(Panel)`` keeps a plain ``Panel`` to compare with, and jitting a library's
class changes nobody else's). Making that subclass is not defining a class in the
user's code, so it must not look like one:

- ``JittedClass``, put first among its bases, receives the ``__init_subclass__`` call
  that Python makes for every new class. For the jitted class itself it runs only
  Ember's own hooks (an ``Operator`` class is registered as a JAX pytree there), never
  the user's: a registry refusing duplicate names, or a hook that needs class keywords
  (``class Fast(Tagged, tag="fast")``), sees one class, as in plain Python. A class of
  the user's deriving from a jitted class runs every hook as usual.
- An instance pickles (and copies) by reference to its class as plain Python's would:
  to the jitted class when its module holds it under its name (``@jit class Panel``),
  else to the plain class (``Fast = jit(Panel)``, where ``module.Panel`` is the plain
  one): the copy then has the same fields and the same ``forward``, called plainly.
"""

from __future__ import annotations

import copyreg
import sys
from typing import Any, SupportsIndex

__all__ = ["JittedClass", "jitted_class"]

# What object.__reduce_ex__ gives for protocols 2 and up (typeshed does not declare them).
_NEWOBJ = vars(copyreg)["__newobj__"]
_NEWOBJ_EX = vars(copyreg)["__newobj_ex__"]


class JittedClass:
    """The first base of every jitted class (see the module docstring)."""

    __slots__ = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if "__xcs_jit__" not in cls.__dict__:  # a class of the user's: every hook runs
            super().__init_subclass__(**kwargs)
            return
        for klass in cls.__mro__[cls.__mro__.index(JittedClass) + 1:]:
            hook = vars(klass).get("__init_subclass__")
            if hook is not None and _is_ember(klass):
                hook.__get__(None, cls)()  # it goes on to the hooks below it (super())
                return

    def __reduce_ex__(self, protocol: SupportsIndex) -> Any:
        reduced = super().__reduce_ex__(protocol)
        jitted = type(self)
        if "__xcs_jit__" not in vars(jitted) or _reachable(jitted) \
                or not isinstance(reduced, tuple):
            return reduced
        plain = next(klass for klass in jitted.__mro__  # the user's (jit(jit(Panel)) too)
                     if "__xcs_jit__" not in vars(klass) and klass is not JittedClass)
        make, arguments, *rest = reduced
        if make is jitted:  # a __reduce__ of the user's returning (type(self), args)
            return (plain, arguments, *rest)
        if not (isinstance(arguments, tuple) and arguments and arguments[0] is jitted):
            return reduced
        if make is _NEWOBJ:  # pickle insists on the instance's own class there
            return (_new, (plain, arguments[1:], {}), *rest)
        if make is _NEWOBJ_EX:
            return (_new, (plain, *arguments[1:]), *rest)
        return (make, (plain, *arguments[1:]), *rest)  # copyreg._reconstructor (protocol < 2)


def jitted_class(cls: type, call: Any) -> type:
    """A subclass of ``cls`` whose ``__call__`` is ``call`` (a ``JitFunction``), with
    ``cls``'s name, module and docstring."""
    namespace = {
        "__call__": call,
        "__xcs_jit__": call,
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        "__slots__": (),  # instances are laid out as cls's (no __dict__ of its own)
    }
    bases = (cls,) if issubclass(cls, JittedClass) else (JittedClass, cls)
    made: type = type(cls)(cls.__name__, bases, namespace)
    return made


def _new(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``copyreg.__newobj_ex__`` under a name of its own (see ``__reduce_ex__``)."""
    return cls.__new__(cls, *args, **kwargs)


def _is_ember(klass: type) -> bool:
    module = getattr(klass, "__module__", "") or ""
    return module == "ember" or module.startswith("ember.")


def _reachable(cls: type) -> bool:
    """Whether pickle finds ``cls`` by its module and qualified name."""
    found: Any = sys.modules.get(cls.__module__)
    for part in cls.__qualname__.split("."):
        found = getattr(found, part, None)
    return found is cls
