"""docs/architecture.md says what the code does: modules, names, numbers, threads, locks.

Each test reads a statement of the page and checks it against the code. Behaviour the
page promises is tested where it is built: the contract in ``tests/property`` and
``tests/integration/test_plain_meaning.py``, stopping in
``tests/integration/test_interrupts.py``, the run state in
``tests/xcs/engine/test_state.py``, the compatibility paths in
``tests/xcs/compat/test_seed_names.py``, import circles and module sizes in
``tests/test_layout.py``, and that every file a page names exists in
``tests/test_docs.py``.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import functools
import importlib
import importlib.util
import inspect
import re
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest

from ember.xcs import Config, get_jit_stats, jit, op, structural_jit
from tests.concurrency import PeakProbe
from tests.docs._pages import ROOT, outside_parentheses, page, prose, section, spans, table

ARCHITECTURE = page("architecture.md")
XCS = ROOT / "src" / "ember" / "xcs"
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8}


@op
def _zero(i: int) -> int:
    return i


def _module_for(path: str) -> Any:
    """The module of a path the page writes relative to ``ember/xcs`` (``api/jit.py``)."""
    return importlib.import_module("ember.xcs." + path.removesuffix(".py").replace("/", "."))


# -- names the pages give ------------------------------------------------------------


@pytest.mark.parametrize("name", ["architecture.md", "api.md", "performance.md"])
def test_every_dotted_ember_name_resolves(name: str) -> None:
    checked = 0
    for dotted in sorted({s for s in spans(page(name)) if re.fullmatch(r"ember(\.\w+)+", s)}):
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                target: Any = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for attribute in parts[cut:]:
                assert hasattr(target, attribute), f"{name}: {dotted} does not exist"
                target = getattr(target, attribute)
            break
        checked += 1
    assert checked >= 2


_SINCE = {"sys.monitoring": (3, 12)}  # names of newer Pythons, used where they exist


def _ember_modules() -> list[types.ModuleType]:
    """Every module under src/ember (by its files: engine/ and tracing/ have no
    ``__init__.py``, so package walkers would skip them)."""
    source = ROOT / "src"
    found = []
    for path in sorted((source / "ember").rglob("*.py")):
        parts = path.relative_to(source).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        try:
            found.append(importlib.import_module(name))
        except ImportError:  # an optional extra that is not installed
            continue
    return found


@pytest.mark.parametrize("name", ["architecture.md", "api.md", "performance.md"])
def test_every_short_dotted_name_resolves(name: str) -> None:
    """`Engine.submit`, `tree.snapshot`, `sys.settrace`: the first part is an Ember
    module or class (found by its name) or an importable module; the rest exists."""
    modules = _ember_modules()
    shown = {s for s in spans(page(name)) if re.fullmatch(r"[A-Za-z_]\w+(\.\w+)+", s)
             and not s.startswith("ember.") and not s.endswith(".py")}
    assert shown
    for dotted in sorted(shown):
        if sys.version_info < _SINCE.get(dotted, (3,)):
            continue
        first, *rest = dotted.split(".")
        owners: list[Any] = [m for m in modules if m.__name__.rsplit(".", 1)[-1] == first]
        owners += [getattr(m, first) for m in modules if isinstance(getattr(m, first, None), type)]
        if hasattr(builtins, first):  # list.pop
            owners.append(getattr(builtins, first))
        try:
            owners.append(importlib.import_module(first))
        except ImportError:
            pass
        assert owners, f"{name}: nothing is called {first} ({dotted})"

        def resolves(owner: Any) -> bool:
            for attribute in rest:
                if isinstance(owner, type) and dataclasses.is_dataclass(owner) \
                        and attribute in {field.name for field in dataclasses.fields(owner)}:
                    return attribute == rest[-1]  # a field (Config.timeout)
                if not hasattr(owner, attribute):
                    try:
                        owner = importlib.import_module(f"{owner.__name__}.{attribute}")
                    except (ImportError, AttributeError):
                        return False
                    continue
                owner = getattr(owner, attribute)
            return True

        assert any(resolves(owner) for owner in owners), f"{name}: {dotted} does not exist"


def test_functions_live_in_the_modules_the_page_names() -> None:
    text = prose(ARCHITECTURE)
    pairs = re.findall(r"`(\w+)` \(`(\w+/[\w/]+\.py)`", text)
    for first, second, path in re.findall(r"`(\w+)` and `(\w+)` \(`(\w+/[\w/]+\.py)`", text):
        pairs += [(first, path), (second, path)]
    pairs += [(name, previous) for previous, name
              in re.findall(r"\(`([\w/]+\.py)`\): [^;]*; - `(\w+)` \(same module\)", text)]
    names = {name for name, _ in pairs}
    assert {"levels", "parallel_groups", "critical_path", "analyze", "jit", "get_jit_stats",
            "reset_stats", "explain", "compare"} <= names
    for name, path in pairs:
        module = _module_for(path)
        assert getattr(module, name).__module__ == module.__name__, f"{name} in {path}"


# The API's layers as the page gives them, bottom first (``transforms.tensor`` is the
# tensor fast path, which sits beside ``call``).
_API_LAYERS = (
    ("api.records", "api.views"),
    ("api.stats", "api.explanation", "api.call", "transforms.tensor"),
    ("api.jit",),
    ("api.explain", "api.compare", "timeline"),
    ("display",),
)


def test_the_api_modules_import_only_the_layers_below_them() -> None:
    """Every import counts here: at load time, inside functions, under TYPE_CHECKING."""
    text = prose(section(ARCHITECTURE, "Where the stages meet: the API (`ember.xcs.api`)"))
    assert "The modules form layers, each importing only those below it" in text
    rank = {f"ember.xcs.{name}": level for level, names in enumerate(_API_LAYERS)
            for name in names}
    for module, level in rank.items():
        tree = ast.parse(Path(importlib.import_module(module).__file__ or "").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in rank:
                assert rank[node.module] < level, f"{module} imports {node.module}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert rank.get(alias.name, -1) < level, f"{module} imports {alias.name}"


def test_the_engine_names_its_transitions_and_driver_calls() -> None:
    from ember.xcs.engine.driver import Engine, default_engine
    from ember.xcs.engine.state import Run

    engine_text = prose(section(ARCHITECTURE, "Stage 2: the engine (`ember.xcs.engine`)"))
    transitions = spans(engine_text.split("Its transitions — ")[1].split(" — ")[0])
    assert transitions == ["add", "finish", "grant", "stop"]
    for name in transitions:
        assert inspect.isfunction(getattr(Run, name)), name
    for dotted in ("Engine.submit", "Engine.report"):
        assert f"`{dotted}`" in engine_text
        assert inspect.isfunction(getattr(Engine, dotted.split(".")[1]))
    assert "One engine serves the whole process." in prose(ARCHITECTURE)
    assert default_engine() is default_engine()


def test_the_thread_pool_numbers() -> None:
    from ember.xcs.engine import threads
    from ember.xcs.engine.driver import default_engine

    engine_text = prose(section(ARCHITECTURE, "Stage 2: the engine (`ember.xcs.engine`)"))
    (most, warm) = re.findall(r"up to (\d+) threads, kept warm for (a minute)", engine_text)[0]
    assert threads.DEFAULT_MAX_THREADS == int(most)
    assert threads.DEFAULT_IDLE_TIMEOUT == 60 and warm == "a minute"
    pool = default_engine().threads
    assert (pool.max_threads, pool.idle_timeout) == (int(most), 60)


def test_glue_runs_in_the_calling_thread_and_coroutine_ops_on_one_event_loop() -> None:
    import asyncio

    text = prose(ARCHITECTURE)
    assert "its own code — the glue — runs in the calling thread" in text
    assert "run as tasks on one event loop (`engine/loop.py`)" in text
    glue: list[int] = []
    loops: list[tuple[int, asyncio.AbstractEventLoop]] = []

    @op
    async def fetch(i: int) -> int:
        loops.append((threading.get_ident(), asyncio.get_running_loop()))
        await asyncio.sleep(0.01)
        return i

    @jit
    def gather(n: int) -> list[int]:
        glue.append(threading.get_ident())
        values = [fetch(i) for i in range(n)]
        glue.append(threading.get_ident())
        return values

    for _ in range(2):
        assert gather(4) == [0, 1, 2, 3]
    assert set(glue) == {threading.get_ident()}
    assert len({id(loop) for _, loop in loops}) == 1
    assert threading.get_ident() not in {thread for thread, _ in loops}


def test_a_thread_that_finishes_an_op_runs_its_blocking_follow_up() -> None:
    from ember.xcs.engine.threads import ThreadPool

    engine_text = prose(section(ARCHITECTURE, "Stage 2: the engine (`ember.xcs.engine`)"))
    assert "a thread that finishes an op runs a blocking follow-up itself" in engine_text
    pool = ThreadPool(max_threads=8, idle_timeout=1.0)
    ran: list[tuple[str, int]] = []
    done = threading.Event()

    def follow_up() -> None:
        ran.append(("follow-up", threading.get_ident()))
        done.set()

    def first() -> None:
        ran.append(("first", threading.get_ident()))
        assert pool.continue_here(follow_up)
        assert not pool.continue_here(follow_up)  # one follow-up at a time

    for _ in range(4):  # idle threads that could otherwise take the follow-up
        pool.submit(time.sleep, 0.01)
    time.sleep(0.05)
    pool.submit(first)
    assert done.wait(5)
    assert [kind for kind, _ in ran] == ["first", "follow-up"]
    assert ran[0][1] == ran[1][1]
    assert not pool.continue_here(follow_up)  # the caller's thread is not a worker
    pool.shutdown()


def test_counters_of_calls_without_ops_lose_nothing_across_threads() -> None:
    text = prose(ARCHITECTURE)
    assert "so no count is lost, and such a call, which costs a few microseconds in all, " \
        "takes no lock" in text
    idle = jit(lambda x: x + 1)
    per_thread, workers = 5_000, 8

    def call_many() -> None:
        for i in range(per_thread):
            idle(i)

    started = [threading.Thread(target=call_many) for _ in range(workers)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    stats = get_jit_stats(idle)
    assert stats["calls"] == per_thread * workers and stats["traced_calls"] == 0


# -- limits ------------------------------------------------------------------------------


def _peak_of(config: Config, width: int) -> int:
    """The most op bodies of one call running at once, for ``width`` independent ops."""
    probe = PeakProbe()

    @op
    def hold(i: int) -> int:
        probe.hold(0.1)
        return i

    fan = jit(lambda n: [hold(i) for i in range(n)], config=config)
    assert fan(width) == list(range(width))
    return probe.peak


def test_max_workers_caps_one_call_and_there_is_no_cap_by_default() -> None:
    engine_text = prose(section(ARCHITECTURE, "Stage 2: the engine (`ember.xcs.engine`)"))
    assert "`Config.max_workers` caps the op bodies of one call (no cap by default)" \
        in engine_text
    assert Config().max_workers is None
    assert _peak_of(Config(max_workers=3), 12) == 3
    # More than Config.DEFAULT_MAX_WORKERS (64) ops at once: each op waits until all
    # of them are running, which only happens when jit sets no cap for None.
    width = Config.DEFAULT_MAX_WORKERS + 16
    together = threading.Barrier(width, timeout=15)

    @op
    def meet(i: int) -> int:
        together.wait()
        return i

    assert jit(lambda n: [meet(i) for i in range(n)])(width) == list(range(width))


# -- the IR and the reference interpreter --------------------------------------------


def test_the_node_kinds_are_the_four_in_the_table() -> None:
    from ember.xcs.ir.graph import Graph, Node, NodeKind, Var

    text = section(ARCHITECTURE, "Stage 3: the IR (`ember.xcs.ir`)")
    assert "A node has one of four kinds (`NodeKind`)" in prose(text)
    assert [spans(row[0])[0] for row in table(text)] == [kind.value for kind in NodeKind]
    assert "all frozen dataclasses and tuples" in prose(text)
    for cls in (Graph, Node, Var):
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, cls  # type: ignore[attr-defined]


def test_the_graph_renders_as_the_page_says(tmp_path: Path) -> None:
    text = prose(section(ARCHITECTURE, "Stage 3: the IR (`ember.xcs.ir`)"))
    assert "`str(graph)` gives this text; `graph.to_dot()` and `graph.to_mermaid()` give " \
        "Graphviz DOT and Mermaid; `graph.save(path)` writes one of them" in text
    from ember.xcs.api.stats import _stats_of

    pair = jit(lambda x: [_zero(x), _zero(x + 1)])
    pair(1)
    graph = _stats_of(pair).last.graph
    assert str(graph).startswith("{ lambda") and str(graph).endswith("}")
    assert graph.to_dot().startswith("digraph") and graph.to_mermaid().startswith("flowchart")
    graph.save(tmp_path / "graph.mmd")
    assert (tmp_path / "graph.mmd").read_text().strip() == graph.to_mermaid().strip()


def test_the_reference_interpreter_is_about_twenty_lines() -> None:
    from ember.xcs.engine import reference

    engine_text = prose(section(ARCHITECTURE, "Stage 2: the engine (`ember.xcs.engine`)"))
    assert "It evaluates a graph node by node, in about twenty lines." in engine_text
    lines = 0
    for fn in (reference.call_node, reference.eval_graph):
        body = ast.parse(inspect.getsource(fn)).body[0].body  # type: ignore[attr-defined]
        if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the docstring
        lines += sum(len(ast.unparse(statement).splitlines()) for statement in body)
    assert 15 <= lines <= 30


# -- stage 1: rewriting and proxies ----------------------------------------------------


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _code_names(constant)
    return names


def _site_function(snippet: str) -> str:
    """A function whose body is ``snippet``, the page's "in your code" column (an
    expression it returns, a ``match`` head, an ``except`` clause, or statements)."""
    if snippet.startswith("except "):
        body = ["try:", "    pass", snippet, "    pass"]
    elif snippet.endswith(":"):
        body = [snippet, "    case _:", "        return None"]
    elif isinstance(ast.parse(snippet).body[0], ast.Expr):
        body = [f"return {snippet}"]
    else:
        body = [snippet]
    tree = ast.parse("async def probe():\n" + "\n".join("    " + line for line in body))
    declared = {name for node in ast.walk(tree) if isinstance(node, ast.Global)
                for name in node.names}
    names = sorted({node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} - declared)
    prefix = "async def" if snippet.startswith("await ") else "def"
    return f"{prefix} site({', '.join(names)}):\n" + "\n".join("    " + line for line in body)


def test_each_rewritten_site_goes_through_the_helper_the_table_names(tmp_path: Path) -> None:
    from ember.xcs.tracing import runtime
    from ember.xcs.tracing.rewrite import instrumented

    text = section(ARCHITECTURE, "Stage 1: the tracer (`ember.xcs.tracing`)")
    rows = table(text)
    assert len(rows) == 15
    for index, row in enumerate(rows):
        snippet, becomes = spans(row[0])[0], spans(row[1])[0]
        helpers = set(re.findall(r"(\w+)\(", becomes)) - set(re.findall(r"(\w+)\(", snippet))
        assert helpers, row
        for helper in helpers:
            assert callable(getattr(runtime, helper)), helper
        path = tmp_path / f"site_{index}.py"
        path.write_text(_site_function(snippet) + "\n")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        original = module.site
        rewritten = instrumented(original)
        assert rewritten is not original, snippet
        assert helpers <= _code_names(rewritten.__code__), f"{snippet}: not via {helpers}"
        assert not helpers & _code_names(original.__code__)
        # The new code keeps the original's file and lines, and is made once.
        assert rewritten.__code__.co_filename == original.__code__.co_filename
        assert rewritten.__code__.co_firstlineno == original.__code__.co_firstlineno
        assert instrumented(original).__code__ is rewritten.__code__


def test_prep_returns_a_c_level_partial() -> None:
    from ember.xcs.tracing import runtime

    assert "`prep` returns a C-level `functools.partial`" in prose(ARCHITECTURE)
    prepared = runtime.prep(max, 1, 2)
    assert type(prepared) is functools.partial and prepared() == 2
    assert type(functools.partial).__module__ == "builtins"  # the C implementation


def test_lazy_values_and_symbols_share_one_proxy_base_that_lifts_the_listed_operations() -> None:
    from ember.xcs.graphs.recording import Symbol
    from ember.xcs.tracing.lazy import Lazy
    from ember.xcs.tracing.proxy import Proxy

    text = prose(section(ARCHITECTURE, "Stage 1: the tracer (`ember.xcs.tracing`)"))
    assert "`Lazy` and autograph's `Symbol` share one base, `tracing/proxy.py`" in text
    assert issubclass(Lazy, Proxy) and issubclass(Symbol, Proxy)
    listed = text.split("which defines once which operations are lifted (")[1].split(")")[0]
    methods = {
        "indexing": ["__getitem__"], "attribute access": ["__getattr__"],
        "calls": ["__call__"], "arithmetic": ["__add__", "__mul__", "__neg__"],
        "comparisons": ["__lt__", "__eq__"], "in-place operators": ["__iadd__", "__ior__"],
        "item and attribute assignment": ["__setitem__", "__setattr__"],
        "NumPy ufuncs": ["__array_ufunc__"],
    }
    items = [item.strip() for item in re.split(r", | and (?=NumPy)", listed)]
    assert items == list(methods)
    for item in items:
        for method in methods[item]:
            assert method in vars(Proxy), f"{item}: Proxy does not define {method}"


def _every_import(path: Path) -> set[str]:
    """The modules ``path`` imports anywhere: at load, in functions, under TYPE_CHECKING."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _members(protocol: type) -> set[str]:
    return {name for name in vars(protocol) if not name.startswith("_")}


