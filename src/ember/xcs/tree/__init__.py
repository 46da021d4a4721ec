"""The one way XCS looks inside values: lists, tuples, dicts, sets, dataclasses, objects.

Every walker in XCS goes through here: finding the lazy values an op call depends on,
snapshotting op arguments, resolving them before a body runs, materialising a call's
result, repairing containers a lazy value escaped into, converting argument trees to
IR variables, shipping values to Dask. One table says how each type is walked, so the
walkers cannot disagree about what counts as "inside".

Kinds of node (decided once per type, cached):

- atoms (``str``, ``int``, ``None``, ...): never hold anything;
- containers: ``list``, ``dict``, ``set``, ``frozenset``, ``tuple`` (named too),
  ``collections.deque`` and their subclasses;
- records: dataclass instances, ``types.SimpleNamespace``, pydantic models, the
  standard library's ``UserDict``, ``UserList``, ``ChainMap`` and ``argparse.Namespace``
  (``data_record``), and instances of classes defined in user code (their ``__dict__``
  and ``__slots__``). Records are walked only when a walker asks for ``records=True``;
- opaque: everything else (modules, functions, classes, library objects).

Mutable containers are updated in place by ``replace``; immutable ones (tuples,
frozensets) are rebuilt. ``snapshot`` copies the container structure so that a value
captured now does not change when the program mutates the original later.

The modules: ``kinds`` (the table: which kind a type is, what is inside it),
``walk`` (``leaves``, ``contains``, ``first_match``, ``replace``, ``map_tree``) and ``snapshots``
(``snapshot``). Import the names from here.
"""

from ember.xcs.tree.kinds import (
    ATOMS,
    Kind,
    children,
    data_record,
    frozen_in_slots,
    in_order,
    kind_of,
    slot_names,
)
from ember.xcs.tree.snapshots import copies_shared_objects, snapshot, snapshot_call
from ember.xcs.tree.walk import contains, first_match, leaves, map_tree, replace

__all__ = [
    "ATOMS",
    "Kind",
    "children",
    "contains",
    "copies_shared_objects",
    "data_record",
    "first_match",
    "frozen_in_slots",
    "in_order",
    "kind_of",
    "leaves",
    "map_tree",
    "replace",
    "slot_names",
    "snapshot",
    "snapshot_call",
]
