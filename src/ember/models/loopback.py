"""A loopback model server for tests and examples: OpenAI and Anthropic wire formats.

``LoopbackServer`` listens on 127.0.0.1 (a free port) and answers
``POST /v1/chat/completions`` (OpenAI) and ``POST /v1/messages`` (Anthropic) so the
real SDK clients can be exercised offline. It can add latency, answer the first N
attempts of each distinct request with 429, answer everything with a fixed error
status, and it counts requests, the most requests in flight at once, and the token
usage it reported.

Example:
    >>> from ember.models.providers import OpenAIProvider
    >>> with LoopbackServer() as server:
    ...     provider = OpenAIProvider(base_url=server.openai_base_url, api_key="EMPTY")
    ...     reply = provider.complete("openai", "m", "hello", {})
    ...     server.stats().requests
    1
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ember.models.choices import offered_options, pick
from ember.models.request import estimate_tokens
from ember.models.response import Usage

__all__ = ["LoopbackServer", "LoopbackStats"]


@dataclass(frozen=True)
class LoopbackStats:
    """What the server has seen since it started (or since ``reset``).

    Attributes:
        requests: requests received, answered or refused.
        succeeded: requests answered with 200.
        rate_limited: requests answered with 429.
        failed: requests answered with the configured error status.
        max_in_flight: the most requests being handled at the same time.
        usage: the token usage the server reported in its 200 replies.
    """

    requests: int
    succeeded: int
    rate_limited: int
    failed: int
    max_in_flight: int
    usage: Usage


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 speaking the OpenAI and Anthropic formats.

    The reply to a request is deterministic: the model name and the start of the last
    user message, or one of the options of an "Answer with one of:" instruction.
    Settings can be changed while the server runs.

    Args:
        latency: seconds added to every request.
        rate_limit_first: the first this-many attempts of each distinct request
            (same path and body) get 429.
        error_status: when set, every request gets this HTTP status (e.g. 500).

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
    ) -> None:
        self.latency = latency
        self.rate_limit_first = rate_limit_first
        self.error_status = error_status
        # One lock guards every counter below; handler threads update them.
        self._lock = threading.Lock()
        self._attempts: dict[str, int] = {}
        self._in_flight = 0
        self._counts = {"requests": 0, "succeeded": 0, "rate_limited": 0, "failed": 0}
        self._max_in_flight = 0
        self._usage = Usage()
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
                max_in_flight=self._max_in_flight, usage=self._usage, **self._counts
            )

    def reset(self) -> None:
        """Zero the counters and forget which requests were rate-limited."""
        with self._lock:
            self._attempts.clear()
            self._counts = dict.fromkeys(self._counts, 0)
            self._max_in_flight = 0
            self._usage = Usage()

    def _enter(self, key: str) -> int:
        with self._lock:
            self._counts["requests"] += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            self._attempts[key] = self._attempts.get(key, 0) + 1
            return self._attempts[key]

    def _leave(self, outcome: str, usage: Usage | None) -> None:
        with self._lock:
            self._in_flight -= 1
            self._counts[outcome] += 1
            if usage is not None:
                self._usage = self._usage + usage

    def _handle(self, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """Answer one request: (status, JSON body). Runs in a handler thread."""
        anthropic_format = path.rstrip("/").endswith("/messages")
        attempt = self._enter(path + "\0" + hashlib.sha256(body).hexdigest())
        outcome, usage = "failed", None
        try:
            if self.latency > 0:
                time.sleep(self.latency)
            if attempt <= self.rate_limit_first:
                outcome = "rate_limited"
                return 429, _error(anthropic_format, 429, "rate limited by LoopbackServer")
            if self.error_status is not None:
                return self.error_status, _error(
                    anthropic_format, self.error_status, "error injected by LoopbackServer"
                )
            try:
                request = json.loads(body)
                model = str(request["model"])
                texts = _texts(request)
            except (ValueError, KeyError, TypeError) as problem:
                return 400, _error(anthropic_format, 400, f"bad request: {problem!r}")
            text = _reply(model, texts)
            usage = Usage.of(estimate_tokens("\n".join(texts)), estimate_tokens(text))
            outcome = "succeeded"
            if anthropic_format:
                return 200, _anthropic_body(model, text, usage)
            return 200, _openai_body(model, text, usage)
        finally:
            self._leave(outcome, usage)


def _texts(request: dict[str, Any]) -> list[str]:
    texts = [str(request["system"])] if isinstance(request.get("system"), str) else []
    for message in request["messages"]:
        content = message["content"]
        if isinstance(content, list):
            texts.extend(str(part.get("text", "")) for part in content)
        else:
            texts.append(str(content))
    return texts


def _reply(model: str, texts: list[str]) -> str:
    last = texts[-1] if texts else ""
    options = offered_options(last)
    if options:
        return pick(options, "loopback", model, texts)
    return f"[loopback {model}] {' '.join(last.split())[:60]}"


def _openai_body(model: str, text: str, usage: Usage) -> dict[str, Any]:
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        },
    }


def _anthropic_body(model: str, text: str, usage: Usage) -> dict[str, Any]:
    return {
        "id": "msg_loopback",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens},
    }


def _error(anthropic_format: bool, status: int, message: str) -> dict[str, Any]:
    kind = {400: "invalid_request_error", 429: "rate_limit_error"}.get(status, "api_error")
    if anthropic_format:
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "code": str(status)}}


def _handler_for(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if self.path.rstrip("/").endswith(("/chat/completions", "/messages")):
                status, payload = server._handle(self.path, body)
            else:
                status, payload = 404, _error(False, 404, f"no route {self.path}")
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Stay quiet: tests and examples print their own output."""

    return Handler
