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
