"""Ops in process pools: module-level ``@op`` functions travel by their name."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from typing import Any

import pytest

from ember.api import op as api_op
from ember.xcs import Config, jit, op
from ember.xcs.engine.processes import named


@op
def square_with_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def test_decorated_module_level_ops_run_in_process_workers() -> None:
    # @op binds the module's name to the op: the pool must send the op's name, since
    # pickle cannot find the bare function by it.
    fan = jit(lambda xs: [square_with_pid(x) for x in xs], config=Config(executor="process"))
    result = fan([1, 2, 3])
    assert [value for value, _ in result] == [1, 4, 9]
    assert all(pid != os.getpid() for _, pid in result)


def test_named_finds_module_attributes_and_nothing_else() -> None:
    assert named(__name__, "square_with_pid") is square_with_pid
    assert named(__name__, "no_such_name") is None
    assert named("no_such_module_anywhere", "x") is None


@op(effect=True)
def record_in(sink: list[int], x: int) -> int:
    sink.append(x)
    return os.getpid()


def test_effect_ops_run_in_the_calling_process_on_its_objects() -> None:
    def save(sink: list[int]) -> list[int]:
        return [record_in(sink, 1), record_in(sink, 2), square_with_pid(3)[1]]

    sink: list[int] = []
    first, second, worker = jit(save, config=Config(executor="process"))(sink)
    assert sink == [1, 2]  # plain Python's changes, on the caller's own list
    assert first == second == os.getpid() != worker


LATE_OP = """
import sys
import pytest

from ember.xcs import Config, jit, op

@op
def first(x):
    return x * 2

if __name__ == "__main__":
    config = Config(executor="process", max_workers=2)
    assert jit(lambda: [first(1), first(2)], config=config)() == [2, 4]  # the pool starts

    @op
    def later(x):  # a module-level name, bound after the workers started
        return x + 1

    print(jit(lambda: [later(1), first(3)], config=config)())  # a freshly forked pool
    sys.exit(0)
"""


def test_an_op_of_the_main_script_defined_after_the_pool_started_runs(tmp_path: Any) -> None:
    import subprocess
    import sys

    script = tmp_path / "late.py"
    script.write_text(LATE_OP)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[2, 6]"


class _Refused(Exception):
    pass


@op
def chatty_with_pid(x: int) -> int:
    print(f"checking {x}")
    print(f"note on {x}", file=sys.stderr)
    if x < 0:
        raise _Refused(f"{x} is negative")
    return os.getpid()


def _printed(fn: Any, xs: list[int]) -> tuple[Any, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            result = fn(xs)
        except _Refused as error:
            result = (str(error), sorted(set(vars(error)) - {"__notes__"}))
    return result, out.getvalue(), err.getvalue()


def test_what_an_op_prints_in_a_worker_process_reaches_the_callers_streams() -> None:
    # The pool's workers are forked while the caller's streams may be redirected: what
    # they print went to their own copy of the buffer (lost), as plain Python never does.
    def check(xs: list[int]) -> list[int]:
        return [chatty_with_pid(x) for x in xs]

    traced = jit(check, config=Config(executor="process"))
    pids, out, err = _printed(traced, [1, 2])
    assert os.getpid() not in pids
    assert sorted(out.splitlines()) == ["checking 1", "checking 2"]
    assert sorted(err.splitlines()) == ["note on 1", "note on 2"]

    # An op that raised had printed first; its exception carries nothing more.
    assert _printed(traced, [-3]) == _printed(check, [-3]) == (
        ("-3 is negative", []), "checking -3\n", "note on -3\n")


_NOT_FOUND = LookupError("not found")  # one exception object, raised by every call


@op
def find_or_raise(x: int) -> int:
    if x > 0:
        print(f"looking for {x}")
    raise _NOT_FOUND


def _find(x: int) -> str:
    try:
        return str(find_or_raise(x))
    except LookupError as error:
        return str(error)


def test_a_reraised_exception_object_does_not_carry_an_earlier_calls_prints() -> None:
    # The worker kept the prints on the exception it raised: raised again by a call
    # that printed nothing, the same object brought the earlier call's text back.
    traced = jit(_find, config=Config(executor="process"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for _ in range(4):
            for x in (1, 0, 0, 0):
                assert traced(x) == "not found"
    assert out.getvalue() == "looking for 1\n" * 4


@op
def print_then_raise(text: str) -> str:
    print(text)
    raise _Refused("refused")


@op
def print_and_return(text: str) -> str:
    print(text)
    return text


def _outcome_within(fn: Any, stream: Any, seconds: float = 30.0) -> Any:
    """``fn()``'s result or exception with ``stream`` as ``sys.stdout``; ``"hung"`` when
    it has not returned after ``seconds``."""
    import threading

    outcome: list[Any] = ["hung"]

    def run() -> None:
        try:
            outcome[0] = fn()
        except Exception as error:
            outcome[0] = error

    with contextlib.redirect_stdout(stream):
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(seconds)
    return outcome[0]


@pytest.mark.parametrize("body", [print_then_raise, print_and_return])
def test_a_print_the_callers_stream_refuses_fails_the_op_as_in_plain_python(body: Any) -> None:
    # What an op that raised had printed was written in the pool's callback: a stream
    # refusing it (bytes only) raised there, and the call never returned. Text the
    # stream's encoding cannot hold was dropped, and the op returned, where its print
    # raised UnicodeEncodeError.
    def call(text: str) -> str:
        return str(body(text))

    traced = jit(call, config=Config(executor="process"))
    for stream, text, kind in ((io.BytesIO(), "text", TypeError),
                               (io.TextIOWrapper(io.BytesIO(), encoding="ascii"), "h\xe9",
                                UnicodeEncodeError)):
        plain = _outcome_within(lambda: call(text), stream)  # noqa: B023
        shipped = _outcome_within(lambda: traced(text), stream)  # noqa: B023
        assert type(plain) is type(shipped) is kind, (plain, shipped)
        assert str(shipped) == str(plain)


class _PayloadError(Exception):
    """An error whose payload's fields read as attributes (a KeyError for any other)."""

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.data = data

    def __getattr__(self, name: str) -> Any:
        return self.data[name]


