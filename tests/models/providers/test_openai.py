"""The openai provider through the real ``openai`` client against the loopback server."""

import asyncio
import contextlib
import socket
import threading
import time

import openai
import pytest

from ember.models import (
    InvalidParamsError,
    MalformedResponseError,
    ModelsAPI,
    OpenAIProvider,
    ProviderRegistry,
    RetryPolicy,
)

FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.01, jitter=0)


def provider_for(server, **kwargs):
    return OpenAIProvider(base_url=server.openai_base_url, api_key="EMPTY", **kwargs)


def test_completion_text_and_usage_come_from_the_server(server):
    reply = provider_for(server).complete("openai", "gpt-4o", "hello there", {"temperature": 0})
    assert reply.text == "[loopback gpt-4o] hello there"
    assert not reply.simulated and reply.model_id == "openai/gpt-4o"
    assert reply.usage == server.stats().usage
    assert server.stats().requests == 1


def test_system_and_messages_reach_the_server(server):
    messages = [{"role": "user", "content": "first"}, {"role": "user", "content": "last one"}]
    reply = provider_for(server).complete("openai", "m", messages, {"system": "be brief"})
    assert reply.text == "[loopback m] last one"
    assert reply.usage.prompt_tokens == 6  # "be brief\nfirst\nlast one" is 23 chars


def test_base_url_from_environment(server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    assert OpenAIProvider().complete("openai", "m", "x", {}).startswith("[loopback m]")


def test_429s_are_retried_within_the_policy(server):
    server.rate_limit_first = 2
    reply = provider_for(server, retry=FAST_RETRY).complete("openai", "m", "storm", {})
    assert reply.text == "[loopback m] storm"
    stats = server.stats()
    assert (stats.requests, stats.rate_limited, stats.succeeded) == (3, 2, 1)


def test_persistent_500_raises_the_sdk_type_after_the_retries(server):
    server.error_status = 500
    with pytest.raises(openai.InternalServerError) as caught:
        provider_for(server, retry=FAST_RETRY).complete("openai", "m", "boom", {})
    assert server.stats().requests == 3
    assert "openai/m: gave up after 3 attempts" in caught.value.__notes__[0]


def test_client_errors_are_not_retried(server):
    server.error_status = 404
    with pytest.raises(openai.NotFoundError):
        provider_for(server, retry=FAST_RETRY).complete("openai", "m", "x", {})
    assert server.stats().requests == 1


@contextlib.contextmanager
def hanging_up_server():
    """A TCP server on 127.0.0.1 that accepts each connection and closes it at once
    (a connection error for the client); yields ``(base_url, accepted times)``."""
    accepted: list[float] = []
    stop = threading.Event()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.05)

        def serve():
            while not stop.is_set():
                try:
                    connection, _ = listener.accept()
                except TimeoutError:
                    continue
                accepted.append(time.monotonic())
                connection.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1", accepted
        finally:
            stop.set()
            thread.join()


@pytest.mark.parametrize("path", ["sync", "async"])
def test_a_connection_error_is_tried_max_attempts_times_then_raised(path):
    retry = RetryPolicy(max_attempts=3, initial_delay=0.05, jitter=0)
    with hanging_up_server() as (base_url, accepted):
        provider = OpenAIProvider(base_url=base_url, api_key="k", retry=retry)
        with pytest.raises(openai.APIConnectionError) as caught:
            if path == "sync":
                provider.complete("openai", "m", "x", {})
            else:
                asyncio.run(provider.acomplete("openai", "m", "x", {}))
    assert len(accepted) == 3, accepted  # three attempts, each a connection of its own
    assert accepted[1] - accepted[0] >= 0.05 and accepted[2] - accepted[1] >= 0.1  # backoff
    assert any("gave up after 3 attempts" in note for note in caught.value.__notes__)


def test_the_default_policy_makes_four_attempts_on_connection_errors():
    with hanging_up_server() as (base_url, accepted):
        provider = OpenAIProvider(base_url=base_url, api_key="k")
        with pytest.raises(openai.APIConnectionError):
            provider.complete("openai", "m", "x", {})
    assert len(accepted) == RetryPolicy().max_attempts == 4


