"""``execute`` with a timeout and the default scheduler ends at the deadline.

``auto`` ran a graph that has no two ops to overlap in the calling thread, where the
deadline cannot stop a running node: the call raised ``XCSTimeoutError`` only once the
node had finished (0.3 s for a 0.05 s timeout). With a timeout it now runs the nodes on
workers, as ``jit`` does with ``Config(timeout=...)``.
"""

from __future__ import annotations

import time

import pytest

from ember.xcs import XCSTimeoutError, autograph, execute, execution_options, op, placeholder


@op
def slow(x):
    time.sleep(0.3)
    return x


@op
def quick(x):
    return x + 1


def test_default_scheduler_ends_a_single_slow_node_at_the_deadline():
    with autograph() as graph:
        out = slow(placeholder("p"))  # noqa: F841 - read back by name
    started = time.perf_counter()
    with pytest.raises(XCSTimeoutError):
        execute(graph, options=execution_options(timeout=0.05), inputs={"p": 1})
    assert time.perf_counter() - started < 0.2


def test_chain_within_the_deadline_gives_its_values():
    with autograph() as graph:
        a = quick(placeholder("p"))
        b = quick(a)  # noqa: F841 - read back by name
    values = execute(graph, options=execution_options(timeout=5, max_workers=1),
                     inputs={"p": 1})
    assert (values["a"], values["b"]) == (2, 3)
