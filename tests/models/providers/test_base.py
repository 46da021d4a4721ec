import asyncio
import socket
import threading
import time

import pytest

from ember.models import (
    Completion,
    InvalidParamsError,
    Provider,
    ProviderError,
    RetryPolicy,
    Usage,
)


class Recorder(Provider):
    accepted_params = frozenset({"temperature"})

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0

    def send(self, model, messages, params):
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.02)
        with self.lock:
            self.active -= 1
        return Completion(f"{model}:{messages[-1]['content']}", Usage.of(1, 1))


def test_complete_wraps_send_in_a_response():
    reply = Recorder().complete("rec", "m", "hi", {})
    assert reply == "m:hi" and reply.model_id == "rec/m" and reply.provider == "rec"
    assert not reply.simulated and reply.usage.total_tokens == 2


def test_complete_checks_prompt_and_params_before_sending():
    provider = Recorder()
    with pytest.raises(InvalidParamsError):
        provider.complete("rec", "m", 5, {})
    with pytest.raises(InvalidParamsError):
        provider.complete("rec", "m", "hi", {"top_k": 3})
    assert provider.peak == 0


def test_max_concurrency_caps_plain_threaded_callers():
    provider = Recorder(max_concurrency=2)
    threads = [
        threading.Thread(target=provider.complete, args=("rec", "m", str(i), {})) for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert provider.peak == 2


class Scripted(Provider):
    """A provider whose requests fail as scripted, then succeed."""

    accepted_params = frozenset({"temperature"})

    def __init__(self, failures=(), **kwargs):
        super().__init__(**kwargs)
        self.failures = list(failures)
        self.sent = 0

    def send(self, model, messages, params):
        self.sent += 1
        if self.failures:
            raise self.failures.pop(0)
        return Completion("fine", Usage.of(1, 1))


class Busy(Exception):
    def __init__(self, status_code, headers=None):
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code
        self.headers = headers or {}


def test_any_provider_honours_retry_after_from_error_headers():
    provider = Scripted([Busy(429, {"Retry-After": "0.3"})])
    start = time.perf_counter()
    assert provider.complete("p", "m", "hi", {}) == "fine"
    assert time.perf_counter() - start >= 0.3 and provider.sent == 2


@pytest.mark.parametrize("failure", [
    ConnectionRefusedError("connection refused"),
    ConnectionResetError("connection reset by peer"),
    socket.gaierror(-2, "Name or service not known"),
])
def test_a_custom_provider_retries_connection_failures(failure):
    provider = Scripted([failure], retry=RetryPolicy(initial_delay=0.001))
    assert provider.complete("p", "m", "hi", {}) == "fine" and provider.sent == 2


@pytest.mark.parametrize("failure", [ValueError("bad prompt"), PermissionError("denied"),
                                     Busy(400)])
def test_a_custom_provider_does_not_retry_other_errors(failure):
    provider = Scripted([failure], retry=RetryPolicy(initial_delay=0.001))
    with pytest.raises(type(failure)):
        provider.complete("p", "m", "hi", {})
    assert provider.sent == 1


def test_a_custom_provider_gets_an_async_path_through_a_thread():
    provider = Scripted([Busy(503)], retry=RetryPolicy(initial_delay=0.01))
    reply = asyncio.run(provider.acomplete("p", "m", "hi", {}))
    assert reply == "fine" and reply.model_id == "p/m" and provider.sent == 2


def test_a_provider_error_without_a_model_id_gets_the_one_called():
    provider = Scripted([ProviderError("the reply was empty")])
    with pytest.raises(ProviderError) as caught:
        provider.complete("mine", "x1", "hi", {})
    assert str(caught.value) == "mine/x1: the reply was empty"


def test_a_provider_returning_the_wrong_thing_is_named():
    class Sloppy(Provider):
        def send(self, model, messages, params):
            return "just text"

    with pytest.raises(ProviderError, match=r"p/m: Sloppy\.send returned 'just text'"):
        Sloppy().complete("p", "m", "hi", {})


def test_the_default_stream_sends_one_chunk():
    stream = Recorder().stream("rec", "m", "hi", {})
    assert list(stream) == ["m:hi"] and stream.response.usage == Usage.of(1, 1)


def test_max_concurrency_caps_coroutines_and_threads_together():
    class Sleeper(Recorder):
        async def asend(self, model, messages, params):
            with self.lock:
                self.active += 1
                self.peak = max(self.peak, self.active)
            await asyncio.sleep(0.02)
            with self.lock:
                self.active -= 1
            return Completion("ok", Usage.of(1, 1))

    provider = Sleeper(max_concurrency=3)

    async def many():
        await asyncio.gather(*(provider.acomplete("rec", "m", str(i), {}) for i in range(12)))

    threads = [
        threading.Thread(target=provider.complete, args=("rec", "m", "t", {})) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    asyncio.run(many())
    for thread in threads:
        thread.join()
    assert provider.peak == 3 and provider.active == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"retry": "fast"}, "retry"),
        ({"rate_limit": {"requests_per_minute": 1}}, "rate_limit"),
    ],
)
def test_base_settings_are_checked(kwargs, field):
    with pytest.raises(InvalidParamsError, match=rf"Recorder\({field}=\.\.\.\)"):
        Recorder(**kwargs)


