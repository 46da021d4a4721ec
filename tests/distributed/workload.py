"""Ops and an exception class that the distributed tests ship to Dask workers.

The tests register this module with ``cloudpickle.register_pickle_by_value``, so its
functions travel by value, as code from a user's script would to a remote cluster
whose workers cannot import the test suite.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import threading
import time
from pathlib import Path

from ember.xcs import op


class WorkloadError(Exception):
    """A user exception raised on a worker; its type must survive the trip back."""


class HoldingError(Exception):
    """A user exception with an attribute that cannot be pickled."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.guard = threading.Lock()


@op
def raise_holding(x: int) -> int:
    raise HoldingError(f"item {x} holds a lock")


@op
def make_lock(x: int) -> threading.Lock:
    """Returns what a worker cannot send back."""
    return threading.Lock()


@op
def square(x: int) -> tuple[int, int]:
    """``x * x`` and the id of the process that computed it."""
    time.sleep(0.2)
    return x * x, os.getpid()


@op
async def fetch(x: int) -> tuple[int, int]:
    """A coroutine op: it runs on an event loop in the worker process."""
    await asyncio.sleep(0.05)
    return x + 1, os.getpid()


@op
def add(a: int, b: int) -> int:
    return a + b


@op
def fail_on(x: int, bad: int) -> int:
    """Return ``x``, or raise ``WorkloadError`` when ``x == bad``."""
    if x == bad:
        raise WorkloadError(f"item {x} is bad")
    return x


@op
def ratio(a: int, b: int) -> float:
    return a / b


@op
def logged_slow(x: int, log: str, seconds: float) -> tuple[int, int]:
    """Sleep, appending ``start``/``end`` lines with this process id to ``log``."""
    path = Path(log)
    with path.open("a") as stream:
        stream.write(f"start {x} {os.getpid()}\n")
    time.sleep(seconds)
    with path.open("a") as stream:
        stream.write(f"end {x} {os.getpid()}\n")
    return x * 10, os.getpid()


@op
def counted_slow(x: int, log: str, seconds: float) -> int:
    """Sleep, then append ``end <x> <pid> <wall clock>`` to ``log``: one line per run."""
    time.sleep(seconds)
    with Path(log).open("a") as stream:
        stream.write(f"end {x} {os.getpid()} {time.time():.6f}\n")
    return x * 10


@op(cache=True, version="1")
def priced(x: int, log: str) -> int:
    """A paid call (cached): appends ``priced <x> <pid>`` to ``log`` each time it runs."""
    with Path(log).open("a") as stream:
        stream.write(f"priced {x} {os.getpid()}\n")
    return x * x


@op(cache=None, version="1")
async def judged(x: int, log: str) -> int:
    """A coroutine op cached like a model call: only while a result cache is active."""
    await asyncio.sleep(0.01)
    with Path(log).open("a") as stream:
        stream.write(f"judged {x} {os.getpid()}\n")
    return x + 1


@op(cache=True, version="1")
def sampled(prompt: str, log: str) -> float:
    """A model sample at a temperature (cached): a new number each time its body runs,
    which appends ``sampled <len> <pid>`` to ``log``."""
    with Path(log).open("a") as stream:
        stream.write(f"sampled {len(prompt)} {os.getpid()}\n")
    time.sleep(0.1)  # still running when the other calls of its key are submitted
    return random.random()


@op(cache=True, version="1")
def sampled_once_failing(prompt: str, log: str) -> float:
    """``sampled``, except that its first run (no ``log`` yet) raises ``WorkloadError``."""
    first = not Path(log).exists()
    with Path(log).open("a") as stream:
        stream.write(f"sampled {len(prompt)} {os.getpid()}\n")
    time.sleep(0.1)
    if first:
        raise WorkloadError(f"sampling {prompt!r} failed")
    return random.random()


def best_of_three(prompt: str, log: str) -> list[float]:
    """Three samples of one prompt: under a result cache, the first pays and the other
    two are hits of it (plain Python runs them one after the other)."""
    return [sampled(prompt, log) for _ in range(3)]


