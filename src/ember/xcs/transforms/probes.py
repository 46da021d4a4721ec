"""Op handlers installed while JAX traces a function for XCS.

While JAX traces, an op call cannot run as usual: its result would be baked into
compiled code, or an LLM call would receive tracer values. ``probed(fn)`` runs ``fn``
with a probe as the current op handler (``ember.xcs.tracing.context``):
``TensorProbe`` raises ``OpReached`` at the first op, which aborts the JAX trace before
the op runs and tells the caller to switch to orchestration mode; ``GradProbe`` lets
``grad`` run ops eagerly and treat their outputs as constants, traces through ops of
kind ``tensor`` (``mark_tensor``: tensor code JAX can differentiate), and refuses an op
that the differentiated input reaches by any route: as an argument, inside a container
or an object, or as text. For the last, the text JAX gives a traced value (``repr``,
``str``, ``format``, so f-strings) is noted by the ``GradProbe`` current in the thread
(``watch_tracer_text`` wraps ``jax.core.Tracer``'s text methods once; they only take
note while a ``grad`` traces in that thread).
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from typing import Any

from ember.xcs import tree
from ember.xcs.analysis.references import reach, unwrap
from ember.xcs.api.records import Fallback
from ember.xcs.errors import TransformError
from ember.xcs.ir.graph import SourceLocation
from ember.xcs.ops import Op
from ember.xcs.tracing import context
from ember.xcs.tracing.frames import is_internal, location_of
from ember.xcs.transforms.leaves import has_tracer

__all__ = [
    "TENSOR_PROBE",
    "GradProbe",
    "OpReached",
    "TensorProbe",
    "caller_location",
    "op_in_code",
    "probed",
    "watch_tracer_text",
]



def caller_location() -> SourceLocation | None:
    """The innermost user (non-Ember) frame's file:line, or ``None``."""
    frame: Any = sys._getframe(1)  # Any: ``f_back`` of the outermost frame is None
    while frame is not None:
        if not is_internal(frame.f_code) and not frame.f_code.co_filename.startswith("<frozen"):
            return location_of(frame)
        frame = frame.f_back
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


def op_in_code(fn: Any) -> Fallback | None:
    """An op ``fn``'s code names, found without running it; ``None`` when none is seen.

    Letting JAX trace a function that calls an op would run the glue before the op
    twice on that call: once in JAX's trace (abandoned at the op), once for real. So
    the globals and closure variables ``fn`` reads are looked at first: an ``Op`` (or
    the models facade) among them, or among those of the user's functions it names
    (``analysis.references.reach``), means orchestration from the start; the
    ``Fallback`` says so.
    Ops reached some other way (an attribute, an argument) are still found by tracing.
    """
    target, instance = unwrap(fn)
    found = reach(target, instance)  # what analyze_operations_v2 reads, a few calls deep
    if not found.op_names:
        return None
    code = target.__code__
    return Fallback(f"switched to orchestration mode: {code.co_name} calls op "
                    f"{found.op_names[0]} (seen in its code, before JAX traced it)",
                    SourceLocation(code.co_filename, code.co_firstlineno, code.co_name))


