"""A set of op results iterates in plain Python's order under ``@jit``.

A set's order depends on its history: re-adding its items to a fresh set does not
repeat it once two of them collided (``{1, 3, 11}`` added in that order iterates as
``[11, 1, 3]``; ``set([11, 1, 3])`` as ``[3, 1, 11]``). So resolving the lazy values in
a set replaces each in its own slot, and a lifted call given a set runs on the set
itself, not a copy: ties in ``max(s, key=...)``, ``sorted(s, key=...)`` and the order
of ``list(s)`` are plain Python's.
"""

from __future__ import annotations

import pytest

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


# An op given a set gets a copy (the glue may change the set while the op runs); the
# copy iterates in the set's own order, as the set plain Python hands the op itself.
@op
def listed(items: set) -> list:
    return list(items)


@op
def joined(items: set) -> str:
    return ",".join(map(str, items))


def handed_over(values, lazy: bool):
    seen = set()
    for value in values:
        seen.add(fetch(value) if lazy else value)
    return listed(seen), joined(seen), list(seen)


@pytest.mark.parametrize("lazy", [False, True], ids=["glue values", "op results"])
def test_an_op_given_a_set_sees_plain_pythons_order(lazy: bool) -> None:
    fast = jit(handed_over)
    for values in (ORDER, (12, 4), (5, 13, 21, 2)):  # each collides; first and later calls
        plain = handed_over(values, lazy)
        assert plain[0] == plain[2]
        assert fast(values, lazy) == plain


def test_a_set_of_op_results_and_glue_values_handed_to_an_op() -> None:
    def tags(a, b):
        found = {fetch(a)}   # a set display holding an op result
        found.add(b)
        found |= {a - 8}
        return listed(found), list(found)

    plain = tags(12, 4)
    assert plain == ([12, 4], [12, 4])
    assert jit(tags)(12, 4) == plain


SEEN: set = set()


class Holder:
    def __init__(self) -> None:
        self.tags: set = set()


HOLDER = Holder()


def remember(values):
    for value in values:
        SEEN.add(fetch(value))
        HOLDER.tags.add(fetch(value))
    return len(values)


def test_a_set_the_call_left_op_results_in_keeps_plain_pythons_order() -> None:
    # After the call the values replace the lazy ones in the caller's sets (escape
    # repair): each in its own slot, so the sets iterate as plain Python's do.
    fast = jit(remember)
    for values in (ORDER, (5, 13, 21, 2)):  # the first call and a later one
        SEEN.clear()
        HOLDER.tags.clear()
        remember(values)
        plain = list(SEEN), list(HOLDER.tags)
        SEEN.clear()
        HOLDER.tags.clear()
        fast(values)
        assert (list(SEEN), list(HOLDER.tags)) == plain
        assert all(type(item) is int for item in (*SEEN, *HOLDER.tags))


def with_a_removal(x, lazy: bool):
    # An item taken out leaves a mark in the set's slots that a copy does not keep.
    tags = set()
    for value in (x + 1, x + 9, 3):
        tags.add(fetch(value) if lazy else value)
    tags |= {fetch(12) if lazy else 12}
    tags -= {3}
    return listed(tags), list(tags)


@pytest.mark.parametrize("lazy", [False, True], ids=["glue values", "op results"])
def test_an_op_given_a_set_that_lost_an_item_sees_plain_pythons_order(lazy: bool) -> None:
    fast = jit(with_a_removal)
    for x in (4, 10, 1, 4):  # the first call and later ones, with other values
        plain = with_a_removal(x, lazy)
        assert plain[0] == plain[1]
        assert fast(x, lazy) == plain


def frozen(x):
    # A frozenset made from op results, given to an op alone, as a dict key and in a set.
    tags = frozenset([fetch(x + 1), x + 8, 1])
    return (listed(tags), joined(tags), repr(tags), listed({tags: 1, frozenset([fetch(x)]): 2}),
            listed({tags, (fetch(x), 3)}), list(tags))


def test_an_op_given_a_frozenset_of_op_results_sees_plain_pythons_order() -> None:
    fast = jit(frozen)
    for x in (16, 4, 16):  # {17, 24, 1} collide; the first call and later ones
        plain = frozen(x)
        assert fast(x) == plain


STORE: dict = {}


def keep_frozen(values):
    STORE["tags"] = frozenset(fetch(value) for value in values)
    return len(values)


def test_a_frozenset_the_call_left_op_results_in_keeps_plain_pythons_order() -> None:
    # Escape repair builds the frozenset again with the values: in the same slots.
    fast = jit(keep_frozen)
    for values in (ORDER, (5, 13, 21, 2), ORDER):
        keep_frozen(values)
        plain = list(STORE["tags"])
        fast(values)
        assert list(STORE["tags"]) == plain
        assert all(type(item) is int for item in STORE["tags"])


