"""The loopback server's wire formats, as pure functions of a request."""

from __future__ import annotations

import json

import pytest

from ember.models.response import Usage
from ember.testing._wire import (
    anthropic_body,
    anthropic_events,
    encode,
    error_body,
    openai_body,
    openai_events,
    reply_text,
    request_texts,
)

USAGE = Usage.of(3, 2)


def decode_sse(events):
    """(event name or None, payload) for each server-sent event."""
    decoded = []
    for raw in events:
        lines = raw.decode().strip().split("\n")
        name = lines[0][len("event: "):] if lines[0].startswith("event: ") else None
        data = lines[-1][len("data: "):]
        decoded.append((name, data if data == "[DONE]" else json.loads(data)))
    return decoded


def test_request_texts_reads_the_system_text_and_every_content_form():
    request = {"system": "be brief", "messages": [
        {"role": "user", "content": "first"},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
    ]}
    assert request_texts(request) == ["be brief", "first", "a", "b"]
    with pytest.raises(KeyError):
        request_texts({"model": "m"})


def test_reply_text_is_deterministic_and_answers_offered_options():
    assert reply_text("m", ["x", "  hello\n  world "]) == "[loopback m] hello world"
    assert reply_text("m", []) == "[loopback m] "
    choice = reply_text("m", ["Is it right? Answer with one of: PASS, FAIL."])
    assert choice in ("PASS", "FAIL")
    assert reply_text("m", ["Is it right? Answer with one of: PASS, FAIL."]) == choice


def test_openai_body_and_usage():
    body = openai_body("m", "hi", USAGE)
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "hi"}
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    assert json.loads(encode(body)) == body


def test_openai_stream_sends_one_chunk_per_word_then_done():
    events = decode_sse(openai_events("m", "one two", USAGE))
    deltas = [payload["choices"][0]["delta"] for _, payload in events[:-2]]
    assert deltas == [{"role": "assistant", "content": ""}, {"content": "one "},
                      {"content": "two"}, {}]
    assert events[-2][1]["usage"]["total_tokens"] == 5
    assert events[-1] == (None, "[DONE]")
    without_usage = decode_sse(openai_events("m", "one", None))
    assert all("usage" not in payload for _, payload in without_usage[:-1])


def test_anthropic_body_and_stream():
    body = anthropic_body("m", "hi", USAGE)
    assert body["content"] == [{"type": "text", "text": "hi"}]
    assert body["usage"] == {"input_tokens": 3, "output_tokens": 2}
    events = decode_sse(anthropic_events("m", "one two", USAGE))
    assert [name for name, _ in events] == [
        "message_start", "content_block_start", "ping", "content_block_delta",
        "content_block_delta", "content_block_stop", "message_delta", "message_stop"]
    assert all(payload["type"] == name for name, payload in events)
    assert "".join(p["delta"]["text"] for n, p in events if n == "content_block_delta") \
        == "one two"
    assert events[-2][1]["usage"] == {"output_tokens": 2}


@pytest.mark.parametrize(("status", "kind"), [
    (400, "invalid_request_error"), (429, "rate_limit_error"), (503, "api_error")])
def test_error_bodies_in_both_formats(status, kind):
    assert error_body(True, status, "no") == {"type": "error",
                                              "error": {"type": kind, "message": "no"}}
    assert error_body(False, status, "no") == {"error": {"message": "no", "type": kind,
                                                         "code": str(status)}}
