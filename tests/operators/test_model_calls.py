"""``ModelCall``, ``ExtractText`` and ``ModelText`` on the simulated provider."""

from __future__ import annotations

import time

from ember.models import Response
from ember.operators import ExtractText, ModelCall, ModelText, ensemble
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
