"""What an op prints on a Dask worker process reaches the caller's streams, as in plain
Python, where it is printed to ``sys.stdout`` and ``sys.stderr`` of the caller (a
notebook cell, a ``redirect_stdout`` buffer, pytest's capture), not a worker's
terminal."""

from __future__ import annotations

import contextlib
import io

from ember.xcs import Config, jit
from ember.xcs.distributed import DaskExecutor
from tests.distributed import workload


def _run(fn: object, *args: object) -> tuple[object, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        result = fn(*args)  # type: ignore[operator]
    return result, out.getvalue(), err.getvalue()


def test_prints_of_ops_on_worker_processes_reach_the_callers_streams(
    healthy: DaskExecutor,
) -> None:
    traced = jit(workload.chatty_pipeline, config=Config(executor=healthy))

    result, out, err = _run(traced, [1, 2])

    assert result == [2, 4, 2, 3]
    # What plain Python prints; the ops ran at once, so in any order between them.
    assert sorted(out.splitlines()) == ["checking 1", "checking 2", "later 1", "later 2"]
    assert sorted(err.splitlines()) == ["note on 1", "note on 2"]


def test_an_op_that_raises_on_a_worker_has_printed_first(healthy: DaskExecutor) -> None:
    traced = jit(workload.chatty_checked, config=Config(executor=healthy))

    plain = _run(workload.chatty_checked, [1, -3])
    assert plain == ("-3 is negative", "checking 1\nchecking -3\n", "note on 1\nnote on -3\n")
    assert _run(traced, [1, -3]) == plain


def test_text_the_callers_stream_cannot_encode_fails_the_op_as_in_plain_python(
    healthy: DaskExecutor,
) -> None:
    # Replaying it raised UnicodeEncodeError, which was taken for a closed stream's error
    # and dropped: the op returned, where its print raised in plain Python.
    def shout(text: str) -> str:
        return workload.echoed(text)

    traced = jit(shout, config=Config(executor=healthy))
    outcomes = []
    for fn in (shout, traced):
        with contextlib.redirect_stdout(io.TextIOWrapper(io.BytesIO(), encoding="ascii")):
            try:
                outcomes.append(fn("h\xe9"))
            except UnicodeEncodeError as error:
                outcomes.append(str(error))
    assert outcomes[0] == outcomes[1] and "'ascii' codec can't encode" in outcomes[0]
