"""A stream of a provider with ``max_concurrency`` under ``@jit`` (``Provider.stream``,
``ember.xcs.tracing.earlier``): the model calls written before it take their slots
first, as in plain Python, so a loop over the chunks that needs one of them never
hangs."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from ember.models import (
    Completion,
    ModelError,
    ModelsAPI,
    Provider,
    ProviderRegistry,
    SimulatedProvider,
    Usage,
)
from ember.xcs import explain, jit, op

LIMIT = 20.0  # seconds: far beyond the 0.2 s these calls take; on the old code: a hang


def _api(**caps: int | None) -> ModelsAPI:
    registry = ProviderRegistry()
    for name, cap in caps.items():
        registry.register(name, SimulatedProvider(max_concurrency=cap))
    return ModelsAPI(registry)


def _within_limit(call: Any) -> Any:
    """``call()`` in a daemon thread; fails (instead of hanging) after ``LIMIT``."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # handed to the test's thread
            outcome["error"] = error

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(LIMIT)
    assert outcome, f"still running after {LIMIT} s: the stream and a call wait for each other"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _answer(api: ModelsAPI, question: str) -> tuple[Any, list[str]]:
    context = api("local/llm", f"Retrieve facts for: {question}", latency=0.05)
    check = api("local/llm", f"List key terms of: {question}", latency=0.05)
    shown = []
    for chunk in api.stream("local/llm", f"Answer: {question}", latency=0.05):
        if chunk.strip() in check:  # the loop needs a call written before the stream
            chunk = chunk.upper()
        shown.append(chunk)
    return context, shown


def test_a_stream_read_while_earlier_calls_of_its_provider_are_queued_never_hangs() -> None:
    api = _api(local=1)
    plain = _answer(api, "why is the sky blue")
    fast = jit(_answer)
    for _ in range(3):
        assert _within_limit(lambda: fast(api, "why is the sky blue")) == plain
    assert "stream of local/llm (its provider's max_concurrency)" in explain(fast)


async def _aanswer(api: ModelsAPI, question: str) -> tuple[Any, list[str]]:
    context = api("local/llm", f"Retrieve facts for: {question}", latency=0.05)
    check = api("local/llm", f"List key terms of: {question}", latency=0.05)
    shown = []
    async for chunk in api.astream("local/llm", f"Answer: {question}", latency=0.05):
        if chunk.strip() in check:
            chunk = chunk.upper()
        shown.append(chunk)
    return context, shown


def test_the_async_stream_of_a_capped_provider_never_hangs_either() -> None:
    api = _api(local=1)

    async def both() -> tuple[Any, Any]:
        plain = await _aanswer(api, "why")
        return plain, await asyncio.wait_for(jit(_aanswer)(api, "why"), LIMIT)

    plain, jitted = _within_limit(lambda: asyncio.run(both()))
    assert jitted == plain