def test_connection_refused_is_retried_then_raised():
    with pytest.raises(openai.APIConnectionError) as caught:
        OpenAIProvider(
            base_url="http://127.0.0.1:9/v1",
            api_key="k",
            retry=RetryPolicy(max_attempts=2, initial_delay=0),
        ).complete("openai", "m", "x", {})
    assert any("gave up after 2 attempts" in note for note in caught.value.__notes__)


def test_reasoning_models_get_max_completion_tokens(server, monkeypatch):
    provider = provider_for(server)
    sent = {}
    client = provider.client()
    original = client.chat.completions.create

    def spy(**kwargs):
        sent.update(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(client.chat.completions, "create", spy)
    provider.complete("openai", "o1-mini", "x", {"max_tokens": 5})
    assert sent["max_completion_tokens"] == 5 and "max_tokens" not in sent


def test_models_api_uses_the_registered_openai_provider(server):
    registry = ProviderRegistry()
    registry.register("openai", provider_for(server), model_prefixes=["gpt-"])
    reply = ModelsAPI(registry)("gpt-4o-mini", "hi")
    assert reply.text == "[loopback gpt-4o-mini] hi"


# --- robustness: Retry-After, statuses, reply shape, timeouts, settings -------------


def gaps(server):
    arrivals = server.stats().arrivals
    return [later - earlier for earlier, later in zip(arrivals, arrivals[1:])]


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_is_honoured(server, status):
    server.error_status, server.retry_after = status, 1
    provider = provider_for(server, retry=RetryPolicy(max_attempts=2, initial_delay=0.01))
    with pytest.raises(openai.APIStatusError):
        provider.complete("openai", "m", "wait", {})
    (gap,) = gaps(server)
    assert 1.0 <= gap < 2.5, gap


def test_retry_after_ms_wins_over_retry_after(server):
    server.rate_limit_first, server.retry_after, server.retry_after_ms = 1, 30, 300
    provider_for(server).complete("openai", "m", "ms", {})
    (gap,) = gaps(server)
    assert 0.3 <= gap < 1.5, gap


def test_retry_after_as_an_http_date(server):
    import email.utils
    import time as clock

    server.rate_limit_first = 1
    server.retry_after = email.utils.formatdate(clock.time() + 2, usegmt=True)
    provider_for(server).complete("openai", "m", "date", {})
    (gap,) = gaps(server)
    assert 0.9 <= gap < 3.5, gap  # HTTP dates have whole seconds


def test_a_long_retry_after_is_capped(server):
    server.rate_limit_first, server.retry_after = 1, 3600
    retry = RetryPolicy(max_retry_after=0.2, jitter=0)
    assert provider_for(server, retry=retry).complete("openai", "m", "cap", {}).text
    (gap,) = gaps(server)
    assert 0.2 <= gap < 1.5, gap


@pytest.mark.parametrize("status", [408, 409, 500, 502, 503, 504])
def test_transient_statuses_are_retried(server, status):
    server.error_status = status
    with pytest.raises(openai.APIStatusError) as caught:
        provider_for(server, retry=FAST_RETRY).complete("openai", "m", "x", {})
    assert caught.value.status_code == status
    assert server.stats().requests == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_statuses_are_not_retried(server, status):
    server.error_status = status
    with pytest.raises(openai.APIStatusError):
        provider_for(server, retry=FAST_RETRY).complete("openai", "m", "x", {})
    assert server.stats().requests == 1


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        (b"{}", "no 'choices'"),
        (b'{"choices": []}', "no 'choices'"),
        (b"[1, 2]", "no 'choices'"),
        (b'{"choices": [{"index": 0, "message": {"role": "assistant"}}]}', "no text 'content'"),
    ],
)
def test_a_200_without_a_completion_is_a_clear_error(server, body, missing):
    server.reply_body = body
    with pytest.raises(MalformedResponseError) as caught:
        provider_for(server, retry=FAST_RETRY).complete("local", "llama3", "x", {})
    message = str(caught.value)
    assert message.startswith("local/llama3: ") and missing in message
    assert server.stats().requests == 1  # processed by the server: never paid twice


