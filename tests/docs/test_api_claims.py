"""docs/api.md says what the code does: names, signatures, defaults, tables, errors, CLI.

Each test reads a statement of the page (a signature, a table, a list in a sentence)
and checks it against the code. The page's examples run in ``tests/test_docs.py``; the
two stats tables are compared with the stats keys in ``tests/xcs/api/test_stats.py``.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest

import ember.api.decorators
import ember.api.xcs
import ember.xcs
from ember.xcs import (
    Config,
    ConfigError,
    JitFunction,
    NodeKind,
    Op,
    OpDecision,
    Presets,
    XCSError,
    explain,
    get_jit_stats,
    jit,
    op,
    reset_stats,
)
from ember.xcs.cache.scope import CacheScope
from ember.xcs.cli import _parser
from tests.docs._pages import (
    outside_parentheses,
    page,
    prose,
    section,
    spans,
    table,
    tables,
    text_blocks,
)
from tests.xcs.tracing.test_learned import without_source

API = page("api.md")


@op
def _double(x: int) -> int:
    return 2 * x


@jit
def _pair(x: int) -> list[int]:
    return [_double(x), _double(x + 1)]


def _gated(x: int) -> bool:
    first = _double(x)
    if first:  # a dynamic barrier: bool() at run time
        second = _double(x)
        return first is second  # a static one: `is` needs the real objects
    return False


def _row(rows: list[list[str]], key: str) -> list[str]:
    """The row of ``rows`` whose first cell is the code span ``key``."""
    (row,) = [row for row in rows if row[0] == f"`{key}`"]
    return row


# -- names -------------------------------------------------------------------------------


def test_every_public_name_of_ember_xcs_is_on_the_page() -> None:
    missing = [name for name in ember.xcs.__all__ if not re.search(rf"`{name}\b", API)]
    assert not missing, f"docs/api.md does not mention: {missing}"


def test_the_documented_names_come_from_ember_xcs_and_the_facade() -> None:
    headings = re.findall(r"^## (`.*)$", API, flags=re.MULTILINE)
    documented = {name for heading in headings for name in spans(heading)}
    intro = API.split("\n## ")[0].split("Transforms (")[1]
    documented |= {name for name in spans(intro) if name.isidentifier()}
    assert len(documented) > 20
    for name in documented:
        assert name in ember.xcs.__all__, name
        assert getattr(ember.api.xcs, name) is getattr(ember.xcs, name), name


def test_ember_api_decorators_has_the_marks_and_pyembers_op() -> None:
    headings = re.findall(r"^## (`.*)$", API, flags=re.MULTILINE)
    marks = {name for heading in headings for name in spans(heading) if name.startswith("mark_")}
    assert marks == {"mark_orchestration", "mark_tensor", "mark_hybrid", "mark_pytree_safe"}
    assert set(ember.api.decorators.__all__) == marks | {"op"}
    for name in marks:
        assert getattr(ember.api.decorators, name) is getattr(ember.xcs, name), name
    assert "pyember's `op`, which gives an `Operator` run as one op" in prose(API)
    from ember.api.operators import Operator

    @ember.api.decorators.op
    def shout(text: str) -> str:
        return text.upper()

    assert isinstance(shout, Operator) and shout("a") == "A"


# -- signatures --------------------------------------------------------------------------


def _documented_signatures() -> dict[str, tuple[inspect.Signature, str | None]]:
    """Each ``name(params) -> result`` of the page's text blocks (the CLI synopsis aside)."""
    found: dict[str, tuple[inspect.Signature, str | None]] = {}
    for block in text_blocks(API):
        entries: list[str] = []
        for line in block.splitlines():
            if line.startswith(" ") and entries:
                entries[-1] += " " + line.strip()
            elif line.strip():
                entries.append(line.strip())
        for entry in entries:
            if entry.startswith("ember-xcs"):
                continue
            head, _, result = entry.partition(" -> ")
            name = head.split("(")[0]
            namespace: dict[str, Any] = {}
            exec(f"def {head}: pass", namespace)  # the page's parameter list, parsed
            found[name] = (inspect.signature(namespace[name]), result or None)
    return found


