"""A function is rewritten from its source where plain Python has it: a module edited and
reloaded (``importlib.reload``, IPython's ``%autoreload``), a ``%%time`` notebook cell and
a test module whose ``assert`` statements pytest rewrote.
Run without rewriting, its glue would print twice (the last-resort rerun)."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ember.xcs import get_jit_stats

PIPELINE = textwrap.dedent("""\
    import time
    from ember.xcs import jit, op

    @op
    def fetch(k):
        time.sleep(0.01)
        return k.upper()

    @jit
    def pipeline(keys):
        rs = [fetch(k) for k in keys]
        print("VERSION glue", len(rs))
        return "SEP".join(rs)
""")


@pytest.fixture
def module_dir(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("reloaded_pipeline", None)


def test_a_module_edited_and_reloaded_is_rewritten_from_its_new_text(
        module_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = module_dir / "reloaded_pipeline.py"
    path.write_text(PIPELINE.replace("VERSION", "v1").replace("SEP", "+"))
    module = importlib.import_module("reloaded_pipeline")
    assert module.pipeline(["a", "b"]) == "A+B"  # linecache now holds the first text
    path.write_text(PIPELINE.replace("VERSION", "second version").replace("SEP", "-"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    module = importlib.reload(module)
    capsys.readouterr()
    assert module.pipeline(["a", "b"]) == "A-B"
    assert capsys.readouterr().out == "second version glue 2\n"  # once, as in plain Python
    assert get_jit_stats(module.pipeline)["fallbacks"] == []


TIME_CELL = """\
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_cell('''
import time
from ember.xcs import get_jit_stats, jit, op
@op
def fetch(k):
    time.sleep(0.01)
    return k.upper()
''', store_history=True)
shell.run_cell('''%%time
@jit
def pipeline(keys):
    rs = [fetch(k) for k in keys]
    print("glue", len(rs))
    return "+".join(rs)
print(pipeline(["a", "b"]))
print(pipeline.__wrapped__.__code__.co_filename, get_jit_stats(pipeline)["fallbacks"])
''', store_history=True)
shell.run_cell('''
%time joined = jit(lambda keys: "-".join([fetch(k) for k in keys]))
print(joined(["c", "d"]), get_jit_stats(joined)["fallbacks"])
''', store_history=True)
"""


def test_a_function_defined_in_a_time_cell_is_rewritten_from_the_cell() -> None:
    pytest.importorskip("IPython")
    done = subprocess.run([sys.executable, "-c", TIME_CELL], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    printed = [line for line in done.stdout.splitlines()
               if not line.startswith(("CPU times", "Wall time"))]
    assert printed == ["glue 2", "A+B", "<timed exec> []", "C-D []"]


CHECKED = textwrap.dedent("""\
    import time
    from ember.xcs import jit, op

    @op
    def fetch(k):
        time.sleep(0.01)
        return k.upper()

    @jit
    def pipeline(keys):
        rs = [fetch(k) for k in keys]
        assert len(rs) == len(keys), "one result per key"
        print("glue", len(rs))
        return "+".join(rs)
""")


def test_a_module_whose_asserts_pytest_rewrote_is_rewritten(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from _pytest.assertion.rewrite import rewrite_asserts

    path = tmp_path / "test_checked_pipeline.py"
    path.write_text(CHECKED)
    tree = ast.parse(CHECKED, str(path))
    rewrite_asserts(tree, CHECKED.encode(), str(path))  # as pytest imports a test module
    namespace: dict[str, object] = {"__name__": "test_checked_pipeline"}
    exec(compile(tree, str(path), "exec", dont_inherit=True), namespace)
    pipeline: Any = namespace["pipeline"]
    assert pipeline(["a", "b"]) == "A+B"
    assert capsys.readouterr().out == "glue 2\n"  # once, as in plain Python
    assert get_jit_stats(pipeline)["fallbacks"] == []


def test_only_the_jitted_def_of_a_test_module_has_its_asserts_rewritten_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Rewriting every assert of a big test module took a tenth of a second and more
    # on the first call of a jitted function holding an assert.
    from _pytest.assertion import rewrite as pytest_rewrite

    text = CHECKED + "".join(
        f"\n\ndef test_other_{i}():\n    assert {i} + 1 == {i + 1}, 'sums'\n"
        for i in range(200))
    path = tmp_path / "test_big_checked_pipeline.py"
    path.write_text(text)
    tree = ast.parse(text, str(path))
    pytest_rewrite.rewrite_asserts(tree, text.encode(), str(path))  # as pytest imports it
    namespace: dict[str, object] = {"__name__": "test_big_checked_pipeline"}
    exec(compile(tree, str(path), "exec", dont_inherit=True), namespace)
    rewritten: list[int] = []
    visit = pytest_rewrite.AssertionRewriter.visit_Assert

    def counted(self: Any, assert_: ast.Assert) -> Any:
        rewritten.append(assert_.lineno)
        return visit(self, assert_)

    monkeypatch.setattr(pytest_rewrite.AssertionRewriter, "visit_Assert", counted)
    pipeline: Any = namespace["pipeline"]
    assert pipeline(["a", "b"]) == "A+B"
    assert get_jit_stats(pipeline)["fallbacks"] == []
    assert rewritten == [12]  # the pipeline's own assert, not the 200 others


SCRIPT = PIPELINE.replace("VERSION", "script").replace("SEP", "+") + textwrap.dedent("""\
    from ember.xcs import get_jit_stats
    print(pipeline(["a", "b"]), get_jit_stats(pipeline)["fallbacks"])