class TensorProbe:
    """The op handler while JAX traces for XCS: any op call raises ``OpReached``."""

    def call_op(self, op: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        raise OpReached(_op_name(op), caller_location())


TENSOR_PROBE = TensorProbe()


def probed(fn: Callable[..., Any], probe: Any = TENSOR_PROBE) -> Callable[..., Any]:
    """``fn`` with ``probe`` as the op handler while it runs (i.e. while JAX traces).

    The wrapper carries ``fn``'s name and signature (``__wrapped__``), so JAX's messages
    name the user's parameters ("argument a"), not the wrapper's ``*args``/``**kwargs``.
    """

    def run(*args: Any, **kwargs: Any) -> Any:
        previous = context.swap(probe)
        try:
            return fn(*args, **kwargs)
        finally:
            context.swap(previous)

    try:
        functools.update_wrapper(run, fn, updated=())
    except (AttributeError, TypeError):  # e.g. a callable whose attributes refuse copying
        pass
    return run


class GradProbe:
    """The op handler while ``grad`` traces: ops run eagerly and their outputs are constants.

    An op that receives a traced value (one derived from the differentiated input) cannot
    be differentiated: ``TransformError`` names it and the line, whether the value is an
    argument, sits in a container or an object, or was turned into text (an f-string,
    ``str()``). An op of kind ``tensor`` is tensor code: JAX traces through its body.
    Inside a tensor-mode ``jit`` trace an op must not be baked into compiled code, so
    ``OpReached`` is raised and that ``jit`` switches to orchestration mode.

    Args:
        outer: the op handler that was current when ``grad`` was called.
        transform: the transform's name for messages.
        allow_ops: ``False`` refuses every op call with ``TransformError``.
    """

    def __init__(self, outer: Any, transform: str, allow_ops: bool = True) -> None:
        self.outer = outer
        self.transform = transform
        self.allow_ops = allow_ops
        self.ops_called = 0  # one trace runs in one thread: no lock needed
        self.texts: set[str] = set()  # the text of traced values formatted while it traced

    def note_text(self, text: str) -> None:
        """Remember the text of a traced value (see ``watch_tracer_text``)."""
        if len(self.texts) < _MAX_TEXTS:
            self.texts.add(text)

    def call_op(self, op: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        name = _op_name(op)
        location = caller_location()
        if isinstance(self.outer, TensorProbe):
            raise OpReached(name, location)
        if isinstance(op, Op) and op.kind == "tensor":
            return op.body(*args, **kwargs)  # tensor code: differentiated like the rest
        if not self.allow_ops:
            raise TransformError(
                f"{self.transform}: op {name!r} (orchestration: an LLM or tool call) was "
                f"called at {location or '<unknown location>'} with allow_hybrid=False. "
                "Pass allow_hybrid=True (the default) to treat op results as constants."
            )
        self.ops_called += 1
        route = self._route((args, kwargs))
        if route is not None:
            raise TransformError(
                f"{self.transform}: the differentiated input flows into op {name!r} at "
                f"{location or '<unknown location>'}{route}. Ops (orchestration: LLM calls, "
                "tools) are not differentiable: pass the op only values that do not depend on the "
                "differentiated argument (or wrap them in jax.lax.stop_gradient), or move "
                "the op out of the differentiated function."
            )
        with context.suspended():
            if isinstance(op, Op):
                return op.invoke(args, kwargs)
            return op(*args, **kwargs)

    def _route(self, arguments: Any) -> str | None:
        """How a traced value reaches the op's arguments, or ``None`` when none does."""
        if has_tracer(arguments):
            return ""
        tracer = sys.modules["jax"].core.Tracer
        texts = self.texts

        def derived(value: Any) -> bool:
            return isinstance(value, tracer) or (
                isinstance(value, str) and any(text in value for text in texts))

        found = tree.first_match(arguments, derived, records=True)
        if found is None:
            return None
        if isinstance(found, str):
            return (" as text (a traced value formatted into a string: an f-string, str() "
                    "or repr())")
        return " inside an object"


_MAX_TEXTS = 256
_watch_lock = threading.Lock()


def watch_tracer_text(jax: Any) -> None:
    """Have JAX tracers' text (``repr``, ``str``, ``format``) noted by the ``GradProbe``
    current in the calling thread, if any (once per process; see the module docstring)."""
    tracer = jax.core.Tracer
    with _watch_lock:
        for method in ("__repr__", "__str__", "__format__"):
            original = tracer.__dict__.get(method)
            if original is None or getattr(original, "__xcs_watch__", False):
                continue
            setattr(tracer, method, _noting(original))


def _noting(original: Callable[..., str]) -> Callable[..., str]:
    def text(self: Any, *spec: Any) -> str:
        result = original(self, *spec)
        probe = context.current_trace()
        if isinstance(probe, GradProbe):
            probe.note_text(result)
        return result

    functools.update_wrapper(text, original)
    text.__xcs_watch__ = True  # type: ignore[attr-defined]
    return text
