"""Reading the documentation pages as data: sections, tables and code spans.

The claims tests in this package parse what a page says (a default, a list of keys, a
module path) and compare it with the code, so that the page and the code cannot drift
apart without a test failing.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_HEADING = re.compile(r"^(#+) ")
_SPAN = re.compile(r"`([^`]+)`")
_FENCED = re.compile(r"^```.*?^```", flags=re.MULTILINE | re.DOTALL)


def page(name: str) -> str:
    """The text of ``docs/<name>``."""
    return (ROOT / "docs" / name).read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The part of ``text`` under the heading whose title is ``heading`` (up to the
    next heading of the same or a higher level)."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = _HEADING.match(line)
        if match and line[match.end():].strip() == heading:
            level = len(match.group(1))
            end = next((j for j in range(index + 1, len(lines))
                        if (m := _HEADING.match(lines[j])) and len(m.group(1)) <= level
                        and not _in_fence(lines, j)), len(lines))
            return "\n".join(lines[index + 1:end])
    raise AssertionError(f"no heading {heading!r} on the page")


def _in_fence(lines: list[str], index: int) -> bool:
    return sum(line.startswith("```") for line in lines[:index]) % 2 == 1


def tables(text: str) -> list[list[list[str]]]:
    """The Markdown tables of ``text``: for each, its body rows as lists of cells."""
    found: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in text.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if current is None:
            current = []
            found.append(current)
            continue  # the header row
        if all(set(cell) <= set("-: ") for cell in cells):
            continue  # the separator row
        current.append(cells)
    return found


def table(text: str) -> list[list[str]]:
    """The body rows of the only table in ``text``."""
    (only,) = tables(text)
    return only


def spans(text: str) -> list[str]:
    """The contents of the `code spans` in ``text``, in order (fenced blocks aside)."""
    return _SPAN.findall(_FENCED.sub("", text))


def text_blocks(text: str) -> list[str]:
    """The contents of the ```text fenced blocks of ``text``."""
    return re.findall(r"^```text\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def prose(text: str) -> str:
    """``text`` with every run of white space made one space (line breaks in a sentence
    do not matter when a test looks for the sentence)."""
    return " ".join(text.split())


def outside_parentheses(text: str) -> str:
    """``text`` without its parenthesised asides (nested ones included)."""
    while (stripped := re.sub(r"\([^()]*\)", "", text)) != text:
        text = stripped
    return text
