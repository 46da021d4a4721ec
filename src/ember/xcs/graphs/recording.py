"""``autograph``: record op calls into a ``Graph`` instead of running them.

Inside ``with autograph() as graph:`` every op call (``@op`` functions, model calls,
leaf Operators, ops inside non-leaf Operators and jitted functions) records a node
and returns a ``Symbol`` standing for its future value. Cheap operations on a symbol
(``x["key"]``, ``x.attr``, ``x.method(...)``, arithmetic) record lifted nodes; anything
needing a real value (``if x``, ``str(x)``, ``len(x)``, iteration) raises
``GraphError``, because nothing has run yet. When the block ends, every local
variable bound to a symbol (or to a list/tuple/dict of them) becomes a named output,
so ``execute(graph)["z"]`` is the value of ``z``. ``placeholder("query")`` declares
an input bound later by ``execute(graph, inputs={"query": ...})``.

Recording is per thread: op calls made by other threads during the block run normally.
"""

from __future__ import annotations

import keyword
import os
import re
import sys
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, cast

from ember.xcs.errors import GraphError
from ember.xcs.graphs.capture import NOT_RECORDED, as_output, capture_call
from ember.xcs.graphs.hidden import refuse_hidden
from ember.xcs.graphs.passes import rename_vars
from ember.xcs.ir.builder import GraphBuilder
from ember.xcs.ir.graph import Graph, Node, NodeKind, SourceLocation, Var, iter_vars
from ember.xcs.ops import Op
from ember.xcs.tracing import context
from ember.xcs.tracing.methods import MethodCall, method_call
from ember.xcs.tracing.proxy import Proxy

__all__ = ["Recording", "Symbol", "autograph", "placeholder"]

_get = object.__getattribute__
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


_WHAT_NEEDS_A_VALUE = {
    "bool": "bool() / if / while",
    "str": "str() / f-string",
    "format": "format() / f-string",
    "iter": "iteration (for, unpacking)",
    "len": "len()",
    "in": "`in`",
    "index": "using it as an index",
    "isinstance": "isinstance()",
    "hash": "hash() / a dict key",
}


class Symbol(Proxy):
    """The value of a recorded node (or placeholder) while its graph is being recorded.

    A ``Proxy``: the operations ``Lazy`` lifts are recorded here as lifted nodes
    (``x["k"]``, ``x == 2``, ``x.strip()``), and the operations that need a real value
    raise ``GraphError``, because nothing runs before ``execute``.
    """

    __slots__ = ("_xcs_recording", "_xcs_var")

    def __init__(self, var: Var, recording: Recording) -> None:
        object.__setattr__(self, "_xcs_var", var)
        object.__setattr__(self, "_xcs_recording", recording)

    def __repr__(self) -> str:
        var: Var = _get(self, "_xcs_var")
        return f"<symbol {var.name or '#' + str(var.id)} of {_get(self, '_xcs_recording').name}>"

    def _xcs_lift(self, name: str, fn: Callable[..., Any], args: tuple[Any, ...],
                  kwargs: dict[str, Any], mutates: bool = False) -> Symbol:
        recording: Recording = _get(self, "_xcs_recording")
        if name == "call":
            return recording._call(self, fn, args, kwargs)
        if mutates:
            self._xcs_force(f"{name} (an in-place change)")
        return recording._record(NodeKind.LIFTED, name, fn, args, kwargs, deterministic=True)

    def _xcs_force(self, reason: str) -> Any:
        where = _user_location()
        reason = f"{_WHAT_NEEDS_A_VALUE.get(reason, reason)}{f' at {where}' if where else ''}"
        recording: Recording = _get(self, "_xcs_recording")
        if not recording._active:
            raise recording._ended(reason)
        needs = f"{reason} needs the value of {self!r}, but inside autograph() nothing runs " \
                "until execute()."
        inlined = recording._inlined
        if inlined:  # jit inlines under autograph: "use @jit" would not help here
            name, fn = inlined[-1]
            code = getattr(fn, "__code__", None)
            defined = f" ({code.co_filename}:{code.co_firstlineno})" if code else ""
            raise GraphError(
                f"{needs} `{name}`{defined} is @jit, but inside autograph() its body is "
                f"recorded, not run. Make `{name}` an @op (one node that runs it whole at "
                "execute), or call it outside the autograph() block."
            )
        raise GraphError(
            f"{needs} Move this code into an @op (it then runs when the graph executes), or "
            "run it outside the autograph() block (a @jit function keeps Python's control "
            "flow there)."
        )


