"""Operators as JAX pytrees, registered without importing JAX.

An Operator's fields split in two: *dynamic* fields hold array data (a JAX or NumPy
array, a list/tuple/dict containing one, or a nested Operator that has dynamic
fields) and are the pytree's children; every other field is *static* and travels in
the treedef. Which fields are dynamic is decided from the values the first time the
operator is flattened, then remembered by the operator and by every copy JAX
rebuilds from it, so ``tree_map(lambda leaf: True, op)`` keeps the structure of ``op``.

The rules apply to instances of ``FieldPytree``, the base class ``Operator`` derives
from, so this module sits below ``base`` and needs nothing from it.

JAX stays optional and is never imported here. A class is registered with
``jax.tree_util`` as soon as both exist: at class creation when JAX is already
imported, otherwise right after ``import jax`` completes (a meta-path finder wraps
the loader of the ``jax`` module, whoever imports it, so the order of imports in user
code does not matter).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Iterable
from types import ModuleType
from typing import Any

__all__ = ["FieldPytree", "Static", "dynamic_fields", "holds_arrays", "is_array",
           "register_operator_class"]

_lock = threading.Lock()  # guards _pending, _registered and the finder's installation
_pending: list[type] = []
_registered: set[type] = set()
_finder: _JaxImportFinder | None = None


class FieldPytree:
    """An object whose fields, its ``__dict__``, are a JAX pytree split as above.

    ``_ember_dynamic`` (a slot, so not a field) names the dynamic fields once decided.
    """

    __slots__ = ("__dict__", "_ember_dynamic")


def is_array(value: Any) -> bool:
    """Whether ``value`` is a JAX array (or tracer) or a numeric NumPy array."""
    module = type(value).__module__
    if not module.startswith(("jax", "numpy")) or not hasattr(value, "shape"):
        return False
    if module.startswith("jax"):
        return True
    return getattr(getattr(value, "dtype", None), "kind", "") in "biufc"


def holds_arrays(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is or contains array data (through containers and Operators)."""
    if is_array(value):
        return True
    if depth > 32:
        return False
    if isinstance(value, FieldPytree):
        return bool(dynamic_fields(value))
    if isinstance(value, dict):
        return any(holds_arrays(item, depth + 1) for item in value.values())
    if isinstance(value, list | tuple):
        return any(holds_arrays(item, depth + 1) for item in value)
    return False


def dynamic_fields(operator: FieldPytree) -> tuple[str, ...]:
    """The names of ``operator``'s dynamic fields (decided once, then remembered)."""
    known: tuple[str, ...] | None = getattr(operator, "_ember_dynamic", None)
    if known is None:
        known = tuple(name for name, value in operator.__dict__.items() if holds_arrays(value))
        object.__setattr__(operator, "_ember_dynamic", known)
    return known


class Static:
    """A static field value inside a treedef: hashable and comparable whatever it holds.

    JAX hashes and compares treedefs (``jax.jit`` caches on them). Hashable values
    compare by equality; unhashable ones (lists, dicts, most callables' state) by
    identity, so a cache hit never confuses two different objects.
    """

    __slots__ = ("hashable", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        try:
            hash(value)
        except TypeError:
            self.hashable = False
        else:
            self.hashable = True

    def __hash__(self) -> int:
        return hash(self.value) if self.hashable else id(self.value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Static):
            return NotImplemented
        if self.value is other.value:
            return True
        if not (self.hashable and other.hashable) or type(self.value) is not type(other.value):
            return False
        try:
            return bool(self.value == other.value)
        except Exception:  # an __eq__ that cannot answer (arrays): not the same
            return False

    def __repr__(self) -> str:
        return f"Static({self.value!r})"


def _flatten_with_keys(operator: FieldPytree) -> tuple[Iterable[tuple[Any, Any]], Any]:
    jax = sys.modules["jax"]
    dynamic = dynamic_fields(operator)
    fields = operator.__dict__
    children = [(jax.tree_util.GetAttrKey(name), fields[name]) for name in dynamic]
    statics = tuple((name, Static(value)) for name, value in fields.items()
                    if name not in dynamic)
    return children, (tuple(fields), dynamic, statics)


def _flatten(operator: FieldPytree) -> tuple[list[Any], Any]:
    dynamic = dynamic_fields(operator)
    fields = operator.__dict__
    statics = tuple((name, Static(value)) for name, value in fields.items()
                    if name not in dynamic)
    return [fields[name] for name in dynamic], (tuple(fields), dynamic, statics)


def _unflattener(cls: type[FieldPytree]) -> Any:
    def unflatten(aux: Any, children: Iterable[Any]) -> FieldPytree:
        names, dynamic, statics = aux
        values = dict(zip(dynamic, children))
        values.update((name, static.value) for name, static in statics)
        operator = object.__new__(cls)
        # Built without __init__ (as JAX requires): fields are set directly.
        fields = operator.__dict__
        for name in names:
            fields[name] = values[name]
        object.__setattr__(operator, "_ember_dynamic", dynamic)
        object.__setattr__(operator, "_ember_frozen", True)  # as Operator.__init__ leaves it
        return operator

    return unflatten


def _register_now(jax: ModuleType, cls: type[FieldPytree]) -> None:
    jax.tree_util.register_pytree_with_keys(
        cls, _flatten_with_keys, _unflattener(cls), flatten_func=_flatten
    )
    _registered.add(cls)


def register_operator_class(cls: type[FieldPytree]) -> None:
    """Make ``cls`` a JAX pytree node now if JAX is imported, else right after it is."""
    global _finder
    with _lock:
        if cls in _registered:
            return
        jax = sys.modules.get("jax")
        if jax is not None and hasattr(jax, "tree_util"):
            _register_now(jax, cls)
            return
        _pending.append(cls)
        if _finder is None:
            _finder = _JaxImportFinder()
            sys.meta_path.insert(0, _finder)


def _register_pending(jax: ModuleType) -> None:
    global _finder
    with _lock:
        while _pending:
            cls = _pending.pop(0)
            if cls not in _registered:
                _register_now(jax, cls)
        if _finder is not None:
            try:
                sys.meta_path.remove(_finder)
            except ValueError:
                pass
            _finder = None


class _RegisteringLoader(importlib.abc.Loader):
    """The real loader of ``jax``, plus registration of pending Operator classes after it."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self.loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        # Give the module its real loader back before its code runs, so that JAX and
        # anything inspecting it later see the ordinary import machinery.
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        _register_pending(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)


class _JaxImportFinder(importlib.abc.MetaPathFinder):
    """Finds ``jax`` with the other finders and wraps its loader (see module docstring)."""

    def find_spec(self, fullname: str, path: Any, target: Any = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "jax":
            return None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec: importlib.machinery.ModuleSpec | None = find(fullname, path, target)
            if spec is None:
                continue
            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = _RegisteringLoader(spec.loader)
            return spec
        return None
