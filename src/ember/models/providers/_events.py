"""Reading the events of one streamed reply from an SDK stream, sync or async.

Two faults would otherwise pass unnoticed or unexplained:

- The connection breaks mid-stream. Some SDK versions wrap transport errors only while
  sending the request; once the stream is being read, the HTTP library's own error (a
  ``RemoteProtocolError`` or ``ReadError``) escapes. It becomes the SDK's
  ``APIConnectionError``, as the same fault raises for a request that is not streamed,
  so the retry policy knows it (a stream is retried only before its first chunk), and
  its message says how much of the reply had arrived.
- The connection closes cleanly before the reply is finished. The SDK's iterator then
  just ends, and the reply would look complete but be cut short. The reader knows
  whether the server said the reply was done (OpenAI: a ``finish_reason`` or the usage
  chunk; Anthropic: ``message_stop`` or a ``stop_reason``); if not, the stream raises
  ``APIConnectionError`` too.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator, Iterator
from types import ModuleType
from typing import Any, Protocol

from ember.models.response import Usage

__all__ = ["StreamReader", "aread_events", "read_events"]


class StreamReader(Protocol):
    """Turns the events of one streamed reply into text, then the usage."""

    ended: bool
    """Whether an event said the reply is complete."""

    marker: str
    """What says so, for the error when it never came (``"a finish_reason"``)."""

    def feed(self, event: Any) -> str | None:
        """The text one event carries (``None`` when it carries none)."""

    def finish(self) -> Usage:
        """The usage the stream reported; raises ``MalformedResponseError`` if it was
        not a stream of this API."""


def _broken_connections(sdk: ModuleType) -> tuple[type[BaseException], ...]:
    """What a broken connection raises while a stream is read: the SDK's own
    ``APIConnectionError`` (some SDK versions wrap it; its message then says nothing
    of the stream) or an HTTP library's transport error (whichever the SDKs import)."""
    found: list[type[BaseException]] = [sdk.APIConnectionError]
    for name in ("httpx", "httpx2"):
        error = getattr(sys.modules.get(name), "TransportError", None)
        if isinstance(error, type) and issubclass(error, BaseException):
            found.append(error)
    return tuple(found)


def _broken(sdk: ModuleType, stream: Any, reader: StreamReader, received: int,
            cause: BaseException | None) -> BaseException:
    """The SDK's ``APIConnectionError`` for a stream that ended before its reply did
    (its ``APITimeoutError`` for a read that timed out, as for a request)."""
    request = getattr(getattr(stream, "response", None), "request", None)
    if any(isinstance(cause, getattr(sys.modules.get(name), "TimeoutException", ()))
           for name in ("httpx", "httpx2")):
        return sdk.APITimeoutError(request=request)  # type: ignore[no-any-return]
    if cause is not None:
        if isinstance(cause, sdk.APIConnectionError) and cause.__cause__ is not None:
            cause = cause.__cause__  # the SDK's "Connection error." says less
        detail = (f"the connection broke while the reply streamed in "
                  f"({type(cause).__name__}: {cause})")
    else:
        detail = (f"the stream ended before the server finished the reply (no {reader.marker} "
                  f"arrived): the connection closed early")
    return sdk.APIConnectionError(  # type: ignore[no-any-return]
        message=f"{detail}; {received} characters had arrived. A stream is retried only "
                f"before its first chunk: call again for the whole reply.",
        request=request)


class _Reading:
    """The reading of one stream: the characters received so far, and (as a context
    manager around the reads) the HTTP library's errors turned into the SDK's."""

    __slots__ = ("reader", "received", "sdk", "stream")

    def __init__(self, sdk: ModuleType, stream: Any, reader: StreamReader) -> None:
        self.sdk, self.stream, self.reader = sdk, stream, reader
        self.received = 0

    def text(self, event: Any) -> str | None:
        """The text ``event`` carries, counted."""
        text = self.reader.feed(event)
        if text:
            self.received += len(text)
        return text

    def __enter__(self) -> _Reading:
        return self

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> None:
        sdk = self.sdk
        if error is None or isinstance(error, sdk.APITimeoutError):
            return  # a timeout keeps its type (its own retry setting)
        if isinstance(error, _broken_connections(sdk)):
            raise _broken(sdk, self.stream, self.reader, self.received, error) from error

    def usage(self) -> Usage:
        """The usage of a stream read to its end; raises if the reply did not end."""
        usage = self.reader.finish()
        if not self.reader.ended:
            raise _broken(self.sdk, self.stream, self.reader, self.received, None)
        return usage


def read_events(sdk: ModuleType, stream: Any, reader: StreamReader) -> Iterator[str | Usage]:
    """The text of each event of ``stream``, then the usage; closes ``stream``."""
    reading = _Reading(sdk, stream, reader)
    try:
        with reading:
            for event in stream:
                if text := reading.text(event):
                    yield text
    finally:
        stream.close()
    yield reading.usage()


async def aread_events(sdk: ModuleType, stream: Any,
                       reader: StreamReader) -> AsyncGenerator[str | Usage, None]:
    """``read_events`` for an SDK's async stream."""
    reading = _Reading(sdk, stream, reader)
    try:
        with reading:
            async for event in stream:
                if text := reading.text(event):
                    yield text
    finally:
        await stream.close()
    yield reading.usage()