def test_tasks_and_lazy_values_reach_their_owners_only_through_protocols() -> None:
    from ember.xcs.engine.state import Run
    from ember.xcs.engine.task import OwningRun, RunOutbox, Task
    from ember.xcs.tracing.lazy import Lazy, LazyOwner
    from ember.xcs.tracing.trace import Trace

    engine_text = prose(section(ARCHITECTURE, "Stage 2: the engine (`ember.xcs.engine`)"))
    tracer_text = prose(section(ARCHITECTURE, "Stage 1: the tracer (`ember.xcs.tracing`)"))
    assert "a task's `run` is typed by `OwningRun`" in engine_text
    assert "through `LazyOwner` (`force` and `lift`), a protocol that `Trace` satisfies" \
        in tracer_text
    assert not _every_import(XCS / "engine" / "task.py") & {
        "ember.xcs.engine.state", "ember.xcs.engine.outbox", "ember.xcs.engine.driver"}
    assert "ember.xcs.tracing.trace" not in _every_import(XCS / "tracing" / "lazy.py")
    assert inspect.signature(Task).parameters["run"].annotation == "OwningRun"
    assert inspect.signature(Lazy).parameters["trace"].annotation == "LazyOwner"
    run = Run()
    assert all(hasattr(run, name) for name in _members(OwningRun))
    assert all(hasattr(run.outbox, name) for name in _members(RunOutbox))
    assert _members(LazyOwner) == {"force", "lift"}
    assert all(inspect.isfunction(getattr(Trace, name)) for name in _members(LazyOwner))


