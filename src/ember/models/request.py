"""What a model request is: a prompt (text or chat messages) and checked parameters.

``normalize_prompt`` turns the user's prompt into chat messages, ``validate_params``
rejects unknown parameters and bad values with a message naming both, and
``estimate_tokens`` is the token estimate used where no tokenizer reports one.
"""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from ember.models._text import check_encodable, clip, shorten
from ember.models.errors import InvalidParamsError

__all__ = ["Message", "estimate_tokens", "normalize_prompt", "validate_params"]

Message = dict[str, str]
_ROLES = ("system", "user", "assistant")


def normalize_prompt(prompt: object, *, model_id: str) -> list[Message]:
    """The prompt as a list of ``{"role", "content"}`` chat messages.

    Args:
        prompt: a ``str`` (one user message) or a sequence of message dicts.
        model_id: named in the error message.

    Returns:
        A new list of message dicts with ``str`` roles and contents.

    Raises:
        InvalidParamsError: the prompt is neither text nor well-formed messages, or
            its text holds a lone surrogate (UTF-8 cannot encode it, so no provider
            could receive it). The message quotes no more than a short excerpt.

    Example:
        >>> normalize_prompt("hi", model_id="simulated/x")
        [{'role': 'user', 'content': 'hi'}]
    """
    if type(prompt) is str and prompt.isascii():  # the common case: nothing to check
        return [{"role": "user", "content": prompt}]
    if isinstance(prompt, str):
        text = str(prompt)
        _check_text(model_id, "the prompt", text)
        return [{"role": "user", "content": text}]
    if isinstance(prompt, Sequence) and prompt and not isinstance(prompt, bytes | bytearray):
        messages: list[Message] = []
        for index, message in enumerate(prompt):
            problem = _message_problem(message)
            if problem is not None:
                raise InvalidParamsError(
                    f"{shorten(model_id)}: message {index} must be a dict with 'role' in "
                    f"{_ROLES} and 'content' a str; {problem}."
                )
            content = str(message["content"])
            _check_text(model_id, f"message {index}", content)
            messages.append({"role": str(message["role"]), "content": content})
        return messages
    raise InvalidParamsError(
        f"{shorten(model_id)}: the prompt must be a str or a non-empty list of "
        f"{{'role': ..., 'content': ...}} messages, got {type(prompt).__name__} {clip(prompt)}."
    )


def _message_problem(message: object) -> str | None:
    """What is wrong with one chat message, described without copying its content."""
    if not isinstance(message, Mapping):
        return f"got {type(message).__name__}"
    role = message.get("role")
    if role not in _ROLES:
        return f"got role={clip(role, 40)}"
    content = message.get("content")
    if not isinstance(content, str):
        return f"got 'content' of type {type(content).__name__}"
    return None


