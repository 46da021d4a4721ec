"""The class of an op's results, known before they exist, is the one plain Python's next
call would construct: not another module's class of the same name (code objects of the
same text compare equal), nor a class since defined again (a notebook cell run again)."""

from __future__ import annotations

import importlib
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.xcs import jit
from ember.xcs.op_runs import current_class

AGENT = textwrap.dedent("""\
    import time
    from ember.xcs import op

    class Reply:
        def __init__(self, text):
            self.text = text

    @op
    def ask(q):
        time.sleep(0.05)
        return Reply("ans " + q)

    STATE = {"tag": "old:"}
""")
TAGGED = 'Reply.tagged = property(lambda self: STATE["tag"] + self.text)\n'


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[tuple[types.ModuleType, types.ModuleType]]:
    (tmp_path / "op_runs_agent_a.py").write_text(AGENT)
    (tmp_path / "op_runs_agent_b.py").write_text(AGENT + TAGGED)
    sys.path.insert(0, str(tmp_path))
    try:
        yield (importlib.import_module("op_runs_agent_a"),
               importlib.import_module("op_runs_agent_b"))
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("op_runs_agent_a", None)
        sys.modules.pop("op_runs_agent_b", None)


def read_tag(agent: types.ModuleType, q: str) -> str:
    agent.STATE["tag"] = "old:"
    reply = agent.ask(q)
    tagged: str = reply.tagged  # a property of the user's: read here, in program order
    agent.STATE["tag"] = "new:"
    return tagged


def test_an_equal_op_of_another_module_does_not_lend_its_class(
        agents: tuple[types.ModuleType, types.ModuleType]) -> None:
    first, second = agents
    assert first.ask.fn.__code__ == second.ask.fn.__code__  # equal, not the same
    assert jit(lambda q: first.ask(q).text)("x") == "ans x"  # learns a's Reply
    assert jit(read_tag)(second, "y") == read_tag(second, "y") == "old:ans y"


def test_a_class_defined_again_replaces_the_one_an_op_named(
        agents: tuple[types.ModuleType, types.ModuleType], tmp_path: Path) -> None:
    first, _ = agents
    assert jit(lambda q: first.ask(q).text)("x") == "ans x"  # learns the first Reply
    cell = tmp_path / "cell.py"  # the class's cell, edited and run again (ops kept)
    cell.write_text(AGENT.split("@op")[0] + TAGGED)
    exec(compile(cell.read_text(), str(cell), "exec"), vars(first))
    assert jit(read_tag)(first, "z") == read_tag(first, "z") == "old:ans z"


def test_a_nested_class_defined_again_is_found_through_its_outer_class(
        monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("op_runs_nested")
    monkeypatch.setitem(sys.modules, "op_runs_nested", module)
    exec("class Outer:\n    class Reply:\n        pass\n", vars(module))
    old = module.Outer.Reply
    exec("class Outer:\n    class Reply:\n        pass\n", vars(module))  # the cell again
    assert current_class(old) is module.Outer.Reply is not old
    assert current_class(module.Outer) is module.Outer and current_class(int) is int