# -- when analysis runs ------------------------------------------------------------------


def test_no_analysis_runs_on_the_path_of_a_call(monkeypatch: pytest.MonkeyPatch) -> None:
    from ember.xcs.tracing.log import CallLog

    text = prose(section(ARCHITECTURE, "Stage 4: analysis (`ember.xcs.analysis`)"))
    assert "These functions run when stats or `explain` ask for them, never on the path " \
        "of a call." in text
    analysis_dir = str(XCS / "analysis")
    seen: list[str] = []

    def profile(frame: types.FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename.startswith(analysis_dir):
            seen.append(frame.f_code.co_name)

    measured: list[int] = []
    real = CallLog._measure
    monkeypatch.setattr(CallLog, "_measure", lambda log: measured.append(1) or real(log))
    fan = jit(lambda n: [_zero(i) for i in range(n)])
    threading.setprofile(profile)
    sys.setprofile(profile)
    try:
        assert fan(8) == list(range(8))
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    assert seen == [] and measured == []
    sys.setprofile(profile)
    try:
        assert get_jit_stats(fan)["max_parallelism"] == 8
    finally:
        sys.setprofile(None)
    assert seen, "reading stats analyses the graph"


def test_the_two_kinds_of_call_that_measure_their_log_as_they_end(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ember.xcs.tracing.log import GRAPH_LIMIT, CallLog

    text = prose(section(ARCHITECTURE, "Stage 4: analysis (`ember.xcs.analysis`)"))
    (limit,) = re.findall(r"a call of more than ([\d,]+) nodes", text)
    assert int(limit.replace(",", "")) == GRAPH_LIMIT
    measured: list[int] = []
    real = CallLog._measure
    monkeypatch.setattr(CallLog, "_measure", lambda log: measured.append(len(log)) or real(log))
    fan = jit(lambda n: [_zero(i) for i in range(n)])
    fan(GRAPH_LIMIT)
    assert measured == []
    fan(GRAPH_LIMIT + 1)
    assert measured == [GRAPH_LIMIT + 1]

    measured.clear()
    assert 'a `structural_jit(execution_strategy="auto")` call whose structure the ' \
        "function has not had before" in text
    auto = structural_jit(lambda n: [_zero(i) for i in range(n)], execution_strategy="auto")
    auto(3)
    auto(3)
    assert measured == [3]
    auto(4)
    assert measured == [3, 4]


# -- shared state and locks --------------------------------------------------------------


def test_up_to_four_spare_traces() -> None:
    jit_module = importlib.import_module("ember.xcs.api.jit")

    (count,) = re.findall(r"keeps up to (\w+) spare `Trace`s", prose(ARCHITECTURE))
    assert jit_module._SPARE_TRACES == _NUMBERS[count]


_MUTATORS = {"append", "add", "clear", "pop", "update", "setdefault", "popitem", "extend",
             "insert", "remove", "discard", "move_to_end", "appendleft"}
_CONTAINERS = {"dict", "set", "list", "OrderedDict", "CodeMap", "WeakSet", "WeakKeyDictionary",
               "WeakValueDictionary", "defaultdict", "deque"}


def _module_containers(tree: ast.Module) -> dict[str, str]:
    """Module-level names bound to a mutable container, with the container's kind."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if not isinstance(target, ast.Name):
            continue
        if isinstance(value, ast.Dict | ast.List | ast.Set):
            found[target.id] = type(value).__name__.lower()
        elif isinstance(value, ast.Call):
            kind = getattr(value.func, "id", None) or getattr(value.func, "attr", None)
            if kind in _CONTAINERS:
                found[target.id] = kind
    return found


def _unlocked_changes(path: Path) -> set[tuple[str, str]]:
    """``(name, kind)`` of each module-level container a function of ``path`` changes
    outside a ``with ...lock...:`` block (a function only ever called under a lock
    counts as locked)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    containers = _module_containers(tree)
    changes: list[tuple[str, str | None, bool]] = []  # (name, enclosing function, locked)
    calls: list[tuple[str, bool]] = []  # (called function name, locked)

    def changed(node: ast.AST) -> str | None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in _MUTATORS and isinstance(node.func.value, ast.Name):
            return node.func.value.id
        if isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                    return target.value.id
        return None

    def visit(node: ast.AST, locked: bool, function: str | None) -> None:
        if isinstance(node, ast.With | ast.AsyncWith):
            locked = locked or any("lock" in ast.unparse(item.context_expr).lower()
                                   for item in node.items)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            calls.append((node.func.id, locked))
        name = changed(node)
        if name in containers and function is not None:
            changes.append((name, function, locked))
        for child in ast.iter_child_nodes(node):
            visit(child, locked, function)

    visit(tree, False, None)
    called_locked = {name for name, _ in calls} - {name for name, locked in calls if not locked}
    return {(name, containers[name]) for name, function, locked in changes
            if not locked and function not in called_locked}


def test_unlocked_shared_containers_are_the_documented_caches() -> None:
    text = prose(ARCHITECTURE)
    exception = text.split("The second exception is caches")[1].split("`tests/docs/")[0]
    documented = set(re.findall(r"\(`([\w/]+\.py)`", exception))
    assert "tracing/codemap.py" in documented
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "src" / "ember").rglob("*.py")):
        for name, kind in _unlocked_changes(path):
            if kind == "CodeMap":
                continue  # facts about code objects, keyed by identity (tracing/codemap.py)
            relative = path.relative_to(ROOT / "src" / "ember").as_posix()
            found.setdefault(relative.removeprefix("xcs/"), set()).add(name)
    assert set(found) == documented - {"tracing/codemap.py"}, found


