"""``ModelCall``, ``ExtractText`` and ``ModelText`` on the simulated provider."""

from __future__ import annotations

import time

import pytest

from ember.models import InvalidParamsError, Response, models
from ember.operators import ExtractText, ModelCall, ModelText, Operator, ensemble
from ember.xcs import jit


def test_model_call_returns_the_full_response():
    reply = ModelCall("simulated/demo", temperature=0)("Hello")
    assert isinstance(reply, Response) and reply.model_id == "simulated/demo"
    assert reply.usage.total_tokens > 0


def test_extract_text_and_model_text_give_plain_text():
    text = (ModelCall("simulated/demo") >> ExtractText())("Hello")
    assert type(text) is str and text == ModelText("simulated/demo")("Hello")
    assert repr(ModelText("simulated/demo")) == "ModelText(ModelCall('simulated/demo'))"


def test_model_calls_in_an_ensemble_run_concurrently_under_jit():
    members = ensemble([ModelText(f"simulated/m{i}", latency=0.2) for i in range(5)])
    run = jit(members)
    run("warm")
    started = time.perf_counter()
    answers = run("q")
    assert len(answers) == 5 and all(type(a) is str for a in answers)
    assert time.perf_counter() - started < 0.7


def test_non_text_inputs_are_sent_as_their_str_like_pyember():
    for value in (42, {"question": "hi"}, 3.5, None):
        expected = models("simulated/demo", str(value)).text
        assert ModelCall("simulated/demo")(value).text == expected
        assert ModelText("simulated/demo")(value) == expected


def test_text_and_chat_messages_are_sent_as_they_are():
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert ModelText("simulated/demo")(messages) == models("simulated/demo", messages).text
    assert ModelText("simulated/demo")("hi") == models("simulated/demo", "hi").text
    # A malformed message list is still refused, not sent as its repr.
    with pytest.raises(InvalidParamsError, match="message 0"):
        ModelCall("simulated/demo")([{"role": "nobody", "content": "hi"}])


def test_a_step_returning_a_dict_feeds_a_model_text_under_jit():
    class Ask(Operator):
        def forward(self, topic: str) -> dict[str, str]:
            return {"question": topic}

    program = Ask() >> ModelText("simulated/demo")
    assert jit(program)("tides") == program("tides")
    assert program("tides") == ModelText("simulated/demo")(str({"question": "tides"}))
