"""``Response``, ``Usage`` and ``Completion``: what a model call returns.

A ``Response`` is a ``str`` (the completion text), so ordinary string code keeps
working, with the call's facts attached: ``usage``, ``model_id``, ``provider``,
``simulated``, ``latency_ms``, ``created_at`` and ``metadata`` (pyember's summary of
them). XCS sums ``usage`` of op results into ``get_jit_stats``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

__all__ = ["Completion", "ModelInvocation", "Response", "Usage"]

_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


@dataclass(frozen=True, init=False)
class Usage:
    """Token counts of one model call (or a sum of calls).

    Also reads like pyember's usage dict, a read-only mapping of the three counts:
    ``usage["total_tokens"]``, ``"total_tokens" in usage``, ``dict(usage)``,
    ``usage.get(...)``, ``keys()``/``values()``/``items()``, ``len`` and iteration
    (over the names). It is not a ``dict``: it stays frozen and hashable.

    Attributes:
        prompt_tokens: tokens in the request.
        completion_tokens: tokens in the reply.
        total_tokens: their sum.

    Example:
        >>> Usage.of(3, 4) + Usage.of(1, 1)
        Usage(prompt_tokens=4, completion_tokens=5, total_tokens=9)
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __init__(
        self, prompt_tokens: int = 0, completion_tokens: int = 0, total_tokens: int = 0
    ) -> None:
        # Straight into the instance dict (the frozen ``__setattr__`` refuses): every
        # model call makes one, so it should cost no more than a plain object.
        fields = self.__dict__
        fields["prompt_tokens"] = prompt_tokens
        fields["completion_tokens"] = completion_tokens
        fields["total_tokens"] = total_tokens

    @classmethod
    def of(cls, prompt_tokens: int, completion_tokens: int) -> Usage:
        """A ``Usage`` whose total is the sum of the two counts."""
        return cls(prompt_tokens, completion_tokens, prompt_tokens + completion_tokens)

    def __getitem__(self, key: str) -> int:
        """A count by name, as pyember's usage dict gives it: ``usage["total_tokens"]``.

        Raises:
            KeyError: ``key`` is not one of the three counts (the message lists them).

        Example:
            >>> Usage.of(3, 4)["total_tokens"]
            7
        """
        if key in _USAGE_KEYS:
            count: int = self.__dict__[key]
            return count
        raise KeyError(
            f"Usage has prompt_tokens, completion_tokens and total_tokens, not {key!r}."
        )

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` names one of the three counts (``"cost" in usage`` is False)."""
        return key in _USAGE_KEYS

    def __iter__(self) -> Iterator[str]:
        """The count names, as iterating a dict gives its keys."""
        return iter(_USAGE_KEYS)

    def __len__(self) -> int:
        return len(_USAGE_KEYS)

    def keys(self) -> tuple[str, ...]:
        """The three count names."""
        return _USAGE_KEYS

    def values(self) -> tuple[int, int, int]:
        """The three counts, in ``keys()`` order."""
        return (self.prompt_tokens, self.completion_tokens, self.total_tokens)

    def items(self) -> tuple[tuple[str, int], ...]:
        """(name, count) pairs, as ``dict.items`` gives them.

        Example:
            >>> dict(Usage.of(3, 4))
            {'prompt_tokens': 3, 'completion_tokens': 4, 'total_tokens': 7}
        """
        return tuple(zip(_USAGE_KEYS, self.values(), strict=True))

    def get(self, key: str, default: Any = None) -> Any:
        """The count called ``key``, or ``default`` when there is none (``usage.get("cost")``)."""
        return self[key] if key in _USAGE_KEYS else default

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
        )


class Completion(NamedTuple):
    """What one successful request produced: the text and its token usage.

    Providers return it from ``send``; the pipeline turns it into a ``Response``.

    Example:
        >>> Completion("hi", Usage.of(1, 1)).usage.total_tokens
        2
    """

    text: str
    usage: Usage


class Response(str):
    """The text of a model reply, as a ``str``, with the call's facts attached.

    Attributes:
        text: the reply as a plain ``str``.
        usage: token counts reported by the provider (estimated for ``simulated``).
        model_id: canonical ``provider/model`` id.
        provider: the provider's registered name.
        simulated: ``True`` when no real model produced the text.
        latency_ms: measured milliseconds from the checked call to the reply
            (retries and rate-limit waits included), ``None`` when not measured.
        created_at: when the reply arrived (UTC), ``None`` when not recorded.

    Example:
        >>> r = Response("hi", model_id="simulated/demo", provider="simulated",
        ...              usage=Usage.of(1, 1), simulated=True)
        >>> r.upper(), r.usage.total_tokens, r.simulated
        ('HI', 2, True)
    """

    usage: Usage
    model_id: str
    provider: str
    simulated: bool
    latency_ms: float | None

    def __new__(
        cls,
        text: str,
        *,
        model_id: str,
        provider: str,
        usage: Usage,
        simulated: bool = False,
        latency_ms: float | None = None,
        created: float | None = None,
    ) -> Response:
        self = str.__new__(cls, text)
        # Straight into the instance dict: ``__setattr__`` refuses, and this is the
        # cheapest way to set the attributes (a model call makes one Response).
        # ``created`` stays a POSIX timestamp; ``created_at`` makes the datetime only
        # when asked, so calls that never look pay nothing for it.
        facts = self.__dict__
        facts["usage"] = usage
        facts["model_id"] = model_id
        facts["provider"] = provider
        facts["simulated"] = simulated
        facts["latency_ms"] = latency_ms
        facts["_created"] = created
        return self

    @property
    def text(self) -> str:
        """The reply as a plain ``str``."""
        return str.__str__(self)

    @property
    def created_at(self) -> datetime | None:
        """When the reply arrived, as an aware UTC ``datetime`` (``None``: not recorded)."""
        created: float | None = self.__dict__["_created"]
        return None if created is None else datetime.fromtimestamp(created, UTC)

    @property
    def metadata(self) -> dict[str, Any]:
        """pyember's summary of the call: a new ``dict`` each time.

        Keys: ``model_id``, ``provider``, ``simulated``, and, when known,
        ``created_at`` (ISO 8601, UTC) and ``latency_ms``; unknown facts are left out
        rather than set to ``None``, as pyember does.

        Example:
            >>> r = Response("hi", model_id="simulated/demo", provider="simulated",
            ...              usage=Usage.of(1, 1), simulated=True, latency_ms=2.5)
            >>> r.metadata
            {'model_id': 'simulated/demo', 'provider': 'simulated', 'simulated': True, \
'latency_ms': 2.5}
        """
        facts: dict[str, Any] = {
            "model_id": self.model_id,
            "provider": self.provider,
            "simulated": self.simulated,
        }
        created_at = self.created_at
        if created_at is not None:
            facts["created_at"] = created_at.isoformat()
        if self.latency_ms is not None:
            facts["latency_ms"] = self.latency_ms
        return facts

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Response is immutable; cannot set {name!r}.")

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_response,
            (
                self.text,
                self.model_id,
                self.provider,
                self.usage,
                self.simulated,
                self.latency_ms,
                self.__dict__["_created"],
            ),
        )

    def __repr__(self) -> str:
        label = ", simulated=True" if self.simulated else ""
        return f"Response({self.text!r}, model_id={self.model_id!r}{label})"


def _rebuild_response(
    text: str,
    model_id: str,
    provider: str,
    usage: Usage,
    simulated: bool,
    latency_ms: float | None = None,
    created: float | None = None,
) -> Response:
    # The last two have defaults so replies pickled before they existed (a persistent
    # result cache) still load.
    return Response(
        text,
        model_id=model_id,
        provider=provider,
        usage=usage,
        simulated=simulated,
        latency_ms=latency_ms,
        created=created,
    )


@dataclass(frozen=True)
class ModelInvocation:
    """What ``models.with_metadata(...)`` returns: the text and the whole ``Response``.

    pyember's shape for callers that want the text and the call's facts side by side;
    ``usage``, ``model_id``, ``latency_ms`` and ``metadata`` read through to
    ``response``.

    Attributes:
        text: the reply as a plain ``str``.
        response: the ``Response`` it came from.

    Example:
        >>> reply = Response("hi", model_id="simulated/demo", provider="simulated",
        ...                  usage=Usage.of(1, 1), simulated=True)
        >>> invocation = ModelInvocation(text=reply.text, response=reply)
        >>> invocation.text, invocation.model_id, invocation.usage["total_tokens"]
        ('hi', 'simulated/demo', 2)
    """

    text: str
    response: Response

    @property
    def usage(self) -> Usage:
        """The token counts of the call (``response.usage``)."""
        return self.response.usage

    @property
    def model_id(self) -> str:
        """The canonical ``provider/model`` id (``response.model_id``)."""
        return self.response.model_id

    @property
    def latency_ms(self) -> float | None:
        """The measured latency of the call (``response.latency_ms``)."""
        return self.response.latency_ms

    @property
    def metadata(self) -> dict[str, Any]:
        """The call's facts (``response.metadata``)."""
        return self.response.metadata