def test_the_signatures_on_the_page_are_the_real_ones() -> None:
    documented = _documented_signatures()
    assert len(documented) >= 10
    for name, (signature, _) in documented.items():
        real = inspect.signature(getattr(ember.xcs, name))
        shown = [(p.name, p.kind, p.default) for p in signature.parameters.values()]
        actual = [(p.name, p.kind, p.default) for p in real.parameters.values()]
        assert shown == actual, f"{name}: the page shows {signature}, the code has {real}"


def _results() -> dict[str, Callable[[], object]]:
    """A call of each documented function, to check the type the page says it returns."""
    plain = lambda x: x  # noqa: E731
    return {
        "jit": lambda: jit(plain),
        "get_jit_stats": lambda: get_jit_stats(_pair),
        "reset_stats": lambda: reset_stats(_pair),
        "compare": lambda: ember.xcs.compare(_pair, 1, repeat=1, warmup=0),
        "explain": lambda: explain(_pair, 1),
        "op": lambda: op(plain),
        "mark_orchestration": lambda: ember.xcs.mark_orchestration(plain),
        "mark_tensor": lambda: ember.xcs.mark_tensor(plain),
        "analyze_operations_v2": lambda: ember.xcs.analyze_operations_v2(plain),
        "mark_hybrid": lambda: ember.xcs.mark_hybrid(plain) is plain,
        "pure": lambda: ember.xcs.pure(plain) is plain,
        "mark_pytree_safe": lambda: ember.xcs.mark_pytree_safe()(plain) is plain,
    }


def test_the_documented_results_are_what_the_functions_return() -> None:
    kinds: dict[str, Callable[[object], bool]] = {
        "JitFunction": lambda value: isinstance(value, JitFunction),
        "Op": lambda value: isinstance(value, Op),
        "OpDecision": lambda value: isinstance(value, OpDecision),
        "dict": lambda value: isinstance(value, dict),
        "str": lambda value: isinstance(value, str),
        "None": lambda value: value is None,
        "fn": lambda same: same is True,  # the argument itself, unchanged
        "decorator": lambda same: same is True,
    }
    results = _results()
    for name, (_, result) in _documented_signatures().items():
        if result is None:
            continue
        assert name in results, f"add a call of {name} to _results()"
        assert kinds[result](results[name]()), f"{name} does not return {result}"


# -- Config ------------------------------------------------------------------------------


def _config_rows() -> list[list[str]]:
    return table(section(API, "`Config`").split("### `Presets`")[0])


def test_the_config_table_lists_every_field_in_order() -> None:
    names = [spans(row[0])[0] for row in _config_rows()]
    assert names == [field.name for field in dataclasses.fields(Config)]


