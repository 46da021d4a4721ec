"""``execute``: run a recorded graph with one of the schedulers and return named values."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping
from typing import Any

from ember.xcs import hooks, tree
from ember.xcs.analysis import analyze
from ember.xcs.engine.strategies import run_graph
from ember.xcs.errors import GraphError
from ember.xcs.graphs.options import ExecutionOptions, current_execution_options, layered
from ember.xcs.graphs.passes import prune_to_outputs
from ember.xcs.graphs.recording import Recording, Symbol
from ember.xcs.ir.graph import Graph, Var, map_vars
from ember.xcs.tracing.log import Redacted

__all__ = ["as_graph", "execute"]

_OPTION_NAMES = frozenset(field.name for field in dataclasses.fields(ExecutionOptions))


def as_graph(graph: Graph | Recording) -> Graph:
    """The ``Graph`` behind ``graph`` (a ``Graph`` or an ``autograph()`` recording).

    Raises:
        GraphError: ``graph`` is neither.
    """
    if isinstance(graph, Recording):
        return graph.graph
    if isinstance(graph, Graph):
        return graph
    raise GraphError(
        f"execute() needs a graph from autograph() (or an ember.xcs Graph), got "
        f"{type(graph).__name__}."
    )


def _bind_inputs(graph: Graph, target: Graph, inputs: Mapping[str, Any] | None
                 ) -> dict[Var, Any]:
    """Values for ``target``'s inputs (a pruned ``graph``) from ``inputs`` by name."""
    declared = {var.name: var for var in graph.inputs}
    if inputs is not None and not isinstance(inputs, Mapping):
        raise GraphError(
            f"execute(inputs=...) needs a dict of placeholder names to values, got "
            f"{type(inputs).__name__}. Graph {graph.name!r} has the placeholders "
            f"{', '.join(map(repr, declared)) or 'none'}: pass inputs={{name: value}}."
        )
    given = dict(inputs or {})
    needed = {var.name: var for var in target.inputs}
    unknown = sorted(set(given) - set(declared))
    missing = [name for name in needed if name not in given]
    if unknown or missing:
        problems = []
        if missing:
            problems.append(f"no value for placeholder(s) {', '.join(map(repr, missing))}")
        if unknown:
            problems.append(f"unknown input(s) {', '.join(map(repr, unknown))}")
        settings = [name for name in unknown if name in _OPTION_NAMES]
        if settings:
            problems.append(f"settings of execution_options(...) ({', '.join(settings)}) go "
                            "in options=, not in the inputs")
        raise GraphError(
            f"graph {graph.name!r}: {'; '.join(problems)}. Its placeholders are: "
            f"{', '.join(map(repr, declared)) or 'none'}; pass execute(graph, inputs={{...}})."
        )
    return {var: given[name] for name, var in needed.items() if name is not None}


def _output_names(graph: Graph, output_nodes: Iterable[str] | str | Symbol) -> list[str]:
    """``output_nodes`` as a list of names; a symbol or other non-str raises ``GraphError``."""
    # type(...) and issubclass: isinstance() would ask a symbol for its value (a GraphError).
    listed: list[Any] = [output_nodes] if type(output_nodes) is Symbol or \
        issubclass(type(output_nodes), str) else list(output_nodes)
    wrong = next((item for item in listed if not issubclass(type(item), str)), None)
    if wrong is None:
        return listed
    outputs = graph.outputs if isinstance(graph.outputs, dict) else {}
    named = list(outputs)
    if type(wrong) is Symbol and object.__getattribute__(wrong, "_xcs_recording")._graph is graph:
        var_id = object.__getattribute__(wrong, "_xcs_var").id
        named = [name for name, value in outputs.items()
                 if isinstance(value, Var) and value.id == var_id] or named
    fix = f": pass output_nodes={named[:1]!r}" if named else ""
    raise GraphError(
        f"execute(output_nodes=...) takes the names of the graph's values (the variables of "
        f"its autograph() block) as str, got {wrong!r}{fix}. "
        f"Graph {graph.name!r} has the values {', '.join(map(repr, outputs)) or 'none'}."
    )