@op
def refused_with_payload(x: int) -> int:
    raise _PayloadError("quota exceeded", code=429)


def _payload_code(x: int) -> str:
    try:
        return str(refused_with_payload(x))
    except _PayloadError as error:
        return f"{error} ({error.code})"


def test_an_error_whose_getattr_raises_is_reported_from_an_executor() -> None:
    # Looking for a worker's prints on the error ran the class's __getattr__: its
    # KeyError escaped the future's callback, and the call never returned.
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(2) as executor:
        traced = jit(_payload_code, config=Config(executor=executor))
        assert _outcome_within(lambda: traced(1), io.StringIO()) == _payload_code(1) \
            == "quota exceeded (429)"


SENTINEL: Any = None


def inherited_objects_frozen() -> bool:
    import gc

    return all(o is not SENTINEL for o in gc.get_objects()) and gc.isenabled()


def test_a_worker_never_collects_what_it_inherited_and_the_caller_collects_as_before() -> None:
    # A fork copies locks as they are; a worker collecting a replaced pool it inherited
    # ran that pool's weak-reference callback, which waited for ever on a copied lock
    # another thread had held (a full test run hung on 3.12).
    import gc

    from ember.xcs.engine.pool import SharedProcessPool

    global SENTINEL
    SENTINEL = [object()]  # made after any freeze of the caller's: the collector tracks it
    shared = SharedProcessPool()
    try:
        assert shared.get().submit(inherited_objects_frozen).result(timeout=60) is True
    finally:
        shared.close()
    assert gc.isenabled()  # the caller's objects are collected as before
    assert any(o is SENTINEL for o in gc.get_objects())


@op
def cautious(x: int) -> int:
    warnings.warn(f"careful with {x}", UserWarning, stacklevel=1)
    return x


def test_an_ops_warnings_meet_the_callers_filters_as_in_plain_python() -> None:
    """A worker showed an op's warning by its own copy of the filters (once per worker,
    never recorded by the caller's catch_warnings): now each comes back and is issued
    under the caller's filters, as plain Python issues it."""
    def fan(n: int) -> list[int]:
        return [cautious(n + i) for i in range(4)]

    fast = jit(fan, config=Config(executor="process"))
    for run in (fan, fast):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            assert run(1) == [1, 2, 3, 4]
        assert sorted(str(w.message) for w in seen) == [f"careful with {x}" for x in (1, 2, 3, 4)]
        assert all(w.category is UserWarning and w.filename == __file__ for w in seen)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="careful with 5"):
            fast(5)


@api_op
def cube_with_pid(x: int) -> tuple[int, int]:
    return x * x * x, os.getpid()


def test_module_level_ops_of_the_pyember_style_api_run_in_process_workers() -> None:
    """`from ember.api import op` binds the module's name to a FunctionOperator: the
    pool sends that name too (it raised SerializationError: "not the same object")."""
    fan = jit(lambda xs: [cube_with_pid(x) for x in xs], config=Config(executor="process"))
    result = fan([1, 2, 3])
    assert [value for value, _ in result] == [1, 8, 27]
    assert all(pid != os.getpid() for _, pid in result)


@op
def handles_its_warning(x: int) -> str:
    try:
        warnings.warn(f"inner {x}", UserWarning, stacklevel=1)
    except UserWarning:
        return "caught"
    return "shown"


def test_an_op_runs_under_the_callers_filters_and_may_catch_what_error_raises() -> None:
    """Under the caller's 'error' filter an op's warn raises inside the op, which may
    catch it (plain Python); the worker ran it under 'always' and the caller raised it
    afterwards. An 'ignore' filter drops it inside the op too."""
    def one(n: int) -> str:
        return handles_its_warning(n)

    fast = jit(one, config=Config(executor="process"))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert fast(0) == one(0) == "shown"  # the pool exists before the filters change
    for action in ("error", "ignore"):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter(action)
            expected = one(1)
            assert fast(1) == expected
        assert seen == []
