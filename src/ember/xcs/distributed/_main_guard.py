"""Refuse to start worker processes from script code that ``spawn`` would run again.

Dask starts local worker processes with ``multiprocessing``'s ``spawn`` (or
``forkserver``) method, and each new process runs the parent's main script again, as
``__mp_main__``, before it starts working. A script that starts a cluster at its top
level, outside ``if __name__ == "__main__":``, therefore starts one more cluster in
every worker; the worker dies of it and Dask reports a few hundred lines ending in
``RuntimeError: Nanny failed to start``. ``check_main_guard`` finds that case before
anything starts, from the script's own source, and says how to fix it.
"""

from __future__ import annotations

import ast
import linecache
import sys
from types import FrameType, ModuleType

from ember.xcs.distributed._errors import MainGuardError

__all__ = ["check_main_guard"]


def check_main_guard(start_method: str) -> None:
    """Raise ``MainGuardError`` if this call runs in a main script's unguarded top level.

    Args:
        start_method: how Dask starts worker processes (its
            ``distributed.worker.multiprocessing-method`` setting); only ``spawn`` and
            ``forkserver`` run the main script again.

    Raises:
        MainGuardError: the main script (or ``python -m`` module) reaches this call from
            its top-level code outside an ``if __name__ == "__main__":`` block. Nothing
            is raised when the source cannot be read: the check never blocks a program
            it cannot see.
    """
    if start_method not in ("spawn", "forkserver"):
        return
    main = sys.modules.get("__main__")
    if main is None or not _rerun_by_spawn(main):
        return
    frame = _main_module_frame(main)
    if frame is None:
        return
    filename, line = frame.f_code.co_filename, frame.f_lineno
    if line is None or _guarded(filename, line):
        return
    raise MainGuardError(
        f"dask_executor() starts worker processes, but it was reached from the top level "
        f"of the main script {filename}, line {line}, outside an "
        f'`if __name__ == "__main__":` block. Dask starts its workers with {start_method!r}, '
        "which runs the main script again in each of them: this line would start another "
        "cluster in every worker and Dask would fail with 'Nanny failed to start'. Move "
        "the code that starts the cluster under the guard:\n\n"
        '    if __name__ == "__main__":\n'
        "        main()\n\n"
        "or use thread workers: dask_executor(processes=False)."
    )


def _rerun_by_spawn(main: ModuleType) -> bool:
    """Whether ``spawn`` runs this main module again in a child (as multiprocessing does)."""
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    if name is not None:  # python -m module; a package's __main__ is not re-run
        return name != "__main__" and not name.endswith(".__main__")
    # python script.py; interactive sessions, -c and notebooks have no file to re-run
    return getattr(main, "__file__", None) is not None


def _main_module_frame(main: ModuleType) -> FrameType | None:
    """The frame running the main module's top-level code, if it is on the stack."""
    namespace = vars(main)
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "<module>" and frame.f_globals is namespace:
            return frame
        frame = frame.f_back
    return None


def _guarded(filename: str, line: int) -> bool:
    """Whether ``line`` of ``filename`` lies in the ``__main__`` branch of a name check.

    ``True`` when the source cannot be read or parsed (give the benefit of the doubt).
    """
    source = "".join(linecache.getlines(filename))
    if not source:
        return True
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return True
    for node in ast.walk(tree):
        if not isinstance(node, ast.If):
            continue
        branch = _main_branch(node)
        if branch and branch[0].lineno <= line <= (branch[-1].end_lineno or line):
            return True
    return False


def _main_branch(node: ast.If) -> list[ast.stmt]:
    """The statements of ``node`` that run only when ``__name__ == "__main__"``."""
    test = node.test
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        if any(_compares_name_to_main(value, ast.Eq) for value in test.values):
            return node.body
        return []
    if _compares_name_to_main(test, ast.Eq):
        return node.body
    if _compares_name_to_main(test, ast.NotEq):
        return node.orelse
    return []


def _compares_name_to_main(test: ast.expr, operator: type[ast.cmpop]) -> bool:
    """``__name__ == "__main__"`` (either order) with the given comparison operator."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1
            and isinstance(test.ops[0], operator)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [side for side in sides if isinstance(side, ast.Name) and side.id == "__name__"]
    mains = [side for side in sides
             if isinstance(side, ast.Constant) and side.value == "__main__"]
    return len(names) == 1 and len(mains) == 1