def _bind_recorded(graph: Graph, inputs: Mapping[str, Any] | None) -> dict[Var, Any]:
    """The inputs of a graph recorded from a jit call: the call's own, and no others."""
    if inputs:
        raise GraphError(
            f"graph {graph.name!r} was recorded from one call of the jitted function "
            f"{graph.name}: values its glue computed from that call's arguments are baked "
            "into its nodes, so it cannot run on other inputs. Call the jitted function "
            "with the new arguments, or record a re-runnable graph with autograph() and "
            "placeholder()."
        )
    recorded = dict(graph.recorded_inputs or ())
    if any(type(leaf) is Redacted for node in graph.nodes
           for leaf in tree.leaves((node.args, node.kwargs), Redacted)):
        raise GraphError(
            f"graph {graph.name!r} was recorded with redact=True: it keeps no values, so "
            "it cannot run. Call the jitted function instead."
        )
    return recorded


def _scheduler(graph: Graph, options: ExecutionOptions) -> str:
    if options.scheduler != "auto":
        return options.scheduler
    if options.timeout is not None:  # on workers, so that the deadline can end the run
        return "parallel"            # (the calling thread cannot be stopped mid-node)
    width = analyze(graph)[0].width
    return "parallel" if width > 1 and options.workers > 1 else "sequential"


def execute(
    graph: Graph | Recording,
    options: ExecutionOptions | Mapping[str, Any] | None = None,
    output_nodes: Iterable[str] | None = None,
    inputs: Mapping[str, Any] | None = None,
) -> Any:
    """Run a recorded graph; returns its values keyed by the variable names of the block.

    The graph is not changed and can be executed again (with other ``inputs``). Each
    node runs at most once per execution.

    Args:
        graph: what ``autograph()`` recorded (or any ``Graph``).
        options: scheduler, workers, timeout, hooks (default: the innermost
            ``with execution_options(...)`` block, else ``scheduler="auto"``). A dict
            here is taken as ``inputs``, so pyember's ``execute(graph, inputs)`` works.
        output_nodes: names (str) of the values wanted; only the nodes they need run.
        inputs: a value for each ``placeholder`` of the graph, by name.

    Returns:
        ``{variable name: value}`` for a recorded graph (only ``output_nodes`` if
        given). For a graph whose outputs are not named, the outputs' value.

    Raises:
        GraphError: unknown or non-str ``output_nodes``, missing or unknown ``inputs``.
        XCSTimeoutError: the execution ran past ``options.timeout``.
        Exception: the exception of the failing node that comes first in program
            order, unchanged, with a note naming the node, its op and its variable.

    Example:
        >>> from ember.xcs import autograph, execution_options, op
        >>> @op
        ... def inc(x):
        ...     return x + 1
        >>> with autograph() as graph:
        ...     a = inc(1)
        ...     b = inc(a)
        >>> execute(graph, options=execution_options(scheduler="sequential"))
        {'a': 2, 'b': 3}
    """
    full = as_graph(graph)
    if isinstance(options, Mapping):  # pyember's order: execute(graph, inputs, ...)
        if inputs is not None:
            raise GraphError(
                "execute() got a dict as its 2nd argument (taken as the inputs, as in "
                "execute(graph, {'query': ...})) and inputs=... as well; pass the inputs "
                "once, and options as options=execution_options(...)."
            )
        options, inputs = None, options
    if options is not None and not isinstance(options, ExecutionOptions):
        raise GraphError(
            f"execute(options=...) needs execution_options(...), got {type(options).__name__}."
        )
    options = current_execution_options() if options is None else \
        layered(current_execution_options(), options)
    target = full if output_nodes is None else \
        prune_to_outputs(full, _output_names(full, output_nodes))
    bound = _bind_recorded(full, inputs) if full.recorded_inputs is not None else \
        _bind_inputs(full, target, inputs)
    heard = hooks.hooks_for(options)  # one set of hooks hears the whole execution
    if heard is not None:
        heard.emit("on_graph_start", target.name)
    started = time.perf_counter()
    error: BaseException | None = None
    try:
        env = run_graph(
            target, bound, scheduler=_scheduler(target, options), max_workers=options.workers,
            timeout=options.timeout, listener=heard.listener if heard is not None else None,
            executor=options.executor,
        )
    except BaseException as failure:
        error = failure
        raise
    finally:
        if heard is not None:
            heard.emit("on_graph_end", target.name, time.perf_counter() - started, error)
    return map_vars(target.outputs, lambda var: env[var.id])
