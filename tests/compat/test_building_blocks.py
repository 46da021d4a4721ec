"""pyember's building blocks, used as its docs and docstrings use them.

``Ensemble(operators, aggregator)``, ``Chain([a, b])``, ``Router(routes, router_fn,
default_route)``, the ``ensemble`` / ``chain`` / ``router`` shortcuts, and
``ModelCall`` / ``ModelText`` / ``ExtractText``. Each test checks what the block
does (results, order, routing, calls made, concurrency under ``@jit``), not only that
the name imports. Model calls go to the simulated provider or to the loopback server
of ``ember.testing`` (127.0.0.1).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

import ember.operators.model_calls as model_calls
from ember.api import models, op
from ember.api.operators import (
    Chain,
    Ensemble,
    ExtractText,
    ModelCall,
    ModelText,
    MostCommon,
    Operator,
    Router,
    chain,
    ensemble,
    router,
)
from ember.models import ModelsAPI, OllamaProvider, ProviderRegistry, Response
from ember.testing.loopback import LoopbackServer
from ember.xcs import XCSError, jit


def majority_vote(results: list[str]) -> str:
    """The aggregator of pyember's ``Ensemble`` docstring."""
    return Counter(results).most_common(1)[0][0]


class Classifier(Operator):
    """A pyember-style operator: a fixed label per keyword."""

    def __init__(self, positive_word: str) -> None:
        self.positive_word = positive_word

    def forward(self, text: str) -> str:
        return "positive" if self.positive_word in text else "neutral"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


