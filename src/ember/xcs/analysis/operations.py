"""pyember's operation analysis, answered from what the XCS engine actually does.

``analyze_operations_v2(fn)`` returns an ``OpDecision``: what kind of work ``fn`` does
(``OpKind``), whether XCS hands it to JAX (``Traceability``), how much of it is a side
effect (``EffectRisk``), the evidence, and the reason in words. The facts come from, in
this order:

1. **Op metadata.** An op (``ember.xcs.op``, ``mark_tensor``, ``ember.api.op``, a leaf
   Operator, a model call) is one engine node: its ``kind`` and ``effect`` settings are
   what the engine goes by, and ``jit`` never hands its body to ``jax.jit`` (an op
   reached while JAX traces switches the jitted function to the engine; ``grad``
   differentiates through the body of a tensor op only).
2. **Measured runs.** A jitted function that has run reports the mode its calls took
   (``get_jit_stats(f)["mode"]``: ``jax.jit`` or the engine) and the ops they ran.
3. **The ``mark_hybrid`` mark**, the user's statement that ``fn`` mixes both.
4. **Its code** (``references``): the ops, model calls, array libraries, provider SDKs
   and side-effecting calls its names resolve to.

``confidence`` says which: 1.0 for op metadata, measured runs and marks; 0.8 when the
code showed evidence; 0.5 when it showed none (ops passed in as arguments cannot be
seen); 0.0 when there was no Python code to read.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, auto
from typing import Any

from ember.xcs.analysis.marks import is_marked_hybrid, mark_hybrid, mark_pytree_safe
from ember.xcs.analysis.references import Reach, as_op, forward_of, reach, unwrap
from ember.xcs.errors import XCSError
from ember.xcs.ops import Op

__all__ = [
    "EffectRisk",
    "OpDecision",
    "OpKind",
    "Traceability",
    "analyze_operations_v2",
    "mark_hybrid",
    "mark_pytree_safe",
]

class OpKind(Enum):
    """The kind of work a callable does.

    ``TENSOR``: array code (JAX, NumPy...) or ops of kind ``tensor``.
    ``ORCHESTRATION``: ops, model calls, provider SDKs (LLMs, tools, I/O).
    ``HYBRID``: both. ``NEUTRAL``: neither was found. ``UNKNOWN``: no Python code to read.
    """

    TENSOR = auto()
    ORCHESTRATION = auto()
    HYBRID = auto()
    NEUTRAL = auto()
    UNKNOWN = auto()


class Traceability(Enum):
    """Whether XCS hands the callable to JAX.

    ``JAX``: ``jit``/``vmap``/``grad`` give its array calls to ``jax.jit``/``jax.vmap``/
    ``jax.grad``. ``NON_JAX``: XCS runs it itself: ops run on the engine with real values
    (``jax.jit`` never traces an op), code with side effects runs as plain Python, and
    code calling NumPy or torch functions fails under
    JAX tracing and runs on the XCS tracer. ``UNKNOWN``: it depends on the arguments
    (array arguments go to ``jax.jit`` first).
    """

    JAX = auto()
    NON_JAX = auto()
    UNKNOWN = auto()


class EffectRisk(Enum):
    """How much of the callable is a side effect, and what XCS does about it.

    ``HIGH``: it is, or calls, an op marked ``effect=True``: under ``@jit`` that op runs
    eagerly, in program order, after every op issued before it. ``MEDIUM``: side effects
    were found (``print``, files, ``os``, HTTP, an SDK called directly): in an op body
    without ``effect=True`` they may overlap other ops; a function with them never takes
    the ``jax.jit`` path (which would run them only while JAX traces), ``@jit`` runs it as
    plain Python. ``LOW``: none found; ops are run concurrently.
    """

    LOW = auto()
    MEDIUM = auto()
    HIGH = auto()


@dataclass(frozen=True)
class OpDecision:
    """What XCS knows about a callable and what its engine does with it.

    Attributes:
        kind: the kind of work (``OpKind``).
        jax_traceable: whether XCS hands it to JAX (``Traceability``).
        effect_risk: side effects and their handling (``EffectRisk``).
        confidence: 1.0 from op metadata, measured runs or a mark; 0.8 from evidence in
            its code; 0.5 when its code showed none; 0.0 with no code to read.
        tensor_evidence: what made it tensor work, one line each.
        orchestration_evidence: the ops, model calls and SDKs found.
        effect_evidence: the side effects found.
        reason: what XCS does with it, in a sentence or two.
    """

    kind: OpKind
    jax_traceable: Traceability = Traceability.UNKNOWN
    effect_risk: EffectRisk = EffectRisk.LOW
    confidence: float = 0.0
    tensor_evidence: frozenset[str] = frozenset()
    orchestration_evidence: frozenset[str] = frozenset()
    effect_evidence: frozenset[str] = frozenset()
    reason: str = ""

    @property
    def is_tensor(self) -> bool:
        """Whether ``kind`` is ``TENSOR``."""
        return self.kind is OpKind.TENSOR

    @property
    def is_orchestration(self) -> bool:
        """Whether ``kind`` is ``ORCHESTRATION``."""
        return self.kind is OpKind.ORCHESTRATION

    @property
    def is_hybrid(self) -> bool:
        """Whether ``kind`` is ``HYBRID``."""
        return self.kind is OpKind.HYBRID

    @property
    def is_neutral(self) -> bool:
        """Whether ``kind`` is ``NEUTRAL``."""
        return self.kind is OpKind.NEUTRAL

    @property
    def is_unknown(self) -> bool:
        """Whether ``kind`` is ``UNKNOWN``."""
        return self.kind is OpKind.UNKNOWN

    @property
    def can_jax_trace(self) -> bool:
        """Whether XCS hands it to JAX (and it calls no ``effect=True`` op)."""
        return self.jax_traceable is Traceability.JAX and self.effect_risk is not EffectRisk.HIGH

    @property
    def should_use_orchestration_path(self) -> bool:
        """Whether XCS runs it on its tracer and engine rather than through JAX.

        True for orchestration, hybrid and unknown work, and for anything XCS does not
        hand to JAX (an op of kind ``tensor`` is still an engine node).
        """
        return (self.kind in (OpKind.ORCHESTRATION, OpKind.HYBRID, OpKind.UNKNOWN)
                or self.jax_traceable is Traceability.NON_JAX)


def analyze_operations_v2(func: Callable[..., Any]) -> OpDecision:
    """What kind of work ``func`` does and what the XCS engine does with it.

    Accepts functions, methods, ``functools.partial`` objects, ops, Operators (classes
    and instances), jitted functions and callable objects. Computed afresh on every
    call (globals may have changed; a jitted function may have run since).

    Args:
        func: the callable to analyse.

    Returns:
        An ``OpDecision`` (see the module docstring for where its facts come from).

    Raises:
        TypeError: ``func`` is not callable.

    Example:
        >>> from ember.xcs import op
        >>> @op(effect=True)
        ... def save(record):
        ...     return record
        >>> decision = analyze_operations_v2(save)
        >>> decision.kind, decision.jax_traceable, decision.effect_risk
        (<OpKind.ORCHESTRATION: 2>, <Traceability.NON_JAX: 2>, <EffectRisk.HIGH: 3>)
    """
    if not callable(func):
        raise TypeError(
            f"analyze_operations_v2 needs a callable (a function, op, Operator or jitted "
            f"function), got {type(func).__name__}."
        )
    op = as_op(func)
    if op is not None:
        return _op_decision(op)
    target, instance = unwrap(func)
    op = as_op(target)
    if op is not None:
        return _op_decision(op)
    if _is_model_layer(target):
        return _model_call_decision(target)
    body, owner = _code_of(target, instance)
    found = reach(body, owner) if body is not None else Reach()
    measured = _measured(func)
    if measured is not None:
        return _from_runs(measured, found)
    if is_marked_hybrid(func) or is_marked_hybrid(target):
        return _decision(OpKind.HYBRID, found, 1.0, extra_tensor={"marked (mark_hybrid)"},
                         extra_orchestration={"marked (mark_hybrid)"},
                         reason="marked hybrid (mark_hybrid); " + _static_reason(
                             OpKind.HYBRID, Traceability.NON_JAX, found))
    if not found.inspected:
        return OpDecision(
            kind=OpKind.UNKNOWN, reason="no Python code to read (a builtin or C function, "
            "or an object without forward or __call__ in Python): XCS runs its calls as "
            "plain Python in the glue.")
    return _decision(_kind_of(found), found, 0.8 if found.found else 0.5)


def _code_of(target: Any, instance: Any) -> tuple[Any, Any]:
    """The Python function whose code describes ``target``, and its ``self``."""
    if isinstance(target, type):
        return forward_of(target), None
    forward = forward_of(target)
    if forward is not None:  # an Operator instance: its forward, with its fields
        return forward, target
    if callable(target) and not hasattr(target, "__code__"):
        return inspect.getattr_static(type(target), "__call__", None), target
    return target, instance


def _is_model_layer(target: Any) -> bool:
    return (_module(type(target)).startswith("ember.models") and callable(target)
            and not isinstance(target, type | types.FunctionType))


def _model_call_decision(target: Any) -> OpDecision:
    label = f"{type(target).__name__} (ember.models): each call is a model op"
    return OpDecision(
        kind=OpKind.ORCHESTRATION,
        jax_traceable=Traceability.NON_JAX,
        effect_risk=EffectRisk.LOW,
        confidence=1.0,
        orchestration_evidence=frozenset({label}),
        reason="a model call: under @jit each call is one node of the XCS engine (llm[...]), "
               "started as soon as its prompt exists and run concurrently with other ops, "
               "within the provider's concurrency limit; JAX never traces it.",
    )


def _op_decision(op: Op) -> OpDecision:
    body, owner = unwrap(op.fn)
    found = reach(body, owner) if not _module(body).startswith("ember.") else Reach()
    label = f"op {op.name!r}" + (" (kind='tensor')" if op.kind == "tensor" else "")
    effects = frozenset(found.effects | found.sdk)
    if op.effect:
        risk = EffectRisk.HIGH
        effects |= {f"{label}: effect=True"}
        how = ("it runs eagerly, in program order, after every op issued before it, and "
               "never concurrently with them")
    elif effects:
        risk = EffectRisk.MEDIUM
        how = ("it runs concurrently with other ops, yet its body has side effects: mark "
               "it effect=True if they must happen in program order")
    else:
        risk = EffectRisk.LOW
        how = "it starts as soon as its inputs exist and runs concurrently with other ops"
    tensor = op.kind == "tensor"
    return OpDecision(
        kind=OpKind.TENSOR if tensor else OpKind.ORCHESTRATION,
        jax_traceable=Traceability.NON_JAX,
        effect_risk=risk,
        confidence=1.0,
        tensor_evidence=frozenset({label}) if tensor else frozenset(),
        orchestration_evidence=frozenset() if tensor else frozenset({label}),
        effect_evidence=effects,
        reason=f"{label} is one node of the XCS engine under @jit: {how}. jit never "
               "hands an op's body to jax.jit (one reached while JAX traces moves the "
               "caller to the engine)" + ("; grad differentiates through its body (tensor "
                                         "code)." if tensor else "."),
    )


def _kind_of(found: Reach) -> OpKind:
    tensor = bool(found.tensor_ops or found.jax or found.numeric)
    orchestration = bool(found.ops or found.sdk)
    if tensor and orchestration:
        return OpKind.HYBRID
    if tensor:
        return OpKind.TENSOR
    return OpKind.ORCHESTRATION if orchestration else OpKind.NEUTRAL


def _decision(kind: OpKind, found: Reach, confidence: float, *,
              extra_tensor: set[str] | None = None,
              extra_orchestration: set[str] | None = None,
              traceability: Traceability | None = None,
              reason: str | None = None) -> OpDecision:
    """A decision from the code's evidence (``traceability``/``reason`` when measured)."""
    if traceability is None:
        if (found.engine_ops or kind is OpKind.HYBRID or found.numeric or found.sdk
                or found.effects):
            traceability = Traceability.NON_JAX
        elif found.jax:
            traceability = Traceability.JAX
        else:
            traceability = Traceability.UNKNOWN
    effects = found.effects | found.sdk | found.effect_ops
    risk = (EffectRisk.HIGH if found.effect_ops
            else EffectRisk.MEDIUM if effects else EffectRisk.LOW)
    return OpDecision(
        kind=kind,
        jax_traceable=traceability,
        effect_risk=risk,
        confidence=confidence,
        tensor_evidence=frozenset(found.tensor_ops | found.jax | found.numeric
                                  | (extra_tensor or set())),
        orchestration_evidence=frozenset(found.ops | found.sdk | (extra_orchestration or set())),
        effect_evidence=frozenset(effects),
        reason=reason or _static_reason(kind, traceability, found),
    )