def test_a_cancelled_threaded_send_ends_before_the_jitted_call_raises():
    """A custom provider's sync send runs in a thread under @jit; when an earlier call
    of the fan-out fails, the call raises only once that thread's request is over:
    nothing of a call keeps running after it raised (docs/semantics.md)."""
    from ember.api.models import models
    from ember.xcs import jit

    events = []

    class Refused(Exception):
        status_code = 400

    class Slowish(Provider):
        def send(self, model, messages, params):
            if model == "bad":
                time.sleep(0.05)
                raise Refused("HTTP 400")
            time.sleep(0.5)
            events.append(f"{model} finished")
            return Completion("ok", Usage.of(1, 1))

    models.register_provider("slowish", Slowish(retry=RetryPolicy(max_attempts=1)))
    fan = jit(lambda: [models("slowish/bad", "a"), models("slowish/slow", "b")])
    with pytest.raises(Refused):
        fan()
    assert events == ["slow finished"]  # before the call raised, not after



class SyncAsend(Recorder):
    def asend(self, model, messages, params):  # not async: a mistake
        return self.send(model, messages, params)


def test_an_asend_that_is_not_async_raises_a_type_error_naming_it_and_the_fix():
    # It was met only on an event loop: plain calls worked, and under @jit (or
    # models.acall) the call failed with "object Completion can't be used in 'await'
    # expression", from inside the call.
    from ember.models import ModelsAPI, ProviderRegistry
    from ember.xcs import jit

    registry = ProviderRegistry()
    registry.register("sync", SyncAsend())
    models = ModelsAPI(registry)
    assert models("sync/m", "hi") == "m:hi"  # plain calls use send
    expected = (r"SyncAsend\.asend \(.*test_base\.py:\d+\) must be an 'async def' method.*"
                r"returned 'Completion'\. Fix: write 'async def asend")
    with pytest.raises(TypeError, match=expected):
        jit(lambda q: models("sync/m", q).text)("hi")
    with pytest.raises(TypeError, match=expected):
        asyncio.run(models.acall("sync/m", "hi"))


def test_a_decorated_async_asend_is_awaited():
    def logged(method):  # a plain wrapper that returns the coroutine
        def wrapper(self, *args):
            return method(self, *args)
        return wrapper

    class Native(Recorder):
        @logged
        async def asend(self, model, messages, params):
            return self.send(model, messages, params)

    assert asyncio.run(Native().acomplete("n", "m", "hi", {})) == "m:hi"
