"""Exceptions and warnings in jitted glue keep their plain-Python meaning.

Each pattern runs plainly and jitted, on a first and a later call, and compares the
outcome: the exception's type, message and arguments (their types too), and its cause;
for warnings, which were shown and which raised.

PYTEST_DONT_REWRITE: the glue's own ``assert`` statements must mean what they mean in
plain Python (pytest's rewriting would change their messages for the plain run only).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from ember.xcs import Config, explain, jit, op


class ToolError(Exception):
    pass


@op
def check(x: int) -> ToolError | None:
    time.sleep(0.005)
    return ToolError(f"bad {x}") if x < 0 else None


@op
async def check_async(x: int) -> ToolError:
    await asyncio.sleep(0.005)
    return ToolError(f"bad {x}")


@op
def error_class(kind: str) -> type[Exception]:
    return {"value": ValueError, "key": KeyError}[kind]


@op
def fails(x: int) -> ToolError:
    raise LookupError(f"no check for {x}")


@op
def summarize(x: object) -> str:
    time.sleep(0.005)
    return f"score was {x}"


def _outcome(fn: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    try:
        result = fn(*args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
    except Exception as error:
        cause = error.__cause__
        return ("raised", type(error), str(error), [type(a) for a in error.args],
                error.__suppress_context__,
                None if cause is None else (type(cause), str(cause)))
    return ("returned", result)


def _same_as_plain(fn: Callable[..., Any], *calls: tuple[Any, ...]) -> None:
    jitted = jit(fn)
    for args in calls * 2:  # a first and a later call of each
        assert _outcome(jitted, *args) == _outcome(fn, *args), args


def raise_result(xs: list[int]) -> str:
    for x in xs:
        error = check(x)
        if error is not None:
            raise error
    return "ok"


def raise_result_from_none(x: int) -> None:
    error = check(x)
    raise error from None  # type: ignore[misc]


def raise_with_result_as_cause(x: int) -> None:
    error = check(x)
    raise RuntimeError(f"validation failed for {x}") from error


def raise_a_class_an_op_gave(kind: str) -> None:
    raise error_class(kind)


def raise_what_a_failed_op_gave(x: int) -> None:
    raise fails(x)


def raise_in_a_try_block(x: int) -> str:
    error = check(x)
    try:
        raise error  # type: ignore[misc]
    except ToolError as caught:
        return f"caught {caught}"


async def raise_awaited_result(x: int) -> None:
    raise await check_async(x)


async def raise_result_in_async_glue(xs: list[int]) -> str:
    for x in xs:
        error = check(x)
        if error is not None:
            raise error
    return "ok"


@pytest.mark.parametrize("fn, calls", [
    (raise_result, [([1, -2, -3],), ([4],)]),
    (raise_result_from_none, [(-1,)]),
    (raise_with_result_as_cause, [(-5,)]),
    (raise_a_class_an_op_gave, [("value",), ("key",)]),
    (raise_what_a_failed_op_gave, [(3,)]),
    (raise_in_a_try_block, [(-7,)]),
    (raise_awaited_result, [(-3,)]),
    (raise_result_in_async_glue, [([1, -2],), ([2],)]),
])
def test_raising_an_op_result_raises_its_value(fn: Callable[..., Any],
                                               calls: list[tuple[Any, ...]]) -> None:
    _same_as_plain(fn, *calls)


def test_raising_an_op_result_is_a_barrier_explain_names() -> None:
    jitted = jit(raise_result)
    with pytest.raises(ToolError, match="bad -2"):
        jitted([1, -2])
    assert "raise at " in explain(jitted)


def assert_with_result_as_message(x: int) -> str:
    message = summarize(x)
    assert x > 0, message
    return message


def assert_with_results_in_message(x: int) -> str:
    message = summarize(x)
    assert x > 0, {"why": message, "seen": [summarize(-x)]}
    return message


async def assert_in_async_glue(x: int) -> str:
    message = summarize(x)
    assert x > 0, (message, x)
    return message


@pytest.mark.parametrize("fn", [assert_with_result_as_message, assert_with_results_in_message,
                                assert_in_async_glue])
def test_an_assert_message_holds_values(fn: Callable[..., Any]) -> None:
    _same_as_plain(fn, (-1,), (2,))
    try:
        result = jit(fn)(-4)
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    except AssertionError as error:
        json.dumps(error.args[0])  # values, not lazy ones: json takes them
    else:
        raise AssertionError("the assert should have failed")


@op
def score(x: int) -> int:
    time.sleep(0.02)
    if x < 0:
        warnings.warn(f"negative {x}", UserWarning, stacklevel=1)
    return abs(x)


def strict_after_the_ops(xs: list[int]) -> int:
    scores = [score(x) for x in xs]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # strict for what follows only
        return sum(scores)


def quiet_after_the_ops(xs: list[int]) -> list[int]:
    scores = [score(x) for x in xs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a noisy library call
        return sorted(scores)


def strict_from_here_on(xs: list[int]) -> str:
    for x in xs:
        score(x)  # its result is never used
    warnings.filterwarnings("error", message="negative")
    time.sleep(0.05)
    return "done"


async def strict_after_the_ops_in_async_glue(xs: list[int]) -> int:
    scores = [score(x) for x in xs]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return sum(scores)


def _warned(fn: Callable[..., Any], *args: Any) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        outcome = _outcome(fn, *args)
    return outcome, sorted(str(w.message) for w in shown)


@pytest.mark.parametrize("fn", [strict_after_the_ops, quiet_after_the_ops, strict_from_here_on,
                                strict_after_the_ops_in_async_glue])
def test_ops_issued_before_a_change_of_the_warnings_filters_warn_under_the_old_ones(
        fn: Callable[..., Any]) -> None:
    jitted = jit(fn)
    for xs in ([1, -2, -3], [4], [-5]) * 2:
        assert _warned(jitted, xs) == _warned(fn, xs), xs
    assert "warnings filters changed at " in explain(jitted)


@op
def parse(text: str) -> int:
    return int(text)


@op
def describe_handled(tag: str) -> str:
    handled = sys.exc_info()[1]
    return f"{tag}: {type(handled).__name__}: {handled}"


@op
async def describe_handled_async(tag: str) -> str:
    await asyncio.sleep(0.001)
    return f"{tag}: " + traceback.format_exc().strip().splitlines()[-1]


@op
def reraise_handled() -> None:
    raise  # the exception the caller is handling, as in plain Python


@op
def fail_while_handling(tag: str) -> None:
    raise RuntimeError(f"report failed for {tag}")


async def describe_in_async_handler(texts: list[str]) -> list[object]:
    out: list[object] = []
    for text in texts:
        try:
            out.append(parse(text))
        except ValueError as error:
            seen = traceback.format_tb(error.__traceback__)
            out.append(await describe_handled_async(text))
            out.append(describe_handled(text))
            out.append(traceback.format_tb(error.__traceback__) == seen)
    return out


def describe_in_handler_on_a_worker(texts: list[str]) -> list[object]:
    out: list[object] = []
    for text in texts:
        try:
            out.append(parse(text))
        except ValueError:
            out.append(describe_handled(text))
    return out


async def reraise_in_async_handler(text: str) -> int:
    try:
        return parse(text)
    except ValueError:
        reraise_handled()
        return -1


async def fail_in_async_handler(text: str) -> int:
    try:
        return parse(text)
    except ValueError:
        fail_while_handling(text)
        return -1


@pytest.mark.parametrize("fn, calls, config", [
    (describe_in_async_handler, [(["1", "x"],), (["y"],)], None),
    (describe_in_handler_on_a_worker, [(["1", "x"],)], Config(timeout=30)),
    (reraise_in_async_handler, [("z",), ("3",)], None),
    (fail_in_async_handler, [("z",)], None),
])
def test_an_op_called_in_an_except_block_runs_while_its_exception_is_handled(
        fn: Callable[..., Any], calls: list[tuple[Any, ...]], config: Config | None) -> None:
    jitted = jit(fn) if config is None else jit(fn, config=config)
    for args in calls * 2:
        outcome = _outcome(jitted, *args)
        assert outcome == _outcome(fn, *args), args
        try:
            result = jitted(*args)
            if asyncio.iscoroutine(result):
                asyncio.run(result)
        except RuntimeError as error:  # raised while the ValueError was handled
            context = error.__context__
            assert type(context) is ValueError and "invalid literal" in str(context)
        except ValueError:
            pass


GLUE_RUNS: list[str] = []


@op
def retryable(provider: str) -> tuple[type[Exception], ...]:
    time.sleep(0.005)
    return (TimeoutError, ConnectionError) if provider == "a" else (KeyError,)


@op
def one_retryable(provider: str) -> type[Exception]:
    return TimeoutError if provider == "a" else KeyError


@op
def flaky_call(kind: str) -> str:
    if kind == "ok":
        return "answer"
    raise {"timeout": TimeoutError, "key": KeyError, "value": ValueError}[kind](kind)


def except_the_classes_an_op_gave(provider: str, kind: str) -> str:
    errors = retryable(provider)
    GLUE_RUNS.append(provider)
    try:
        return flaky_call(kind)
    except errors as error:
        return f"retry after {type(error).__name__}"


def except_a_tuple_holding_an_op_result(provider: str, kind: str) -> str:
    error_class = one_retryable(provider)
    GLUE_RUNS.append(provider)
    try:
        return flaky_call(kind)
    except (ValueError, error_class) as error:
        return f"handled {type(error).__name__}"


def except_star_the_class_an_op_gave(provider: str, kind: str) -> str:
    error_class = one_retryable(provider)
    GLUE_RUNS.append(provider)
    handled = "nothing"
    try:
        flaky_call(kind)
    except* error_class as group:
        handled = type(group.exceptions[0]).__name__
    return handled


async def except_in_async_glue(provider: str, kind: str) -> str:
    errors = retryable(provider)
    GLUE_RUNS.append(provider)
    try:
        return flaky_call(kind)
    except errors as error:
        return f"retry after {type(error).__name__}"


@pytest.mark.parametrize("fn", [except_the_classes_an_op_gave, except_a_tuple_holding_an_op_result,
                                except_star_the_class_an_op_gave, except_in_async_glue])
def test_an_except_clause_may_name_classes_an_op_returned(fn: Callable[..., Any]) -> None:
    jitted = jit(fn)
    for args in [("a", "timeout"), ("b", "key"), ("a", "value"), ("b", "ok")] * 2:
        GLUE_RUNS.clear()
        plain = _outcome(fn, *args), list(GLUE_RUNS)
        GLUE_RUNS.clear()
        assert (_outcome(jitted, *args), list(GLUE_RUNS)) == plain, args  # the glue ran once
