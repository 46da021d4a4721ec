"""Rewritten code keeps the original's names and finds its globals where plain Python does."""

from __future__ import annotations

import dataclasses
from typing import Any

from ember.xcs.tracing import rewrite


def countdown(n: int) -> list[int]:
    return [] if n == 0 else [n, *countdown(n - 1)]


def counted() -> int:
    counted.calls = getattr(counted, "calls", 0) + 1  # type: ignore[attr-defined]
    return counted.calls  # type: ignore[attr-defined, no-any-return]


class Registry:
    made = 0

    def __init__(self) -> None:
        Registry.made += 1
        self.number = Registry.made


def test_recursive_function_is_rewritten() -> None:
    new = rewrite.instrumented(countdown)
    assert rewrite.source_problem(countdown) is None
    assert new is not countdown and rewrite.is_instrumented(new.__code__)
    assert new.__code__.co_freevars == ()
    assert new(3) == [3, 2, 1]


def test_function_naming_itself_is_rewritten() -> None:
    new = rewrite.instrumented(counted)
    assert rewrite.source_problem(counted) is None
    assert new is not counted
    before = counted()
    assert new() == before + 1  # the attribute lives on the global function, as in plain code


def test_method_naming_its_class_is_rewritten() -> None:
    init = Registry.__dict__["__init__"]
    new = rewrite.instrumented(init)
    assert rewrite.source_problem(init) is None
    assert new is not init
    made = Registry.made
    instance = object.__new__(Registry)
    new(instance)
    assert Registry.made == made + 1 and instance.number == made + 1


def test_recursive_closure_keeps_its_cell() -> None:
    def outer() -> Any:
        def walk(n: int) -> int:
            return 0 if n == 0 else 1 + walk(n - 1)
        return walk

    walk = outer()
    new = rewrite.instrumented(walk)
    assert new is not walk and new.__code__.co_freevars == ("walk",)
    assert new(4) == 4


def make_locals(text: str) -> list[str]:
    @dataclasses.dataclass
    class Answer:
        text: str

    def join(a: str, b: str) -> str:
        return a + b

    squares = (n * n for n in range(2))
    return [repr(Answer(text)), join.__qualname__, join.__code__.co_qualname,
            Answer.__qualname__, squares.__qualname__]


def test_names_defined_inside_keep_their_qualified_names() -> None:
    new = rewrite.instrumented(make_locals)
    assert new is not make_locals
    assert new("a") == make_locals("a") == [
        "make_locals.<locals>.Answer(text='a')", "make_locals.<locals>.join",
        "make_locals.<locals>.join", "make_locals.<locals>.Answer",
        "make_locals.<locals>.<genexpr>"]
    assert new.__code__.co_qualname == make_locals.__code__.co_qualname


class Holder:
    def method(self) -> list[str]:
        class Inner:
            def name(self) -> str:
                return type(self).__qualname__

        def helper() -> None:
            pass

        return [Inner().name(), helper.__qualname__, Inner.name.__qualname__]


def test_qualified_names_inside_a_method() -> None:
    method = Holder.__dict__["method"]
    new = rewrite.instrumented(method)
    assert new is not method
    assert new.__code__.co_qualname == "Holder.method"
    assert new(Holder()) == Holder().method() == [
        "Holder.method.<locals>.Inner", "Holder.method.<locals>.helper",
        "Holder.method.<locals>.Inner.name"]


def test_missing_argument_message_names_the_plain_function() -> None:
    def outer() -> str:
        def needs(a: int, b: int) -> int:
            return a + b
        try:
            needs(1)  # type: ignore[call-arg]
        except TypeError as error:
            return str(error)
        return "no error"

    new = rewrite.instrumented(outer)
    assert new is not outer
    assert new() == outer() == \
        "test_missing_argument_message_names_the_plain_function.<locals>.outer.<locals>" \
        ".needs() missing 1 required positional argument: 'b'"


suffixed = lambda x, f=lambda x: x * 2: f(x) + "~"  # noqa: E731 - two lambdas on one line


def test_a_lambda_whose_default_is_a_lambda_on_the_same_line_keeps_its_own_body() -> None:
    new = rewrite.instrumented(suffixed)
    assert new("a") == suffixed("a") == "aa~"


class Tally:
    count = 0


async def counts_then_returns(tally: Tally) -> int:
    tally.count += 1  # becomes two statements: the wait for holders, then the change
    return tally.count