def test_malformed_json_is_explained_and_not_retried(server):
    server.reply_body = b"<html>gateway says hi</html>"
    with pytest.raises(MalformedResponseError) as caught:
        provider_for(server, retry=FAST_RETRY).complete("openai", "m", "x", {})
    message = str(caught.value)
    assert "openai/m" in message and "not valid JSON" in message and "gateway says hi" in message
    assert "base_url" in message and isinstance(caught.value.__cause__, ValueError)
    assert server.stats().requests == 1


def test_a_silent_server_times_out_once_by_default(server):
    server.never_answer = True
    provider = provider_for(server, timeout=0.5)
    start = time.perf_counter()
    with pytest.raises(openai.APITimeoutError) as caught:
        provider.complete("openai", "m", "x", {})
    elapsed = time.perf_counter() - start
    assert 0.5 <= elapsed < 2.0, elapsed
    assert server.stats().requests == 1
    assert any("timeout=0.5 s" in note for note in caught.value.__notes__)


def test_timeouts_are_retried_when_the_policy_says_so(server):
    server.never_answer = True
    retry = RetryPolicy(max_attempts=2, initial_delay=0.01, retry_timeouts=True)
    start = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        provider_for(server, timeout=0.3, retry=retry).complete("openai", "m", "x", {})
    assert 0.6 <= time.perf_counter() - start < 2.5
    assert server.stats().requests == 2


def test_a_call_timeout_overrides_the_provider_default(server):
    server.never_answer = True
    start = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        provider_for(server).complete("openai", "m", "x", {"timeout": 0.3})
    assert time.perf_counter() - start < 2.0


def test_default_timeout_is_60_seconds_with_10_to_connect():
    provider = OpenAIProvider(base_url="http://127.0.0.1:9/v1", api_key="k")
    timeout = provider.client().timeout
    assert provider.timeout == 60.0
    assert (timeout.read, timeout.connect) == (60.0, 10.0)
    assert provider.client().max_retries == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timeout": -5}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"timeout": float("inf")}, "timeout"),
        ({"timeout": "5"}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"base_url": "not a url"}, "base_url"),
        ({"base_url": "ftp://host/v1"}, "base_url"),
        ({"base_url": "http://"}, "base_url"),
        ({"base_url": ""}, "base_url"),
        ({"base_url": 8000}, "base_url"),
        ({"base_url": "http://host:99999/v1"}, "base_url"),
        ({"api_key": 123}, "api_key"),
        ({"api_key": ""}, "api_key"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"max_concurrency": -1}, "max_concurrency"),
        ({"max_concurrency": 2.5}, "max_concurrency"),
        ({"retry": {"max_attempts": 3}}, "retry"),
        ({"rate_limit": 60}, "rate_limit"),
    ],
)
def test_bad_settings_fail_at_once_naming_the_field(kwargs, field):
    with pytest.raises(InvalidParamsError, match=rf"OpenAIProvider\({field}=\.\.\.\)"):
        OpenAIProvider(**kwargs)


def test_a_bad_base_url_in_the_environment_is_named(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "localhost:8000")
    with pytest.raises(InvalidParamsError, match=r"\$OPENAI_BASE_URL.*OpenAIProvider"):
        OpenAIProvider(api_key="k")


def test_the_sync_client_is_built_once():
    provider = OpenAIProvider(base_url="http://127.0.0.1:9/v1", api_key="k")
    assert provider.client() is provider.client()


def test_async_clients_are_one_per_event_loop_never_shared(server):
    provider = provider_for(server)

    async def two_calls():
        first = provider.async_client()
        await provider.acomplete("openai", "m", "a", {})
        assert provider.async_client() is first
        return first

    one, other = asyncio.run(two_calls()), asyncio.run(two_calls())
    assert one is not other and isinstance(one, openai.AsyncOpenAI)
    assert one.max_retries == 0 and one.timeout.read == 60.0  # our policy is the one layer
    assert one is not provider.client()
    # Clients of closed loops are dropped when the next loop builds its own.
    assert len(provider._async_clients) <= 2
    asyncio.run(two_calls())
    assert len(provider._async_clients) == 1


