"""``Response``, ``Usage`` and ``Completion``: what a model call returns.

A ``Response`` is a ``str`` (the completion text), so ordinary string code keeps
working, with the call's facts attached: ``usage``, ``model_id``, ``provider`` and
``simulated``. XCS sums ``usage`` of op results into ``get_jit_stats``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = ["Completion", "Response", "Usage"]


@dataclass(frozen=True, init=False)
class Usage:
    """Token counts of one model call (or a sum of calls).

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

    def __new__(
        cls,
        text: str,
        *,
        model_id: str,
        provider: str,
        usage: Usage,
        simulated: bool = False,
    ) -> Response:
        self = str.__new__(cls, text)
        # Straight into the instance dict: ``__setattr__`` refuses, and this is the
        # cheapest way to set four attributes (a model call makes one Response).
        facts = self.__dict__
        facts["usage"] = usage
        facts["model_id"] = model_id
        facts["provider"] = provider
        facts["simulated"] = simulated
        return self

    @property
    def text(self) -> str:
        """The reply as a plain ``str``."""
        return str.__str__(self)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Response is immutable; cannot set {name!r}.")

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_response,
            (self.text, self.model_id, self.provider, self.usage, self.simulated),
        )

    def __repr__(self) -> str:
        label = ", simulated=True" if self.simulated else ""
        return f"Response({self.text!r}, model_id={self.model_id!r}{label})"


def _rebuild_response(
    text: str, model_id: str, provider: str, usage: Usage, simulated: bool
) -> Response:
    return Response(text, model_id=model_id, provider=provider, usage=usage, simulated=simulated)
