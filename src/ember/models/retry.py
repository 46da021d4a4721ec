"""``RetryPolicy``: bounded retries with exponential backoff on 429 and 5xx.

The SDK clients are created with ``max_retries=0`` so this policy is the only one:
a call makes at most ``max_attempts`` requests, which a server can count.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ember.models.errors import InvalidParamsError

__all__ = ["RetryPolicy", "is_retryable_status"]

T = TypeVar("T")


def is_retryable_status(error: BaseException) -> bool:
    """Whether ``error`` carries an HTTP status worth retrying (429 or 5xx).

    Both official SDKs put the status on ``status_code``.

    Example:
        >>> class Busy(Exception):
        ...     status_code = 429
        >>> is_retryable_status(Busy()), is_retryable_status(ValueError())
        (True, False)
    """
    status = getattr(error, "status_code", None)
    return isinstance(status, int) and (status == 429 or 500 <= status <= 599)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed request is retried.

    Attempt ``n`` (counting from 1) that fails with a retryable error waits
    ``min(max_delay, initial_delay * multiplier ** (n - 1))`` seconds, spread by
    ``± jitter`` of itself, then tries again, up to ``max_attempts`` attempts in all.

    Attributes:
        max_attempts: requests per call, first one included (1 disables retries).
        initial_delay: seconds to wait after the first failure.
        multiplier: growth of the wait per failure.
        max_delay: upper bound on one wait.
        jitter: relative spread of each wait, in ``[0, 1]``.

    Raises:
        InvalidParamsError: a field has a value outside its range.

    Example:
        >>> RetryPolicy(max_attempts=3, initial_delay=0.1, jitter=0).delay(2)
        0.2
    """

    max_attempts: int = 4
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 8.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_attempts, bool)
            or not isinstance(self.max_attempts, int)
            or self.max_attempts < 1
        ):
            raise InvalidParamsError(
                f"RetryPolicy(max_attempts=...) must be an int >= 1, got {self.max_attempts!r}."
            )
        for name, low in (("initial_delay", 0.0), ("max_delay", 0.0), ("multiplier", 1.0)):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not low <= value < math.inf
            ):
                raise InvalidParamsError(
                    f"RetryPolicy({name}=...) must be a finite number >= {low:g}, got {value!r}."
                )
        if (
            isinstance(self.jitter, bool)
            or not isinstance(self.jitter, int | float)
            or not (0 <= self.jitter <= 1)
        ):
            raise InvalidParamsError(
                f"RetryPolicy(jitter=...) must be a number in [0, 1], got {self.jitter!r}."
            )

    def delay(self, failed_attempt: int) -> float:
        """The wait before the next attempt, without jitter, after ``failed_attempt`` failed."""
        return float(
            min(self.max_delay, self.initial_delay * self.multiplier ** (failed_attempt - 1))
        )

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
                if not retryable(error):
                    raise
                if number == self.max_attempts:
                    if number > 1:
                        error.add_note(
                            f"{describe}: gave up after {number} attempts "
                            f"(RetryPolicy(max_attempts={self.max_attempts}))."
                        )
                    raise
            base = self.delay(number)
            sleep(base * (1 + self.jitter * random.uniform(-1.0, 1.0)))
            number += 1
