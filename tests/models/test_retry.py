import pytest

from ember.models import InvalidParamsError, RetryPolicy
from ember.models.retry import is_retryable_status


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
