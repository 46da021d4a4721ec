"""A loopback model server for tests and examples: OpenAI and Anthropic wire formats.

``LoopbackServer`` listens on 127.0.0.1 (a free port) and answers
``POST /v1/chat/completions`` (OpenAI) and ``POST /v1/messages`` (Anthropic), plain
or streamed (``"stream": true``: OpenAI server-sent ``data:`` chunks ending in
``[DONE]``, with a usage chunk when ``stream_options.include_usage`` is set;
Anthropic ``message_start`` ... ``message_stop`` events), so the real SDK clients can
be exercised offline. Faults can be injected: latency, 429s for the first attempts of
each request, a fixed error status, ``Retry-After`` / ``retry-after-ms`` headers, a
replacement body for successful replies (malformed JSON, a reply without
``choices``), requests that are accepted but never answered, and streams cut short
(closed, or reset, after some events). It counts requests,
outcomes, the most requests in flight at once, the token usage it reported, and
when each request arrived.

Example:
    >>> from ember.models.providers import OpenAIProvider
    >>> with LoopbackServer() as server:
    ...     provider = OpenAIProvider(base_url=server.openai_base_url, api_key="EMPTY")
    ...     reply = provider.complete("openai", "m", "hello", {})
    ...     server.stats().requests, reply.text
    (1, '[loopback m] hello')
"""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ember.models.request import estimate_tokens
from ember.models.response import Usage
from ember.testing._wire import (
    anthropic_body,
    anthropic_events,
    encode,
    error_body,
    openai_body,
    openai_events,
    reply_text,
    request_texts,
)

__all__ = ["LoopbackServer", "LoopbackStats"]

_ARRIVALS_KEPT = 10_000


@dataclass(frozen=True)
class LoopbackStats:
    """What the server has seen since it started (or since ``reset``).

    Attributes:
        requests: requests received, answered or refused.
        succeeded: requests answered with 200.
        rate_limited: requests answered with 429 (``rate_limit_first``).
        failed: requests answered with the configured error status (or 400/404).
        max_in_flight: the most requests being handled at the same time.
        usage: the token usage the server reported in its 200 replies.
        streamed: successful requests answered as a stream.
        arrivals: ``time.monotonic()`` of each request's arrival, oldest first (the
            last 10,000).
    """

    requests: int
    succeeded: int
    rate_limited: int
    failed: int
    max_in_flight: int
    usage: Usage
    streamed: int = 0
    arrivals: tuple[float, ...] = ()