def _static_reason(kind: OpKind, traceability: Traceability, found: Reach) -> str:
    if kind is OpKind.HYBRID and not found.engine_ops:
        path = ("no op found (ops passed in as arguments cannot be seen): under @jit JAX "
                "traces it until its first op call, which moves it to the XCS engine for good")
    elif found.engine_ops:
        path = ("it calls ops: under @jit they run concurrently on the XCS engine and JAX "
                "never traces them (a call that reaches one while JAX traces moves the "
                "function to the engine for good)")
    elif traceability is Traceability.NON_JAX and not (found.numeric or found.sdk):
        path = ("it has side effects, which jax.jit would run only while JAX traces it (once "
                "per new argument shape): under @jit it runs as plain Python on the XCS "
                "tracer, on every call")
    elif traceability is Traceability.NON_JAX:
        used = "array functions that reject JAX tracers" if found.numeric else "an SDK"
        path = (f"it calls {used}: under @jit, a first call with array arguments is tried "
                "under JAX, fails, and runs on the XCS tracer as plain Python (code before "
                "the failing line runs during the attempt too); later calls go to the "
                "tracer directly")
    elif traceability is Traceability.JAX:
        path = "no op found: under @jit, calls with array arguments go to jax.jit"
    else:
        path = ("no op or array library found: under @jit, calls with array arguments go "
                "to jax.jit and others run as plain Python on the XCS tracer")
    if found.effect_ops:
        path += "; its effect=True ops run eagerly, in program order"
    if found.sdk:
        path += ("; SDK calls made directly run in the calling thread, one at a time: "
                 "call models through ember.api.models or wrap them in @op to overlap them")
    return f"from its code: {path}."