def test_the_lock_audit_sees_unlocked_and_locked_changes(tmp_path: Path) -> None:
    source = tmp_path / "shared.py"
    source.write_text(
        "import threading\n_lock = threading.Lock()\n_seen = {}\n_kept = []\n_both = set()\n"
        "def note(k):\n    _seen[k] = 1\n"
        "def keep(v):\n    with _lock:\n        _kept.append(v)\n        _add(v)\n"
        "def _add(v):\n    _both.add(v)\n"
    )
    assert _unlocked_changes(source) == {("_seen", "dict")}


# -- layout ------------------------------------------------------------------------------


def _layout_rows() -> dict[str, str]:
    rows = table(section(ARCHITECTURE, "Layout"))
    return {row[0]: row[1] for row in rows}


def test_every_package_has_a_row_in_the_layout_table() -> None:
    rows = _layout_rows()
    paths = {path for cell in rows for path in spans(cell)}
    text = prose(section(ARCHITECTURE, "Layout"))
    source = ROOT / "src"
    folders = {path.parent for path in (source / "ember").rglob("*.py")}
    for package in sorted(folders):
        folder = package.relative_to(source).as_posix() + "/"
        depth = 3 if folder.startswith("ember/xcs/") else 2
        if folder.count("/") != depth:
            continue  # ember/ and ember/xcs/ themselves, and packages inside the table's
        short = folder.split("/", 2)[-1] if folder.startswith("ember/xcs/") else folder
        named = folder in paths or f"`{short}`" in text or f"`{folder}" in text
        assert named, f"{folder} is not in the layout table"