""")


@pytest.mark.parametrize("how", ["-c", "-Bc", "stdin"])
def test_a_program_given_to_python_c_or_on_stdin_is_rewritten(how: str, tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    command = [sys.executable, "-"] if how == "stdin" else [sys.executable, how, SCRIPT]
    with script.open() as stdin:
        done = subprocess.run(command, stdin=stdin if how == "stdin" else None,
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["script glue 2", "A+B []"]  # the glue ran once


def test_the_scopes_of_a_module_are_found_by_name_and_first_line_from_one_index() -> None:
    from ember.xcs.tracing.sources import find_scope

    text = textwrap.dedent("""\
        def outer(x):
            def inner(y):
                return y
            return inner

        class Box:
            @staticmethod
            def inner(y):
                return y
            pair = (lambda a: a, lambda b: b)
        """)
    namespace: dict[str, Any] = {}
    exec(compile(text, "<scopes>", "exec"), namespace)
    module = ast.parse(text)
    box = namespace["Box"]
    found = {name: find_scope(module, fn.__code__) for name, fn in (
        ("outer", namespace["outer"]), ("inner", namespace["outer"](0)),
        ("Box.inner", box.inner), ("first lambda", box.pair[0]),
        ("second lambda", box.pair[1]))}
    assert {name: (getattr(node, "name", None) or ast.unparse(node), classes)
            for name, (node, classes) in found.items()} == {
        "outer": ("outer", []), "inner": ("inner", []), "Box.inner": ("inner", ["Box"]),
        "first lambda": ("lambda a: a", ["Box"]), "second lambda": ("lambda b: b", ["Box"])}
    assert isinstance(module._xcs_scopes, dict)  # built once, kept on the tree


def test_a_lambda_nested_in_a_lambda_on_one_line_is_rewritten_from_its_own_node(
        module_dir: Path) -> None:
    # Both lambdas start on the line and hold the inner one's code: the inner is the
    # innermost of them, the outer the one whose own code (the jit call) only it holds.
    (module_dir / "nested_lambdas.py").write_text(textwrap.dedent("""\
        import time
        from ember.xcs import jit, op

        @op
        def fetch(k):
            time.sleep(0.01)
            return k.upper()

        makers = [lambda: jit(lambda keys: [f"<{fetch(k)}>" for k in keys])]
        inner_only = lambda: (lambda keys: "+".join(fetch(k) for k in keys))
    """))
    from ember.xcs.tracing import rewrite

    module = importlib.import_module("nested_lambdas")
    sys.modules.pop("nested_lambdas")
    jitted = module.makers[0]()
    assert jitted(["a", "b"]) == ["<A>", "<B>"]
    inner = module.makers[0].__code__.co_consts
    inner_code = next(c for c in inner if hasattr(c, "co_positions"))
    assert rewrite.can_rewrite(inner_code)
    assert rewrite.can_rewrite(module.makers[0].__code__)
    outer = module.inner_only
    assert rewrite.can_rewrite(outer.__code__)
    assert rewrite.can_rewrite(outer().__code__)
    assert get_jit_stats(jitted)["fallbacks"] == []