def test_the_config_defaults_on_the_page_are_the_real_ones(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMBER_XCS_PROFILE", raising=False)
    defaults = Config()
    for row in _config_rows():
        name, kind = spans(row[0])[0], row[1]
        default = kind.rsplit(", ", 1)[-1]
        if default == "from the environment":
            assert name == "profile" and defaults.profile is False
        elif default == "`None` only":
            assert getattr(defaults, name) is None
            with pytest.raises(ConfigError):
                Config(**{name: 1})
        else:
            (literal,) = spans(default)
            assert getattr(defaults, name) == ast.literal_eval(literal), name


def test_the_documented_profile_switches_turn_profiling_on(
        monkeypatch: pytest.MonkeyPatch) -> None:
    row = _row(_config_rows(), "profile")
    on, off = (spans(part) for part in row[2].split("`EMBER_XCS_PROFILE`")[1].split(";")[:2])
    assert on == ["1", "true", "yes", "on"]
    assert off == ["False", "0", "false", "no", "off"]
    for value in [*on, " ON "]:
        monkeypatch.setenv("EMBER_XCS_PROFILE", value)
        assert Config().profile is True, value
    for value in [*off[1:], "", " Off "]:
        monkeypatch.setenv("EMBER_XCS_PROFILE", value)
        assert Config().profile is False, value
    for value in ("2", "enabled", "y"):  # "any other value raises ConfigError"
        monkeypatch.setenv("EMBER_XCS_PROFILE", value)
        with pytest.raises(ConfigError, match="EMBER_XCS_PROFILE=.* is not a switch"):
            Config()


def test_the_documented_executors_are_accepted_and_others_refused() -> None:
    row = _row(_config_rows(), "executor")
    names = [ast.literal_eval(span) for span in spans(row[1]) if span.startswith('"')]
    assert set(names) == {"thread", "sync", "process"}
    for name in names:
        assert Config(executor=name).executor == name
    with pytest.raises(ConfigError, match="must be one of"):
        Config(executor="gpu")


def test_the_longest_timeout_is_one_year() -> None:
    row = _row(_config_rows(), "timeout")
    assert "at most one year (`ember.xcs.config.MAX_TIMEOUT`)" in row[2]
    from ember.xcs.config import MAX_TIMEOUT

    assert MAX_TIMEOUT == 365 * 24 * 3600
    assert Config(timeout=MAX_TIMEOUT).timeout == MAX_TIMEOUT
    with pytest.raises(ConfigError):
        Config(timeout=MAX_TIMEOUT * 1.01)


def test_the_config_methods_do_what_the_page_says() -> None:
    text = prose(section(API, "`Config`"))
    assert "`None` or `{}` returns the config itself" in text
    config = Config(max_workers=3)
    assert config.apply_overrides(None) is config and config.apply_overrides({}) is config
    assert type(config.as_dict()) is dict
    view = config.to_dict()
    assert isinstance(view, Mapping) and not isinstance(view, dict)
    with pytest.raises(TypeError):
        view["max_workers"] = 4  # type: ignore[index]
    (cap,) = re.findall(r"`max_workers`, or (\d+)", text)
    assert Config.DEFAULT_MAX_WORKERS == int(cap)
    assert Config().workers == int(cap) and config.workers == 3
    assert f"{cap} is the default cap of `execution_options`" in text
    assert ember.xcs.execution_options().workers == int(cap)


def test_each_preset_holds_exactly_the_settings_in_its_row(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMBER_XCS_PROFILE", raising=False)
    rows = table(section(API, "`Presets`"))
    defaults = Config().as_dict()
    presets = {name: value for name, value in vars(Presets).items() if isinstance(value, Config)}
    internal = (CacheScope,)  # put in by Config itself for redact and result_cache
    assert {spans(row[0])[0] for row in rows} == {f"Presets.{name}" for name in presets}
    for row in rows:
        preset = presets[spans(row[0])[0].removeprefix("Presets.")]
        documented = eval(f"dict({spans(row[1])[0]})")  # e.g. redact=True, profile=False
        settings = preset.as_dict()
        settings["hooks"] = tuple(h for h in preset.hooks if not isinstance(h, internal))
        changed = {key: value for key, value in settings.items()
                   if value != defaults[key] or key in documented}
        assert changed == documented, row[0]


# -- jit and structural_jit --------------------------------------------------------------


def test_jit_refuses_what_the_page_says_it_refuses() -> None:
    assert "Raises `ConfigError` if `config` is not a `Config` or `fn` is not callable." \
        in prose(section(API, "`jit`"))
    with pytest.raises(ConfigError):
        jit(3)
    with pytest.raises(ConfigError):
        jit(lambda: None, config={"parallel": False})


def test_jit_takes_every_kind_of_callable_the_page_lists() -> None:
    import functools

    from ember.api.operators import Operator

    text = prose(section(API, "`jit`"))
    assert "`fn` may be a function, a lambda, a method, a `functools.partial`, a callable " \
        "object or an `Operator` class" in text

    class Doubler:
        def __call__(self, x: int) -> list[int]:
            return [_double(x), _double(x)]

        def twice(self, x: int) -> list[int]:
            return self(x)

    class Pair(Operator):
        def forward(self, *, inputs: int) -> list[int]:
            return [_double(inputs), _double(inputs + 1)]

    def pair(x: int, y: int) -> list[int]:
        return [_double(x), _double(y)]

    cases: list[tuple[Any, tuple[int, ...], list[int]]] = [
        (jit(lambda x: [_double(x)]), (1,), [2]),
        (jit(pair), (1, 2), [2, 4]),
        (jit(functools.partial(pair, 1)), (3,), [2, 6]),
        (jit(Doubler()), (1,), [2, 2]),
        (jit(Doubler().twice), (2,), [4, 4]),
    ]
    for target, arguments, expected in cases:
        assert target(*arguments) == expected
        assert get_jit_stats(target)["ops"] == len(expected)  # the ops ran under jit
    jitted_class = jit(Pair)
    assert "For a class it returns a subclass whose calls are jitted." in text
    assert issubclass(jitted_class, Pair)
    instance = jitted_class()
    assert instance(inputs=1) == [2, 4]
    assert get_jit_stats(jitted_class)["calls"] == get_jit_stats(instance)["calls"] == 1


def test_structural_jit_max_workers_is_a_shorthand() -> None:
    row = _row(table(section(API, "`structural_jit`")), "max_workers")
    assert "shorthand for `config.replace(max_workers=...)`" in row[1]
    base = Config(profile=True)
    made = ember.xcs.structural_jit(lambda x: x, config=base, max_workers=3)
    assert made.config == base.replace(max_workers=3)


def test_the_members_of_a_jit_function() -> None:
    rows = table(section(API, "`jit`"))
    members = [spans(row[0])[0].removeprefix("f.").split("(")[0] for row in rows]
    assert members == ["stats", "explain", "config", "with_config"]
    _pair(1)
    assert _pair.stats() == get_jit_stats(_pair)
    assert _pair.explain().splitlines()[0] == explain(_pair).splitlines()[0] == "explain: _pair"
    assert isinstance(_pair.config, Config)
    other = _pair.with_config(parallel=False)
    assert other.config.parallel is False and other(2) == [4, 6]
    assert get_jit_stats(other) == get_jit_stats(_pair)  # shared stats


def test_structural_jit_refuses_what_the_page_says() -> None:
    text = section(API, "`structural_jit`")
    assert "Raises `ConfigError` for an unknown strategy or a threshold that is not a " \
        "positive int." in prose(text)
    strategies = spans(_row(table(text), "execution_strategy")[1])
    assert [s for s in strategies if s.startswith('"')] == ['"parallel"', '"sequential"',
                                                           '"auto"', '"parallel"']
    for strategy in ("parallel", "sequential", "auto"):
        ember.xcs.structural_jit(execution_strategy=strategy)
    with pytest.raises(ConfigError):
        ember.xcs.structural_jit(execution_strategy="waves")
    for threshold in (0, -1, 1.5, True):
        with pytest.raises(ConfigError):
            ember.xcs.structural_jit(parallel_threshold=threshold)


# -- stats, reset_stats, explain ---------------------------------------------------------


def _stats_rows() -> list[list[str]]:
    counters, last_call = tables(section(API, "`get_jit_stats`"))
    return counters + last_call


def test_the_sub_keys_in_the_stats_tables_are_the_real_ones() -> None:
    rows = _stats_rows()
    probe = jit(lambda x: [_double(x), _double(x)], config=Config(profile=True))
    figures = ember.xcs.compare(probe, 1, repeat=1, warmup=0)
    stats = get_jit_stats(probe)

    kinds = spans(_row(rows, "node_kinds")[1])
    assert kinds == [kind.value for kind in NodeKind] == list(stats["node_kinds"])

    comparison = [s for s in spans(_row(rows, "comparison")[1]) if s.isidentifier()
                  and s not in ("compare", "None")]
    assert comparison == list(stats["comparison"]) == [
        key for key in figures if key != "identical"]
    assert stats["speedup"] == pytest.approx(figures["speedup"], abs=5e-4)  # rounded to 3
    assert stats["comparison"]["speedup"] == figures["speedup"]

    (timing,) = spans(_row(rows, "node_timings")[1])
    assert all(set(entry) == ast.literal_eval(timing) for entry in stats["node_timings"])

    barrier_kinds = spans(outside_parentheses(_row(rows, "barrier_kinds")[1]))
    assert barrier_kinds == ["static", "dynamic", "learned"]
    gated = jit(_gated)
    assert gated(1) is _gated(1) is True  # small ints are shared objects
    kinds_seen = get_jit_stats(gated)["barrier_kinds"]
    assert set(kinds_seen) == {"static", "dynamic"} and set(kinds_seen) <= set(barrier_kinds)

    cache = [s for s in spans(_row(rows, "result_cache")[1]) if s.isidentifier()]
    assert cache[:4] == ["hits", "misses", "writes", "unstorable"]
    cached = jit(lambda x: op(lambda v: v, cache=True, name="kept")(x),
                 config=Config(result_cache=ember.xcs.cache.MemoryStore()))
    cached(1)
    assert list(get_jit_stats(cached)["result_cache"]) == cache[:4]
    assert stats["result_cache"] is None  # none of its ops caches


def test_the_token_keys_are_the_ones_models_report() -> None:
    from ember.api.models import models

    documented = spans(_row(_stats_rows(), "tokens")[1])
    asked = jit(lambda q: [models("simulated/a", q), models("simulated/b", q)])
    asked("Name a sea.")
    tokens = get_jit_stats(asked)["tokens"]
    assert tokens and set(tokens) <= set(documented)
    assert set(documented) == {"prompt_tokens", "completion_tokens", "total_tokens"}


def test_before_a_traced_call_nothing_is_claimed() -> None:
    text = section(API, "`get_jit_stats`")
    sentence = text.split("Before any traced call")[1].split(".")[0]
    figures = [name for name in spans(sentence) if name != "None"]
    assert figures == ["wall_ms", "critical_path_ms", "op_time_ms", "overlap", "efficiency"]
    fresh = jit(lambda x: [_double(x)])
    stats = get_jit_stats(fresh)
    assert all(stats[name] is None for name in figures)
    assert stats["nodes"] == stats["ops"] == stats["parallel_groups"] == 0
    assert "node_timings" not in stats


def test_fallbacks_keep_the_documented_number_of_entries() -> None:
    from ember.xcs.api.records import _FALLBACK_HISTORY

    (kept,) = re.findall(r"the last (\d+) places", _row(_stats_rows(), "fallbacks")[1])
    assert _FALLBACK_HISTORY == int(kept)


def test_reset_stats_keeps_learned_barriers_and_refuses_plain_functions() -> None:
    text = prose(section(API, "`reset_stats`"))
    assert "Learned barriers are kept" in text and "`XCSError` if `target` is not jitted" in text
    learner = jit(without_source(
        "def f(items):\n"
        "    return ', '.join([word(i) for i in items])\n", "f"))
    assert learner([1, 2]) == "w1, w2"
    assert len(get_jit_stats(learner)["learned_barriers"]) == 1
    reset_stats(learner)
    stats = get_jit_stats(learner)
    assert stats["calls"] == 0 and len(stats["learned_barriers"]) == 1
    with pytest.raises(XCSError, match="not a jitted function"):
        reset_stats(print)


def test_explain_jits_a_plain_function_only_when_given_arguments() -> None:
    text = prose(section(API, "`explain`"))
    assert "A function that is not jitted is jitted for the occasion" in text
    assert "without them it raises `XCSError`" in text

    def twice(x: int) -> list[int]:
        return [_double(x), _double(x)]

    assert explain(twice, 3).startswith("explain: ")
    with pytest.raises(XCSError, match="not a jitted function"):
        explain(twice)


# -- op ----------------------------------------------------------------------------------


def test_the_op_table_lists_every_setting_of_op() -> None:
    text = section(API, "`op`, `mark_orchestration`, `mark_tensor`")
    arguments = [spans(row[0])[0] for row in table(text)]
    settings = [p.name for p in inspect.signature(op).parameters.values()
                if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert arguments == settings


def test_an_op_has_the_documented_attributes() -> None:
    text = section(API, "`op`, `mark_orchestration`, `mark_tensor`")
    sentence = text.split("The returned `Op` has the attributes")[1].split(".")[0]
    attributes = [s for s in spans(sentence) if s.isidentifier()]
    assert "runs_inline" in attributes and "body" in attributes and len(attributes) == 9
    kinds = [ast.literal_eval(s) for s in spans(sentence) if s.startswith('"')]
    made = op(lambda: 1)
    for name in attributes:
        assert hasattr(made, name), name
    assert isinstance(type(made).runs_inline, property)
    assert isinstance(type(made).body, property)
    assert made.kind == kinds[0] and ember.xcs.mark_tensor(lambda: 1).kind == kinds[1]
    with pytest.raises(XCSError):
        op(3)
    for bad in (0, -2, 1.5, "4"):
        with pytest.raises(XCSError):
            op(lambda: 1, max_concurrency=bad)


# -- errors ------------------------------------------------------------------------------


def test_the_errors_table_gives_each_class_and_its_standard_base() -> None:
    rows = table(section(API, "Errors"))
    classes = {spans(row[0])[0]: (spans(row[1]) or [None])[0] for row in rows}
    exported = {name for name in ember.xcs.__all__
                if isinstance(getattr(ember.xcs, name), type)
                and issubclass(getattr(ember.xcs, name), XCSError)}
    assert set(classes) == exported
    for name, also in classes.items():
        cls = getattr(ember.xcs, name)
        assert issubclass(cls, XCSError)
        if also is not None:
            assert issubclass(cls, getattr(builtins, also)), name


# -- command line ------------------------------------------------------------------------


def _subcommands() -> dict[str, Any]:
    parser = _parser()
    (choices,) = [action.choices for action in parser._actions
                  if isinstance(action.choices, dict)]
    return dict(choices)


def test_the_cli_synopsis_lists_every_command_and_option() -> None:
    cli = section(API, "Command line: `ember-xcs`")
    (synopsis,) = text_blocks(cli)
    commands = _subcommands()
    shown: dict[str, set[str]] = {}
    for line in synopsis.splitlines():
        words = line.split()
        if words[1].startswith("--"):
            continue  # ember-xcs --version
        shown[words[1]] = set(re.findall(r"--[\w-]+", line))
    assert set(shown) == set(commands)
    for name, options in shown.items():
        real = {option for action in commands[name]._actions
                for option in action.option_strings if option.startswith("--")}
        assert options == real - {"--help"}, name
    described = {spans(row[0])[0] for row in table(cli)}
    assert described == set(commands)


def test_the_cli_defaults_on_the_page_are_the_real_ones() -> None:
    rows = table(section(API, "Command line: `ember-xcs`"))
    commands = _subcommands()
    checked = 0
    for row in rows:
        command = commands[spans(row[0])[0]]
        for option, default in re.findall(r"`(--[\w-]+)`[^`]*?\(default ([^)]+)\)", row[1]):
            (action,) = [a for a in command._actions if option in a.option_strings]
            assert action.default == ast.literal_eval(default), f"{row[0]} {option}"
            checked += 1
    assert checked == 4  # demo --questions, --latency; bench --latency, --repeat


def test_the_demo_asks_as_many_models_as_the_page_says() -> None:
    from ember.xcs import cli

    row = _row(table(section(API, "Command line: `ember-xcs`")), "demo")
    (count,) = re.findall(r"an ensemble of (\w+) simulated models", row[1])
    assert len(cli._MEMBERS) == ["one", "two", "three", "four", "five", "six"].index(count) + 1
    assert all(member.startswith("simulated/") for member in cli._MEMBERS)


def test_bench_runs_the_shapes_it_names() -> None:
    from ember.testing.shapes import SHAPES

    row = _row(table(section(API, "Command line: `ember-xcs`")), "bench")
    named = row[1].split("`ember.testing.shapes` (")[1].split(")")[0]
    assert [name.strip().replace(" ", "") for name in named.split(",")] == list(SHAPES)


@pytest.mark.parametrize("name", ["README.md", "api.md", "caching.md", "faq.md",
                                  "getting-started.md", "semantics.md", "transforms.md"])
def test_the_op_keywords_the_pages_name_exist(name: str) -> None:
    """`@op(effect=True)`, `Op(fn, kind="tensor")`: every keyword a page gives ``op`` or
    ``Op`` in running text is one they take (compat.md names ``ember.api.op``'s)."""
    from pathlib import Path

    from ember.xcs import Op, op

    root = Path(__file__).resolve().parents[2]
    text = (root / (name if name == "README.md" else f"docs/{name}")).read_text("utf-8")
    takes = {"op": inspect.signature(op).parameters, "Op": inspect.signature(Op).parameters}
    for span in re.findall(r"`([^`\n]+)`", text):
        for call in re.finditer(r"(?<![\w.])@?(op|Op)\(([^()]*)\)", span):
            for keyword in re.findall(r"(?:^|,)\s*([a-z_]\w*)\s*=(?!=)", call.group(2)):
                assert keyword in takes[call.group(1)], f"{name}: `{span}`"
