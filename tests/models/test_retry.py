import pytest

from ember.models import InvalidParamsError, RetryPolicy
from ember.models.retry import is_retryable_status, retry_after


class Status(Exception):
    def __init__(self, status_code):
        super().__init__(f"status {status_code}")
        self.status_code = status_code


def flaky(failures):
    calls = []

    def attempt():
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return "ok"

    return attempt, calls


def test_retries_429_and_5xx_with_growing_backoff():
    waits = []
    attempt, calls = flaky([Status(429), Status(503)])
    policy = RetryPolicy(max_attempts=3, initial_delay=0.5, multiplier=2, jitter=0)
    assert (
        policy.run(attempt, retryable=is_retryable_status, describe="m", sleep=waits.append) == "ok"
    )
    assert len(calls) == 3
    assert waits == [0.5, 1.0]


def test_gives_up_after_max_attempts_with_original_exception_and_note():
    attempt, calls = flaky([Status(500)] * 5)
    policy = RetryPolicy(max_attempts=3, jitter=0)
    with pytest.raises(Status) as caught:
        policy.run(attempt, retryable=is_retryable_status, describe="p/m", sleep=lambda s: None)
    assert len(calls) == 3
    assert any("p/m: gave up after 3 attempts" in note for note in caught.value.__notes__)


def test_giving_up_on_an_exception_that_refuses_notes_raises_it_as_it_is():
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class FrozenStatus(Exception):
        status_code: int = 503

    attempt, calls = flaky([FrozenStatus()] * 3)
    policy = RetryPolicy(max_attempts=2, jitter=0)
    with pytest.raises(FrozenStatus):
        policy.run(attempt, retryable=is_retryable_status, describe="p/m", sleep=lambda s: None)
    assert len(calls) == 2


def test_non_retryable_errors_raise_at_once():
    attempt, calls = flaky([Status(400)])
    with pytest.raises(Status):
        RetryPolicy().run(
            attempt, retryable=is_retryable_status, describe="m", sleep=lambda s: None
        )
    assert len(calls) == 1


def test_delay_is_capped_and_jitter_stays_within_bounds():
    policy = RetryPolicy(initial_delay=1, multiplier=10, max_delay=5, jitter=0.5, max_attempts=10)
    assert policy.delay(1) == 1 and policy.delay(4) == 5
    waits = []
    attempt, _ = flaky([Status(429)] * 9)
    policy.run(attempt, retryable=is_retryable_status, describe="m", sleep=waits.append)
    assert all(0.5 * policy.delay(n) <= w <= 1.5 * policy.delay(n) for n, w in enumerate(waits, 1))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"max_attempts": True},
        {"initial_delay": -1},
        {"multiplier": 0.5},
        {"jitter": 2},
    ],
)
def test_bad_policies_are_rejected(kwargs):
    with pytest.raises(InvalidParamsError, match=next(iter(kwargs))):
        RetryPolicy(**kwargs)


def test_retryable_statuses():
    assert [is_retryable_status(Status(s)) for s in (429, 500, 599, 400, 404)] == [
        True,
        True,
        True,
        False,
        False,
    ]


class Refused(Exception):
    def __init__(self, status_code, headers):
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code
        self.headers = headers


class WithResponse(Exception):
    """Like the SDKs' status errors: headers on ``error.response``."""

    def __init__(self, headers):
        super().__init__("429")
        self.status_code = 429
        self.response = type("Response", (), {"headers": headers})()


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"RETRY-AFTER": " 3 "}, 3.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "soon", "retry-after": "4"}, 4.0),
        ({"Retry-After": "-1"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "whenever"}, None),
        ({}, None),
    ],
)
def test_retry_after_is_read_from_the_headers(headers, seconds):
    assert retry_after(Refused(429, headers)) == seconds


def test_retry_after_as_http_date_relative_to_now():
    headers = {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    now = 1445412480.0 - 30  # 30 s before that date
    assert retry_after(Refused(503, headers), now=now) == pytest.approx(30.0)
    assert retry_after(Refused(503, headers), now=now + 3600) == 0.0


def test_retry_after_on_the_sdk_response_object():
    assert retry_after(WithResponse({"retry-after": "7"})) == 7.0
    assert retry_after(ValueError("no headers")) is None


def test_a_server_wait_replaces_the_backoff_and_is_capped():
    waits = []
    attempt, calls = flaky(
        [Refused(429, {"Retry-After": "2"}), Refused(503, {"Retry-After": "600"})]
    )
    policy = RetryPolicy(max_attempts=3, initial_delay=0.01, jitter=0, max_retry_after=30)
    policy.run(attempt, retryable=is_retryable_status, describe="m", sleep=waits.append)
    assert waits == [2.0, 30.0] and len(calls) == 3


def test_server_waits_get_only_positive_jitter():
    policy = RetryPolicy(jitter=0.5)
    waits = [policy.wait_after(1, Refused(429, {"Retry-After": "1"})) for _ in range(200)]
    assert all(1.0 <= wait <= 1.5 for wait in waits) and len(set(waits)) > 1


def test_arun_retries_with_await_and_gives_up_with_a_note():
    import asyncio

    waits = []
    attempt_calls = []

    async def attempt():
        attempt_calls.append(1)
        raise Refused(500, {})

    async def record(seconds):
        waits.append(seconds)

    policy = RetryPolicy(max_attempts=3, initial_delay=0.25, jitter=0)
    with pytest.raises(Refused) as caught:
        asyncio.run(
            policy.arun(attempt, retryable=is_retryable_status, describe="p/m", sleep=record)
        )
    assert waits == [0.25, 0.5] and len(attempt_calls) == 3
    assert "p/m: gave up after 3 attempts" in caught.value.__notes__[0]


def test_408_and_409_are_retryable_too():
    assert [is_retryable_status(Status(s)) for s in (408, 409, 410, 429, 501)] == [
        True,
        True,
        False,
        True,
        True,
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": -1},
        {"max_attempts": 2.0},
        {"initial_delay": float("nan")},
        {"max_delay": float("inf")},
        {"multiplier": "2"},
        {"jitter": -0.1},
        {"max_retry_after": -1},
        {"max_retry_after": float("inf")},
        {"retry_timeouts": "yes"},
    ],
)
def test_more_bad_policies_name_the_field(kwargs):
    with pytest.raises(InvalidParamsError, match=rf"RetryPolicy\({next(iter(kwargs))}=\.\.\.\)"):
        RetryPolicy(**kwargs)
