"""Stats and ``explain`` name the user's line for every barrier and fallback.

A value read inside library code (pathlib's ``/`` checking ``isinstance`` and calling
``os.fspath``) must be reported at the line of the jitted code that called the
library, never as ``<unknown>``.
"""

from __future__ import annotations

import inspect
import pathlib

from ember.xcs import explain, get_jit_stats, jit, op


@op
def file_name(stem: str) -> str:
    return stem + ".txt"


def _line_of(fn: object, text: str) -> int:
    lines, first = inspect.getsourcelines(fn)  # type: ignore[arg-type]
    return first + next(i for i, line in enumerate(lines) if text in line)


def test_a_barrier_met_inside_a_special_method_of_a_library_names_the_user_line() -> None:
    def paths(stems: list[str]) -> list[str]:
        out = []
        for stem in stems:
            path = pathlib.Path("/tmp") / file_name(stem)
            out.append(str(path))
        return out

    jitted = jit(paths)
    assert jitted(["a", "b"]) == paths(["a", "b"])
    line = _line_of(paths, "pathlib.Path")
    barriers = get_jit_stats(jitted)["barriers"]
    assert barriers and all(b.endswith(f"{__file__}:{line}") for b in barriers), barriers
    assert "<unknown>" not in explain(jitted)


@op
def upper(text: str) -> str:
    return text.upper()


@jit
def shout_all(texts: list[str]) -> list[str]:
    return [upper(text) for text in texts]


@op
async def tool(text: str) -> list[str]:
    return shout_all([text, text + "!"])  # on XCS's loop thread: runs plainly


def test_a_call_run_plainly_on_the_event_loop_names_the_line_that_made_it() -> None:
    import asyncio

    @jit
    async def agent(texts: list[str]) -> list[list[str]]:
        return [await tool(text) for text in texts]

    assert asyncio.run(agent(["a", "b"])) == [["A", "A!"], ["B", "B!"]]
    line = _line_of(tool, "return shout_all")
    (fallback,) = get_jit_stats(shout_all)["fallbacks"]
    assert fallback.startswith("called on XCS's event loop thread"), fallback
    assert f"(at {__file__}:{line}) [2 times in a row]" in fallback, fallback
    assert f"{__file__}:{line}" in explain(shout_all)


def test_a_generator_function_call_names_its_calling_line() -> None:
    @jit
    def numbers(n: int):  # type: ignore[no-untyped-def]
        yield from (upper(str(i)) for i in range(n))

    assert list(numbers(2)) == ["0", "1"]
    line = inspect.currentframe().f_lineno - 1  # type: ignore[union-attr]
    (fallback,) = get_jit_stats(numbers)["fallbacks"]
    assert fallback.endswith(f"(at {__file__}:{line})"), fallback


_CELL = '''from ember.xcs import jit, op
@op
def check(x):
    if x == "bad":
        raise ValueError(f"bad item {x!r}")
    return x
@jit
def in_comprehension(xs):
    out = [check(x) for x in xs]
    return out
@jit
def in_loop(xs):
    out = []
    for x in xs:
        if x:
            out.append(check(x))
    return out
at_module = jit(lambda xs: [check(x) for x in xs])
'''


def _run_cell(name: str) -> dict[str, object]:
    """Run ``_CELL`` as IPython runs a notebook cell: its source only in linecache."""
    import linecache

    filename = f"/tmp/ipykernel_0/{name}.py"  # not on disk, as ipykernel's cells
    linecache.cache[filename] = (len(_CELL), None, _CELL.splitlines(True), filename)
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec(compile(_CELL, filename, "exec"), namespace)
    return namespace


def test_the_call_line_entry_shows_its_function_as_ipython_reads_a_cell() -> None:
    """IPython renders a frame of a cell from ``inspect.getsourcelines(frame)``, counting
    from ``co_firstlineno``: the entry for the glue's line must give that line there."""
    import pytest

    cell = _run_cell("4242")
    for name, text in (("in_comprehension", "out = [check"), ("in_loop", "out.append"),
                       ("at_module", "at_module = jit")):
        with pytest.raises(ValueError, match="bad item") as caught:
            cell[name](["ok", "bad"])  # type: ignore[operator]
        tb = caught.value.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != "/tmp/ipykernel_0/4242.py":
            tb = tb.tb_next
        assert tb is not None
        block, first = inspect.getsourcelines(tb.tb_frame)
        assert first == tb.tb_frame.f_code.co_firstlineno
        assert text in block[tb.tb_lineno - first], (name, block, tb.tb_lineno, first)


def test_an_async_call_refused_for_its_arguments_is_counted_like_a_sync_one() -> None:
    import pytest

    @jit
    def lengths(texts: list[str]) -> list[str]:
        return [upper(text) for text in texts]

    @jit
    async def alengths(texts: list[str]) -> list[str]:
        return [upper(text) for text in texts]

    for jitted in (lengths, alengths):
        with pytest.raises(TypeError, match="missing 1 required positional argument"):
            jitted()  # type: ignore[call-arg]
        stats = get_jit_stats(jitted)
        assert (stats["calls"], stats["errors"]) == (1, 1), jitted


@op
def wait_a_little(key: str) -> str:
    import time

    time.sleep(0.02)
    return key


def test_explain_says_when_ops_that_could_run_at_once_ran_one_at_a_time() -> None:
    from ember.xcs import Config

    def fan_out(keys: list[str]) -> list[str]:
        return [wait_a_little(key) for key in keys]

    serial = jit(fan_out, config=Config(max_workers=1))
    assert serial(["a", "b", "c"]) == ["a", "b", "c"]
    assert "parallel groups (1, widest 3; at most 1 ran at once, measured):" in explain(serial)
    parallel = jit(fan_out)
    for _ in range(5):  # on a loaded machine the bodies may not get to overlap: then it says so
        assert parallel(["a", "b", "c"]) == ["a", "b", "c"]
        if get_jit_stats(parallel)["overlap"] > 2.5:  # all three ran at once
            assert "parallel groups (1, widest 3):" in explain(parallel)
            break


def test_explain_tells_what_the_last_call_raised_when_it_issued_no_ops() -> None:
    import pytest

    @jit
    def checked(n: int) -> str:
        if n < 0:
            raise ValueError(f"negative: {n}")
        return upper(str(n))

    assert checked(1) == "1"
    with pytest.raises(ValueError, match="negative: -1"):
        checked(-1)
    text = explain(checked)
    assert "shown below is call 1, the last traced one" in text
    assert "  the last call raised ValueError: negative: -1" in text
    assert checked(2) == "2" and "the last call raised" not in explain(checked)

    @jit
    def never_an_op(n: int) -> int:
        raise KeyError(n)

    with pytest.raises(KeyError):
        never_an_op(3)
    assert "  the last call raised KeyError: 3" in explain(never_an_op)


def test_explain_of_a_function_only_called_inside_another_jitted_call() -> None:
    @jit
    def inner(text: str) -> str:
        return upper(text)

    @jit
    def outer(texts: list[str]) -> list[str]:
        return [inner(text) for text in texts]

    assert outer(["a", "b"]) == ["A", "B"]
    text = explain(inner)
    assert "no call yet" not in text
    assert "no call of its own yet: called 2 times inside other jitted calls" in text
    assert get_jit_stats(inner)["calls"] == 0  # documented: the outer call counts them
