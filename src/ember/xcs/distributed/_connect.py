"""Connecting a ``distributed.Client`` within one deadline, with errors that say what answered.

Dask's own ``Client(address, timeout=...)`` bounds the TCP connect but not the handshake
that follows it: a peer that accepts the connection and never speaks keeps the caller
waiting for minutes, and a peer that answers in another protocol (an HTTP server) has
its reply read as a Dask frame length, which surfaces as a ``MemoryError`` for an
exabyte-sized buffer. So before a ``Client`` is made, ``connect_client`` runs Dask's
handshake once on a private event loop under the caller's deadline and classifies what
happened; only a peer that completed the handshake gets a ``Client``, with the time
that is left. A failure never leaves a half-made ``Client`` behind (whose ``__del__``
would print a timeout traceback at interpreter exit).

An HTTP server (Dask's dashboard port) neither answers Dask's handshake nor fails it:
it waits for the end of a request. A peer that has not finished the handshake after a
moment is therefore asked, on a connection of its own, whether it is one
(``_http_reply``), so that the dashboard port is named as such at once rather than
reported silent at the deadline.
"""

from __future__ import annotations

import importlib
import threading
import time
import types
from typing import Any

from ember.xcs.distributed._errors import ClusterConnectionError

__all__ = ["connect_client"]

_HINT = ("Check that `dask scheduler` runs there and that the address and port are "
         "reachable from this machine (firewall, tcp:// prefix; the scheduler listens on "
         "port 8786 by default, its HTTP dashboard on 8787)")
_TCP_SHARE = 0.85  # of connect_timeout, for Dask's TCP connect retries
_REPLY_PREVIEW = 60  # characters of a non-Dask peer's reply quoted in the message
_PROBE_AFTER = 0.5  # seconds (at most a quarter of connect_timeout) before asking if HTTP
# Five bytes that end an HTTP request (a malformed one, which HTTP servers answer with
# 400 at once). A Dask scheduler reads its peer's first eight bytes as a frame length,
# so fewer than eight can never be taken for one.
_HTTP_PROBE = b"GET\n\n"


