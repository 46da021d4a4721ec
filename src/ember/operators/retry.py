"""``Retry``: pyember's operator that calls another again when it raises.

Under ``@jit`` a ``Retry`` is one op (a leaf Operator): its attempts, and the sleeps
between them, run in order in that op's body, as plain Python runs them, so a failed
attempt is caught where it fails; independent ops keep running meanwhile (the wrapped
operator's own ops run one after another inside it). For a model call, the models
layer's ``RetryPolicy`` retries inside the call instead (and honours ``Retry-After``);
``Retry`` is for any operator or function.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from ember.operators.base import Operator

__all__ = ["Retry"]


class Retry(Operator):
    """Call ``operator(input)``; on an exception, try again, up to ``max_attempts`` times.

    Before attempt ``n + 1`` it sleeps ``min(base_delay * 2 ** (n - 1), max_delay)`` plus
    a random jitter of up to half that. ``should_retry(error, n)`` decides whether the
    error of attempt ``n`` is retried (default: every exception, while attempts are
    left); an error it refuses, or the last attempt's, is raised as it is.

    Args:
        operator: the callable to call (an Operator, an op, any function of one input).
        max_attempts: attempts in all, a positive int.
        should_retry: ``(error, attempt) -> bool``, or ``None`` for the default.
        base_delay: seconds before the second attempt (>= 0).
        max_delay: the longest pause (>= 0).

    Raises:
        ValueError: ``max_attempts`` is not a positive int, or a delay is negative.
        TypeError: ``operator`` or ``should_retry`` is not callable.

    Example:
        >>> attempts = []
        >>> def flaky(text):
        ...     attempts.append(text)
        ...     if len(attempts) < 3:
        ...         raise ConnectionError("try later")
        ...     return text.upper()
        >>> Retry(flaky, max_attempts=3, base_delay=0.0)("ok"), len(attempts)
        ('OK', 3)
    """

    leaf = True  # see the module docstring: the attempts need the real outcome of each

    def __init__(self, operator: Callable[..., Any], max_attempts: int = 3,
                 should_retry: Callable[[Exception, int], bool] | None = None,
                 base_delay: float = 1.0, max_delay: float = 60.0) -> None:
        if not callable(operator):
            raise TypeError(f"Retry: operator must be callable, got {operator!r}.")
        if type(max_attempts) is not int or max_attempts < 1:
            raise ValueError(f"Retry: max_attempts must be a positive int, got {max_attempts!r}.")
        for name, delay in (("base_delay", base_delay), ("max_delay", max_delay)):
            if isinstance(delay, bool) or not isinstance(delay, int | float) or not delay >= 0:
                raise ValueError(f"Retry: {name} must be a number >= 0, got {delay!r}.")
        if should_retry is not None and not callable(should_retry):
            raise TypeError(f"Retry: should_retry must be callable or None, got {should_retry!r}.")
        self.operator = operator
        self.max_attempts = max_attempts
        self.should_retry = should_retry
        self.base_delay = base_delay
        self.max_delay = max_delay

    def _retried(self, error: Exception, attempt: int) -> bool:
        if self.should_retry is None:
            return attempt < self.max_attempts
        return bool(self.should_retry(error, attempt))

    def _backoff(self, attempt: int) -> float:
        """Seconds to sleep after failed attempt ``attempt``, before the jitter."""
        return float(min(self.base_delay * 2 ** (attempt - 1), self.max_delay))

    def forward(self, input: Any) -> Any:
        """The first result of ``operator(input)`` that does not raise."""
        attempt = 1
        while True:
            try:
                return self.operator(input)
            except Exception as error:
                if not self._retried(error, attempt) or attempt >= self.max_attempts:
                    raise
                delay = self._backoff(attempt)
                # The jitter is drawn here, in forward, where @jit sees that the op reads
                # the random module: the caller's own draws stay in plain Python's order.
                time.sleep(delay + random.uniform(0, delay * 0.5))
                attempt += 1