@op
def chatty(x: int) -> int:
    """Prints a line to stdout and one to stderr, then doubles ``x`` (a negative one
    raises ``WorkloadError`` after printing)."""
    print(f"checking {x}")
    print(f"note on {x}", file=sys.stderr)
    if x < 0:
        raise WorkloadError(f"{x} is negative")
    return x * 2


@op
async def chatty_later(x: int) -> int:
    """A coroutine op that prints once it has awaited."""
    await asyncio.sleep(0.01)
    print(f"later {x}")
    return x + 1


def chatty_pipeline(xs: list[int]) -> list[int]:
    """Ops that print, one of them a coroutine."""
    return [chatty(x) for x in xs] + [chatty_later(x) for x in xs]


def chatty_checked(xs: list[int]) -> list[int] | str:
    """Ops that print until one of them raises, caught by the caller."""
    try:
        return [chatty(x) for x in xs]
    except WorkloadError as error:
        return str(error)


def priced_then_judged(xs: list[int], log: str) -> list[int]:
    """Each ``judged`` op waits for its ``priced`` input: submitted as that one finishes."""
    results = []
    for x in xs:
        results.append(judged(priced(x, log), log))
    return results


def fan_out(xs: list[int]) -> list[int]:
    """Independent ops, then glue that sums their lifted results."""
    pairs = [square(x) for x in xs]
    values = [pair[0] for pair in pairs]
    return values + [sum(values)]


def diamond(x: int) -> dict[str, int]:
    """A diamond of dependent ops with glue in between."""
    top = square(x)[0]
    left = add(top, 1)
    right = add(top, 2)
    return {"left": left, "right": right, "bottom": add(left, right)}


def first_failure_wins(xs: list[int], bad: int) -> list[int]:
    # A loop, not a comprehension: on 3.12+ the tracer still runs comprehensions
    # eagerly (issue 14), and these tests are about Dask, not about comprehensions.
    results = []
    for x in xs:
        results.append(fail_on(x, bad))
    return results


def counted_batch(xs: list[int], log: str, seconds: float) -> list[int]:
    """``counted_slow`` over ``xs``, as a loop (see ``first_failure_wins``)."""
    results = []
    for x in xs:
        results.append(counted_slow(x, log, seconds))
    return results


def cube_with_pid(x: int) -> dict[str, int]:
    """A plain (not ``@op``) per-item function for ``pmap``/``vmap``."""
    return {"value": x**3, "pid": os.getpid()}


def checked(x: int) -> int:
    """A plain per-item function that raises ``WorkloadError`` on negative input."""
    if x < 0:
        raise WorkloadError(f"negative input {x}")
    return x + 100


def describe(inputs: dict[str, object]) -> str:
    """The seed's dict form: one record per item, with broadcast options."""
    options = inputs["options"]
    assert isinstance(options, dict)
    return f"{inputs['id']}:{inputs['data']}{options['suffix']}"


@op
def quit_with(kind: str, log: str) -> None:
    """Append ``ran <pid>`` to ``log``, then leave as ``sys.exit(3)`` or Ctrl-C would."""
    with Path(log).open("a") as stream:
        stream.write(f"ran {os.getpid()}\n")
    if kind == "exit":
        sys.exit(3)
    raise KeyboardInterrupt


@op
def look_up_field(key: str) -> int:
    """``KeyError`` for any key but ``"a"``: an expected failure the caller handles."""
    return {"a": 1}[key]


def fields_or_none(keys: list[str]) -> list[int | None]:
    """``look_up_field`` for each key, ``None`` where it raised ``KeyError``."""
    found: list[int | None] = []
    for key in keys:
        try:
            found.append(look_up_field(key))
        except KeyError:
            found.append(None)
    return found


@op
def echoed(text: str) -> str:
    """Prints ``text`` and returns it."""
    print(text)
    return text