def connect_client(distributed: types.ModuleType, target: Any, timeout: float) -> Any:
    """A ``distributed.Client`` for ``target``, made within ``timeout`` seconds in all.

    Args:
        distributed: the imported ``distributed`` module.
        target: a scheduler address (``"tcp://host:8786"``) or a ``LocalCluster``.
        timeout: seconds for the whole connect, handshake included.

    Returns:
        A connected client (not set as Dask's default client).

    Raises:
        ClusterConnectionError: nothing answered at the address, the peer stayed silent,
            or it answered but is not a Dask scheduler; the message says which.
    """
    deadline = time.monotonic() + timeout
    if isinstance(target, str):
        _check_handshake(target, timeout)
    where = target if isinstance(target, str) else getattr(target, "scheduler_address", target)
    left = max(deadline - time.monotonic(), 0.001)
    try:
        return distributed.Client(target, timeout=left, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterConnectionError(
            f"could not reach the Dask scheduler at {where} within {timeout:g} s "
            f"({type(error).__name__}: {error}). {_HINT}, or pass a larger connect_timeout."
        ) from error


def _check_handshake(address: str, timeout: float) -> None:
    """Run Dask's connection handshake with ``address`` once, within ``timeout`` seconds.

    The handshake runs on its own event loop in a helper thread, so this works from
    code that is itself running on an event loop (a notebook cell, an async service).
    """
    outcome: list[BaseException | None] = []
    helper = threading.Thread(target=lambda: outcome.append(_handshake_outcome(address, timeout)),
                              name="ember-xcs-dask-connect", daemon=True)
    started = time.monotonic()
    helper.start()
    # The helper's loop gives up at the deadline; the margin only covers its clean-up.
    helper.join(timeout + 1.0)
    error = outcome[0] if outcome else _Silent()
    if error is None:
        return
    elapsed = time.monotonic() - started
    if isinstance(error, _Silent):
        raise ClusterConnectionError(
            f"{address} did not answer as a Dask scheduler within {timeout:g} s "
            f"(connect_timeout): a process accepted the connection but did not complete "
            f"Dask's handshake in {elapsed:.1f} s. It is a hung scheduler, or a service that "
            "is not a Dask scheduler (an HTTP server, for example, waits silently for a "
            f"request). {_HINT}, or pass a larger connect_timeout."
        ) from None
    if isinstance(error, OSError | ValueError):
        raise ClusterConnectionError(
            f"could not reach the Dask scheduler at {address} within {timeout:g} s "
            f"({type(error).__name__}: {error}). {_HINT}, or pass a larger connect_timeout."
        ) from error
    if isinstance(error, _HttpServer):
        what = f"did not speak Dask's protocol{_http_description(error.reply)}"
    else:
        left = max(timeout - elapsed, 0.0)
        what = f"its reply is not Dask's protocol{_describe_peer(address, left)}"
    raise ClusterConnectionError(
        f"{address} is not a Dask scheduler: it accepted the connection but {what}. Pass "
        "the scheduler's own address (`dask scheduler` prints it; port 8786 by default, "
        "while 8787 is its HTTP dashboard)."
    ) from None


class _Silent(Exception):
    """Marks a handshake that did not finish before the deadline."""


class _HttpServer(Exception):
    """Marks a peer that answered ``_HTTP_PROBE`` as an HTTP server does."""

    def __init__(self, reply: bytes) -> None:
        super().__init__(reply)
        self.reply = reply


def _handshake_outcome(address: str, timeout: float) -> BaseException | None:
    """``None`` after a complete Dask handshake, else what went wrong (``_Silent`` on time)."""
    import asyncio  # here, not at import: asyncio costs tens of milliseconds

    try:
        return asyncio.run(_handshake(address, timeout))
    except BaseException as error:  # reported to the caller, never lost in this thread
        return error


async def _handshake(address: str, timeout: float) -> BaseException | None:
    import asyncio

    comms: Any = importlib.import_module("distributed.comm")

    async def shake() -> None:
        # Dask retries the TCP connect until its own timeout and then raises OSError;
        # ending those retries a little before our deadline makes "nothing listens"
        # and "accepted but silent" two distinct outcomes instead of a race.
        comm = await comms.connect(address, timeout=timeout * _TCP_SHARE)
        await comm.close()

    # asyncio.wait rather than wait_for: on 3.11 TimeoutError is an OSError, and Dask
    # raises OSError for refused connections; the deadline must not look like either.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    task = asyncio.ensure_future(shake())
    probe = asyncio.ensure_future(_http_reply(address, timeout))
    pending: set[asyncio.Future[Any]] = {task, probe}
    while task in pending and not _answer(probe) and (left := deadline - loop.time()) > 0:
        _, pending = await asyncio.wait(pending, timeout=left,
                                        return_when=asyncio.FIRST_COMPLETED)
    for waiting in pending:
        waiting.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if task.done() and not task.cancelled():
        return task.exception()
    reply = _answer(probe)
    return _HttpServer(reply) if reply else _Silent()


def _answer(probe: Any) -> bytes:
    """The HTTP reply ``_http_reply`` got, once it has finished; else ``b""``."""
    if not probe.done() or probe.cancelled() or probe.exception() is not None:
        return b""
    return bytes(probe.result())


async def _http_reply(address: str, timeout: float) -> bytes:
    """What the peer answers to ``_HTTP_PROBE`` if it is an HTTP server, else ``b""``.

    Starts only after a moment in which a Dask scheduler would have finished the
    handshake (it is cancelled then, so a healthy scheduler never sees this
    connection), and asks only a peer that stays silent: a scheduler speaks first,
    an HTTP server waits for a request.
    """
    import asyncio

    await asyncio.sleep(min(_PROBE_AFTER, timeout / 4))
    target = _host_port(address)
    if target is None:
        return b""
    try:
        reader, writer = await asyncio.open_connection(*target)
    except OSError:
        return b""
    try:
        try:
            if await asyncio.wait_for(reader.read(1), min(_PROBE_AFTER, timeout / 4)):
                return b""  # it speaks first: not an HTTP server
        except TimeoutError:
            pass
        writer.write(_HTTP_PROBE)
        reply = await reader.read(256)
    except OSError:
        return b""
    finally:
        writer.close()
    return reply if _http_description(reply) else b""


def _host_port(address: str) -> tuple[str, int] | None:
    from urllib.parse import urlsplit  # with socket: only for failures (import time)

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.hostname is None or parts.port is None:
        return None
    return parts.hostname, parts.port


def _describe_peer(address: str, seconds: float) -> str:
    """What the peer answers to an HTTP request, as a parenthesis for the message.

    Only called once the peer is known not to speak Dask, so the request cannot confuse
    a scheduler. Empty when it answers nothing readable within ``seconds``.
    """
    import socket

    target = _host_port(address)
    if target is None or seconds <= 0:
        return ""
    host, _ = target
    try:
        with socket.create_connection(target, timeout=seconds) as peer:
            peer.sendall(b"HEAD / HTTP/1.0\r\nHost: " + host.encode() + b"\r\n\r\n")
            reply = peer.recv(256)
    except (OSError, UnicodeError):
        return ""
    described = _http_description(reply)
    if described:
        return described
    first = reply.split(b"\r\n", 1)[0][:_REPLY_PREVIEW].decode("ascii", "replace")
    if first and first.isprintable():
        return f" (to an HTTP request it answered {first!r})"
    return ""


def _http_description(reply: bytes) -> str:
    """`` (it is an HTTP server, ...)`` when ``reply`` is an HTTP server's, else ``""``:
    a status line, or a bare HTML page (the answer to an HTTP/0.9-style request)."""
    first = reply.lstrip().split(b"\n", 1)[0].rstrip(b"\r")
    if not first.startswith(b"HTTP/") and not first.lower().startswith((b"<!doctype html",
                                                                       b"<html")):
        return ""
    shown = first[:_REPLY_PREVIEW].decode("ascii", "replace")
    return f" (it is an HTTP server, answering {shown!r}: a dashboard or web service port?)"
