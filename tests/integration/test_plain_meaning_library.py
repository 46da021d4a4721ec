"""Library code handed an op result through its own object: a pydantic model's
``model_dump_json`` reading the fields the glue set, an ``EmailMessage`` storing a
header. Both see values, as in plain Python (not the lazy proxies)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from email.message import EmailMessage

import pytest
from pydantic import BaseModel

from ember.xcs import jit, op


@op
def answer(question: str) -> str:
    time.sleep(0.003)
    return f"answer to {question}"


class State(BaseModel):
    question: str
    answer: str = ""
    notes: list[str] = []


def agent_step(question: str) -> tuple[str, str]:
    state = State(question=question)
    state.answer = answer(question)
    state.notes.append(answer(question + "?"))
    return state.model_dump_json(), json.dumps(state.model_dump())


def write_mail(question: str) -> str:
    message = EmailMessage()
    message["To"] = "team@example.com"
    message["Subject"] = answer(question)
    message.set_content("see subject")
    return message.as_string()


@pytest.mark.parametrize("program", [agent_step, write_mail], ids=lambda p: p.__name__)
def test_library_methods_and_stores_see_the_values_the_glue_gave_their_objects(
        program: Callable[[str], object]) -> None:
    jitted = jit(program)
    for question in ("why", "how"):
        assert jitted(question) == program(question)


RULE = "type(reply) is str and reply.startswith('answer')"


def check_rule(question: str) -> tuple[bool, str, str]:
    reply = answer(question)
    ok = eval(RULE, {"reply": reply})  # noqa: S307 - a user-configured rule
    kind = eval("type(reply).__name__")  # noqa: S307 - the function's own locals
    space: dict[str, object] = {}
    exec("t = type(r).__name__", {"r": [reply]}, space)  # noqa: S102
    return ok, kind, str(space["t"])


def call_own_exec(question: str) -> str:
    def exec(command: str) -> str:  # noqa: A001 - a tool of the user's named like the builtin
        return f"ran {command}"

    return exec(answer(question))


@pytest.mark.parametrize("program", [check_rule, call_own_exec], ids=lambda p: p.__name__)
def test_eval_and_exec_see_values(program: Callable[[str], object]) -> None:
    jitted = jit(program)
    for question in ("why", "how"):
        assert jitted(question) == program(question)
