"""Suite-wide setup: keep the cyclic garbage collector's full passes out of timed tests.

Many tests prove concurrency by wall time (eight 100 ms ops finish in < 250 ms). Late in
a long session the heap holds millions of objects (JAX, Dask, pytest's own reports), and
one automatic full collection then stops every thread for 0.3-0.5 s, measured on the CI
machine: a pause that has nothing to do with the code under test, landing inside a
timed section at random. So automatic full collections are switched off, and before
each test the garbage of the tests before it is collected (cheap: only what is not yet
frozen is scanned) and everything still alive is frozen (``gc.freeze``). Objects a test
creates are never frozen while it runs: its own ``gc.collect()`` sees and collects
them as usual. Frozen objects are invisible to ``gc.get_objects()``, so the leak checks
that look for any ``Lazy`` or ``Task`` alive call ``gc.unfreeze()`` first (the next
test freezes again).
"""

from __future__ import annotations

import gc

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # No automatic full collection at all: a call that unfreezes the process (escape
    # repair does, when it cannot tell where a value is held) would otherwise be
    # followed by one pass over the whole heap inside the same test.
    gen0, gen1, _ = gc.get_threshold()
    gc.set_threshold(gen0, gen1, 1_000_000_000)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    gc.collect()
    gc.freeze()
