"""Tensor or orchestration? Decided by trying: JAX runs what it can trace without ops.

A call is *tensor-only* when its array leaves are JAX/NumPy arrays (other leaves are
numbers, or hashable atoms such as strings) and tracing it with JAX never reaches an
op. Transforms and ``jit`` first check the leaves (cheap, no JAX import), then let JAX
trace with a ``TensorProbe`` installed as the current op handler: an op reached while
JAX traces raises ``OpReached``, which aborts the JAX trace *before* the op runs, and
the caller switches that function to orchestration mode for good.

``import jax`` happens here, lazily, the first time an array is seen.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ember.xcs.api.stats import Fallback, FunctionStats
from ember.xcs.errors import TransformError
from ember.xcs.ir.graph import SourceLocation
from ember.xcs.ops import Op
from ember.xcs.tracing import context
from ember.xcs.tracing.frames import is_internal, location_of

if TYPE_CHECKING:
    from ember.xcs.api.jit import JitFunction

__all__ = [
    "ARRAY",
    "ATOM",
    "NUMBER",
    "OTHER",
    "GradProbe",
    "OpReached",
    "TensorDispatch",
    "TensorProbe",
    "caller_location",
    "count_arrays",
    "has_tracer",
    "is_tensor_tree",
    "jax_or_none",
    "leaf_kind",
    "require_jax",
    "tensor_path",
]

JAX_EXTRA = "pip install 'ember-xcs[jax]'"

# Leaf kinds (plain ints: this runs on every jitted call).
ARRAY = 1  # a JAX or NumPy array (or JAX tracer) of a numeric dtype
NUMBER = 2  # int, float, bool, complex
ATOM = 3  # str, bytes, None: hashable, never an array
OTHER = 4  # anything else

TensorPath = Callable[["JitFunction", tuple[Any, ...], dict[str, Any]], Any]

_KINDS: dict[type, int] = {
    int: NUMBER, float: NUMBER, bool: NUMBER, complex: NUMBER,
    str: ATOM, bytes: ATOM, type(None): ATOM,
}
_CONTAINERS = (list, tuple, dict)
_NUMERIC_DTYPE_KINDS = frozenset("biufc")
_jax: ModuleType | bool | None = False  # False: not tried yet
_clock = time.perf_counter


def jax_or_none() -> ModuleType | None:
    """The ``jax`` module, imported on first use, or ``None`` when it is not installed."""
    global _jax
    if _jax is False:
        try:
            import jax
        except ImportError:
            _jax = None
        else:
            _jax = jax
    return _jax  # type: ignore[return-value]


def require_jax(feature: str) -> ModuleType:
    """The ``jax`` module, or ``TransformError`` naming the extra to install.

    Args:
        feature: what needs JAX, for the message (e.g. ``"grad"``).

    Raises:
        TransformError: JAX is not installed.
    """
    jax = jax_or_none()
    if jax is None:
        raise TransformError(
            f"{feature} needs JAX for array inputs, and JAX is not installed. Install the "
            f"extra: {JAX_EXTRA}"
        )
    return jax


def leaf_kind(value: Any) -> int:
    """The kind of a leaf value: ``ARRAY``, ``NUMBER``, ``ATOM`` or ``OTHER``."""
    kind = _KINDS.get(type(value))
    if kind is not None:
        return kind
    module = type(value).__module__
    if module.startswith(("jax", "numpy")) and hasattr(value, "shape"):
        if module.startswith("jax"):  # arrays, tracers, key arrays: always JAX data
            _KINDS[type(value)] = ARRAY  # so the next lookup is one dict access
            return ARRAY
        dtype = getattr(value, "dtype", None)  # NumPy: strings and objects are not
        if dtype is not None and getattr(dtype, "kind", "") in _NUMERIC_DTYPE_KINDS:
            return ARRAY
    return OTHER


def is_tensor_tree(tree: Any) -> bool:
    """Whether every leaf of ``tree`` is an array or a number, with at least one array.

    Containers are lists, tuples and dicts (and ``None``, an empty node, as in JAX).
    """
    found = count_arrays(tree, 0)
    return found is not None and found > 0


def count_arrays(tree: Any, depth: int = 0) -> int | None:
    """Number of array leaves of ``tree``, or ``None`` when some leaf is not tensor data."""
    if tree is None:
        return 0
    if isinstance(tree, _CONTAINERS) and depth < 64:
        items = tree.values() if isinstance(tree, dict) else tree
        total = 0
        for item in items:
            found = count_arrays(item, depth + 1)
            if found is None:
                return None
            total += found
        return total
    kind = leaf_kind(tree)
    if kind == ARRAY:
        return 1
    if kind == NUMBER:
        return 0
    return None


def has_tracer(tree: Any) -> bool:
    """Whether ``tree`` holds a value JAX is tracing (a ``jax.core.Tracer``)."""
    jax = sys.modules.get("jax")
    if jax is None:
        return False
    tracer_type = jax.core.Tracer
    leaves = jax.tree_util.tree_leaves(tree, is_leaf=lambda leaf: isinstance(leaf, tracer_type))
    return any(isinstance(leaf, tracer_type) for leaf in leaves)


def caller_location() -> SourceLocation | None:
    """The innermost user (non-Ember) frame's file:line, or ``None``."""
    frame = sys._getframe(1)
    while frame is not None:
        if not is_internal(frame.f_code) and not frame.f_code.co_filename.startswith("<frozen"):
            return location_of(frame)
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _op_name(op: Any) -> str:
    return str(getattr(op, "name", None) or getattr(op, "__name__", None) or type(op).__name__)


