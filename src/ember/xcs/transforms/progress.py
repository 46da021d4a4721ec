"""Progress bars for batched transforms: ``Config(progress=True)`` shows a tqdm bar.

The bar is a hook (``on_node_end`` / ``on_node_error``) added to the runner's config
for one call, so it counts finished items on every executor (threads, processes,
Dask), in the process that scheduled them. Off by default.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ember.xcs.config import Config
from ember.xcs.errors import XCSError

__all__ = ["ProgressHook", "progress_config"]


class ProgressHook:
    """Advances a tqdm bar by one for every node that finishes (or fails).

    Args:
        bar: a ``tqdm`` instance (anything with ``update(n)``).
    """

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self._lock = threading.Lock()  # tqdm updates come from worker threads

    def on_node_end(self, event: Any) -> None:
        with self._lock:
            self.bar.update(1)

    def on_node_error(self, event: Any) -> None:
        with self._lock:
            self.bar.update(1)


@contextmanager
def progress_config(config: Config, total: int, description: str,
                    unit: str = "item") -> Iterator[Config]:
    """``config`` itself, or (with ``config.progress``) a copy whose hooks drive a bar.

    Args:
        config: the transform's configuration.
        total: how many nodes the bar counts.
        description: the bar's label.
        unit: what one node is (``"item"``, ``"shard"``).

    Yields:
        The configuration to run with; the bar closes when the block ends.

    Raises:
        XCSError: ``progress=True`` but tqdm is not installed.
    """
    if not config.progress:
        yield config
        return
    try:
        from tqdm.auto import tqdm
    except ImportError as error:
        raise XCSError(
            "Config(progress=True) needs tqdm, which is not installed. Install the extra: "
            "pip install 'ember-xcs[progress]'"
        ) from error
    bar = tqdm(total=total, desc=description, unit=unit)
    try:
        yield config.replace(hooks=(*config.hooks, ProgressHook(bar)))
    finally:
        bar.close()
