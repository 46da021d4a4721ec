import concurrent.futures
import json
import time
import urllib.error
import urllib.request

import pytest

from ember.models import Usage
from ember.testing.loopback import LoopbackServer


def post(server, path, payload, timeout=10):
    request = urllib.request.Request(
        server.url + path,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}


def test_openai_format(server):
    status, body = post(server, "/v1/chat/completions", CHAT)
    assert status == 200
    assert body["choices"][0]["message"]["content"] == "[loopback m] hello"
    assert (
        body["usage"]["total_tokens"]
        == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )


def test_anthropic_format(server):
    status, body = post(server, "/v1/messages", {**CHAT, "max_tokens": 5, "system": "s"})
    assert status == 200 and body["type"] == "message"
    assert body["content"] == [{"type": "text", "text": "[loopback m] hello"}]
    assert server.stats().usage == Usage.of(
        body["usage"]["input_tokens"], body["usage"]["output_tokens"]
    )


def test_scripted_429s_are_per_distinct_request(server):
    server.rate_limit_first = 2
    other = {"model": "m", "messages": [{"role": "user", "content": "other"}]}
    statuses = [post(server, "/v1/chat/completions", CHAT)[0] for _ in range(3)]
    statuses.append(post(server, "/v1/chat/completions", other)[0])
    assert statuses == [429, 429, 200, 429]
    stats = server.stats()
    assert (stats.requests, stats.rate_limited, stats.succeeded) == (4, 3, 1)


def test_error_status_and_bad_requests(server):
    assert post(server, "/v1/chat/completions", {"model": "m"})[0] == 400
    assert post(server, "/v1/unknown", CHAT)[0] == 404
    server.error_status = 503
    status, body = post(server, "/v1/messages", CHAT)
    assert status == 503 and body["type"] == "error"
    assert server.stats().failed == 2


def test_in_flight_peak_and_reset(server):
    server.latency = 0.2
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda _: post(server, "/v1/chat/completions", CHAT), range(6)))
    assert server.stats().max_in_flight >= 3
    server.reset()
    assert server.stats().requests == 0 and server.stats().max_in_flight == 0


def test_stop_releases_the_port():
    server = LoopbackServer().start()
    url = server.url
    server.stop()
    with pytest.raises(RuntimeError):
        server.url
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/v1/chat/completions", data=b"{}", timeout=2)


def raw_post(server, path, payload):
    """(status, headers, raw body bytes) of one POST."""
    request = urllib.request.Request(
        server.url + path,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def sse_data(raw):
    return [line[len(b"data: ") :] for line in raw.split(b"\n") if line.startswith(b"data: ")]


def test_openai_stream_format_with_usage(server):
    status, headers, raw = raw_post(
        server,
        "/v1/chat/completions",
        {**CHAT, "stream": True, "stream_options": {"include_usage": True}},
    )
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    data = sse_data(raw)
    assert data[-1] == b"[DONE]"
    chunks = [json.loads(item) for item in data[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "[loopback m] hello"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert server.stats().streamed == 1


def test_openai_stream_without_usage_unless_asked(server):
    _, _, raw = raw_post(server, "/v1/chat/completions", {**CHAT, "stream": True})
    chunks = [json.loads(item) for item in sse_data(raw)[:-1]]
    assert all("usage" not in chunk for chunk in chunks)


def test_anthropic_stream_format(server):
    status, _, raw = raw_post(server, "/v1/messages", {**CHAT, "max_tokens": 5, "stream": True})
    assert status == 200
    events = [
        line[len(b"event: ") :].decode() for line in raw.split(b"\n") if line.startswith(b"event: ")
    ]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert "content_block_delta" in events and "message_delta" in events
    payloads = [json.loads(item) for item in sse_data(raw)]
    text = "".join(p["delta"]["text"] for p in payloads if p["type"] == "content_block_delta")
    assert text == "[loopback m] hello"
    usage = server.stats().usage
    assert payloads[0]["message"]["usage"]["input_tokens"] == usage.prompt_tokens
    assert payloads[-2]["usage"]["output_tokens"] == usage.completion_tokens


def test_retry_after_headers_on_refusals_only(server):
    server.rate_limit_first, server.retry_after, server.retry_after_ms = 1, 2, 1500
    status, headers, _ = raw_post(server, "/v1/chat/completions", CHAT)
    assert status == 429
    assert headers["Retry-After"] == "2" and headers["retry-after-ms"] == "1500"
    status, headers, _ = raw_post(server, "/v1/chat/completions", CHAT)
    assert status == 200 and "Retry-After" not in headers


def test_reply_body_replaces_successful_replies(server):
    server.reply_body = b"not json"
    assert raw_post(server, "/v1/chat/completions", CHAT)[::2] == (200, b"not json")
    server.error_status = 500
    assert raw_post(server, "/v1/chat/completions", CHAT)[0] == 500


def test_never_answer_holds_requests_until_stop():
    server = LoopbackServer(never_answer=True).start()
    start = time.monotonic()
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        post(server, "/v1/chat/completions", CHAT, timeout=0.3)
    assert 0.3 <= time.monotonic() - start < 2
    assert server.stats().requests == 1
    server.stop()  # returns although a handler still holds a request


def test_arrivals_record_when_requests_came(server):
    before = time.monotonic()
    post(server, "/v1/chat/completions", CHAT)
    post(server, "/v1/messages", CHAT)
    arrivals = server.stats().arrivals
    assert len(arrivals) == 2 and before <= arrivals[0] <= arrivals[1] <= time.monotonic()
    server.reset()
    assert server.stats().arrivals == ()


def test_module_example_runs():
    import doctest

    import ember.testing.loopback

    failures, tried = doctest.testmod(ember.testing.loopback)
    assert tried >= 2 and failures == 0