def _measured(func: Any) -> dict[str, Any] | None:
    """``get_jit_stats`` of ``func`` when it is jitted and has run, else ``None``."""
    if not (hasattr(func, "_xcs_stats") or hasattr(func, "__xcs_jit__")
            or hasattr(getattr(func, "__func__", None), "_xcs_stats")):
        return None
    from ember.xcs.api.stats import get_jit_stats  # the stats layer sits above analysis

    try:
        stats = dict(get_jit_stats(func))
    except XCSError:
        return None
    return stats if stats.get("calls") else None


def _from_runs(stats: dict[str, Any], found: Reach) -> OpDecision:
    calls = stats["calls"]
    if stats.get("mode") == "tensor":
        reason = f"measured: its {calls} call(s) so far ran under jax.jit (tensor mode)"
        return _decision(OpKind.TENSOR, found, 1.0,
                         extra_tensor={f"measured: {calls} call(s) ran under jax.jit"},
                         traceability=Traceability.JAX, reason=reason + ".")
    switches = [f for f in stats.get("fallbacks", ()) if f.startswith("switched to orchestration")]
    kinds = stats.get("node_kinds") or {}
    ops, tensor_ops = kinds.get("op", 0), kinds.get("tensor", 0)
    if not ops and not tensor_ops and not switches:  # ran, but issued no op: read the code
        return _decision(_kind_of(found), found, 0.8 if found.found else 0.5)
    # What the last call ran is evidence too (ops passed in as arguments are seen here).
    if ops:
        found.ops.add(f"measured: {ops} op(s) in the last call")
    if tensor_ops:
        found.tensor_ops.add(f"measured: {tensor_ops} tensor op(s) in the last call")
    reason = f"measured: its last call ran {ops + tensor_ops} op(s) on the XCS engine"
    if switches:
        reason += f", after it {switches[-1]}"
    return _decision(_kind_of(found), found, 1.0, traceability=Traceability.NON_JAX,
                     reason=reason + ".")


def _module(value: Any) -> str:
    return str(getattr(value, "__module__", None) or type(value).__module__ or "")