class Counted(SimulatedProvider):
    """Counts the streamed requests it was sent."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.streamed = 0

    def send_stream(self, model: str, messages: Any, params: Any) -> Any:
        self.streamed += 1
        return super().send_stream(model, messages, params)


@op
def lookup(question: str) -> str:
    time.sleep(0.1)  # still running when the glue reaches the stream
    raise LookupError(f"no facts for {question!r}")


def _failing(api: ModelsAPI, question: str) -> str:
    facts = lookup(question)  # an op, no model call: its body might call the provider
    text = "".join(api.stream("local/llm", question))
    return text + facts


def test_an_earlier_op_that_failed_stops_the_call_before_the_stream_is_sent() -> None:
    provider = Counted(max_concurrency=1)
    registry = ProviderRegistry()
    registry.register("local", provider)
    api = ModelsAPI(registry)
    with pytest.raises(LookupError, match="no facts for 'sky'"):
        _failing(api, "sky")
    with pytest.raises(LookupError, match="no facts for 'sky'"):
        _within_limit(lambda: jit(_failing)(api, "sky"))
    assert provider.streamed == 0  # plain Python never reached the stream either


def _mixed(api: ModelsAPI, question: str) -> tuple[Any, str]:
    other = api("cloud/big", question, latency=0.05)
    return other, "".join(api.stream("local/llm", question))


@pytest.mark.parametrize("local_cap", [None, 1])
def test_a_stream_does_not_wait_for_calls_that_never_take_its_providers_slots(
        local_cap: int | None) -> None:
    api = _api(local=local_cap, cloud=1)  # uncapped, or the call is another provider's
    fast = jit(_mixed)
    assert _within_limit(lambda: fast(api, "hi")) == _mixed(api, "hi")
    assert "max_concurrency" not in explain(fast)


def _check_mid_stream(api: ModelsAPI, question: str) -> tuple[str, Any, str]:
    stream = api.stream("local/llm", f"Answer: {question}")
    first = next(stream)  # the stream holds the provider's only slot from here
    check = api("local/llm", f"Check: {question}")
    return first, check, "".join(stream)


SELF_WAIT = "its only slot is held by this thread"


def test_a_call_while_this_threads_stream_holds_every_slot_raises_plain_and_jitted() -> None:
    # One provider each: the error's traceback keeps its stream (and so the slot).
    with pytest.raises(ModelError, match=SELF_WAIT):  # plain Python: a wait with no end
        _within_limit(lambda: _check_mid_stream(_api(local=1), "why"))
    with pytest.raises(ModelError, match=SELF_WAIT):  # jit: at the call, not later
        _within_limit(lambda: jit(_check_mid_stream)(_api(local=1), "why"))


def test_two_open_streams_of_a_provider_with_two_slots_refuse_a_third_call() -> None:
    def three(question: str) -> Any:
        api = _api(local=2)  # one each: the error's traceback keeps the streams open
        streams = [api.stream("local/llm", f"{question} {n}") for n in range(2)]
        firsts = [next(stream) for stream in streams]
        return firsts, api("local/llm", question)

    with pytest.raises(ModelError, match="all 2 of its slots are held by this thread"):
        _within_limit(lambda: three("why"))
    with pytest.raises(ModelError, match="all 2 of its slots are held by this thread"):
        _within_limit(lambda: jit(three)("why"))


async def _acheck_mid_stream(api: ModelsAPI, question: str) -> Any:
    async with api.astream("local/llm", f"Answer: {question}") as stream:
        async for _ in stream:  # the task holds the only slot while it reads
            return await api.acall("local/llm", f"Check: {question}")
    return None


def test_an_awaited_call_while_this_tasks_stream_holds_every_slot_raises() -> None:
    for function in (_acheck_mid_stream, jit(_acheck_mid_stream)):
        with pytest.raises(ModelError, match="its only slot is held by this task"):
            _within_limit(lambda f=function: asyncio.run(f(_api(local=1), "why")))


def test_calls_of_other_threads_still_wait_for_the_slot_a_stream_holds() -> None:
    api = _api(local=1)
    stream = api.stream("local/llm", "Answer: why")
    first = next(stream)
    waiting = threading.Thread(target=lambda: api("local/llm", "Check: why"))
    waiting.start()
    time.sleep(0.05)
    assert waiting.is_alive()  # it waits, as it should: this thread will finish the stream
    rest = "".join(stream)
    waiting.join(LIMIT)
    assert not waiting.is_alive() and first + rest == stream.response


class Scripted(Provider):
    """A test fake handing out its replies in the order the calls reach it."""

    accepted_params = frozenset({"latency"})

    def __init__(self, replies: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.replies = list(replies)

    def send(self, model: str, messages: Any, params: Any) -> Completion:
        time.sleep(params.get("latency", 0))
        return Completion(self.replies.pop(0), Usage.of(1, 1))


def test_a_provider_with_one_slot_is_reached_in_program_order_under_jit() -> None:
    def label_all(api: ModelsAPI, items: list[str]) -> dict[str, Any]:
        return {item: api("fake/m", f"label {item}", latency=0.002) for item in items}

    items = [f"item {n}" for n in range(12)]
    for function in (label_all, jit(label_all), jit(label_all)):
        registry = ProviderRegistry()
        registry.register("fake", Scripted([f"reply {n}" for n in range(12)], max_concurrency=1))
        replies = function(ModelsAPI(registry), items)
        assert [str(replies[item]) for item in items] == [f"reply {n}" for n in range(12)]
