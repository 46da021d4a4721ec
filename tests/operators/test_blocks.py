import pytest

from ember.api.models import models
from ember.api.operators import (
    Chain,
    Ensemble,
    Judge,
    MostCommon,
    UnparseableReplyError,
    Verdict,
    Verifier,
)
from ember.operators import Operator
from ember.xcs import jit
from ember.xcs.errors import XCSError
from tests.operators.steps import Exclaim, Upper

MEMBERS = [f"simulated/member-{i}" for i in range(5)]


def test_ensemble_asks_every_member_in_order():
    answers = Ensemble(MEMBERS)("Capital of France?")
    assert [a.model_id for a in answers] == MEMBERS
    assert all(a.simulated for a in answers)


def test_ensemble_accepts_callables():
    answers = Ensemble([models.instance("simulated/x"), str.upper])("q")
    assert answers[1] == "Q" and answers[0].model_id == "simulated/x"


def test_ensemble_rejects_bad_members():
    with pytest.raises(XCSError):
        Ensemble([])
    with pytest.raises(XCSError):
        Ensemble("simulated/a")
    with pytest.raises(XCSError, match="int"):
        Ensemble([3])


def test_most_common_majority_first_on_ties_and_key():
    assert MostCommon()(["b", "a", "A ", "b"]) == "b"
    assert MostCommon()(["x", "y"]) == "x"
    assert MostCommon(key=len)(["aa", "b", "cc"]) == "aa"
    with pytest.raises(ValueError, match="at least one"):
        MostCommon()([])


def test_most_common_is_a_leaf_op():
    assert MostCommon.leaf and MostCommon().as_op().name == "MostCommon"


def test_judge_returns_one_of_the_candidates():
    candidates = Ensemble(MEMBERS)("Capital of France?")
    chosen = Judge("simulated/judge")("Capital of France?", candidates)
    assert any(chosen is c for c in candidates)


def test_judge_prompt_lists_candidates_and_offers_numbers():
    seen = []

    def judge_model(prompt):
        seen.append(prompt)
        return "I pick 2"

    assert Judge(judge_model, criteria="brevity")("q?", ["long answer", "short"]) == "short"
    assert "Candidate 1: long answer" in seen[0] and "brevity" in seen[0]
    assert seen[0].endswith("Answer with one of: 1, 2")


def test_judge_reply_without_a_number_is_an_error():
    with pytest.raises(UnparseableReplyError, match="no candidate number"):
        Judge(lambda prompt: "both are fine, 7 stars")("q", ["a", "b"])
    with pytest.raises(ValueError, match="at least one candidate"):
        Judge(lambda prompt: "1")("q", [])


def test_verifier_returns_a_verdict():
    verdict = Verifier("simulated/checker")("2+2?", "4")
    assert isinstance(verdict, Verdict) and verdict.answer == "4"
    assert verdict.passed == ("PASS" in verdict.explanation)
    assert Verifier(lambda p: "fail: wrong")("q", "a").passed is False
    assert Verifier(lambda p: "PASS, looks right")("q", "a").passed is True
    with pytest.raises(UnparseableReplyError, match="neither PASS nor FAIL"):
        Verifier(lambda p: "maybe")("q", "a")


def test_ensemble_then_vote():
    answer = (Ensemble(MEMBERS) >> MostCommon())("Capital of France?")
    assert answer.startswith("[simulated]")


def test_reprs_name_the_models():
    assert repr(Ensemble(["simulated/a"])) == "Ensemble([simulated/a])"
    assert repr(Judge("simulated/j")) == "Judge(simulated/j)"
    assert repr(Upper() >> Exclaim()) == "Upper() >> Exclaim()"


def test_user_callables_inside_blocks_mean_under_jit_what_they_mean_in_plain_python() -> None:
    # Members, aggregators, steps and routing functions the user hands a block are called
    # as the jitted function's own code would call them: " | ".join and str.lower take the
    # answers without a learned barrier and its rerun, and the members stay concurrent.
    import time

    from ember.operators.routing import Router
    from ember.xcs import get_jit_stats, jit, op

    @op
    def shout(text: str) -> str:
        time.sleep(0.1)
        return text.upper()

    panel = Ensemble([shout, shout, shout], aggregator=" | ".join)
    pipeline = Chain([panel, str.lower])
    routed = Router({"short": pipeline, "long": shout},
                    router_fn=lambda text: "long" if len(text) > 5 else "short")
    fast = jit(lambda text: [routed(text), routed(text + " there")])

    started = time.perf_counter()
    got = fast("hi")
    elapsed = time.perf_counter() - started
    assert got == [routed("hi"), routed("hi there")] == ["hi | hi | hi", "HI THERE"]
    assert elapsed < 0.3  # four 0.1 s calls overlap (plain Python: 0.4 s)
    stats = get_jit_stats(fast)
    assert stats["reruns"] == 0 and stats["fallbacks"] == []


def test_keyword_style_members_and_aggregator_are_called_as_chain_calls_them():
    class Count(Operator):
        def forward(self, *, inputs):
            return len(inputs)

    ensemble = Ensemble([Upper(), Exclaim(), Upper()])
    assert ensemble("hi") == ["HI", "hi!", "HI"]
    counted = Ensemble([Upper(), Exclaim()], aggregator=Count())
    assert counted("hi") == 2
    assert jit(ensemble)("hi") == ["HI", "hi!", "HI"] and jit(counted)("hi") == 2


class _KeywordModel(Operator):
    """A pyember-style operator model: forward(self, *, inputs)."""

    def forward(self, *, inputs):
        return "1" if "Candidate 1" in inputs else "PASS"


def test_judge_and_verifier_call_a_keyword_style_operator_as_every_block_does():
    assert Judge(_KeywordModel())("q", ["a", "b"]) == "a"
    assert Verifier(_KeywordModel())("q", "a").passed is True
    assert jit(lambda q: Judge(_KeywordModel())(q, ["a", "b"]))("q") == "a"


@pytest.mark.parametrize("jitted", [False, True])
def test_one_answer_given_as_a_str_is_refused_not_split_into_letters(jitted):
    judge, vote = Judge("simulated/judge"), MostCommon()
    run_judge = jit(lambda q, c: judge(q, c)) if jitted else judge
    run_vote = jit(lambda a: vote(a)) if jitted else vote
    with pytest.raises(TypeError, match=r"candidates must be a list of answers, got str "
                                        r"'four'; wrap a single answer in a list: \['four'\]"):
        run_judge("What is 2+2?", "four")
    with pytest.raises(TypeError, match="answers must be a list of answers, got str 'yes'"):
        run_vote("yes")
    assert run_judge("What is 2+2?", ["four"]) == "four"
    assert run_vote(["yes"]) == "yes"


def test_most_common_key_must_be_a_function():
    with pytest.raises(TypeError, match=r"MostCommon\(key=...\) needs a function"):
        MostCommon(key=1)
