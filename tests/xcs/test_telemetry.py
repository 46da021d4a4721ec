"""OpenTelemetry: one span per jitted call, one child span per op, GenAI attributes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from ember.api.models import models
from ember.xcs import Config, XCSError, jit, op
from ember.xcs.hooks import registered_hooks
from ember.xcs.telemetry import OpenTelemetryHook, instrument, uninstrument

EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
TRACER = PROVIDER.get_tracer("test")


@pytest.fixture
def spans():
    EXPORTER.clear()
    instrument(PROVIDER)
    try:
        yield EXPORTER
    finally:
        uninstrument()


def finished(exporter, count, timeout=5.0):
    """The finished spans once there are ``count`` of them.

    An op's end event may arrive just after its call returned (see the report on hook
    ordering), so wait briefly rather than read a half-finished list.
    """
    deadline = time.monotonic() + timeout
    while len(exporter.get_finished_spans()) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    result = exporter.get_finished_spans()
    assert len(result) == count, [s.name for s in result]
    return result


MEMBERS = ("simulated/alpha", "simulated/beta", "simulated/gamma", "simulated/delta")


@jit
def ensemble_and_judge(question):
    drafts = [models(MEMBERS[0], question), models(MEMBERS[1], question),
              models(MEMBERS[2], question), models(MEMBERS[3], question)]
    numbered = "\n".join(f"{n}. {d}" for n, d in enumerate(drafts, 1))
    return models("simulated/judge", f"Pick the best answer:\n{numbered}")


def test_ensemble_of_four_plus_judge_is_one_call_span_with_five_children(spans):
    ensemble_and_judge("What is tidal power?")
    every = finished(spans, 6)
    calls = [s for s in every if s.name.startswith("xcs.call")]
    ops = [s for s in every if not s.name.startswith("xcs.call")]
    assert len(calls) == 1 and len(ops) == 5
    call = calls[0]
    assert call.name == "xcs.call ensemble_and_judge"
    assert call.attributes["xcs.function"] == "ensemble_and_judge"
    assert call.parent is None and call.kind is SpanKind.INTERNAL
    assert call.status.status_code is StatusCode.UNSET
    assert sorted(s.name for s in ops) == ["chat alpha", "chat beta", "chat delta",
                                           "chat gamma", "chat judge"]
    for span in ops:
        assert span.parent is not None and span.parent.span_id == call.context.span_id
        assert span.context.trace_id == call.context.trace_id
        assert span.kind is SpanKind.CLIENT
        attributes = span.attributes
        model = span.name.split()[1]
        assert attributes["gen_ai.operation.name"] == "chat"
        assert attributes["gen_ai.request.model"] == model
        assert attributes["gen_ai.response.model"] == model
        assert attributes["gen_ai.provider.name"] == "simulated"
        assert attributes["gen_ai.system"] == "simulated"
        assert attributes["gen_ai.usage.input_tokens"] > 0
        assert attributes["gen_ai.usage.output_tokens"] > 0
        assert attributes["xcs.node.kind"] == "op"
        assert attributes["xcs.op.name"] == f"llm[{model}]"
        assert isinstance(attributes["xcs.node.id"], int)
        assert attributes["code.filepath"] == __file__
        assert attributes["code.function"] == "ensemble_and_judge"
        assert attributes["code.lineno"] > 0
        assert call.start_time <= span.start_time <= span.end_time
    judge = next(s for s in ops if s.name == "chat judge")
    drafts = [s for s in ops if s is not judge]
    assert judge.start_time >= max(s.end_time for s in drafts)  # it waited for the drafts
    assert len({s.attributes["xcs.node.id"] for s in ops}) == 5


@jit
async def awaited_pair(question):
    first = await models.acall("simulated/alpha", question)
    return first, await models.acall("simulated/beta", question)


def test_awaited_model_calls_in_jit_async_def_are_chat_spans(spans):
    asyncio.run(awaited_pair("What is tidal power?"))
    every = finished(spans, 3)
    call = next(s for s in every if s.name == "xcs.call awaited_pair")
    chats = sorted((s for s in every if s is not call), key=lambda s: s.name)
    assert [s.name for s in chats] == ["chat alpha", "chat beta"]
    for span in chats:
        assert span.parent is not None and span.parent.span_id == call.context.span_id
        assert span.attributes["gen_ai.usage.output_tokens"] > 0


@op
def tool(x):
    with TRACER.start_as_current_span("inside tool"):
        return x


@op
async def fetch(x):
    await asyncio.sleep(0.01)
    with TRACER.start_as_current_span("inside fetch"):
        return x


def test_parents_across_threads_the_event_loop_and_op_bodies(spans):
    @jit
    def mixed(x):
        return [tool(x), tool(x + 1), fetch(x)]

    with TRACER.start_as_current_span("request") as request:
        assert mixed(1) == [1, 2, 1]
    every = finished(spans, 8)  # request, call, 3 ops, 3 spans opened inside the bodies
    by_id = {s.context.span_id: s for s in every}
    call = next(s for s in every if s.name.startswith("xcs.call"))
    assert call.name.endswith(".mixed")
    assert call.parent.span_id == request.get_span_context().span_id
    ops = [s for s in every if s.name in ("xcs.op tool", "xcs.op fetch")]
    assert len(ops) == 3
    for span in ops:
        assert span.parent.span_id == call.context.span_id
        assert span.kind is SpanKind.INTERNAL and "gen_ai.operation.name" not in span.attributes
    inner = [s for s in every if s.name.startswith("inside")]
    assert len(inner) == 3
    for span in inner:  # spans opened in an op's body are children of that op's span
        parent = by_id[span.parent.span_id]
        assert parent.name == "xcs.op " + span.name.split()[1]


@op
def broken(x):
    raise ValueError(f"bad input {x}")


def test_failures_mark_both_spans(spans):
    with pytest.raises(ValueError, match="bad input 3"):
        jit(lambda x: broken(x))(3)
    every = {s.name.split(" ")[0] + " " + s.name.split(" ")[1].split(".")[-1]: s
             for s in finished(spans, 2)}
    op_span, call = every["xcs.op broken"], every["xcs.call <lambda>"]
    assert op_span.status.status_code is StatusCode.ERROR
    assert op_span.attributes["error.type"] == "ValueError"
    assert any(e.name == "exception" for e in op_span.events)
    assert call.status.status_code is StatusCode.ERROR
    assert "ValueError: bad input 3" in call.status.description


def test_as_a_per_function_hook():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    f = jit(lambda x: [tool(x), tool(x)], config=Config(hooks=[OpenTelemetryHook(provider)]))
    f(1)
    names = sorted(s.name.split(".<locals>.")[-1] for s in finished(exporter, 3))
    assert names == ["<lambda>", "xcs.op tool", "xcs.op tool"]


def test_no_provider_means_no_spans_and_no_leftovers():
    hook = instrument()  # the global provider is OpenTelemetry's no-op default here
    try:
        assert jit(lambda x: [tool(x), tool(x)])(1) == [1, 1]
        assert hook._spans == {}  # noqa: SLF001 - nothing was opened for the ops
    finally:
        uninstrument()
    assert not any(isinstance(h, OpenTelemetryHook) for h in registered_hooks())


def test_importing_the_module_does_not_import_opentelemetry():
    done = subprocess.run(
        [sys.executable, "-c",
         "import sys, ember.xcs, ember.xcs.telemetry; print('opentelemetry' in sys.modules)"],
        capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_missing_opentelemetry_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(XCSError, match=r"pip install 'ember-xcs\[otel\]'"):
        instrument()


def test_the_call_span_counts_nodes_ops_and_barriers(spans):
    from ember.xcs import op

    @op
    def twice(x):
        return x * 2

    @jit
    def waits(x):
        first = twice(x)
        if first > 2:  # one barrier
            return twice(first)
        return first

    assert waits(3) == 12
    call = next(s for s in finished(spans, 3) if s.name.startswith("xcs.call"))
    assert call.attributes["xcs.ops"] == 2
    assert call.attributes["xcs.barriers"] == 1
    assert call.attributes["xcs.nodes"] == 4  # two ops, one lifted comparison, one barrier


def test_every_attribute_a_span_carries_is_in_the_docs_table(spans):
    """docs/telemetry.md lists each attribute that call and op spans really carry."""
    import re
    from pathlib import Path

    @op
    def broken(x):
        raise ValueError("no")

    @jit
    def panel(question):
        first = models("simulated/alpha", question)
        if first:  # a barrier, so that the call span counts one
            return [first, broken(first)]
        return []

    with pytest.raises(ValueError):
        panel("What is tidal power?")
    seen = {name for span in finished(spans, 3) for name in span.attributes}
    assert {"xcs.nodes", "xcs.ops", "xcs.barriers", "gen_ai.usage.input_tokens",
            "error.type"} <= seen
    page = Path(__file__).resolve().parents[2] / "docs" / "telemetry.md"
    table = [line for line in page.read_text().splitlines() if line.startswith("| `")]
    first_cells = [line.split("|")[1] for line in table]
    documented = {name for cell in first_cells for name in re.findall(r"`([a-z_.]+)`", cell)}
    assert seen <= documented, f"not in the docs table: {sorted(seen - documented)}"


def test_uninstrument_while_a_call_runs_still_ends_its_span_and_detaches_it(spans):
    from opentelemetry import trace

    @op
    def fetch(x):
        return x.upper()

    @op
    def shut_down(x):
        uninstrument()  # tracing turned off mid-call (another thread, a teardown)
        return x

    @jit
    def handle(xs):
        return [shut_down(fetch(xs[0])), fetch(xs[1])]

    assert handle(["a", "b"]) == ["A", "B"]
    assert not trace.get_current_span().get_span_context().is_valid  # nothing left attached
    with TRACER.start_as_current_span("next-request"):
        pass
    every = finished(spans, 5)
    call = next(s for s in every if s.name.startswith("xcs.call"))
    assert next(s for s in every if s.name == "next-request").parent is None
    assert [s.parent.span_id for s in every if s.name.startswith("xcs.op")] == \
        [call.context.span_id] * 3


def test_under_redact_failed_spans_carry_the_exception_type_only(spans):
    from ember.xcs import Presets

    records = {"alice": "ok"}

    @op
    def lookup(patient_id):
        return records[patient_id]  # the KeyError quotes the argument

    @jit(config=Presets.SECURE)
    def triage(patient_id):
        return lookup(patient_id)

    with pytest.raises(KeyError):
        triage("ssn-078-05-1120")
    every = finished(spans, 2)
    for span in every:
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "KeyError"
        assert [dict(event.attributes) for event in span.events] == \
            [{"exception.type": "KeyError"}]
        assert "ssn-078" not in repr(span.to_json())
    op_span = next(s for s in every if s.name == "xcs.op lookup")
    assert op_span.attributes["error.type"] == "KeyError"
