"""Whether code of the user's runs in an operation (``tracing.usercode``), also after
the program changed a class since it was first asked."""

from __future__ import annotations

import time

from ember.xcs import jit, op
from ember.xcs.tracing.usercode import has_user_special_methods


def test_a_special_method_added_or_deleted_later_is_seen() -> None:
    class Reply:
        pass

    class Child(Reply):
        pass

    assert not has_user_special_methods(Reply) and not has_user_special_methods(Child)
    Reply.__str__ = lambda self: "reply"  # type: ignore[method-assign,assignment]
    assert has_user_special_methods(Reply) and has_user_special_methods(Child)
    del Reply.__str__
    assert not has_user_special_methods(Child)


def test_str_of_an_op_result_runs_a_str_added_after_the_first_call_at_its_call() -> None:
    log: list[object] = []
    stage = ["a"]

    class Reply:
        def __init__(self, text: str) -> None:
            self.text = text

    @op
    def ask(q: str) -> Reply:
        time.sleep(0.01)
        return Reply(q.upper())

    def glue(q: str) -> str:
        stage[0] = "a"
        text = str(ask(q))
        stage[0] = "b"
        log.append("after")
        return text

    jitted = jit(glue)
    jitted("warm-up")
    jitted("warm-up")  # Reply is known (from the first result) and looked at
    log.clear()

    def __str__(self: Reply) -> str:
        log.append(("str", stage[0]))
        return f"Reply({self.text})"

    Reply.__str__ = __str__  # type: ignore[method-assign]
    expected = glue("y"), list(log)
    log.clear()
    assert (jitted("y"), log) == expected == ("Reply(Y)", [("str", "a"), "after"])
