"""What the glue's stores replaced (``tracing.stores``): noted without running the
user's code more often than plain Python does."""

from __future__ import annotations

import time

from ember.xcs import get_jit_stats, jit, op

calls: list[str] = []


@op
def embed_key(text: str) -> str:
    calls.append(text)
    return text.strip().lower()


@op
def summarize(text: str) -> str:
    time.sleep(0.002)
    return text.upper()


class Topic:
    """A dict key whose ``__hash__`` and ``__eq__`` call an op (an embedding-keyed cache)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __hash__(self) -> int:
        return hash(embed_key(self.name))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Topic) and embed_key(self.name) == embed_key(other.name)


def by_name(names: list[str]) -> dict[str, str]:
    seen = {}
    for name in names:
        topic = Topic(name)
        seen[topic] = summarize(name)
    return {topic.name: text for topic, text in seen.items()}


def by_pair(names: list[str]) -> dict[str, str]:
    seen = {}
    for name in names:
        topic = Topic(name)
        seen[topic, "en"] = summarize(name)
    return {topic.name: text for (topic, _), text in seen.items()}


def test_a_key_hashing_in_user_code_is_hashed_as_often_as_in_plain_python() -> None:
    for glue in (by_name, by_pair):
        calls.clear()
        expected = glue(["Cats", "dogs"])
        plain_calls = list(calls)
        jitted = jit(glue)
        for _ in range(2):  # the first call and a later one
            calls.clear()
            assert jitted(["Cats", "dogs"]) == expected
            assert calls == plain_calls, glue.__name__


def test_a_store_under_a_plain_key_still_runs_ahead() -> None:
    @jit
    def table(names: list[str]) -> dict[str, str]:
        out = {}
        for name in names:
            out[name] = summarize(name)
        return out

    assert table(["a", "b"]) == {"a": "A", "b": "B"}
    assert get_jit_stats(table)["barriers"] == []