class OpReached(BaseException):  # a control-flow signal, not an error
    """An op was called while JAX traced: the function is not tensor-only.

    A ``BaseException`` so that ``except Exception`` in user code cannot swallow it.

    Attributes:
        op_name: the op's display name.
        location: the user line that called it.
    """

    def __init__(self, op_name: str, location: SourceLocation | None) -> None:
        super().__init__(f"op {op_name!r} called at {location or '<unknown>'} while JAX traced")
        self.op_name = op_name
        self.location = location

    def fallback(self) -> Fallback:
        """The stats record of the switch to orchestration mode."""
        return Fallback(
            f"switched to orchestration mode: op {self.op_name} was called while JAX traced",
            self.location,
        )


class TensorProbe:
    """The op handler while JAX traces for XCS: any op call raises ``OpReached``."""

    def call_op(self, op: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        raise OpReached(_op_name(op), caller_location())


TENSOR_PROBE = TensorProbe()


def probed(fn: Callable[..., Any], probe: Any = TENSOR_PROBE) -> Callable[..., Any]:
    """``fn`` with ``probe`` as the op handler while it runs (i.e. while JAX traces)."""

    def run(*args: Any, **kwargs: Any) -> Any:
        previous = context.swap(probe)
        try:
            return fn(*args, **kwargs)
        finally:
            context.swap(previous)

    return run


class GradProbe:
    """The op handler while ``grad`` traces: ops run eagerly and their outputs are constants.

    An op that receives a traced value (one derived from the differentiated input) cannot
    be differentiated: ``TransformError`` names it and the line. Inside a tensor-mode
    ``jit`` trace an op must not be baked into compiled code, so ``OpReached`` is raised
    and that ``jit`` switches to orchestration mode.

    Args:
        outer: the op handler that was current when ``grad`` was called.
        transform: the transform's name for messages.
    """

    def __init__(self, outer: Any, transform: str, allow_ops: bool = True) -> None:
        self.outer = outer
        self.transform = transform
        self.allow_ops = allow_ops
        self.ops_called = 0  # one trace runs in one thread: no lock needed

    def call_op(self, op: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        name = _op_name(op)
        location = caller_location()
        if isinstance(self.outer, TensorProbe):
            raise OpReached(name, location)
        if not self.allow_ops:
            raise TransformError(
                f"{self.transform}: op {name!r} (orchestration: an LLM or tool call) was "
                f"called at {location or '<unknown location>'} with allow_hybrid=False. "
                "Pass allow_hybrid=True (the default) to treat op results as constants."
            )
        self.ops_called += 1
        if has_tracer((args, kwargs)):
            raise TransformError(
                f"{self.transform}: the differentiated input flows into op {name!r} at "
                f"{location or '<unknown location>'}. Ops (orchestration: LLM calls, "
                "tools) are not differentiable: pass the op only values that do not depend on the "
                "differentiated argument (or wrap them in jax.lax.stop_gradient), or move "
                "the op out of the differentiated function."
            )
        with context.suspended():
            if isinstance(op, Op):
                return op.invoke(args, kwargs)
            return op(*args, **kwargs)


class TensorDispatch:
    """The tensor fast path of one ``JitFunction``: ``jax.jit`` until an op is reached.

    Each call checks the argument leaves. A call with no array leaf, or with a leaf JAX
    cannot take, runs through the XCS tracer; if that happens before any call ran as
    tensor code, the function is orchestration for good (``owner._tensor`` is cleared,
    so later calls pay nothing). Array calls run through ``jax.jit``; numbers and
    strings become static arguments only if JAX needs them concrete. When tracing
    reaches an op, or JAX rejects the code as not traceable, the function switches to
    orchestration mode for good and the call runs on the XCS tracer, so results are
    those of plain Python.

    Args:
        fn: the function being jitted.
    """

    __slots__ = ("_compiled", "_fn", "_static_numbers", "_succeeded")

    def __init__(self, fn: Callable[..., Any]) -> None:
        self._fn = fn
        self._compiled: dict[tuple[Any, ...], Callable[..., Any]] = {}
        self._static_numbers = False
        self._succeeded = False

    def dispatch(self, owner: JitFunction, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run one call of ``owner``: through ``jax.jit`` or, if not tensor, its tracer."""
        key = self._static_key(args, kwargs)
        if key is None:
            if not self._succeeded:
                owner._tensor = None
            return owner._traced_call(args, kwargs)
        compiled = self._compiled_for(key)
        stats = owner._xcs_stats
        started = _clock()
        try:
            result = compiled(*args, **kwargs)
        except BaseException as error:
            return self._failed(owner, error, args, kwargs)
        if not self._succeeded:
            self._succeeded = True
            stats.mode = "tensor"
        types = tuple(map(type, args))
        if not kwargs and all(_KINDS.get(t, OTHER) != OTHER for t in types):
            owner._tensor = self._fast_path(types, compiled, stats)
        stats.calls += 1
        stats.total_time += _clock() - started
        return result

    def _fast_path(self, types: tuple[type, ...], compiled: Callable[..., Any],
                   stats: FunctionStats) -> TensorPath:
        """A path for calls whose argument types equal ``types``: their kinds follow from
        the types alone, so the leaf checks and the cache lookup are skipped."""
        slow = self.dispatch
        failed = self._failed
        single = types[0] if len(types) == 1 else None  # one argument: the common case

        def fast(owner: JitFunction, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if kwargs or (
                len(args) != 1 or type(args[0]) is not single if single is not None
                else tuple(map(type, args)) != types
            ):
                return slow(owner, args, kwargs)
            started = _clock()
            try:
                result = compiled(*args)
            except BaseException as error:
                return failed(owner, error, args, kwargs)
            # Without the lock: neither update can be interrupted by another thread
            # under the GIL (no call or backward jump between load and store), and the
            # lock would cost a third of this path.
            stats.calls += 1
            stats.total_time += _clock() - started
            return result

        return fast

    def _failed(self, owner: JitFunction, error: BaseException, args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> Any:
        """Handle a failed tensor call: switch modes, retry with static numbers, or run
        the call on the tracer (so that the error raised is the plain-Python one)."""
        if isinstance(error, OpReached):
            return self._switch(owner, error.fallback(), args, kwargs)
        if not isinstance(error, Exception):
            raise error
        jax = sys.modules["jax"]
        if not isinstance(error, jax.errors.JAXTypeError):
            return owner._traced_call(args, kwargs)  # possibly an artefact of tracing
        if not self._static_numbers and _has_numbers(args, kwargs):
            self._static_numbers = True  # JAX needed concrete numbers: retry with them
            return self.dispatch(owner, args, kwargs)
        reason = f"switched to orchestration mode: JAX could not trace it ({type(error).__name__})"
        return self._switch(owner, Fallback(reason, None), args, kwargs)

    def _switch(self, owner: JitFunction, fallback: Fallback, args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> Any:
        owner._tensor = None
        stats = owner._xcs_stats
        with stats.lock:
            stats.mode = "orchestration"
            stats.fallbacks.append(fallback)
        return owner._traced_call(args, kwargs)

    def _static_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...] | None:
        """Which arguments are static (a cache key), or ``None`` when this is no tensor call."""
        arrays = 0
        static: list[Any] = []
        static_numbers = self._static_numbers
        for index, value in enumerate(args):
            kind = _argument_kind(value)
            if kind == ARRAY:
                arrays += 1
            elif kind == ATOM or (kind == NUMBER and static_numbers):
                static.append(index)
            elif kind == OTHER:
                return None
        for name, value in kwargs.items():
            kind = _argument_kind(value)
            if kind == ARRAY:
                arrays += 1
            elif kind == ATOM or (kind == NUMBER and static_numbers):
                static.append(name)
            elif kind == OTHER:
                return None
        if not arrays or jax_or_none() is None:
            return None
        return tuple(static)

    def _compiled_for(self, key: tuple[Any, ...]) -> Callable[..., Any]:
        compiled = self._compiled.get(key)
        if compiled is None:
            jax = sys.modules["jax"]
            numbers = tuple(k for k in key if isinstance(k, int))
            names = tuple(k for k in key if isinstance(k, str))
            compiled = jax.jit(probed(self._fn), static_argnums=numbers, static_argnames=names)
            self._compiled[key] = compiled
        return compiled


def tensor_path(fn: Callable[..., Any]) -> TensorPath:
    """The tensor fast path of a new ``JitFunction`` of ``fn`` (a bound method: cheap to call)."""
    return TensorDispatch(fn).dispatch


def _argument_kind(value: Any) -> int:
    """``ARRAY`` for array data (also containers of arrays and numbers), ``NUMBER``,
    ``ATOM`` (hashable, static-able: also tuples of atoms/numbers) or ``OTHER``."""
    kind = _KINDS.get(type(value))
    if kind is not None:
        return kind
    if isinstance(value, _CONTAINERS):
        found = count_arrays(value, 0)
        if found:
            return ARRAY
        if type(value) is tuple and all(_argument_kind(v) in (NUMBER, ATOM) for v in value):
            return ATOM
        return OTHER
    kind = leaf_kind(value)
    if kind == OTHER and _is_array_pytree(value):
        return ARRAY
    return kind


def _is_array_pytree(value: Any) -> bool:
    """Whether ``value`` is a registered JAX pytree node whose leaves are tensor data."""
    jax = sys.modules.get("jax")
    if jax is None:
        return False
    leaves, treedef = jax.tree_util.tree_flatten(value)
    if treedef.num_nodes == 1:  # a leaf: not a registered container
        return False
    return is_tensor_tree(leaves)


def _has_numbers(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    return any(type(v) in (int, float, bool, complex) for v in (*args, *kwargs.values()))