def _check_text(model_id: str, where: str, text: str) -> None:
    index = check_encodable(text)
    if index is not None:
        raise InvalidParamsError(
            f"{shorten(model_id)}: {where} contains a lone surrogate {text[index]!r} at index "
            f"{index}; UTF-8 cannot encode it, so no provider can receive it. Fix the text, "
            f"e.g. text.encode('utf-8', 'replace').decode('utf-8')."
        )


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters per token, at least one).

    Example:
        >>> estimate_tokens("twelve chars")
        3
    """
    return (len(text) + 3) // 4 or 1  # ceil(len / 4), in ints


_NUMBER = (int, float)  # constants: ``int | float`` written in a call builds a union each time
_PAIR = (tuple, list)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, _NUMBER):
        return None
    return float(value)


def _in_range(low: float, high: float, *, low_open: bool = False) -> Callable[[object], str | None]:
    bracket = "(" if low_open else "["

    def check(value: object) -> str | None:
        number = _number(value)
        too_low = number is not None and (number <= low if low_open else number < low)
        if number is None or too_low or number > high or math.isnan(number):
            return f"a number in {bracket}{low:g}, {high:g}]"
        return None

    return check


def _positive_int(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return "a positive int"
    return None


def _any_int(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "an int"
    return None


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return "a str"
    return None if check_encodable(value) is None else "text without lone surrogates"


def _stop(value: object) -> str | None:
    items = [value] if isinstance(value, str) else value
    if isinstance(items, list | tuple) and all(
        isinstance(item, str) and check_encodable(item) is None for item in items
    ):
        return None
    return "a str or a list of str (without lone surrogates)"


def _positive_number(value: object) -> str | None:
    number = _number(value)
    if number is None or not number > 0 or math.isinf(number):
        return "a positive number of seconds"
    return None


def _latency(value: object) -> str | None:
    number = _number(value)
    if number is not None:
        return None if 0 <= number < math.inf else "a number of seconds >= 0"
    if isinstance(value, _PAIR) and len(value) == 2:
        low, high = (_number(item) for item in value)
        if low is not None and high is not None and 0 <= low <= high < math.inf:
            return None
    return "seconds >= 0, or a (low, high) pair with 0 <= low <= high"


_temperature = functools.cache(lambda high: _in_range(0.0, high))

_CHECKS: dict[str, Callable[[object], str | None]] = {
    "top_p": _in_range(0.0, 1.0, low_open=True),
    "max_tokens": _positive_int,
    "stop": _stop,
    "system": _text,
    "seed": _any_int,
    "top_k": _positive_int,
    "presence_penalty": _in_range(-2.0, 2.0),
    "frequency_penalty": _in_range(-2.0, 2.0),
    "user": _text,
    "timeout": _positive_number,
    "latency": _latency,
    "failure_rate": _in_range(0.0, 1.0),
}


def validate_params(
    model_id: str,
    params: Mapping[str, Any],
    accepted: Collection[str],
    *,
    max_temperature: float = 2.0,
) -> None:
    """Check parameter names against ``accepted`` and each value against its rule.

    Which rule applies to which name is worked out once per distinct set of names (in
    order) and provider rules; the values are checked on every call.

    Args:
        model_id: named in the error message.
        params: the call's keyword parameters.
        accepted: the names this provider accepts.
        max_temperature: the provider's upper bound for ``temperature``.

    Raises:
        InvalidParamsError: an unknown name (the message lists the accepted ones; for
            ``stream`` it says to call ``models.stream(...)``) or a value outside its
            rule (the message names the rule).

    Example:
        >>> validate_params("simulated/x", {"temperature": 0.5}, {"temperature"})
        >>> try:
        ...     validate_params("simulated/x", {"temperature": -1}, {"temperature"})
        ... except InvalidParamsError as error:
        ...     print(error)
        simulated/x: temperature=-1 is invalid; expected a number in [0, 2].
    """
    if not params:
        return
    names = tuple(params)
    if isinstance(accepted, frozenset):
        checks = _cached_checks(names, accepted, max_temperature)
    else:
        checks = _checks_of(names, accepted, max_temperature)
    if checks is None:
        unknown = [name for name in names if name not in accepted]
        if "stream" in unknown:
            raise InvalidParamsError(_stream_message(model_id))
        raise InvalidParamsError(_unknown_message(model_id, unknown, accepted))
    for name, check, value in zip(names, checks, params.values(), strict=True):
        problem = check(value) if check is not None else None
        if problem is not None:
            raise InvalidParamsError(
                f"{shorten(model_id)}: {name}={clip(value)} is invalid; expected {problem}."
            )


def _stream_message(model_id: str) -> str:
    model = shorten(model_id)
    return (
        f"{model}: stream= is not a parameter; a model call always returns the whole reply. "
        f"To stream, call models.stream({model!r}, prompt, ...) (or binding.stream(prompt); "
        "models.astream(...) for async for): it yields the text chunks, then its .response "
        "is the full Response with usage."
    )


_Check = Callable[[object], str | None]


def _checks_of(
    names: tuple[str, ...], accepted: Collection[str], max_temperature: float
) -> tuple[_Check | None, ...] | None:
    """The rule of each name, in order (``None``: no rule), or ``None`` if one is unknown."""
    if any(name not in accepted for name in names):
        return None
    return tuple(
        _temperature(max_temperature) if name == "temperature" else _CHECKS.get(name)
        for name in names
    )


# Providers declare ``accepted_params`` as a frozenset, so their calls share this cache
# (a call's parameter names are few and repeat); the size bounds odd callers.
_cached_checks = functools.lru_cache(maxsize=1024)(_checks_of)


def _unknown_message(model_id: str, unknown: list[str], accepted: Collection[str]) -> str:
    names = sorted(unknown)
    shown = ", ".join(shorten(name, 40) for name in names[:5])
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    hints = []
    for name in names[:5]:
        close = difflib.get_close_matches(name[:100], sorted(accepted), n=1, cutoff=0.7)
        if close:
            hints.append(f"{shorten(name, 40)!r} -> {close[0]!r}")
    hint = f" Did you mean: {', '.join(hints)}?" if hints else ""
    return (
        f"{shorten(model_id)}: unknown parameter(s) {shown}{more}.{hint} "
        f"This provider accepts: {', '.join(sorted(accepted))}."
    )
