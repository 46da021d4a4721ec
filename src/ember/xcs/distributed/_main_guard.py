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

_UNKNOWN = object()  # a value this check cannot work out from the source
_RERUN_NAME = "__mp_main__"  # __name__ of the main module when spawn runs it again


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
    """Whether ``line`` of ``filename`` might not run again when ``spawn`` re-runs the script.

    The re-run executes the module with ``__name__ == "__mp_main__"``. Starting at the
    module's top level, this follows the statements that contain ``line``: through
    ``with``, ``for`` and ``try`` blocks (they run again), and through a branch of an
    ``if``, ``while`` or ``match`` only when its condition is worked out from
    ``__name__`` and constants alone (``__name__ == "__main__"``, ``__name__ in
    ("__main__",)``, ``case "__main__":``) and the re-run takes that branch too. Any
    other condition, an ``except`` handler, and an unreadable source give the benefit
    of the doubt: the line counts as guarded, and only a line that is sure to run
    again is refused.
    """
    source = "".join(linecache.getlines(filename))
    if not source:
        return True
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return True
    body: list[ast.stmt] = tree.body
    while (statement := _containing(body, line)) is not None:
        branch = _branch_rerun_takes(statement, line)
        if branch is None:
            return True
        if _containing(branch, line) is None:
            return False  # the statement's own line (a call, a `with` header) runs again
        body = branch
    return True


def _containing(body: list[ast.stmt], line: int) -> ast.stmt | None:
    for statement in body:
        if statement.lineno <= line <= (statement.end_lineno or statement.lineno):
            return statement
    return None


def _branch_rerun_takes(statement: ast.stmt, line: int) -> list[ast.stmt] | None:
    """The statements inside ``statement`` that the re-run executes (``[]`` for a simple
    statement or when ``line`` is in the condition), or ``None`` when the re-run may not
    get to ``line``."""
    if isinstance(statement, ast.If | ast.While):
        if _containing(statement.body, line) is None \
                and _containing(statement.orelse, line) is None:
            return []  # the condition itself
        holds = _truth_in_rerun(statement.test)
        if holds is _UNKNOWN:
            return None
        taken = statement.body if holds else statement.orelse
        return taken if _containing(taken, line) is not None else None
    if isinstance(statement, ast.Match):
        return _case_rerun_takes(statement, line)
    if isinstance(statement, ast.Try | ast.TryStar):
        if any(handler.lineno <= line <= (handler.end_lineno or handler.lineno)
               for handler in statement.handlers):
            return None  # runs only if the try block fails
        return [*statement.body, *statement.orelse, *statement.finalbody]
    if isinstance(statement, ast.With | ast.AsyncWith | ast.For | ast.AsyncFor):
        return [*statement.body, *getattr(statement, "orelse", [])]
    return []


def _case_rerun_takes(statement: ast.Match, line: int) -> list[ast.stmt] | None:
    cases = statement.cases
    if all(_containing(case.body, line) is None for case in cases):
        return []  # the subject or a pattern
    subject = _value_in_rerun(statement.subject)
    if subject is _UNKNOWN:
        return None
    for case in cases:
        matched = _UNKNOWN if case.guard is not None else _matches(case.pattern, subject)
        if matched is _UNKNOWN:
            return None
        if matched:
            return case.body if _containing(case.body, line) is not None else None
    return None


def _truth_in_rerun(condition: ast.expr) -> object:
    """Whether ``condition`` holds in the re-run: ``True``, ``False`` or ``_UNKNOWN``."""
    if isinstance(condition, ast.UnaryOp) and isinstance(condition.op, ast.Not):
        operand = _truth_in_rerun(condition.operand)
        return operand if operand is _UNKNOWN else not operand
    if isinstance(condition, ast.BoolOp):
        truths = [_truth_in_rerun(value) for value in condition.values]
        decisive = isinstance(condition.op, ast.Or)  # one True decides an or, False an and
        if any(truth is decisive for truth in truths):
            return decisive
        return _UNKNOWN if any(truth is _UNKNOWN for truth in truths) else not decisive
    value = _value_in_rerun(condition)
    return value if value is _UNKNOWN else bool(value)


def _value_in_rerun(node: ast.expr) -> object:
    """The value of ``node`` in the re-run, if it uses only ``__name__`` and constants."""
    if isinstance(node, ast.Name):
        return _RERUN_NAME if node.id == "__name__" else _UNKNOWN
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        items = [_value_in_rerun(item) for item in node.elts]
        return _UNKNOWN if any(item is _UNKNOWN for item in items) else tuple(items)
    if isinstance(node, ast.Compare):
        return _compare_in_rerun(node)
    return _UNKNOWN


def _compare_in_rerun(node: ast.Compare) -> object:
    left = _value_in_rerun(node.left)
    for operator, right_node in zip(node.ops, node.comparators):
        right = _value_in_rerun(right_node)
        if left is _UNKNOWN or right is _UNKNOWN:
            return _UNKNOWN
        try:
            if isinstance(operator, ast.Eq):
                holds = left == right
            elif isinstance(operator, ast.NotEq):
                holds = left != right
            elif isinstance(operator, ast.In):
                holds = left in right  # type: ignore[operator]
            elif isinstance(operator, ast.NotIn):
                holds = left not in right  # type: ignore[operator]
            else:
                return _UNKNOWN
        except TypeError:
            return _UNKNOWN
        if not holds:
            return False
        left = right
    return True


def _matches(pattern: ast.pattern, subject: object) -> object:
    """Whether a ``case`` pattern matches ``subject``, for the simple patterns."""
    if isinstance(pattern, ast.MatchValue):
        value = _value_in_rerun(pattern.value)
        return value if value is _UNKNOWN else value == subject
    if isinstance(pattern, ast.MatchAs):
        inner = pattern.pattern  # None: `case _:` or a bare capture, which match anything
        return True if inner is None else _matches(inner, subject)
    if isinstance(pattern, ast.MatchOr):
        found = [_matches(option, subject) for option in pattern.patterns]
        if any(match is True for match in found):
            return True
        return _UNKNOWN if any(match is _UNKNOWN for match in found) else False
    return _UNKNOWN