def frozen_votes(values):
    tags = frozenset(fetch(value) for value in values)
    return (tags, list(tags), sorted(tags, key=lambda v: 0), max(tags, key=lambda v: 0),
            ",".join(map(str, tags)), frozenset((fetch(value), 1) for value in values))


def test_a_frozenset_of_op_results_keeps_plain_pythons_order_in_the_glue_and_returned() -> None:
    fast = jit(frozen_votes)
    for values in (ORDER, (5, 13, 21, 2), ORDER):
        plain = frozen_votes(values)
        result = fast(values)
        assert result == plain
        assert [list(s) for s in (result[0], result[5])] == [list(s) for s in (plain[0], plain[5])]
        assert result[1:5] == plain[1:5]


GROWN = (54, 24, 48, 56, 26, 2, 16)  # added one by one: [2, 56, 48, 16, 54, 24, 26]


def test_an_op_given_a_set_grown_item_by_item_sees_plain_pythons_order() -> None:
    # A set grown an item at a time has a larger table than a copy of it (32 slots for
    # 16): the op's copy is made with the items where the set has them.
    fast = jit(handed_over)
    for lazy in (False, True, False):
        plain = handed_over(GROWN, lazy)
        assert plain[2] == [2, 56, 48, 16, 54, 24, 26] != list(set(set(GROWN)))
        assert fast(GROWN, lazy) == plain


def test_in_order_repeats_the_order_of_a_set_with_a_history() -> None:
    import sys

    from ember.xcs.tree import in_order

    grown = added(GROWN)
    assert list(set(grown)) != list(grown)  # a plain copy does not
    assert list(in_order(set(grown), list(grown), sys.getsizeof(grown))) == list(grown)


def test_an_op_given_a_set_of_pairs_grown_item_by_item_sees_plain_pythons_order() -> None:
    # Tuples of atoms are hashed without code of the user's: copied in order too.
    def pairs_seen(pairs):
        seen = set()
        for pair in pairs:
            seen.add(pair)
        return listed(seen), list(seen)

    fast = jit(pairs_seen)
    few = [(5, 1), (0, 8), (8, 0), (1, 2), (9, 9)]
    for pairs in ([(value, value % 3) for value in GROWN], few):
        plain = pairs_seen(pairs)
        assert plain[0] == plain[1]
        assert fast(pairs) == plain


def test_in_order_searches_once_for_a_set_given_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # An op called 1,000 times with the same set copies it 1,000 times: the search for
    # an order that repeats it (up to a set per rotation of its items, each grown to
    # the table's size) ran each time, 12x the fan-out's time for 42 strings.
    import sys

    from ember.xcs.tree import kinds

    searched: list[int] = []
    orders = kinds._orders
    monkeypatch.setattr(kinds, "_orders", lambda order: searched.append(1) or orders(order))
    for seed in range(40):  # sets of 30 ints with a history: a found order, and none
        grown = added(range(seed, seed + 300, 7))
        grown -= set(range(seed, seed + 300, 21))
        order = list(grown)
        first = list(kinds.in_order(set(grown), order, sys.getsizeof(grown)))
        before = len(searched)
        for _ in range(3):
            again = kinds.in_order(set(grown), order, sys.getsizeof(grown))
            assert list(again) == first
        assert len(searched) == before, seed


class Counted:
    """An item whose __hash__ is the user's, and counts its calls."""

    hashed = 0

    def __init__(self, value: int) -> None:
        self.value = value

    def __hash__(self) -> int:
        Counted.hashed += 1
        return hash(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Counted) and other.value == self.value


def test_in_order_runs_no_users_hash() -> None:
    # The set an op receives that held an op result (SetInOrder) was put in order by
    # adding its items again, up to 120 orders of 5: the user's __hash__ ran 158 times
    # for {fetch(1), U(1), U(9), U(17), U(3)} where a snapshot of such a set runs none.
    import sys

    from ember.xcs.tree import kinds

    grown = added([Counted(value) for value in GROWN])
    assert [item.value for item in set(grown)] != [item.value for item in grown]
    Counted.hashed = 0
    kinds.in_order(set(grown), list(grown), sys.getsizeof(grown))
    assert Counted.hashed == 0


def test_in_order_keeps_nothing_for_a_large_set() -> None:
    # Its key would hold an int per item: 256 sets of 100,000 items, 800 MB kept.
    import sys

    from ember.xcs.tree import kinds

    kinds._found.clear()
    for seed in range(5):
        grown = added(range(seed, seed + 3000, 7))
        grown -= set(range(seed, seed + 3000, 21))
        kinds.in_order(set(grown), list(grown), sys.getsizeof(grown))
    assert kinds._found == {}