def _user_location() -> SourceLocation | None:
    """The innermost frame outside the ember package (where the user made the call)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return None
    return SourceLocation(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)


class Recording:
    """A graph being recorded by ``autograph()``, and afterwards the recorded graph.

    Use it where a ``Graph`` is expected: ``execute(recording)``, ``str(recording)``,
    ``recording.to_dot()``, ``recording.save("g.svg")``; ``recording.graph`` is the
    immutable ``Graph`` itself (available once the ``with`` block has ended).
    """

    def __init__(self, name: str = "graph") -> None:
        self.name = name
        self._builder = GraphBuilder(name)
        self._placeholders: dict[str, Symbol] = {}
        self._graph: Graph | None = None
        self._previous: Any = None
        self._active = False
        self._failed: BaseException | None = None
        # The jitted functions whose bodies are being recorded, innermost last, and the
        # attribute read by each lifted getattr (only the recording thread touches them).
        self._inlined: list[tuple[str, Callable[..., Any]]] = []
        self._attributes: dict[int, str] = {}

    # -- the with block -----------------------------------------------------------

    def __enter__(self) -> Recording:
        if self._active or self._graph is not None:
            raise GraphError("an autograph() recording can be used in one `with` block only.")
        self._active = True
        self._previous = context.swap(self)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        context.swap(self._previous)
        self._active = False
        if exc is not None:
            self._failed = exc
            return
        self._graph = self._finish(sys._getframe(1).f_locals)

    def _finish(self, scope: dict[str, Any]) -> Graph:
        outputs: dict[str, Any] = {}
        names: dict[int, str] = {}
        inputs = {v.id for v in self._builder.build().inputs}
        for name, value in scope.items():
            found = as_output(value, Symbol, self._own_var)
            if found is NOT_RECORDED or (isinstance(found, Var) and found.id in inputs):
                continue
            outputs[name] = found
            if isinstance(found, Var):
                names.setdefault(found.id, name)
        first = {name: min(v.id for v in iter_vars(found)) for name, found in outputs.items()}
        ordered = {name: outputs[name] for name in sorted(outputs, key=first.__getitem__)}
        return rename_vars(self._builder.build(ordered), names)

    def _own_var(self, symbol: Symbol) -> Var | None:
        """The ``Var`` of ``symbol``, if it is one of this recording's."""
        return cast(Var, _get(symbol, "_xcs_var")) \
            if _get(symbol, "_xcs_recording") is self else None

    # -- recording ------------------------------------------------------------------

    def call_op(self, op: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Symbol:
        """Record a call of ``op`` (the ``OpCallHandler`` protocol); returns its symbol."""
        if not isinstance(op, Op):
            op = Op(op)
        refuse_hidden(op, self.holds_symbols)
        kind = NodeKind.TENSOR if op.kind == "tensor" else NodeKind.OP
        return self._record(kind, op.name, op, args, kwargs, effect=op.effect,
                            deterministic=op.deterministic)

    def lift(self, name: str, fn: Callable[..., Any], args: tuple[Any, ...],
             kwargs: dict[str, Any], mutates: bool = False) -> Symbol:
        """Record ``fn(*args, **kwargs)`` as a lifted node (the tracer's ``lift``).

        Transforms call it to finish with recorded values: ``vmap`` and ``scan`` combine
        their per-item results this way, so they record like any op call.
        """
        return self._record(NodeKind.LIFTED, name, fn, args, kwargs,
                            deterministic=not mutates, mutates=mutates)

    def _call(self, callee: Symbol, fn: Callable[..., Any], args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> Symbol:
        """Record a call of a symbol, ordered by what it may do (see ``analysis.ordering``):
        a method that reads its object (``r.strip()``), one that changes it
        (``q.append(x)``), or a call that may act outside it (``path.write_text(s)``, a
        tool an op picked): an effect, run alone in program order."""
        attribute = self._attributes.get(_get(callee, "_xcs_var").id)
        how = MethodCall.NOW if attribute is None else method_call(None, attribute)
        return self._record(NodeKind.LIFTED, "call", fn, args, kwargs,
                            effect=how is MethodCall.NOW, mutates=how is MethodCall.CHANGES)

    def inline(self, name: str, fn: Callable[..., Any], args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> Any:
        """Run the body of the jitted function ``name`` here, recording its op calls.

        ``jit`` calls it: a value needed inside the body then names the function.
        """
        self._inlined.append((name, fn))
        try:
            return fn(*args, **kwargs)
        finally:
            self._inlined.pop()

    def holds_symbols(self, value: Any) -> bool:
        """Whether ``value`` holds a symbol of this recording (in lists, tuples, dicts).

        Transforms ask it: a batch that is a recorded value has no length until
        ``execute``, so ``vmap``/``scan`` then record their whole call as one node.
        """
        return as_output(value, Symbol, self._own_var) is not NOT_RECORDED

    def placeholder(self, name: str) -> Symbol:
        """The input ``name`` of this graph (the same symbol for the same name).

        Raises:
            GraphError: ``name`` is not a Python identifier.
        """
        _check_input_name(name)
        found = self._placeholders.get(name)
        if found is None:
            found = self._placeholders[name] = Symbol(self._builder.add_input(name), self)
        return found

    def _record(self, kind: NodeKind, name: str, fn: Callable[..., Any], args: tuple[Any, ...],
                kwargs: dict[str, Any], *, effect: bool = False, deterministic: bool = False,
                mutates: bool = False) -> Symbol:
        if not self._active:
            raise self._ended(name)
        location = _user_location()
        # Arguments are captured now; an effect op's are the objects it was given.
        ir_args, ir_kwargs = capture_call(name, args, kwargs, leaf=Symbol, var_of=self._var,
                                          share=effect, builder=self._builder,
                                          location=location)
        node: Node = self._builder.add(
            kind, name, ir_args, ir_kwargs, fn=fn, location=location, effect=effect,
            deterministic=deterministic, mutates=mutates,
        )
        assert node.output is not None
        if kind is NodeKind.LIFTED and name == "getattr" and type(args[1]) is str:  # a call
            # of the attribute may follow: a method, ordered by what it does (``_call``)
            self._attributes[node.output.id] = args[1]
        return Symbol(node.output, self)

    def _ended(self, what: str) -> GraphError:
        """The error for ``what`` (an operation, ``str()``...) on a symbol after the block."""
        return GraphError(
            f"{what} was applied to a symbol of graph {self.name!r} after its autograph() "
            "block ended; symbols only exist while recording. Use execute(graph) to get values. "
            "(If your code did not use it after the block, an op was given it inside an object "
            "autograph does not look into, such as a functools.partial: pass the recorded "
            "value to the op directly, or in a list, dict or dataclass.)"
        )

    def _var(self, symbol: Symbol) -> Var:
        var = self._own_var(symbol)
        if var is not None:
            return var
        raise GraphError(f"{symbol!r} belongs to another autograph() recording; a graph can "
                         "only use its own symbols (declare inputs with placeholder()).")

    # -- the recorded graph ---------------------------------------------------------

    @property
    def graph(self) -> Graph:
        """The recorded, immutable ``Graph``.

        Raises:
            GraphError: the ``with`` block never ran, has not ended, or raised.
        """
        if self._graph is not None:
            return self._graph
        if self._failed is not None:
            raise GraphError(
                f"graph {self.name!r} was not recorded: its autograph() block raised "
                f"{type(self._failed).__name__}: {self._failed}."
            )
        state = "is still being recorded" if self._active else \
            "was never recorded: autograph() records inside `with autograph() as g:`"
        raise GraphError(f"graph {self.name!r} {state}; use it after its `with autograph()` "
                         "block.")

    def __str__(self) -> str:
        return str(self.graph)

    def __repr__(self) -> str:
        state = f"{len(self._graph)} nodes" if self._graph is not None else \
            "recording" if self._active else "not recorded"
        return f"<autograph {self.name!r}: {state}>"

    def __len__(self) -> int:
        return len(self.graph)

    def to_dot(self) -> str:
        """The recorded graph in Graphviz DOT syntax."""
        return self.graph.to_dot()

    def to_mermaid(self) -> str:
        """The recorded graph as a Mermaid flowchart."""
        return self.graph.to_mermaid()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the recorded graph as an image (``.svg``, ``.png``, ...; see ``save_graph``)."""
        from ember.xcs.ir.export import save_graph

        save_graph(self.graph, path)


def _check_input_name(name: Any) -> None:
    """Raise ``GraphError`` unless ``name`` is a Python identifier (the input's printed name)."""
    if isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name):
        return
    if isinstance(name, str):
        got = repr(name) if name else "an empty str"
        fixed = re.sub(r"\W+", "_", name).strip("_") or "query"
    else:
        got, fixed = f"{type(name).__name__} {name!r}", "query"
    fixed = f"{fixed}_" if keyword.iskeyword(fixed) else \
        fixed if fixed.isidentifier() else f"_{fixed}"
    raise GraphError(
        f"placeholder(name) needs a Python identifier as the input's name (a str of letters, "
        f"digits and _, not starting with a digit, not a keyword), got {got}. It names the "
        f"input in execute(graph, inputs={{name: value}}) and in the printed graph (where "
        f"'my query' would read as two inputs); use e.g. placeholder({fixed!r})."
    )


def autograph(name: str = "graph") -> Recording:
    """Record the op calls of a ``with`` block into a graph, without running them.

    Args:
        name: the graph's display name.

    Returns:
        A ``Recording``: the ``with`` target, usable as the graph after the block.

    Raises:
        GraphError: (inside the block) code needs a value that only exists after
            ``execute``; the message says how to restructure it.

    Example:
        >>> from ember.xcs import execute, op
        >>> @op
        ... def double(x):
        ...     return 2 * x
        >>> with autograph() as graph:
        ...     y = double(21)
        >>> execute(graph)["y"]
        42
    """
    return Recording(name)


def placeholder(name: str) -> Symbol:
    """Declare an input of the graph being recorded, bound by ``execute(inputs={name: ...})``.

    Args:
        name: the input's name, a Python identifier (asking twice gives the same input).

    Returns:
        The input's symbol.

    Raises:
        GraphError: no ``autograph()`` block is recording in this thread, or ``name``
            is not a Python identifier.

    Example:
        >>> from ember.xcs import autograph, execute, op
        >>> @op
        ... def shout(text):
        ...     return text.upper()
        >>> with autograph() as graph:
        ...     loud = shout(placeholder("text"))
        >>> execute(graph, inputs={"text": "hi"})["loud"]
        'HI'
    """
    recording = context.current_trace()
    if not isinstance(recording, Recording):
        raise GraphError(
            f"placeholder({name!r}) must be called inside a `with autograph():` block."
        )
    return recording.placeholder(name)
