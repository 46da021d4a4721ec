"""``Ordering``: in-place changes of op results happen in program order.

Per *root* (an op result whose objects later values may share, see ``tracing.lazy``)
an ordering remembers the last task that may change it and the tasks that read it
since. A new task waits for the last change of every root it uses; a task that may
change a root also waits for every read since, so no earlier read sees the change and
no later one misses it. Before the glue gets a mutable value, the changes issued after
the value and the ops still reading it are waited for (``pending``). Shared objects
of the user's own classes that running ops hold are in ``holders``
(``tracing.holding``), what the glue's stores replaced in ``stores``
(``tracing.stores``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ember.xcs.ir.graph import NodeKind
from ember.xcs.tracing.files import PathIndex
from ember.xcs.tracing.holding import Holders
from ember.xcs.tracing.stores import StoreLog

if TYPE_CHECKING:
    from ember.xcs.engine.task import Task

__all__ = ["Ordering"]


class Ordering:
    """The changes and reads of one call, per root task (owned by its ``Trace``)."""

    __slots__ = ("given", "holders", "paths", "reads", "settled", "stores", "writes")

    def __init__(self) -> None:
        self.given: set[Task] = set()  # ops handed copies of the caller's containers
        self.holders = Holders()
        self.stores = StoreLog()  # what the glue's stores replaced (tracing.stores)
        self.writes: dict[Task, Task] = {}  # root -> the last task that may change it
        self.reads: dict[Task, list[Task]] = {}  # root -> tasks that read it since
        # root -> how many of its first reads are final (final is for good): open_reads
        # starts there, so a long run of reads of one root is not scanned again each time.
        self.settled: dict[Task, int] = {}
        self.paths = PathIndex()  # the paths the op calls were given (tracing.files)

    def waits_for(self, inputs: list[Task], roots: list[Task], mutates: bool
                  ) -> tuple[Task, ...]:
        """The tasks a new task with these inputs and roots must wait for."""
        deps = list(inputs)
        writes, reads = self.writes, self.reads
        for root in roots:
            write = writes.get(root)
            if write is not None:
                deps.append(write)
            if mutates:
                deps.extend(reads.get(root, ()))
        return tuple(dict.fromkeys(deps))

    def note(self, task: Task, roots: list[Task], mutates: bool) -> None:
        """Remember that ``task`` reads (or, if ``mutates``, may change) ``roots``."""
        writes, reads = self.writes, self.reads
        for root in roots:
            if mutates:
                writes[root] = task
                reads[root] = []
                self.settled.pop(root, None)
            else:
                reads.setdefault(root, []).append(task)

    def later_changes(self, task: Task, roots: tuple[Task, ...]) -> list[Task]:
        """Changes of ``roots`` issued after ``task``: its value is final after them."""
        found = []
        for root in roots:
            write = self.writes.get(root)
            if write is not None and write.id > task.id:
                found.append(write)
        return found

    def open_reads(self, roots: tuple[Task, ...]) -> list[Task]:
        """Ops still reading ``roots``: the glue may change a mutable value only after."""
        found = []
        for root in roots:
            readers = self.reads.get(root)
            if not readers:
                continue
            start = self.settled.get(root, 0)
            while start < len(readers) and readers[start].final:
                start += 1
            self.settled[root] = start
            found += [reader for reader in readers[start:]
                      if not reader.final and reader.kind is not NodeKind.LIFTED]
        return found

    def pending(self, task: Task, roots: tuple[Task, ...]) -> list[Task]:
        """Every task to wait for before the value of ``task`` may be handed over."""
        found = [write for write in self.later_changes(task, roots) if not write.final]
        found += self.open_reads(roots)
        if not task.final:
            found.append(task)
        return found

    def gives_back(self, task: Task, copied: list[tuple[Any, Any]]) -> None:
        """``task``'s body got these copies of the caller's containers: handing one back
        gives the caller's own object (``engine.arguments.originals``)."""
        task.copied = copied
        self.given.add(task)

    def may_be_callers(self, roots: tuple[Task, ...]) -> bool:
        """Whether a value with these roots may be an object of the caller's: a change
        to it then happens now, in program order (the glue may read that object)."""
        given = self.given
        return bool(given) and any(root in given for root in roots)
