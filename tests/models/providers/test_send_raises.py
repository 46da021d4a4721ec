"""A provider's ``send`` that raises something asyncio cannot carry as a task's or a
future's exception: ``StopIteration`` (a scripted fake run out of replies),
``KeyboardInterrupt``, ``SystemExit``. The default ``asend`` runs ``send`` in a worker
thread; under ``@jit`` the model call is awaited on the engine's event loop. The call
raises what plain Python's raises, and neither hangs nor stops the engine's loop for
the calls after it."""

import asyncio
import threading

import pytest

from ember.models import Completion, ModelsAPI, Provider, ProviderRegistry, Usage
from ember.xcs import jit

RAISED = {
    "StopIteration": lambda: StopIteration("script ran out"),
    "KeyboardInterrupt": KeyboardInterrupt,
    "SystemExit": lambda: SystemExit(3),
}


class Scripted(Provider):
    """A test fake: hands out its replies one by one (``next``), then raises ``then``."""

    accepted_params = frozenset()

    def __init__(self, replies, then=None):
        super().__init__(max_concurrency=1)
        self.replies = iter(replies)
        self.then = then
        self.calls = 0

    def send(self, model, messages, params):
        self.calls += 1
        try:
            return Completion(next(self.replies), Usage.of(1, 1))
        except StopIteration:
            if self.then is None:
                raise
            raise self.then() from None


def scripted_models(replies, then=None):
    registry = ProviderRegistry()
    provider = Scripted(replies, then)
    registry.register("fake", provider)
    return ModelsAPI(registry), provider


def outcome_within(seconds, function, *args):
    """``function(*args)``'s result or exception, run in a thread; ``"hung"`` if it has
    not ended after ``seconds``."""
    box = []

    def run():
        try:
            box.append(("returned", function(*args)))
        except BaseException as error:  # noqa: BLE001 - every kind is the outcome
            box.append((type(error), str(error)))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return box[0] if box else "hung"


def ask_three(models):
    def pipeline(question):
        return [models(f"fake/m{i}", question).text for i in range(3)]

    return pipeline


@pytest.mark.parametrize("kind", RAISED)
def test_a_send_raising_what_asyncio_cannot_carry_raises_as_in_plain_python(kind):
    then = None if kind == "StopIteration" else RAISED[kind]
    plain_models, plain_provider = scripted_models(["a", "b"], then)
    jit_models, jit_provider = scripted_models(["a", "b"], then)
    expected = outcome_within(5, ask_three(plain_models), "q")
    assert expected[0].__name__ == kind
    assert outcome_within(5, jit(ask_three(jit_models)), "q") == expected
    assert jit_provider.calls == plain_provider.calls == 3  # one at a time, in order
    again, _ = scripted_models(["c", "d", "e"])  # the engine's loop still serves calls
    assert outcome_within(5, jit(ask_three(again)), "r") == ("returned", ["c", "d", "e"])


def test_acall_of_a_send_raising_stop_iteration_raises_in_the_coroutine():
    models, _ = scripted_models([])

    async def main():
        return await models.acall("fake/m", "q")

    error_type, message = outcome_within(5, asyncio.run, main())
    assert error_type is RuntimeError and message == "coroutine raised StopIteration"


class Waiting(Provider):
    """Each send waits until ``expected`` sends are running at once (or 5 s pass)."""

    accepted_params = frozenset()

    def __init__(self, expected):
        super().__init__()
        self.expected = expected
        self.lock = threading.Condition()
        self.active = self.peak = 0

    def send(self, model, messages, params):
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.lock.notify_all()
            self.lock.wait_for(lambda: self.peak >= self.expected, timeout=5)
            self.active -= 1
        return Completion(model, Usage.of(1, 1))


def test_a_fan_out_of_a_blocking_send_overlaps_as_plain_threads_would():
    # The loop's default executor (min(32, cpus + 4) threads) used to run them: a
    # fan-out of 40 calls overlapped at most 32 at a time, 6 on two cores.
    registry = ProviderRegistry()
    provider = Waiting(40)
    registry.register("w", provider)
    models = ModelsAPI(registry)

    @jit
    def fan_out(count):
        return [models(f"w/m{i}", "q").text for i in range(count)]

    assert fan_out(40) == [f"m{i}" for i in range(40)]
    assert provider.peak == 40
