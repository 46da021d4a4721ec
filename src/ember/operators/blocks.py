"""The compound-AI building blocks: ``Ensemble``, ``Judge``, ``MostCommon``,
``Verifier`` and ``Chain`` (defined with ``Operator`` in ``base``, since ``a >> b``
builds it; the ``chain`` function is here).

``Ensemble``, ``Judge``, ``Verifier`` and ``Chain`` are non-leaf operators: under
``@jit`` their ``forward`` runs inline, so every model call inside is its own op and
independent calls run concurrently. The small pure steps between model calls
(building a judge prompt, reading its verdict) are ops too, so no glue line has to
wait for a model reply and a batch of questions stays parallel. ``MostCommon`` is a
leaf: the whole vote is one op.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from ember.models import models
from ember.operators.base import Chain, Operator, call_step
from ember.xcs import XCSError, op

__all__ = [
    "Chain",
    "Ensemble",
    "Judge",
    "MostCommon",
    "UnparseableReplyError",
    "Verdict",
    "Verifier",
    "chain",
    "ensemble",
]

Member = str | Callable[..., Any]


class UnparseableReplyError(XCSError, ValueError):
    """A judge or verifier model replied without the choice it was asked for.

    Fix: use a model that follows the instruction, or a stricter ``criteria`` text;
    the message quotes the reply.
    """


def _as_callable(member: Member, *, role: str) -> Callable[..., Any]:
    if isinstance(member, str):
        return models.instance(member)
    if not callable(member):
        raise XCSError(
            f"{role} needs model ids (str) or callables, got {type(member).__name__} {member!r}."
        )
    return member


def _describe(member: Callable[..., Any]) -> str:
    return str(getattr(member, "model_id", None) or repr(member))


class Ensemble(Operator):
    """Ask every member the same input; return their answers in member order.

    With an ``aggregator`` the answers are passed to it and its result is returned
    (pyember's ``Ensemble(operators, aggregator)``), e.g. ``MostCommon()``.

    Args:
        operators: model ids (``"simulated/a"``) or callables (operators, model
            bindings, functions) taking the input. ``members=`` is the same list.
        aggregator: a callable combining the list of answers, or ``None``.

    Raises:
        XCSError: no members, a member that is neither a str nor callable, or an
            aggregator that is not callable.

    Example:
        >>> ensemble = Ensemble(["simulated/a", "simulated/b"])
        >>> [answer.model_id for answer in ensemble("Capital of France?")]
        ['simulated/a', 'simulated/b']
        >>> Ensemble([str.upper, str.lower], aggregator=" / ".join)("Hi")
        'HI / hi'
    """

    def __init__(self, operators: Sequence[Member] | None = None,
                 aggregator: Callable[[list[Any]], Any] | None = None, *,
                 members: Sequence[Member] | None = None) -> None:
        if operators is not None and members is not None:
            raise XCSError("Ensemble: pass the members once, as operators=... or members=....")
        chosen = operators if operators is not None else members
        if chosen is None or isinstance(chosen, str) or not chosen:
            raise XCSError(
                f"Ensemble needs a non-empty list of members, got {chosen!r}; "
                "e.g. Ensemble(['simulated/a', 'simulated/b'])."
            )
        if aggregator is not None and not callable(aggregator):
            raise XCSError(
                f"Ensemble(aggregator=...) must be callable, got {type(aggregator).__name__}."
            )
        self.members = tuple(_as_callable(member, role="Ensemble") for member in chosen)
        self.aggregator = aggregator

    @property
    def operators(self) -> tuple[Callable[..., Any], ...]:
        """The members (pyember's name for them)."""
        return self.members

    def forward(self, prompt: Any) -> Any:
        """Every member's answer to ``prompt`` (concurrent under ``@jit``), aggregated."""
        answers = [call_step(member, prompt) for member in self.members]
        if self.aggregator is not None:
            return call_step(self.aggregator, answers)
        return answers

    def __repr__(self) -> str:
        listed = ", ".join(_describe(m) for m in self.members)
        if self.aggregator is None:
            return f"Ensemble([{listed}])"
        return f"Ensemble([{listed}], aggregator={_describe(self.aggregator)})"


def _normalized(answer: Any) -> Hashable:
    return " ".join(str(answer).split()).casefold()


class MostCommon(Operator):
    """Majority vote: the answer given most often (the earliest one wins ties).

    A leaf operator: under ``@jit`` the vote is one op that waits for all answers.

    Args:
        key: what counts as "the same answer" (default: case- and
            whitespace-insensitive text).

    Raises:
        ValueError: called with no answers.
        TypeError: called with one answer (a str) instead of a list of answers.

    Example:
        >>> MostCommon()(["Paris", "paris ", "Lyon"])
        'Paris'
    """

    leaf = True

    def __init__(self, key: Callable[[Any], Hashable] = _normalized) -> None:
        if not callable(key):
            raise TypeError(f"MostCommon(key=...) needs a function of one answer, got "
                            f"{type(key).__name__} {key!r}.")
        self.key = key

    def forward(self, answers: Sequence[Any]) -> Any:
        """The first answer whose key occurs most often among ``answers``."""
        _check_answers("MostCommon", "answers", answers)
        if not answers:
            raise ValueError("MostCommon needs at least one answer, got an empty sequence.")
        keys = [self.key(answer) for answer in answers]
        counts = Counter(keys)
        best = max(counts.values())
        return answers[next(i for i, key in enumerate(keys) if counts[key] == best)]


def _check_answers(who: str, name: str, answers: Any) -> None:
    """``TypeError`` for one answer (a str) where a list of answers is expected: its
    letters would be taken for the answers."""
    if isinstance(answers, str | bytes):
        raise TypeError(
            f"{who}: {name} must be a list of answers, got {type(answers).__name__} "
            f"{answers[:60]!r}; wrap a single answer in a list: [{answers[:60]!r}]."
        )


@op(name="judge.prompt")
def _judge_prompt(question: Any, candidates: Sequence[Any], criteria: str) -> str:
    _check_answers("Judge", "candidates", candidates)
    if not candidates:
        raise ValueError("Judge needs at least one candidate answer, got none.")
    listed = "\n".join(f"Candidate {i}: {c}" for i, c in enumerate(candidates, start=1))
    numbers = ", ".join(str(i) for i in range(1, len(candidates) + 1))
    return (
        f"You are judging candidate answers by {criteria}.\n"
        f"Question: {question}\n{listed}\n"
        f"Reply with the number of the best candidate. Answer with one of: {numbers}"
    )


@op(name="judge.select")
def _judge_select(reply: Any, candidates: Sequence[Any]) -> Any:
    for match in re.finditer(r"\d+", str(reply)):
        number = int(match.group())
        if 1 <= number <= len(candidates):
            return candidates[number - 1]
    raise UnparseableReplyError(
        f"Judge: the reply {str(reply)[:200]!r} names no candidate number "
        f"from 1 to {len(candidates)}."
    )


class Judge(Operator):
    """Ask a judge model which candidate answers a question best; return that candidate.

    Args:
        model: the judge (a model id or a callable taking a prompt).
        criteria: what the judge should value, inserted into its prompt.

    Raises:
        UnparseableReplyError: the judge's reply names no candidate number.
        TypeError: ``candidates`` is one answer (a str), not a list of answers.

    Example:
        >>> judge = Judge("simulated/judge")
        >>> judge("Capital of France?", ["Paris", "Lyon"]) in ("Paris", "Lyon")
        True
    """

    def __init__(self, model: Member, *, criteria: str = "accuracy and clarity") -> None:
        self.model = _as_callable(model, role="Judge")
        self.criteria = criteria

    def forward(self, question: Any, candidates: Sequence[Any]) -> Any:
        """The candidate the judge model picks for ``question``."""
        return self.decide(question, candidates)[0]

    def decide(self, question: Any, candidates: Sequence[Any]) -> tuple[Any, Any]:
        """The candidate the judge model picks, and the judge's whole reply (its reasons)."""
        reply = call_step(self.model, _judge_prompt(question, candidates, self.criteria))
        return _judge_select(reply, candidates), reply

    def __repr__(self) -> str:
        return f"Judge({_describe(self.model)})"


@dataclass(frozen=True)
class Verdict:
    """A verifier's decision on one answer.

    Attributes:
        answer: the answer that was checked.
        passed: whether the verifier accepted it.
        explanation: the verifier model's full reply.
    """

    answer: Any
    passed: bool
    explanation: str


@op(name="verifier.prompt")
def _verifier_prompt(question: Any, answer: Any, criteria: str) -> str:
    return (
        f"Check whether the answer is {criteria}.\n"
        f"Question: {question}\nAnswer: {answer}\n"
        "Reply with PASS or FAIL, then a short reason. Answer with one of: PASS, FAIL"
    )


@op(name="verifier.verdict")
def _verdict(reply: Any, answer: Any) -> Verdict:
    match = re.search(r"\b(PASS|FAIL)\b", str(reply), re.IGNORECASE)
    if match is None:
        raise UnparseableReplyError(
            f"Verifier: the reply {str(reply)[:200]!r} says neither PASS nor FAIL."
        )
    return Verdict(answer=answer, passed=match.group(1).upper() == "PASS", explanation=str(reply))


class Verifier(Operator):
    """Ask a model whether an answer is acceptable; return a ``Verdict``.

    Args:
        model: the verifier (a model id or a callable taking a prompt).
        criteria: what "acceptable" means, inserted into its prompt.

    Raises:
        UnparseableReplyError: the reply says neither PASS nor FAIL.

    Example:
        >>> verdict = Verifier("simulated/checker")("2+2?", "4")
        >>> verdict.answer, isinstance(verdict.passed, bool)
        ('4', True)
    """

    def __init__(self, model: Member, *, criteria: str = "correct and complete") -> None:
        self.model = _as_callable(model, role="Verifier")
        self.criteria = criteria

    def forward(self, question: Any, answer: Any) -> Verdict:
        """The verifier model's verdict on ``answer`` to ``question``."""
        reply = call_step(self.model, _verifier_prompt(question, answer, self.criteria))
        result: Verdict = _verdict(reply, answer)
        return result

    def __repr__(self) -> str:
        return f"Verifier({_describe(self.model)})"


def _members(operators: tuple[Any, ...], function: str) -> list[Any]:
    if len(operators) == 1 and isinstance(operators[0], list | tuple):
        return list(operators[0])
    if not operators:
        raise XCSError(f"{function}() needs at least one operator, e.g. {function}(a, b).")
    return list(operators)


def ensemble(*operators: Member | Sequence[Member],
             aggregator: Callable[[list[Any]], Any] | None = None) -> Ensemble:
    """An ``Ensemble`` of ``operators`` (given one by one or as one list).

    Args:
        *operators: members, or a single list of members.
        aggregator: combines the answers (see ``Ensemble``).

    Returns:
        The ``Ensemble``.

    Example:
        >>> ensemble(str.upper, str.title)("hi there")
        ['HI THERE', 'Hi There']
    """
    return Ensemble(_members(operators, "ensemble"), aggregator)


def chain(*operators: Callable[..., Any] | Sequence[Callable[..., Any]]) -> Chain:
    """A ``Chain`` of ``operators`` (given one by one or as one list).

    Example:
        >>> chain(str.strip, str.upper)("  hi ")
        'HI'
    """
    return Chain(*_members(operators, "chain"))
