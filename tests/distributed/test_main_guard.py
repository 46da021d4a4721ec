"""ember.xcs.distributed._main_guard: a clear error instead of "Nanny failed to start".

Scripts are written to a temporary directory and run in a subprocess, as a user would run
them: ``python script.py`` and ``python -m module``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ember.xcs.distributed._main_guard import _guarded

_OPS = """\
from ember.xcs import Config, jit, op
from ember.xcs.distributed import dask_executor


@op
def double(x):
    return 2 * x


def main():
    with dask_executor(n_workers=1, processes=PROCESSES) as cluster:
        print(jit(lambda xs: [double(x) for x in xs], config=Config(executor=cluster))([1, 2]))


"""


def _write(tmp_path: Path, name: str, tail: str, processes: bool = True) -> Path:
    script = tmp_path / name
    script.write_text(_OPS.replace("PROCESSES", str(processes)) + textwrap.dedent(tail))
    return script


def _run(arguments: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run([sys.executable, *arguments], capture_output=True, text=True,
                            timeout=120, cwd=cwd)
    return result, time.monotonic() - started


def _assert_guard_error(result: subprocess.CompletedProcess[str], script: Path,
                        line: int, elapsed: float) -> None:
    assert result.returncode == 1
    assert result.stdout == ""
    error = result.stderr.strip().splitlines()
    assert len(error) < 30, result.stderr  # one screen, not Dask's few hundred lines
    assert error[-1] == "or use thread workers: dask_executor(processes=False)."
    assert "ember.xcs.distributed.MainGuardError: dask_executor() starts worker processes" \
        in result.stderr
    assert f"main script {script}, line {line}, outside an " in result.stderr
    assert '    if __name__ == "__main__":' in result.stderr
    assert "RuntimeError: Nanny failed to start" not in result.stderr
    assert elapsed < 30  # refused before any worker process was started


def test_cluster_started_at_the_top_level_of_a_script_names_the_line(tmp_path: Path) -> None:
    script = _write(tmp_path, "unguarded.py", """\
        with dask_executor(n_workers=1) as cluster:
            print(cluster)
    """)

    result, elapsed = _run([str(script)], tmp_path)

    _assert_guard_error(result, script, 15, elapsed)


def test_main_called_without_the_guard_names_the_call(tmp_path: Path) -> None:
    script = _write(tmp_path, "unguarded_main.py", """\
        if True:
            main()
    """)

    result, elapsed = _run([str(script)], tmp_path)

    _assert_guard_error(result, script, 16, elapsed)


def test_module_run_with_dash_m_is_checked_too(tmp_path: Path) -> None:
    script = _write(tmp_path, "pipeline_job.py", "main()\n")

    result, elapsed = _run(["-m", "pipeline_job"], tmp_path)

    _assert_guard_error(result, script, 15, elapsed)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("guard", [
    'if __name__ == "__main__":\n    main()\n',
    'if __name__ in ("__main__",):\n    main()\n',
    'match __name__:\n    case "__main__":\n        main()\n',
])
def test_guarded_script_starts_its_cluster(tmp_path: Path, guard: str) -> None:
    script = _write(tmp_path, "guarded.py", guard)

    result, _ = _run([str(script)], tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[2, 4]"


def test_thread_workers_need_no_guard(tmp_path: Path) -> None:
    script = _write(tmp_path, "threads.py", "main()\n", processes=False)

    result, _ = _run([str(script)], tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[2, 4]"


def test_fork_start_method_reruns_nothing(tmp_path: Path) -> None:
    script = tmp_path / "fork.py"
    script.write_text(textwrap.dedent("""\
        from ember.xcs.distributed import MainGuardError
        from ember.xcs.distributed._main_guard import check_main_guard

        check_main_guard("fork")
        try:
            check_main_guard("spawn")
        except MainGuardError:
            print("spawn refused")
    """))

    result, _ = _run([str(script)], tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "spawn refused"


@pytest.mark.parametrize(
    ("source", "line", "guarded"),
    [
        ('if __name__ == "__main__":\n    main()\n', 2, True),
        ('if "__main__" == __name__:\n    main()\n', 2, True),
        ('if __name__ == "__main__" and ready:\n    main()\n', 2, True),
        ('if __name__ != "__main__":\n    pass\nelse:\n    main()\n', 4, True),
        ('if __name__ != "__main__":\n    main()\n', 2, False),
        ('if __name__ == "__main__":\n    if ready:\n        main()\n', 3, True),
        ('main()\nif __name__ == "__main__":\n    pass\n', 1, False),
        ('if __name__ == "__main__" or True:\n    main()\n', 2, False),
        ('if __name__ == "__main__":\n    pass\nelse:\n    main()\n', 4, False),
        ('if __name__ in ("__main__",):\n    main()\n', 2, True),
        ('if __name__ not in ["__main__"]:\n    pass\nelse:\n    main()\n', 4, True),
        ('if not __name__ == "__main__":\n    main()\n', 2, False),
        ('if ready and __name__ == "__main__":\n    main()\n', 2, True),
        ('match __name__:\n    case "__main__":\n        main()\n', 3, True),
        ('match __name__:\n    case "__main__" | "main":\n        main()\n', 3, True),
        ('match __name__:\n    case "__main__":\n        pass\n    case _:\n        main()\n',
         5, False),
        ("with open(path) as f:\n    main()\n", 1, False),
        ("for x in xs:\n    try:\n        main()\n    finally:\n        pass\n", 3, False),
        # Conditions it cannot work out, and except handlers, get the benefit of the doubt.
        ("if multiprocessing.parent_process() is None:\n    main()\n", 2, True),
        ('if __name__ == "__main__" or always:\n    main()\n', 2, True),
        ("if name == 'main':\n    main()\n", 2, True),
        ("try:\n    pass\nexcept ImportError:\n    main()\n", 4, True),
        ("def broken(:\n", 1, True),  # unreadable source: never block the program
    ],
)
def test_guard_forms(tmp_path: Path, source: str, line: int, guarded: bool) -> None:
    script = tmp_path / "script.py"
    script.write_text(source)

    assert _guarded(str(script), line) is guarded


def test_missing_source_counts_as_guarded(tmp_path: Path) -> None:
    assert _guarded(str(tmp_path / "gone.py"), 3) is True
