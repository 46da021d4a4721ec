"""A timeout around a synchronous body: it runs in a helper thread that is abandoned.

Python cannot stop a thread, so a body that overruns its ``timeout`` runs to its end in
the background and its outcome is dropped (``policies`` uses it for ``op(timeout=...)``).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["call_with_timeout"]


def call_with_timeout(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                      timeout: float, error: Callable[[], BaseException]) -> Any:
    """Run ``fn`` in a helper thread; wait at most ``timeout`` seconds for it.

    The helper runs in a copy of this thread's ``contextvars`` context. On timeout the
    helper is abandoned (Python cannot stop a thread): it runs to its end in the
    background and its outcome is dropped.

    Raises:
        What ``fn`` raised, or ``error()`` on timeout.
    """
    finished = threading.Event()
    outcome: list[Any] = []
    context = contextvars.copy_context()

    def target() -> None:
        try:
            outcome.append((True, context.run(fn, *args, **kwargs)))
        except BaseException as caught:
            outcome.append((False, caught))
        finally:
            finished.set()

    name = getattr(fn, "__name__", "op")
    threading.Thread(target=target, name=f"ember-xcs-timeout-{name}", daemon=True).start()
    if not finished.wait(timeout):
        raise error()
    ok, value = outcome[0]
    if ok:
        return value
    raise value