def test_async_glue_that_changes_an_object_in_its_own_body_is_rewritten() -> None:
    import asyncio

    new = rewrite.instrumented(counts_then_returns)
    assert rewrite.source_problem(counts_then_returns) is None
    assert new is not counts_then_returns
    assert asyncio.run(new(Tally())) == 1


def test_a_function_whose_file_was_edited_since_import_runs_the_code_that_was_loaded(
        tmp_path: Any) -> None:
    import importlib.util
    import linecache

    from ember.xcs import jit

    path = tmp_path / "edited_module.py"
    path.write_text("def greet(name):\n    return 'old ' + name\n")
    spec = importlib.util.spec_from_file_location("edited_module", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path.write_text("def greet(name):\n    return 'new ' + name\n")  # edited, not reloaded
    linecache.checkcache(str(path))
    assert rewrite.instrumented(module.greet)("x") == "old x"
    assert "does not match" in (rewrite.source_problem(module.greet) or "")
    assert jit(module.greet)("y") == module.greet("y") == "old y"


def test_long_functions_with_far_jumps_are_rewritten(tmp_path: Any) -> None:
    """A jump's argument may need a widening prefix in one compile and not in another
    (3.13, a script with a `with` block before many statements): the code is still the
    same, and the function is rewritten (it ran unrewritten, as code without source
    does, and its glue ran twice on the first call)."""
    import os
    import subprocess
    import sys

    filler = "\n".join(f"    notes.append(('step{i}', json.dumps([x, {i}])))" for i in range(80))
    script = tmp_path / "long_script.py"
    script.write_text(
        "import json, time\n"
        "from ember.xcs import get_jit_stats, jit, op\n"
        "LOG = []\n\n\n"
        "class Ctx:\n"
        "    def __enter__(self):\n        LOG.append('enter')\n        return self\n\n"
        "    def __exit__(self, *exc):\n        LOG.append('exit')\n        return False\n\n\n"
        "@op\ndef fetch(k):\n    time.sleep(0.003)\n    return f'A{k}'\n\n\n"
        "def main(x):\n"
        "    with Ctx():\n        pass\n"
        "    LOG.append('start')\n"
        "    text = json.dumps([fetch(x), fetch(x + 1)])\n"
        "    notes = []\n"
        f"{filler}\n"
        "    return text\n\n\n"
        "fast = jit(main)\n"
        "print(fast(1), LOG, get_jit_stats(fast)['fallbacks'])\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=120, check=True)
    assert done.stdout.strip() == "[\"A1\", \"A2\"] ['enter', 'exit', 'start'] []"


def first_version(name: str) -> str:
    return f"first {name}"


def second_version(name: str) -> str:
    return f"second {name}"


def test_a_function_whose_code_was_replaced_runs_its_new_code() -> None:
    from ember.xcs import jit

    def swapped(name: str) -> str:
        return f"first {name}"

    def calls_it(name: str) -> str:
        return swapped(name)

    fast, direct = jit(calls_it), jit(swapped)
    assert fast("a") == direct("a") == "first a"
    swapped.__code__ = second_version.__code__  # what a reloader (IPython autoreload) does
    assert fast("b") == direct("b") == calls_it("b") == "second b"


INSTALLED = """
import time
from ember.xcs import op

STATE = {"mode": "a"}


class Reply:
    def __init__(self, text):
        self.text = text

    @property
    def loud(self):
        return self.text.upper() + "/" + STATE["mode"]


@op
def ask(q) -> Reply:
    time.sleep(0.01)
    return Reply(q)


@op
def llm(q):
    time.sleep(0.01)
    return q.upper()


def pipeline(q):
    r = ask(q)
    STATE["mode"] = "b"
    loud = r.loud
    STATE["mode"] = "c"
    return loud, ", ".join([llm(q + str(i)) for i in range(3)])
"""


def test_a_jitted_function_of_an_installed_package_is_rewritten(tmp_path: Any,
                                                                monkeypatch: Any) -> None:
    import importlib.util

    from ember.xcs import jit
    from ember.xcs.tracing import frames

    # The package's folder counts as installed libraries (site-packages), as after pip.
    monkeypatch.setattr(frames, "_LIBRARY_DIRS", (*frames._LIBRARY_DIRS, f"{tmp_path}/"))
    path = tmp_path / "installed_pipeline.py"
    path.write_text(INSTALLED)
    spec = importlib.util.spec_from_file_location("installed_pipeline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert not frames.is_user_code(str(path))
    plain = module.pipeline("x")
    module.STATE["mode"] = "a"
    assert jit(module.pipeline)("x") == plain == ("X/b", "X0, X1, X2")
