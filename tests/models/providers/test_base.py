import threading
import time

import pytest

from ember.models import Completion, InvalidParamsError, Provider, Usage


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
