"""``RateLimit``: a requests-per-minute and tokens-per-minute budget for model calls.

A ``RateLimit`` is one budget, shared by every call that uses it, in every thread and
event loop of the process: give it to a provider (``OpenAIProvider(rate_limit=...)``,
all that provider's calls) or to a binding (``models.instance(..., rate_limit=...)``,
the calls through that binding), or give one object to several of them to share it.

Each budget is a token bucket that refills continuously at ``per_minute / 60`` per
second and holds at most one second's worth (at least one request or token), so
calls are spread evenly over the minute rather than sent in a burst: providers
enforce their per-minute limits over shorter windows too. A call reserves its place
first (one request, plus its estimated tokens), then waits until its turn: threads
sleep, coroutines ``await`` (an event loop is never blocked). Reservations are
first come, first served. A request bigger than the bucket waits for a full bucket
and then borrows from the future, so later calls wait longer; nothing deadlocks.

Token estimates (prompt at about four characters per token, plus ``max_tokens`` when
given) are corrected with the usage the provider reports once the reply arrives.
A ``Retry-After`` from the server pauses the whole budget: no call that uses it starts
before the server's time has passed.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from typing import Any

from ember.models._checks import check_instance, check_number
from ember.models.errors import InvalidParamsError

__all__ = ["Clock", "RateLimit"]


class Clock:
    """Where a ``RateLimit`` reads the time and how it waits (real time by default).

    Subclass it to simulate time in tests (see ``ember.testing.FakeClock``).

    Example:
        >>> clock = Clock()
        >>> clock.sleep_until(clock.monotonic())  # a deadline already reached: no wait
    """

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        return time.monotonic()

    def sleep_until(self, deadline: float) -> None:
        """Block this thread until ``monotonic()`` reaches ``deadline``."""
        remaining = deadline - self.monotonic()
        if remaining > 0:
            time.sleep(remaining)

    async def asleep_until(self, deadline: float) -> None:
        """Wait on the running event loop until ``monotonic()`` reaches ``deadline``."""
        remaining = deadline - self.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)


class _Bucket:
    """One refilling budget. Not thread-safe: ``RateLimit`` holds its lock around it."""

    __slots__ = ("capacity", "level", "rate", "updated")

    def __init__(self, per_minute: float, now: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.updated = now

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.level = min(self.capacity, self.level + self.rate * (now - self.updated))
            self.updated = now

    def reserve(self, cost: float) -> float:
        """Take ``cost`` now; return the seconds until the level would have allowed it."""
        needed = min(cost, self.capacity)
        wait = max(0.0, (needed - self.level) / self.rate)
        self.level -= cost
        return wait


class RateLimit:
    """A requests-per-minute and/or tokens-per-minute budget shared by all its calls.

    Thread-safe: one lock guards the buckets; nobody sleeps while holding it.

    Args:
        requests_per_minute: requests allowed per minute (``None``: no request limit).
        tokens_per_minute: tokens (prompt + completion) per minute (``None``: none).
        clock: the time source (default: real time; tests pass a ``FakeClock``).

    Raises:
        InvalidParamsError: neither limit given, a limit that is not a finite number
            above 0, or a clock that is not a ``Clock``.

    Example:
        >>> from ember.testing import FakeClock
        >>> limit = RateLimit(requests_per_minute=60, clock=FakeClock())
        >>> [limit.acquire() for _ in range(3)]    # seconds each call waited
        [0.0, 1.0, 1.0]
    """

    def __init__(
        self,
        *,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        owner = "RateLimit"
        if requests_per_minute is None and tokens_per_minute is None:
            raise InvalidParamsError(
                "RateLimit() needs requests_per_minute=..., tokens_per_minute=... or both."
            )
        check_instance(owner, "clock", clock, Clock)
        self.requests_per_minute = (
            None
            if requests_per_minute is None
            else check_number(owner, "requests_per_minute", requests_per_minute)
        )
        self.tokens_per_minute = (
            None
            if tokens_per_minute is None
            else check_number(owner, "tokens_per_minute", tokens_per_minute)
        )
        self.clock = clock if clock is not None else Clock()
        now = self.clock.monotonic()
        # Guards the buckets and the pause; held only for arithmetic, never while waiting.
        self._lock = threading.Lock()
        self._requests = (
            _Bucket(self.requests_per_minute, now) if self.requests_per_minute else None
        )
        self._tokens = _Bucket(self.tokens_per_minute, now) if self.tokens_per_minute else None
        self._paused_until = -math.inf

    def __reduce__(self) -> tuple[Any, ...]:
        """A pickled (or deep-copied) limit is a new budget with the same rates: the
        buckets' state is of this process's clock."""
        return (_made_again, (self.requests_per_minute, self.tokens_per_minute, self.clock))

    def __repr__(self) -> str:
        return (
            f"RateLimit(requests_per_minute={self.requests_per_minute!r}, "
            f"tokens_per_minute={self.tokens_per_minute!r})"
        )

    def _reserve(self, tokens: int) -> tuple[float, float]:
        """Book one request of ``tokens``; return (now, the deadline to start at)."""
        with self._lock:
            now = self.clock.monotonic()
            wait = 0.0
            if self._requests is not None:
                self._requests.refill(now)
                wait = self._requests.reserve(1.0)
            if self._tokens is not None and tokens > 0:
                self._tokens.refill(now)
                wait = max(wait, self._tokens.reserve(float(tokens)))
            return now, max(now + wait, self._paused_until)

    def _refund(self, tokens: int) -> None:
        """Give back a reservation whose call never started (its waiter was cancelled)."""
        with self._lock:
            if self._requests is not None:
                self._requests.level += 1.0
            if self._tokens is not None and tokens > 0:
                self._tokens.level += float(tokens)

    def acquire(self, tokens: int = 0) -> float:
        """Wait in this thread until one request of ``tokens`` tokens may start.

        Args:
            tokens: the call's estimated tokens (0 when only requests are limited).

        Returns:
            The seconds waited (on this limit's clock).
        """
        now, deadline = self._reserve(tokens)
        if deadline <= now:
            return 0.0
        try:
            self.clock.sleep_until(deadline)
        except BaseException:
            self._refund(tokens)
            raise
        return deadline - now

    async def aacquire(self, tokens: int = 0) -> float:
        """Like ``acquire``, but waits with ``await`` (the event loop keeps running).

        A cancelled waiter gives its reservation back.
        """
        now, deadline = self._reserve(tokens)
        if deadline <= now:
            return 0.0
        try:
            await self.clock.asleep_until(deadline)
        except BaseException:
            self._refund(tokens)
            raise
        return deadline - now

    def settle(self, reserved: int, used: int) -> None:
        """Correct a call's token estimate with what the provider reported it used.

        Args:
            reserved: the tokens the call reserved.
            used: the tokens the reply's usage reports (0: unknown, keep the estimate).
        """
        if self._tokens is None or used <= 0 or used == reserved:
            return
        with self._lock:
            self._tokens.refill(self.clock.monotonic())
            self._tokens.level += float(reserved - used)

    def pause(self, seconds: float) -> None:
        """Let no call of this budget start for ``seconds`` (a server's ``Retry-After``)."""
        if not seconds > 0:
            return
        with self._lock:
            self._paused_until = max(self._paused_until, self.clock.monotonic() + seconds)


def _made_again(requests_per_minute: float | None, tokens_per_minute: float | None,
                clock: Clock) -> RateLimit:
    """The ``RateLimit`` a pickle stands for (``RateLimit.__reduce__``)."""
    return RateLimit(requests_per_minute=requests_per_minute,
                     tokens_per_minute=tokens_per_minute, clock=clock)
