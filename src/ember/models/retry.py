"""``RetryPolicy``: bounded retries with jittered exponential backoff and ``Retry-After``.

The SDK clients are created with ``max_retries=0`` so this policy is the only retry
layer: a call makes at most ``max_attempts`` requests, which a server can count.

Retried: HTTP 408, 409, 429 and 5xx, and connection failures (refused, reset, DNS).
Timeouts are retried only with ``retry_timeouts=True``: a request that ran into its
timeout was usually received and processed (and billed), and the same request tends
to time out again. A server's ``Retry-After`` (seconds or an HTTP date) or
``retry-after-ms`` header replaces the backoff for that wait, capped at
``max_retry_after`` seconds.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ember.models._checks import check_flag, check_number
from ember.models.errors import InvalidParamsError

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "is_retryable_status", "retry_after"]

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({408, 409, 429})


def is_retryable_status(error: BaseException) -> bool:
    """Whether ``error`` carries an HTTP status worth retrying (408, 409, 429 or 5xx).

    Both official SDKs put the status on ``status_code``.

    Example:
        >>> class Busy(Exception):
        ...     status_code = 429
        >>> is_retryable_status(Busy()), is_retryable_status(ValueError())
        (True, False)
    """
    status = getattr(error, "status_code", None)
    return isinstance(status, int) and (status in RETRYABLE_STATUSES or 500 <= status <= 599)


def _header(headers: Any, name: str) -> str | None:
    try:
        value = headers.get(name)
    except Exception:
        return None
    if value is None and isinstance(headers, Mapping):
        # A plain dict is case-sensitive; HTTP header names are not.
        value = next((v for k, v in headers.items() if str(k).lower() == name), None)
    return value if isinstance(value, str) else None


def retry_after(error: BaseException, *, now: float | None = None) -> float | None:
    """The seconds the server asked to wait before retrying, from ``error``'s headers.

    Reads ``retry-after-ms`` (milliseconds) first, then ``Retry-After`` as seconds or
    as an HTTP date, on ``error.response.headers`` (the SDKs' status errors) or
    ``error.headers``. Negative, malformed or missing values give ``None``; a date in
    the past gives 0.

    Args:
        error: the failed attempt's exception.
        now: the current Unix time (default: ``time.time()``), for HTTP dates.

    Example:
        >>> class Busy(Exception):
        ...     headers = {"Retry-After": "2"}
        >>> retry_after(Busy()), retry_after(ValueError())
        (2.0, None)
    """
    headers = getattr(getattr(error, "response", None), "headers", None)
    if headers is None:
        headers = getattr(error, "headers", None)
    if headers is None:
        return None
    milliseconds = _header(headers, "retry-after-ms")
    if milliseconds is not None:
        seconds = _seconds(milliseconds)
        if seconds is not None:
            return seconds / 1000.0
    value = _header(headers, "retry-after")
    if value is None:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _seconds(text: str) -> float | None:
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed request is retried.

    Attempt ``n`` (counting from 1) that fails with a retryable error waits
    ``min(max_delay, initial_delay * multiplier ** (n - 1))`` seconds, spread by
    ``± jitter`` of itself, then tries again, up to ``max_attempts`` attempts in all.
    When the failed reply carries ``Retry-After`` or ``retry-after-ms``, the wait is
    what the server asked (plus up to ``jitter`` of it, so waiting callers do not all
    come back at once), capped at ``max_retry_after`` seconds.

    Attributes:
        max_attempts: requests per call, first one included (1 disables retries).
        initial_delay: seconds to wait after the first failure.
        multiplier: growth of the wait per failure.
        max_delay: upper bound on one backoff wait.
        jitter: relative spread of each wait, in ``[0, 1]``.
        max_retry_after: upper bound, in seconds, on one wait a server asks for
            (default 60: per-minute limits ask for less; a longer wait is cut to it).
        retry_timeouts: retry requests that ran into their timeout (default ``False``).

    Raises:
        InvalidParamsError: a field has a wrong type or a value outside its range.

    Example:
        >>> RetryPolicy(max_attempts=3, initial_delay=0.1, jitter=0).delay(2)
        0.2
    """

    max_attempts: int = 4
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 8.0
    jitter: float = 0.1
    max_retry_after: float = 60.0
    retry_timeouts: bool = False

    def __post_init__(self) -> None:
        owner = "RetryPolicy"
        if (
            isinstance(self.max_attempts, bool)
            or not isinstance(self.max_attempts, int)
            or self.max_attempts < 1
        ):
            raise InvalidParamsError(
                f"RetryPolicy(max_attempts=...) must be an int >= 1 (1: no retries), "
                f"got {self.max_attempts!r}."
            )
        check_number(owner, "initial_delay", self.initial_delay, low_open=False)
        check_number(owner, "max_delay", self.max_delay, low_open=False)
        check_number(owner, "multiplier", self.multiplier, low=1.0, low_open=False)
        check_number(owner, "max_retry_after", self.max_retry_after, low_open=False)
        jitter = check_number(owner, "jitter", self.jitter, low_open=False)
        if jitter > 1:
            raise InvalidParamsError(
                f"RetryPolicy(jitter=...) must be a number in [0, 1], got {self.jitter!r}."
            )
        check_flag(owner, "retry_timeouts", self.retry_timeouts)

    def delay(self, failed_attempt: int) -> float:
        """The backoff before the next attempt, without jitter, after ``failed_attempt``."""
        return float(
            min(self.max_delay, self.initial_delay * self.multiplier ** (failed_attempt - 1))
        )

    def wait_after(self, failed_attempt: int, error: BaseException) -> float:
        """The seconds to wait after attempt ``failed_attempt`` failed with ``error``.

        Example:
            >>> class Busy(Exception):
            ...     headers = {"retry-after-ms": "1500"}
            >>> RetryPolicy(jitter=0).wait_after(1, Busy())
            1.5
        """
        asked = retry_after(error)
        if asked is not None:
            spread = asked * (1 + self.jitter * random.random())
            return float(min(self.max_retry_after, spread))
        return self.delay(failed_attempt) * (1 + self.jitter * random.uniform(-1.0, 1.0))

    def next_wait(
        self,
        failed_attempt: int,
        error: BaseException,
        *,
        retryable: Callable[[BaseException], bool],
        describe: str,
    ) -> float | None:
        """The wait before retrying after attempt ``failed_attempt`` failed, or ``None``.

        ``None`` means the call fails with ``error``: it is not retryable, or it was
        the last attempt (then a note saying how many attempts were made is added).

        Example:
            >>> policy = RetryPolicy(max_attempts=2, initial_delay=1, jitter=0)
            >>> class Busy(Exception):
            ...     status_code = 503
            >>> policy.next_wait(1, Busy(), retryable=is_retryable_status, describe="m")
            1.0
            >>> policy.next_wait(2, Busy(), retryable=is_retryable_status, describe="m") is None
            True
        """
        if not retryable(error):
            return None
        if failed_attempt >= self.max_attempts:
            if failed_attempt > 1:
                try:
                    error.add_note(
                        f"{describe}: gave up after {failed_attempt} attempts "
                        f"(RetryPolicy(max_attempts={self.max_attempts}))."
                    )
                except Exception:  # an exception class that refuses notes (frozen): as it is
                    pass
            return None
        return self.wait_after(failed_attempt, error)

    def run(
        self,
        attempt: Callable[[], T],
        *,
        retryable: Callable[[BaseException], bool],
        describe: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> T:
        """Call ``attempt`` until it succeeds, fails for good, or attempts run out.

        Args:
            attempt: one request.
            retryable: whether an error is worth another attempt.
            describe: what is being called, for the note on the final error.
            sleep: how to wait (tests pass a recorder).

        Returns:
            The first successful result.

        Raises:
            The last error, unchanged in type, with a note saying how many attempts
            were made when there was more than one.
        """
        number = 1
        while True:
            try:
                return attempt()
            except Exception as error:
                wait = self.next_wait(number, error, retryable=retryable, describe=describe)
                if wait is None:
                    raise
            sleep(wait)
            number += 1

    async def arun(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        retryable: Callable[[BaseException], bool],
        describe: str,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> T:
        """Like ``run`` for an async ``attempt``; waits with ``await`` (no blocking).

        Returns:
            The first successful result.

        Raises:
            The last error, as ``run`` does.
        """
        number = 1
        while True:
            try:
                return await attempt()
            except Exception as error:
                wait = self.next_wait(number, error, retryable=retryable, describe=describe)
                if wait is None:
                    raise
            await sleep(wait)
            number += 1
