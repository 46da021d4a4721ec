import concurrent.futures
import json
import urllib.error
import urllib.request

import pytest

from ember.models import Usage
from ember.models.loopback import LoopbackServer


def post(server, path, payload):
    request = urllib.request.Request(
        server.url + path,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
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
