"""Ops that must run at their call: given an iterator, an object tied to a thread, or a
random generator an earlier op still holds (see ``generators``).

An op the glue does not wait for runs on a worker thread. Some objects refuse to be used
on any thread but the one that made them: a ``sqlite3`` connection (and its cursors and
blobs) made with the default ``check_same_thread=True`` raises ``ProgrammingError: SQLite
objects created in a thread can only be used in that same thread``. In plain Python the
op ran on the glue's thread, so a tool op given the glue's connection
(``count_rows(con)``), or reading one from a module global (``DB.execute(...)`` in its
body), worked. Such an op runs at its call, on the glue's thread, as an op given an
iterator of the glue's does (``handover.hands_over_iterator``); ``explain`` lists it as
``eager op (thread-bound object)``. In ``async def`` glue it runs on the loop's thread,
as in plain Python (the loop waits for it, as it would); an ``async def`` op still runs
on the engine's loop, on another thread.

The object is found as an argument, an item of a list, tuple or dict argument, an
attribute of an argument of the user's class (``tool(ctx)`` with ``ctx.db``) or of the
object of an op method (``self.db``), or a global (or a module's attribute) or a
variable of an enclosing function the op's own code reads.

Example:
    >>> import sqlite3
    >>> from ember.xcs.ops import Op
    >>> def count(con):
    ...     return con.execute("select 1").fetchone()[0]
    >>> con = sqlite3.connect(":memory:")
    >>> eager_reason_of(Op(count), (con,), {}), eager_reason_of(Op(count), (1,), {})
    ('thread-bound object', None)
"""

from __future__ import annotations

import sys
import types
from typing import Any

from ember.xcs import tree
from ember.xcs.op_runs import UNRESOLVED
from ember.xcs.tracing.generators import generator_classes, generators_in
from ember.xcs.tracing.handover import hands_over_iterator
from ember.xcs.tracing.holding import settle
from ember.xcs.tracing.lazy import Lazy
from ember.xcs.tracing.reads import code_owner, global_reads
from ember.xcs.tree.kinds import record_items

__all__ = ["BOUND", "GENERATOR", "eager_reason_of"]

BOUND = "thread-bound object"  # the reasons, in explain
GENERATOR = "random generator"

_ITEMS = (list, tuple, dict)
_modules = sys.modules


def eager_reason_of(op: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                    trace: Any = None) -> str | None:
    """Why a call of ``op`` with these arguments must run at its call (``None``: it need
    not, for what it is given). Given a random generator an op of ``trace`` still
    holds, it first waits for that op (see ``generators``)."""
    if hands_over_iterator(args, kwargs):
        return "iterator"
    if trace is not None and trace.ordering.holders.generators and not (
            op.is_coroutine and trace.asynchronous) and _after_shared_generator(
            trace, (*args, *kwargs.values()) if kwargs else args):
        return GENERATOR  # (an async op in async glue runs once awaited: shares_objects)
    # No connection exists before sqlite3 is imported (or while another thread imports
    # it: its attributes are read with a default).
    sqlite3 = _modules.get("sqlite3")
    if sqlite3 is None:
        return None
    atoms = tree.ATOMS
    given = []
    for value in (*args, *kwargs.values()) if kwargs else args:
        if type(value) not in atoms and type(value) is not Lazy:
            given.append(value)
    fn = op.fn
    if type(fn) is not types.FunctionType:  # an op method's object, a leaf Operator
        owner = getattr(fn, "__self__", None)
        if owner is not None:
            given.append(owner)
    read = _globals_of(op)
    if not given and not read:  # the common case: literals and op results, no globals
        return None
    connection = getattr(sqlite3, "Connection", None)
    if connection is None:
        return None
    bound = (connection, getattr(sqlite3, "Cursor", connection),
             getattr(sqlite3, "Blob", connection))  # (Blob from 3.11)
    if any(_reaches(value, bound) for value in given) or any(
            type(value) is not Lazy and isinstance(value, bound) for value in read):
        return BOUND
    return None


def _after_shared_generator(trace: Any, given: tuple[Any, ...]) -> bool:
    """Whether ``given`` holds a random generator an op still running holds; if so,
    once those ops have ended (their draws come first, as in plain Python)."""
    classes = generator_classes()
    holders = trace.ordering.holders
    shared = [generator for value in given for generator in generators_in(value, classes)
              if holders.unfinished(generator)]
    for generator in shared:
        settle(trace, generator)
    return bool(shared)


def _reaches(value: Any, bound: tuple[type, ...]) -> bool:
    """Whether ``value``, its items (a list, tuple or dict) or its attributes (an object
    of the user's) are objects of the ``bound`` classes."""
    cls = type(value)
    if cls in tree.ATOMS or cls is Lazy:
        return False
    if isinstance(value, bound):
        return True
    if cls in _ITEMS:
        items = value.values() if cls is dict else value
        return any(issubclass(kind, bound) for kind in set(map(type, items)))  # C loops
    if tree.kind_of(value) is tree.Kind.RECORD:
        return any(isinstance(item, bound) for _, item in record_items(value))
    return False


def _globals_of(op: Any) -> list[Any]:
    """The values of the globals (and modules' attributes) the op's own code reads, and
    of the variables of enclosing functions it reads (an op defined in the glue)."""
    fn = op.fn
    closure = fn.__closure__ if type(fn) is types.FunctionType \
        else getattr(code_owner(fn), "__closure__", None)
    reads = op.globals_read
    if reads is UNRESOLVED:
        reads = op.globals_read = global_reads(fn)
    if reads is None and not closure:
        return []
    values = []
    for cell in closure or ():
        try:
            values.append(cell.cell_contents)
        except ValueError:  # not bound yet
            continue
    if reads is None:
        return values
    namespace, names = reads
    for read in names:
        if type(read) is tuple:
            module = namespace.get(read[0])
            if type(module) is types.ModuleType:
                values.append(getattr(module, read[1], None))
        else:
            values.append(namespace.get(read))
    return values
