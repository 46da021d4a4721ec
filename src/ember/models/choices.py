"""Offline answers that follow an "Answer with one of: A, B, C" instruction.

The simulated provider and the loopback server have no model behind them. When a
prompt ends its instructions with ``Answer with one of: ...`` they reply with one of
the listed options, picked deterministically from a seed, so judges and verifiers
built on them get parseable replies (real models follow the same instruction).
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["offered_options", "pick", "stable_fraction"]

_OPTIONS = re.compile(r"answer with one of:\s*(?P<options>[^\n]+)", re.IGNORECASE)


def offered_options(prompt: str) -> list[str]:
    """The options of the last "Answer with one of:" line in ``prompt`` (maybe none).

    Example:
        >>> offered_options("Is it right? Answer with one of: PASS, FAIL.")
        ['PASS', 'FAIL']
    """
    if type(prompt) is str and ":" not in prompt:  # most prompts: the instruction has one
        return []
    matches = list(_OPTIONS.finditer(prompt))
    if not matches:
        return []
    raw = matches[-1].group("options").strip().rstrip(".")
    return [option.strip() for option in raw.split(",") if option.strip()]


def stable_fraction(*parts: object) -> float:
    """A number in ``[0, 1)`` that depends only on ``parts`` (stable across runs).

    Example:
        >>> stable_fraction("a", 1) == stable_fraction("a", 1)
        True
    """
    digest = hashlib.sha256(repr(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick(options: list[str], *seed: object) -> str:
    """One of ``options`` chosen by ``seed`` (the same seed picks the same option).

    Example:
        >>> pick(["x", "y"], "seed") == pick(["x", "y"], "seed")
        True
    """
    return options[int(stable_fraction(*seed) * len(options))]
