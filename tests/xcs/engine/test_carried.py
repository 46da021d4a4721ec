"""Exceptions of ops come back from worker processes as they were raised: same type,
arguments and attributes, also when pickling alone would fail (a keyword-only
``__init__``, an attribute that does not pickle)."""

from __future__ import annotations

import pickle
import threading

import pytest

from ember.xcs import Config, jit, op
from ember.xcs.engine.carried import Carried, sendable


class QuotaError(Exception):
    """Like an SDK's error: its __init__ takes keyword-only arguments."""

    def __init__(self, *, retry_after: int) -> None:
        super().__init__(f"quota exceeded, retry after {retry_after}s")
        self.retry_after = retry_after


class ApiError(Exception):
    def __init__(self, message: str, response: object) -> None:
        super().__init__(message)
        self.response = response


def test_an_exception_that_survives_pickling_goes_as_it_is() -> None:
    error = ValueError("plain")
    assert sendable(error, "here") is error


def test_a_keyword_only_init_comes_back_with_its_attributes() -> None:
    # (Where a library taught pickle to rebuild exceptions, the error goes as it is.)
    carried = sendable(QuotaError(retry_after=5), "the worker running op 'q'")
    back = pickle.loads(pickle.dumps(carried))
    assert type(back) is QuotaError and str(back) == "quota exceeded, retry after 5s"
    assert back.retry_after == 5 and not getattr(back, "__notes__", None)


def test_attributes_that_do_not_pickle_are_dropped_with_a_note() -> None:
    back = pickle.loads(pickle.dumps(sendable(ApiError("HTTP 500", threading.Lock()), "w")))
    assert type(back) is ApiError and str(back) == "HTTP 500"
    assert not hasattr(back, "response")
    assert back.__notes__ == ["[ember.xcs] response of this exception could not be sent "
                              "back from w and were dropped."]


@op
def refuse_quota(x: int) -> int:
    raise QuotaError(retry_after=x)


@op
def refuse_api(x: int) -> int:
    raise ApiError(f"HTTP 500 for {x}", threading.Lock())


@op
def double(x: int) -> int:
    return 2 * x


def test_process_workers_send_the_ops_own_exceptions_back() -> None:
    processes = Config(executor="process")
    with pytest.raises(QuotaError, match="retry after 5s") as quota:
        jit(lambda: refuse_quota(5), config=processes)()
    assert quota.value.retry_after == 5
    with pytest.raises(ApiError, match="HTTP 500 for 7"):
        jit(lambda: refuse_api(7), config=processes)()
    # The pool was not taken for broken: the next call runs on it.
    assert jit(lambda: [double(1), double(2)], config=processes)() == [2, 4]


def test_a_carried_exception_unpickles_as_the_exception_it_stands_for() -> None:
    carried = Carried(QuotaError, ("quota exceeded, retry after 5s",), {"retry_after": 5},
                      {}, [], "the worker")
    back = pickle.loads(pickle.dumps(carried))
    assert type(back) is QuotaError and back.retry_after == 5
    assert str(back) == "quota exceeded, retry after 5s"


class SlotError(Exception):
    """A lean SDK error: its attributes are declared in __slots__."""

    __slots__ = ("__secret", "guard", "retry_after", "unset")


def _slot_error(retry_after: int) -> SlotError:
    error = SlotError(f"quota exceeded for {retry_after}")
    error.retry_after = retry_after
    error._SlotError__secret = "s"  # type: ignore[attr-defined]
    return error


@op
def refuse_with_slots(x: int) -> int:
    raise _slot_error(x)


def test_attributes_in_slots_come_back_and_unpicklable_ones_are_named() -> None:
    error = _slot_error(30)
    error.guard = threading.Lock()
    back = pickle.loads(pickle.dumps(sendable(error, "w")))
    assert type(back) is SlotError and str(back) == "quota exceeded for 30"
    assert (back.retry_after, back._SlotError__secret) == (30, "s")  # type: ignore[attr-defined]
    assert not hasattr(back, "guard") and not hasattr(back, "unset")
    assert back.__notes__ == ["[ember.xcs] guard of this exception could not be sent back "
                              "from w and were dropped."]


def test_process_workers_send_slot_attributes_back() -> None:
    with pytest.raises(SlotError) as caught:
        jit(lambda: refuse_with_slots(30), config=Config(executor="process"))()
    assert caught.value.retry_after == 30


@op
def open_session(x: int) -> dict[str, object]:
    return {"id": x, "lock": threading.Lock()}


def test_a_result_that_cannot_come_back_from_a_process_worker_names_the_op() -> None:
    from ember.xcs import SerializationError

    with pytest.raises(SerializationError, match=r"op 'open_session' returned a dict that "
                                                 r"cannot be sent back from the worker"):
        jit(lambda: open_session(1), config=Config(executor="process"))()
    assert jit(lambda: [double(3)], config=Config(executor="process"))() == [6]


class GuardedError(Exception):
    """An exception whose __getattr__ raises something other than AttributeError (a
    wrapper forwarding attribute reads to a response it does not have)."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError(f"no {name} here")


@op
def refuse_guarded(x: int) -> int:
    raise GuardedError(f"refused {x}")


def test_an_exception_whose_getattr_raises_comes_back_and_leaves_the_pool_working() -> None:
    """The pool writes the exception's traceback text in the worker, reading
    `__notes__`: there it raised, the worker died and the pool broke. It comes back as
    it was raised, and the next call runs on the same pool."""
    processes = Config(executor="process")
    for x in (1, 2):
        seen = ""
        try:  # (not pytest.raises: pytest's own report would read `__notes__` too)
            jit(lambda: refuse_guarded(x), config=processes)()  # noqa: B023 - called at once
        except GuardedError as error:
            seen = f"{type(error).__name__}: {error.args[0]}"
        assert seen == f"GuardedError: refused {x}"
    assert jit(lambda: [double(1), double(2)], config=processes)() == [2, 4]
