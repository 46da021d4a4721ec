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

from ember.models import ModelsAPI, ProviderRegistry, SimulatedProvider
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