def test_the_async_path_matches_the_sync_one(server):
    provider = provider_for(server, retry=FAST_RETRY)
    server.rate_limit_first = 1

    async def ask():
        return await asyncio.gather(
            *(provider.acomplete("openai", "m", f"q{i}", {}) for i in range(8))
        )

    replies = asyncio.run(ask())
    assert replies == [provider.complete("openai", "m", f"q{i}", {}) for i in range(8)]
    assert server.stats().rate_limited == 8


def test_the_async_path_reports_malformed_replies_too(server):
    server.reply_body = b"{}"
    with pytest.raises(MalformedResponseError, match="openai/m: .*no 'choices'"):
        asyncio.run(provider_for(server).acomplete("openai", "m", "x", {}))


def test_the_async_path_honours_retry_after(server):
    server.rate_limit_first, server.retry_after = 1, 1
    asyncio.run(provider_for(server).acomplete("openai", "m", "later", {}))
    (gap,) = gaps(server)
    assert 1.0 <= gap < 2.5


# --- streaming ----------------------------------------------------------------------


def test_stream_yields_chunks_then_the_full_response(server):
    provider = provider_for(server)
    plain = provider.complete("openai", "gpt-4o", "tell me a story", {})
    server.reset()
    with provider.stream("openai", "gpt-4o", "tell me a story", {}) as stream:
        chunks = list(stream)
    assert len(chunks) > 2 and all(type(chunk) is str for chunk in chunks)
    assert "".join(chunks) == stream.response == plain
    assert stream.response.usage == plain.usage == server.stats().usage
    assert server.stats().streamed == 1


def test_astream_yields_the_same(server):
    provider = provider_for(server)

    async def read():
        stream = provider.astream("openai", "m", "stream me please", {})
        return [chunk async for chunk in stream], stream.response

    chunks, response = asyncio.run(read())
    assert "".join(chunks) == response == provider.complete("openai", "m", "stream me please", {})
    assert response.usage.total_tokens > 0


def test_a_stream_is_retried_before_its_first_chunk(server):
    server.rate_limit_first = 1
    stream = provider_for(server, retry=FAST_RETRY).stream("openai", "m", "again", {})
    assert stream.collect() == "[loopback m] again"
    assert server.stats().requests == 2


def test_a_malformed_stream_is_a_clear_error(server):
    server.reply_body = b"data: {not json\n\n"
    with pytest.raises(MalformedResponseError, match="openai/m: .*not valid JSON"):
        list(provider_for(server).stream("openai", "m", "x", {}))
    server.reply_body = b"data: [DONE]\n\n"
    with pytest.raises(MalformedResponseError, match="without any 'choices'"):
        list(provider_for(server).stream("openai", "m", "x", {}))


def test_async_clients_are_closed_on_their_loop_when_it_shuts_down(server, caplog):
    provider = provider_for(server)
    clients = []

    async def call():
        await provider.acomplete("openai", "m", "x", {})
        clients.append(provider.async_client())

    for _ in range(3):
        asyncio.run(call())
    assert [client.is_closed() for client in clients] == [True, True, True]
    assert "Event loop is closed" not in caplog.text


def test_a_dropped_provider_closes_its_connections_on_their_loop(server):
    """Never left to the garbage collector: tearing sockets down behind a running loop
    let a later close unregister a new connection that reused the file descriptor (a
    lost reply, seen as a ReadTimeout in a jitted fan-out)."""
    import gc
    import threading
    import warnings

    loop = asyncio.new_event_loop()  # long-lived, like the XCS engine's
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    torn_down = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            for round_number in range(4):
                provider = provider_for(server)

                async def fan_out(provider=provider, round_number=round_number):
                    calls = (
                        provider.acomplete("openai", "m", f"r{round_number} q{i}", {})
                        for i in range(4)
                    )
                    return await asyncio.gather(*calls)

                assert len(asyncio.run_coroutine_threadsafe(fan_out(), loop).result(30)) == 4
                provider.cycle = [provider]  # freed by the cyclic collector, as under jit
                del provider, fan_out
                gc.collect()
                asyncio.run_coroutine_threadsafe(asyncio.sleep(0.2), loop).result(30)
                gc.collect()
            torn_down = [str(w.message) for w in caught if "unclosed" in str(w.message)]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
    assert torn_down == []
