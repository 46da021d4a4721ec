"""``ModelStream`` and ``AsyncModelStream``: a model reply as it arrives.

``models.stream(model_id, prompt)`` returns a ``ModelStream``: iterate it for the text
chunks (plain ``str``) as the provider sends them; once it is exhausted,
``stream.response`` is the full ``Response`` (the whole text, with the usage the
provider reported), equal to what ``models(model_id, prompt)`` would have returned.
``models.astream`` returns the ``async for`` twin. Both are context managers that
close the connection when left early.

A stream is not an op: under ``@jit`` it runs in the glue, in program order, like any
iterator the function consumes (a barrier: it waits for any lazy value in its prompt;
a capped provider's stream also for the ops before it that may take one of the
provider's slots, which it then holds until it ends: ``ember.xcs.tracing.earlier``).
Retries happen only before the first chunk; a failure after text has arrived is
raised from the iteration, since retrying would repeat text already yielded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING

from ember.models._text import clip
from ember.models.errors import ModelError, ProviderError
from ember.models.response import Response, Usage

if TYPE_CHECKING:
    from ember.models.providers._call import PreparedCall

__all__ = ["AsyncModelStream", "ModelStream"]


class _StreamState:
    """What both stream kinds record: chunks so far, usage, outcome."""

    def __init__(self, call: PreparedCall) -> None:
        self._call = call
        self._chunks: list[str] = []
        self._usage: Usage | None = None
        self._response: Response | None = None
        self._error: BaseException | None = None
        self._closed = False

    @property
    def model_id(self) -> str:
        """The ``provider/model`` id being streamed."""
        return self._call.model_id

    @property
    def text(self) -> str:
        """The text received so far."""
        return "".join(self._chunks)

    @property
    def done(self) -> bool:
        """Whether the stream has ended (finished, failed or closed)."""
        return self._response is not None or self._error is not None or self._closed

    @property
    def response(self) -> Response:
        """The full ``Response`` once the stream has been read to its end.

        Raises:
            ModelError: the stream has not finished yet (iterate it to the end, or
                call ``collect()``), was closed early, or failed (the failure is the
                ``__cause__``).
        """
        if self._response is not None:
            return self._response
        if self._error is not None:
            raise ModelError(
                f"{self.model_id}: the stream failed, so there is no full response."
            ) from self._error
        if self._closed:
            raise ModelError(f"{self.model_id}: the stream was closed before it finished.")
        raise ModelError(
            f"{self.model_id}: the stream has not finished; iterate it to the end or "
            f"call collect() first."
        )

    def _take(self, piece: object) -> str | None:
        """Record one piece from the provider: a text chunk (returned) or the usage."""
        if isinstance(piece, Usage):
            self._usage = piece
            return None
        if not isinstance(piece, str):
            raise ProviderError(
                f"{type(self._call.provider).__name__} streamed {clip(piece, 80)}; a stream "
                f"yields str chunks and at most one Usage.",
                model_id=self.model_id,
            )
        self._chunks.append(piece)
        return piece

    def _finish(self) -> None:
        self._response = self._call.response("".join(self._chunks), self._usage or Usage())

    def __repr__(self) -> str:
        state = (
            "finished"
            if self._response is not None
            else "failed"
            if self._error
            else ("closed" if self._closed else "open")
        )
        return f"<{type(self).__name__} {self.model_id} {state}, {len(self._chunks)} chunks>"


class ModelStream(_StreamState):
    """The text chunks of one model reply, then its full ``Response``.

    Example:
        >>> from ember.api.models import models
        >>> stream = models.stream("simulated/demo", "What is XCS?")
        >>> chunks = list(stream)
        >>> "".join(chunks) == stream.response == models("simulated/demo", "What is XCS?")
        True
    """

    def __init__(self, pieces: Iterator[str | Usage], call: PreparedCall) -> None:
        super().__init__(call)
        self._pieces = pieces

    def __iter__(self) -> ModelStream:
        return self

    def __next__(self) -> str:
        if self.done:
            raise StopIteration
        while True:
            try:
                piece = next(self._pieces)
                chunk = self._take(piece)
            except StopIteration:
                self._finish()
                raise
            except BaseException as error:
                self._error = error
                raise
            if chunk is not None:
                return chunk

    def collect(self) -> Response:
        """Read the rest of the stream and return the full ``Response``."""
        for _ in self:
            pass
        return self.response

    def close(self) -> None:
        """Stop reading: close the connection (nothing happens once the stream ended)."""
        if not self.done:
            self._closed = True
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> ModelStream:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncModelStream(_StreamState):
    """``async for`` over the text chunks of one model reply, then its ``Response``.

    Example:
        >>> import asyncio
        >>> from ember.api.models import models
        >>> async def read():
        ...     async with models.astream("simulated/demo", "What is XCS?") as stream:
        ...         chunks = [chunk async for chunk in stream]
        ...     return "".join(chunks) == stream.response
        >>> asyncio.run(read())
        True
    """

    def __init__(self, pieces: AsyncIterator[str | Usage], call: PreparedCall) -> None:
        super().__init__(call)
        self._pieces = pieces

    def __aiter__(self) -> AsyncModelStream:
        return self

    async def __anext__(self) -> str:
        if self.done:
            raise StopAsyncIteration
        while True:
            try:
                piece = await self._pieces.__anext__()
                chunk = self._take(piece)
            except StopAsyncIteration:
                self._finish()
                raise
            except BaseException as error:
                self._error = error
                raise
            if chunk is not None:
                return chunk

    async def collect(self) -> Response:
        """Read the rest of the stream and return the full ``Response``."""
        async for _ in self:
            pass
        return self.response

    async def aclose(self) -> None:
        """Stop reading: close the connection (nothing happens once the stream ended)."""
        if not self.done:
            self._closed = True
        close = getattr(self._pieces, "aclose", None)
        if close is not None:
            await close()

    async def __aenter__(self) -> AsyncModelStream:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
