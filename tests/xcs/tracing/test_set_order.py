"""A set of op results iterates in plain Python's order under ``@jit``.

A set's order depends on its history: re-adding its items to a fresh set does not
repeat it once two of them collided (``{1, 3, 11}`` added in that order iterates as
``[11, 1, 3]``; ``set([11, 1, 3])`` as ``[3, 1, 11]``). So resolving the lazy values in
a set replaces each in its own slot, and a lifted call given a set runs on the set
itself, not a copy: ties in ``max(s, key=...)``, ``sorted(s, key=...)`` and the order
of ``list(s)`` are plain Python's.
"""

from __future__ import annotations

from ember.xcs import jit, op
from ember.xcs.tree import replace

ORDER = (1, 3, 11)  # added in this order, {1, 3, 11} iterates as [11, 1, 3]


class Box:
    """Stands for a lazy value: equal to its value, with its hash."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __hash__(self) -> int:
        return hash(self.value)

    def __eq__(self, other: object) -> bool:
        return self.value == (other.value if isinstance(other, Box) else other)


def added(values) -> set:
    items: set = set()
    for value in values:
        items.add(value)
    return items


def test_the_example_collides() -> None:
    assert list(added(ORDER)) == [11, 1, 3] and list(set([11, 1, 3])) == [3, 1, 11]


def test_replace_keeps_a_sets_order() -> None:
    boxes = added(Box(value) for value in ORDER)
    same = replace(boxes, lambda box: box.value, Box)
    assert same is boxes and list(boxes) == list(added(ORDER)) == [11, 1, 3]
    assert all(type(item) is int for item in boxes)


@op
def fetch(value: int) -> int:
    return value


def votes(values):
    seen = set()
    for value in values:
        seen.add(fetch(value))
    return (seen, list(seen), max(seen, key=lambda v: 0), min(seen, key=lambda v: 0),
            sorted(seen, key=lambda v: 0), list(seen.copy()), ",".join(map(str, seen)))


def test_a_set_of_op_results_keeps_plain_pythons_order() -> None:
    plain = votes(ORDER)
    assert plain[1] == [11, 1, 3] and plain[2] == 11
    fast = jit(votes)
    for _ in range(2):  # the first call and a later one
        result = fast(ORDER)
        assert result == plain
        assert list(result[0]) == list(plain[0]) and result[1:] == plain[1:]
