"""An ``__init__`` whose last line returns an op's result, built from jitted glue.

``Conn(v)`` in jitted glue runs the rewritten ``__init__``; what it returns was compared
with ``None`` while still a lazy value, so ``return self.connect()`` (an op answering
``None``) raised ``TypeError: __init__() should return None, not 'Lazy'``, and an op
answering a number named ``Lazy`` instead of ``int``."""

from __future__ import annotations

import time

from ember.xcs import jit, op
from tests.xcs.tracing.outcomes import outcome


@op
def connect(address: int) -> int | None:
    time.sleep(0.001)
    return None if address % 2 else address


class Conn:
    def __init__(self, address: int) -> None:
        self.address = address
        return connect(address)  # type: ignore[return-value]  # the case under test


def open_connection(address: int) -> int:
    return Conn(address).address + 1


def test_an_init_returning_an_ops_result_behaves_as_plain_python() -> None:
    fast = jit(open_connection)
    for address in (1, 2, 3, 4):
        assert outcome(fast, address) == outcome(open_connection, address)