@pytest.mark.parametrize(("row", "package"), [
    ("`ember/xcs/*.py`", "ember.xcs"),
    ("`ember/xcs/analysis/`", "ember.xcs.analysis"),
    ("`ember/xcs/transforms/`", "ember.xcs.transforms"),
])
def test_the_rows_that_list_modules_list_them_all(row: str, package: str) -> None:
    cell = _layout_rows()[row]
    named = {span for span in spans(outside_parentheses(cell)) if span.isidentifier()}
    folder = ROOT / "src" / package.replace(".", "/")
    modules = {path.stem for path in folder.glob("*.py") if not path.stem.startswith("_")}
    seed_paths = prose(section(ARCHITECTURE, "Layout")).split("thin modules that only re-export")[1]
    thin = {stem for stem in modules if f"`{package.replace('.', '/')}/{stem}.py`" in seed_paths}
    assert modules - thin <= named, f"{row} does not name {sorted(modules - thin - named)}"
    for name in named:
        found = any(hasattr(importlib.import_module(f"{package}.{module}"), name)
                    for module in modules) or name in modules
        assert found, f"{row}: {name} is neither a module nor a name of {package}"


def test_the_compat_api_and_testing_rows_hold_what_they_name() -> None:
    rows = _layout_rows()
    compat = importlib.import_module("ember.xcs.compat")
    for name in [s for s in spans(rows["`ember/xcs/compat/`"]) if s.isidentifier()]:
        assert hasattr(compat, name), name
    facade = spans(rows["`ember/api/`"])[0]
    exec(facade, {})  # from ember.api import models, operators, xcs
    assert "the loopback LLM server, a fake clock, DAG shapes" in rows["`ember/testing/`"]
    for module in ("loopback", "clock", "shapes"):
        importlib.import_module(f"ember.testing.{module}")
