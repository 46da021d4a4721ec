"""ember.xcs.distributed._connect: connecting within connect_timeout, and naming what answered.

Each peer is a server these tests start on 127.0.0.1: a closed port, a TCP server that
accepts and never answers, an HTTP server that answers anything it receives, and the
standard library's HTTP server (which waits silently for a request line), and a Dask
dashboard.
"""

from __future__ import annotations

import http.server
import socket
import socketserver
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest

from ember.xcs import XCSError
from ember.xcs.distributed import ClusterConnectionError, DaskExecutor, dask_executor


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_peer() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts every connection and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for connection in held:
        connection.close()
    server.close()


class _StrictHttp(socketserver.BaseRequestHandler):
    """Answers like a strict HTTP parser: 200 to a request, 400 to anything else."""

    def handle(self) -> None:
        data = self.request.recv(4096)
        if data.startswith((b"GET ", b"HEAD ")):
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        else:
            self.request.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")


def _serve(server: socketserver.BaseServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"tcp://{host!s}:{port}"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def http_peer() -> Iterator[str]:
    """An HTTP server on 127.0.0.1 that answers whatever it receives."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _StrictHttp)
    server.daemon_threads = True
    yield from _serve(server)


@pytest.fixture
def stdlib_http_peer() -> Iterator[str]:
    """``http.server`` on 127.0.0.1: it waits for a request line, so it looks silent."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             http.server.BaseHTTPRequestHandler)
    server.daemon_threads = True
    yield from _serve(server)


def test_unreachable_scheduler_is_a_clear_error() -> None:
    address = f"tcp://127.0.0.1:{_closed_port()}"
    started = time.monotonic()

    with pytest.raises(ClusterConnectionError) as caught:
        dask_executor(address, connect_timeout=1)

    # Within the timeout, not Dask's default of 30 s (a loaded machine adds seconds).
    assert time.monotonic() - started < 8
    assert isinstance(caught.value, XCSError)
    assert str(caught.value).startswith(
        f"could not reach the Dask scheduler at {address} within 1 s (OSError: ")
    assert "connect_timeout" in str(caught.value)


def test_silent_peer_fails_within_the_connect_timeout(silent_peer: str) -> None:
    started = time.monotonic()

    with pytest.raises(ClusterConnectionError) as caught:
        dask_executor(silent_peer, connect_timeout=2)

    elapsed = time.monotonic() - started
    assert 1.9 < elapsed < 3, f"gave up after {elapsed:.2f} s"
    message = str(caught.value)
    assert f"{silent_peer} did not answer as a Dask scheduler within 2 s" in message
    assert "a process accepted the connection but did not complete Dask's handshake" \
        in message
    assert "connect_timeout" in message
    assert len(message) < 700


def test_http_peer_is_not_a_dask_scheduler(http_peer: str) -> None:
    started = time.monotonic()

    with pytest.raises(ClusterConnectionError) as caught:
        dask_executor(http_peer, connect_timeout=2)

    assert time.monotonic() - started < 3
    message = str(caught.value)
    assert message.startswith(f"{http_peer} is not a Dask scheduler")
    assert "it is an HTTP server, answering 'HTTP/1.1 200 OK'" in message
    assert "port 8786 by default" in message
    assert "MemoryError" not in message and "allocate" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_http_server_waiting_for_a_request_is_named_at_once(stdlib_http_peer: str) -> None:
    started = time.monotonic()

    with pytest.raises(ClusterConnectionError) as caught:
        dask_executor(stdlib_http_peer, connect_timeout=5)

    assert time.monotonic() - started < 3  # not the whole connect_timeout
    message = str(caught.value)
    assert message.startswith(f"{stdlib_http_peer} is not a Dask scheduler")
    assert "it is an HTTP server, answering '<!DOCTYPE HTML>'" in message


def test_the_dashboard_port_is_named_as_an_http_server_at_once() -> None:
    with dask_executor(n_workers=1, processes=False) as local:
        port = local.client.scheduler_info()["services"]["dashboard"]
        address = f"tcp://127.0.0.1:{port}"
        started = time.monotonic()

        with pytest.raises(ClusterConnectionError) as caught:
            dask_executor(address, connect_timeout=5)

        assert time.monotonic() - started < 3  # not the whole connect_timeout
        message = str(caught.value)
        assert message.startswith(f"{address} is not a Dask scheduler")
        assert "it is an HTTP server, answering 'HTTP/1.1 400 Bad Request'" in message
        assert "8787 is its HTTP dashboard" in message


def test_connect_works_from_inside_a_running_event_loop(healthy: DaskExecutor) -> None:
    """The handshake runs on its own loop, so an async caller (a notebook) can connect."""
    import asyncio

    async def connect_from_a_coroutine() -> int:
        with dask_executor(healthy.address, connect_timeout=10) as remote:
            return remote.worker_count()

    assert asyncio.run(connect_from_a_coroutine()) == 2


def test_a_failed_connect_leaves_nothing_to_clean_up_at_exit(silent_peer: str) -> None:
    """No ``Client.__del__`` timeout traceback when the process exits after the error."""
    script = textwrap.dedent(f"""
        import time
        import distributed
        from ember.xcs.distributed import ClusterConnectionError, dask_executor

        started = time.monotonic()
        try:
            dask_executor({silent_peer!r}, connect_timeout=2)
        except ClusterConnectionError as error:
            print(f"{{time.monotonic() - started:.2f}}", flush=True)
        print(time.monotonic(), flush=True)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    exited = time.monotonic()

    assert result.returncode == 0, result.stderr
    elapsed, failed_at = (float(value) for value in result.stdout.split())
    assert elapsed < 3
    assert exited - failed_at < 2.5, "the process lingered after the failed connect"
    assert result.stderr == ""


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1, 0, "2"])
def test_connect_timeout_must_be_a_finite_positive_number(timeout: object) -> None:
    with pytest.raises(XCSError, match="connect_timeout"):
        dask_executor("tcp://127.0.0.1:1", connect_timeout=timeout)  # type: ignore[arg-type]
