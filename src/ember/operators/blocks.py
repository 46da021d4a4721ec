"""The compound-AI building blocks: ``Ensemble``, ``Judge``, ``MostCommon``,
``Verifier`` and ``Chain``.

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

from ember.operators.base import Operator, takes_inputs_keyword
from ember.xcs.errors import XCSError
from ember.xcs.ops import op

__all__ = [
    "Chain",
    "Ensemble",
    "Judge",
    "MostCommon",
    "UnparseableReplyError",
    "Verdict",
    "Verifier",
]

Member = str | Callable[..., Any]


class UnparseableReplyError(XCSError, ValueError):
    """A judge or verifier model replied without the choice it was asked for.

    Fix: use a model that follows the instruction, or a stricter ``criteria`` text;
    the message quotes the reply.
    """


def _as_callable(member: Member, *, role: str) -> Callable[..., Any]:
    if isinstance(member, str):
        from ember.api.models import models

        return models.instance(member)
    if not callable(member):
        raise XCSError(
            f"{role} needs model ids (str) or callables, got {type(member).__name__} {member!r}."
        )
    return member


def _describe(member: Callable[..., Any]) -> str:
    return str(getattr(member, "model_id", None) or repr(member))


class Ensemble(Operator):
    """Ask every member the same prompt; return their answers in member order.

    Args:
        members: model ids (``"simulated/a"``) or callables (model bindings,
            operators, functions) taking the prompt.

    Raises:
        XCSError: no members, or a member that is neither a str nor callable.

    Example:
        >>> ensemble = Ensemble(["simulated/a", "simulated/b"])
        >>> [answer.model_id for answer in ensemble("Capital of France?")]
        ['simulated/a', 'simulated/b']
    """

    def __init__(self, members: Sequence[Member]) -> None:
        if isinstance(members, str) or not members:
            raise XCSError(
                f"Ensemble needs a non-empty list of members, got {members!r}; "
                "e.g. Ensemble(['simulated/a', 'simulated/b'])."
            )
        self.members = tuple(_as_callable(member, role="Ensemble") for member in members)

    def forward(self, prompt: Any) -> list[Any]:
        """Every member's answer to ``prompt`` (concurrent under ``@jit``)."""
        return [member(prompt) for member in self.members]

    def __repr__(self) -> str:
        return f"Ensemble([{', '.join(_describe(m) for m in self.members)}])"


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

    Example:
        >>> MostCommon()(["Paris", "paris ", "Lyon"])
        'Paris'
    """

    leaf = True

    def __init__(self, key: Callable[[Any], Hashable] = _normalized) -> None:
        self.key = key

    def forward(self, answers: Sequence[Any]) -> Any:
        """The first answer whose key occurs most often among ``answers``."""
        if not answers:
            raise ValueError("MostCommon needs at least one answer, got an empty sequence.")
        keys = [self.key(answer) for answer in answers]
        counts = Counter(keys)
        best = max(counts.values())
        return answers[next(i for i, key in enumerate(keys) if counts[key] == best)]


@op(name="judge.prompt")
def _judge_prompt(question: Any, candidates: Sequence[Any], criteria: str) -> str:
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
        reply = self.model(_judge_prompt(question, candidates, self.criteria))
        return _judge_select(reply, candidates)

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
        reply = self.model(_verifier_prompt(question, answer, self.criteria))
        result: Verdict = _verdict(reply, answer)
        return result

    def __repr__(self) -> str:
        return f"Verifier({_describe(self.model)})"


class Chain(Operator):
    """Run steps in order, each on the previous step's output (``a >> b >> c``).

    A keyword-style operator step (``forward(self, *, inputs)``) is called as
    ``step(inputs=value)``; every other step as ``step(value)``. Nested chains are
    flattened.

    Args:
        *steps: operators or plain callables.

    Raises:
        XCSError: no steps, or a step that is not callable.

    Example:
        >>> pipeline = Ensemble(["simulated/a", "simulated/b", "simulated/c"]) >> MostCommon()
        >>> pipeline("Capital of France?").startswith("[simulated]")
        True
    """

    steps: tuple[Callable[..., Any], ...]

    def __init__(self, *steps: Callable[..., Any]) -> None:
        if not steps:
            raise XCSError("Chain needs at least one step, e.g. Chain(ensemble, MostCommon()).")
        flat: list[Callable[..., Any]] = []
        for step in steps:
            if not callable(step):
                raise XCSError(f"Chain steps must be callable, got {type(step).__name__} {step!r}.")
            flat.extend(step.steps if isinstance(step, Chain) else (step,))
        self.steps = tuple(flat)

    def forward(self, value: Any) -> Any:
        """``value`` passed through every step in order."""
        for step in self.steps:
            if isinstance(step, Operator) and takes_inputs_keyword(type(step)):
                value = step(inputs=value)
            else:
                value = step(value)
        return value

    def __repr__(self) -> str:
        return " >> ".join(repr(step) for step in self.steps)