@dataclass
class _Reply:
    """One answer: a status, headers, and a body sent whole or as a stream of events."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    events: list[bytes] | None = None
    event_delay: float = 0.0
    reset: bool = False  # end the stream with a TCP reset instead of a clean close


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 speaking the OpenAI and Anthropic formats.

    The reply to a request is deterministic: the model name and the start of the last
    user message, or one of the options of an "Answer with one of:" instruction.
    Streamed replies send the same text word by word. Settings can be changed while
    the server runs.

    Args:
        latency: seconds added to every request (before it is answered).
        rate_limit_first: the first this-many attempts of each distinct request
            (same path and body) get 429.
        error_status: when set, every request gets this HTTP status (e.g. 500, 503).
        retry_after: when set, 429 and 5xx replies carry ``Retry-After`` with this
            value (seconds, or an HTTP date as a str).
        retry_after_ms: when set, 429 and 5xx replies carry ``retry-after-ms``.
        reply_body: when set, successful replies carry exactly these bytes instead of
            a completion (``b"not json"``, ``b"{}"``; for streams, raw event bytes).
        never_answer: accept each request, read it, and never reply (until ``stop``).
        chunk_delay: seconds between the events of a streamed reply.
        cut_streams: how many of the next streamed replies are cut short: each sends
            its first ``cut_after`` events, then the connection ends.
        cut_after: events a cut stream sends before it ends.
        cut_with_reset: end a cut stream with a TCP reset (``ECONNRESET`` for the
            client) instead of a clean close (the reply just stops).

    Attributes:
        url: ``http://127.0.0.1:<port>``.
        openai_base_url: ``url + "/v1"``, for ``openai.OpenAI(base_url=...)``.
        anthropic_base_url: ``url``, for ``anthropic.Anthropic(base_url=...)``.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        rate_limit_first: int = 0,
        error_status: int | None = None,
        retry_after: float | str | None = None,
        retry_after_ms: float | None = None,
        reply_body: bytes | None = None,
        never_answer: bool = False,
        chunk_delay: float = 0.0,
        cut_streams: int = 0,
        cut_after: int = 0,
        cut_with_reset: bool = False,
    ) -> None:
        self.latency = latency
        self.rate_limit_first = rate_limit_first
        self.error_status = error_status
        self.retry_after = retry_after
        self.retry_after_ms = retry_after_ms
        self.reply_body = reply_body
        self.never_answer = never_answer
        self.chunk_delay = chunk_delay
        self.cut_streams = cut_streams
        self.cut_after = cut_after
        self.cut_with_reset = cut_with_reset
        # One lock guards every counter below; handler threads update them.
        self._lock = threading.Lock()
        self._attempts: dict[str, int] = {}
        self._in_flight = 0
        self._counts = dict.fromkeys(
            ("requests", "succeeded", "rate_limited", "failed", "streamed"), 0
        )
        self._max_in_flight = 0
        self._usage = Usage()
        self._arrivals: list[float] = []
        # Set on stop: releases handlers that hold a request without answering.
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The server's base URL (only while it runs)."""
        if self._server is None:
            raise RuntimeError("LoopbackServer is not running; call start() or use 'with'.")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_base_url(self) -> str:
        """Base URL for OpenAI clients."""
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """Base URL for Anthropic clients."""
        return self.url

    def start(self) -> LoopbackServer:
        """Bind a free port on 127.0.0.1 and serve in a background thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self), bind_and_activate=False)
        server.daemon_threads = True
        server.request_queue_size = 256
        server.server_bind()
        server.server_activate()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (waits for the serving thread)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stats(self) -> LoopbackStats:
        """A snapshot of the counters."""
        with self._lock:
            return LoopbackStats(
                max_in_flight=self._max_in_flight,
                usage=self._usage,
                arrivals=tuple(self._arrivals),
                **self._counts,
            )

    def reset(self) -> None:
        """Zero the counters and forget which requests were rate-limited."""
        with self._lock:
            self._attempts.clear()
            self._counts = dict.fromkeys(self._counts, 0)
            self._max_in_flight = 0
            self._usage = Usage()
            self._arrivals.clear()

    def _enter(self, key: str) -> int:
        with self._lock:
            self._counts["requests"] += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            self._arrivals.append(time.monotonic())
            del self._arrivals[:-_ARRIVALS_KEPT]
            self._attempts[key] = self._attempts.get(key, 0) + 1
            return self._attempts[key]

    def _leave(self, outcome: str, usage: Usage | None, streamed: bool = False) -> None:
        with self._lock:
            self._in_flight -= 1
            self._counts[outcome] += 1
            if streamed:
                self._counts["streamed"] += 1
            if usage is not None:
                self._usage = self._usage + usage

    def _hold(self) -> None:
        """Keep a request unanswered until the server stops (``never_answer``)."""
        self._stopping.wait()

    def _handle(self, path: str, body: bytes) -> _Reply | None:
        """Answer one request (``None``: answer nothing). Runs in a handler thread."""
        anthropic_format = path.rstrip("/").endswith("/messages")
        attempt = self._enter(path + "\0" + hashlib.sha256(body).hexdigest())
        outcome, usage, streamed = "failed", None, False
        try:
            if self.never_answer:
                self._hold()
                return None
            if self.latency > 0:
                time.sleep(self.latency)
            if attempt <= self.rate_limit_first:
                outcome = "rate_limited"
                return self._refusal(anthropic_format, 429, "rate limited by LoopbackServer")
            if self.error_status is not None:
                return self._refusal(
                    anthropic_format, self.error_status, "error injected by LoopbackServer"
                )
            try:
                request = json.loads(body)
                model = str(request["model"])
                texts = request_texts(request)
            except (ValueError, KeyError, TypeError) as problem:
                return _Reply(
                    400, encode(error_body(anthropic_format, 400, f"bad request: {problem!r}"))
                )
            stream = request.get("stream") is True
            text = reply_text(model, texts)
            usage = Usage.of(estimate_tokens("\n".join(texts)), estimate_tokens(text))
            outcome, streamed = "succeeded", stream
            if self.reply_body is not None:
                kind = "text/event-stream" if stream else "application/json"
                return _Reply(200, self.reply_body, kind)
            if not stream:
                body_of = anthropic_body if anthropic_format else openai_body
                return _Reply(200, encode(body_of(model, text, usage)))
            if anthropic_format:
                events = list(anthropic_events(model, text, usage))
            else:
                options = request.get("stream_options") or {}
                with_usage = isinstance(options, dict) and options.get("include_usage") is True
                events = list(openai_events(model, text, usage if with_usage else None))
            reset = False
            with self._lock:
                cut, self.cut_streams = self.cut_streams > 0, max(self.cut_streams - 1, 0)
            if cut:
                events, reset = events[: self.cut_after], self.cut_with_reset
                outcome, usage = "failed", None
            return _Reply(200, content_type="text/event-stream", events=events,
                          event_delay=self.chunk_delay, reset=reset)
        finally:
            self._leave(outcome, usage, streamed)

    def _refusal(self, anthropic_format: bool, status: int, message: str) -> _Reply:
        headers = {}
        if status == 429 or status >= 500:
            if self.retry_after is not None:
                headers["Retry-After"] = str(self.retry_after)
            if self.retry_after_ms is not None:
                headers["retry-after-ms"] = str(self.retry_after_ms)
        body = encode(error_body(anthropic_format, status, message))
        return _Reply(status, body, headers=headers)


def _handler_for(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            reply: _Reply | None
            if self.path.rstrip("/").endswith(("/chat/completions", "/messages")):
                reply = server._handle(self.path, body)
            else:
                reply = _Reply(404, encode(error_body(False, 404, f"no route {self.path}")))
            if reply is None:
                self.close_connection = True
                return
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.events is None:
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
                return
            # A stream: no length; the connection closes after the last event.
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for index, event in enumerate(reply.events):
                if index and reply.event_delay > 0:
                    time.sleep(reply.event_delay)
                self.wfile.write(event)
                self.wfile.flush()
            if reply.reset:  # a zero linger time: closing sends RST, not FIN
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()

        def log_message(self, format: str, *args: Any) -> None:
            """Stay quiet: tests and examples print their own output."""

    return Handler