@pytest.fixture
def loopback_models(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> LoopbackServer:
    """``ModelCall`` and ``ModelText`` resolve ``ollama/...`` to the loopback server."""
    registry = ProviderRegistry()
    registry.register("ollama", OllamaProvider(base_url=server.openai_base_url))
    monkeypatch.setattr(model_calls, "models", ModelsAPI(registry))
    return server


# --- Ensemble and ensemble ------------------------------------------------------------


def test_ensemble_returns_every_answer_in_operator_order() -> None:
    members = [Classifier("good"), Classifier("great"), Classifier("fine")]
    voters = Ensemble(members)
    assert voters("a good and fine day") == ["positive", "neutral", "positive"]
    assert voters.operators == tuple(members)


def test_ensemble_with_an_aggregator_returns_its_result() -> None:
    voters = Ensemble(
        operators=[Classifier("good"), Classifier("great"), Classifier("fine")],
        aggregator=majority_vote,
    )
    assert voters("a good and fine day") == "positive"
    assert voters("a great day") == "neutral"
    by_most_common = Ensemble([Classifier("good"), Classifier("fine"), Classifier("great")],
                              aggregator=MostCommon())
    assert by_most_common("good and fine") == "positive"


def test_ensemble_shortcut_takes_operators_one_by_one_or_as_a_list() -> None:
    assert ensemble(str.upper, str.lower)("Hi") == ["HI", "hi"]
    assert ensemble([str.upper, str.lower], aggregator=" ".join)("Hi") == "HI hi"


def test_ensemble_of_model_ids_asks_each_model() -> None:
    answers = Ensemble(["simulated/a", "simulated/b"])("Capital of France?")
    assert [answer.model_id for answer in answers] == ["simulated/a", "simulated/b"]
    assert answers == [models("simulated/a", "Capital of France?"),
                       models("simulated/b", "Capital of France?")]


def test_ensemble_members_run_concurrently_under_jit() -> None:
    # Each member waits until all three are running: only concurrent calls finish.
    everyone_started = threading.Barrier(3, timeout=10)

    @op
    def member(text: str) -> str:
        everyone_started.wait()
        return text.upper()

    voters = Ensemble([member, member, member], aggregator=majority_vote)
    assert jit(lambda text: voters(text))("yes") == "YES"


def test_ensemble_refuses_bad_members_with_a_clear_error() -> None:
    with pytest.raises(XCSError, match="non-empty list of members"):
        Ensemble([])
    with pytest.raises(XCSError, match="aggregator=...\\) must be callable"):
        Ensemble([str.upper], aggregator="vote")  # type: ignore[arg-type]


# --- Chain and chain -------------------------------------------------------------------


def test_chain_of_a_list_runs_the_steps_in_order() -> None:
    steps = [str.strip, str.title, lambda text: text + "!"]
    pipeline = Chain(steps)
    assert pipeline("  hello world ") == "Hello World!"
    assert pipeline.operators == tuple(steps)
    assert Chain([lambda text: text + "!", str.strip])(" hi ") == "hi !"  # order matters


def test_chain_shortcut_and_nested_chains_agree() -> None:
    inner = chain(str.strip, str.upper)
    assert chain([inner, str.split])("  a b ") == ["A", "B"]
    assert Chain([inner, str.split]).operators == (str.strip, str.upper, str.split)


def test_chain_refuses_no_steps_or_a_step_that_is_not_callable() -> None:
    with pytest.raises(XCSError, match="at least one step"):
        Chain([])
    with pytest.raises(XCSError, match="must be callable"):
        Chain([str.strip, 42])  # type: ignore[list-item]


# --- Router and router -----------------------------------------------------------------


def route_by_domain(question: str) -> str:
    """The routing function of pyember's ``Router`` docstring."""
    if "math" in question.lower():
        return "math"
    if "code" in question.lower():
        return "code"
    return "general"


def test_router_sends_each_input_to_the_named_route_only() -> None:
    called: list[str] = []

    def expert(name: str) -> Callable[[str], str]:
        @op(name=f"{name}_expert")
        def answer(question: str) -> str:
            called.append(name)
            return f"{name}: {question}"

        return answer

    routes = {name: expert(name) for name in ("math", "code", "general")}
    ask = Router(routes=routes, router_fn=route_by_domain)

    assert ask("A math question") == "math: A math question"
    assert ask("Review my code") == "code: Review my code"
    assert ask("Hello") == "general: Hello"
    assert called == ["math", "code", "general"]
    called.clear()
    assert jit(lambda question: ask(question))("A math question") == "math: A math question"
    assert called == ["math"]  # under jit too, the other routes are never called


def test_router_default_route_catches_unknown_names() -> None:
    ask = router({"short": str.upper, "long": str.title},
                 router_fn=lambda text: "tiny" if len(text) < 3 else "long",
                 default_route="short")
    assert ask("hi") == "HI"  # "tiny" is no route: the default answers
    assert ask("hello world") == "Hello World"


def test_router_without_a_default_names_the_routes_it_has() -> None:
    ask = Router({"a": str.upper, "b": str.lower}, router_fn=lambda _: "c")
    with pytest.raises(KeyError, match=r"'c'.*\['a', 'b'\]"):
        ask("x")
    with pytest.raises(XCSError, match="default_route 'z' is not one of the routes"):
        Router({"a": str.upper}, router_fn=lambda _: "a", default_route="z")


# --- ModelCall, ExtractText, ModelText ---------------------------------------------------


def test_model_call_returns_the_full_response_with_its_usage() -> None:
    reply = ModelCall("simulated/demo", temperature=0)("What is the capital of France?")
    assert isinstance(reply, Response)
    assert reply == models("simulated/demo", "What is the capital of France?", temperature=0)
    assert reply.model_id == "simulated/demo"
    assert reply.usage["total_tokens"] == reply.usage.total_tokens > 0


def test_extract_text_gives_the_plain_text_of_a_response() -> None:
    reply = models("simulated/demo", "hello")
    text = ExtractText()(reply)
    assert text == reply and type(text) is str


def test_model_call_chained_with_an_op_as_in_pyembers_docstring() -> None:
    @op
    def extract_text(response: Response) -> str:
        return response.text

    pipeline = Chain([ModelCall("simulated/demo"), extract_text])
    expected = models("simulated/demo", "Summarize this article").text
    assert pipeline("Summarize this article") == expected
    assert jit(lambda prompt: pipeline(prompt))("Summarize this article") == expected


def test_model_text_is_model_call_then_extract_text(loopback_models: LoopbackServer) -> None:
    text = ModelText("ollama/llama3.2:1b")("hello")
    assert text == "[loopback llama3.2:1b] hello" and type(text) is str
    assert text == Chain([ModelCall("ollama/llama3.2:1b"), ExtractText()])("hello")
    assert loopback_models.stats().requests == 2


def test_model_calls_in_an_ensemble_are_in_flight_together_under_jit(
    loopback_models: LoopbackServer,
) -> None:
    loopback_models.latency = 0.3
    panel = Ensemble(
        [ModelText("ollama/a"), ModelText("ollama/b"), ModelText("ollama/c")],
        aggregator=" | ".join,
    )
    expected = "[loopback a] hi | [loopback b] hi | [loopback c] hi"
    assert panel("hi") == expected
    assert loopback_models.stats().max_in_flight == 1  # plain Python: one at a time
    loopback_models.reset()
    assert jit(lambda prompt: panel(prompt))("hi") == expected
    assert loopback_models.stats().max_in_flight == 3


def test_model_call_refuses_an_unknown_model_when_built() -> None:
    with pytest.raises(LookupError, match="nope"):
        ModelCall("nope/model")


def test_retry_calls_again_until_success_as_in_plain_python():
    """pyember's ``Retry(operator, max_attempts, should_retry, base_delay, max_delay)``
    (``ember.operators.common``) was missing. Under ``@jit`` a failed attempt must be
    caught where it fails, as in plain Python, and other ops keep overlapping."""
    import time

    from ember.api.operators import Retry
    from ember.operators.common import Retry as common_retry
    from ember.xcs import jit

    assert Retry is common_retry
    lock, attempts = threading.Lock(), Counter()

    @op(effect=True)
    def flaky(text):
        with lock:
            attempts[text] += 1
            failed = attempts[text] % 3
        if failed:
            raise ConnectionError(f"{text}: attempt {attempts[text]} failed")
        return text.upper()

    @op
    def slow(text):
        time.sleep(0.2)
        return text

    retried = Retry(flaky, max_attempts=3, base_delay=0.0)
    once = Retry(flaky, max_attempts=5, base_delay=0.0,
                 should_retry=lambda error, n: not isinstance(error, ConnectionError))

    def pipeline(text):
        return retried(text), slow(text), retried(text + "!")

    def refused(text):
        return once(text)

    for run in (pipeline, jit(pipeline)):
        attempts.clear()
        assert run("ok") == ("OK", "ok", "OK!") and attempts == {"ok": 3, "ok!": 3}
    for run in (refused, jit(refused)):
        attempts.clear()
        with pytest.raises(ConnectionError, match="attempt 1 failed"):
            run("no")
        assert attempts == {"no": 1}
    started = time.perf_counter()
    jit(lambda: (Retry(slow)("a"), Retry(slow)("b")))()
    assert time.perf_counter() - started < 0.35  # the two retried calls overlapped
    with pytest.raises(ValueError, match="max_attempts"):
        Retry(flaky, max_attempts=0)


def test_retry_jitter_and_the_callers_random_draws_keep_plain_pythons_order():
    """The jitter between attempts is drawn from the ``random`` module: drawn in a helper
    method, ``@jit`` did not see the op read it, so the caller's ``random.random()``
    after the call ran first and gave another value than in plain Python."""
    import random
    import time

    from ember.api.operators import Retry
    from ember.xcs import jit

    attempts: list[str] = []

    def flaky(text):
        attempts.append(text)
        time.sleep(0.05)
        if len(attempts) % 2:
            raise ConnectionError("try later")
        return text.upper()

    retried = Retry(flaky, max_attempts=3, base_delay=0.0)

    def answer_and_draw(text):
        return retried(text), random.random()

    outcomes = []
    for run in (answer_and_draw, jit(answer_and_draw)):
        random.seed(7)
        attempts.clear()
        outcomes.append(run("x"))
    assert outcomes[0] == outcomes[1] and outcomes[0][0] == "X"
