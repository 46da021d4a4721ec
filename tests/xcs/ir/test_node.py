from __future__ import annotations

import os
import subprocess
import sys
import types

import pytest

from ember.xcs.ir.node import Node, NodeKind, SourceLocation, Var, iter_vars, map_vars


def test_pytree_helpers() -> None:
    tree = {"x": [Var(1), (Var(2), 3)], "y": {Var(4)}}
    assert sorted(v.id for v in iter_vars(tree)) == [1, 2, 4]
    mapped = map_vars(tree, lambda v: v.id * 10)
    assert mapped == {"x": [10, (20, 3)], "y": {40}}


def test_node_defaults() -> None:
    node = Node(0, NodeKind.LIFTED, "getitem")
    assert node.args == () and node.kwargs == () and node.output is None


def test_node_inputs_are_distinct_vars_in_argument_order() -> None:
    a, b = Var(1, "a"), Var(2)
    node = Node(3, NodeKind.OP, "f", args=(b, [a, b]), kwargs=(("k", a),), output=Var(4))
    assert node.inputs == (b, a) and node.is_op
    assert not Node(5, NodeKind.LIFTED, "getitem", args=(a, 0)).is_op


def test_source_location_prints_file_and_line() -> None:
    location = SourceLocation("/work/app/main.py", 12, "answer")
    assert str(location) == "/work/app/main.py:12" and location.short == "main.py:12"


def test_a_notebook_cell_is_named_as_ipython_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    class Compiler:
        def format_code_name(self, name: str) -> tuple[str, str] | None:
            return ("Cell", "In[3]") if name == "/tmp/ipykernel_7/1475979887.py" else None

    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: types.SimpleNamespace(compile=Compiler())  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    cell = SourceLocation("/tmp/ipykernel_7/1475979887.py", 8, "f")
    assert str(cell) == "Cell In[3], line 8" and cell.short == "In[3]:8"
    assert str(SourceLocation("/work/app/main.py", 12, "answer")) == "/work/app/main.py:12"


CELLS = """\
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_cell('''
import time
from ember.xcs import jit, op

@op
def grow(xs):
    time.sleep(0.01)
    xs.append(1)

@jit
def f(xs):
    grow(xs)
''', store_history=True)
result = shell.run_cell("f([0])", store_history=True)
print(result.error_in_exec)
"""


def test_an_error_names_the_notebook_cell_of_its_line() -> None:
    pytest.importorskip("IPython")
    done = subprocess.run([sys.executable, "-c", CELLS], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    assert "op 'grow' at Cell In[1], line 11 changed a list" in done.stdout.splitlines()[-1]


def test_map_vars_keeps_container_classes_and_shares_only_when_asked() -> None:
    import collections

    literal = collections.Counter("ab")
    tree = (collections.OrderedDict(k=Var(1)), literal)
    mapped = map_vars(tree, lambda v: v.id)
    assert type(mapped[0]) is collections.OrderedDict and mapped[0] == {"k": 1}
    assert type(mapped[1]) is collections.Counter and mapped[1] is not literal  # a copy
    assert map_vars(tree, lambda v: v.id, share=True)[1] is literal
