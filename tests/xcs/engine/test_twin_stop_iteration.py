"""An op with an ``async_fn`` twin whose body raises ``StopIteration``: under ``@jit``
the engine awaits the twin, where Python turns the ``StopIteration`` into a
``RuntimeError`` (PEP 479); the call raises the ``StopIteration`` the sync body the
glue called raises in plain Python."""

import pytest

from ember.xcs import jit, op


def scripted(replies):
    """A sync body and its async twin, handing out ``replies`` one by one."""
    replies = iter(replies)

    def ask(question):
        return f"{question}: {next(replies)}"

    async def aask(question):
        return ask(question)

    return op(ask, async_fn=aask, name="ask")


def pipeline(ask):
    def run(questions):
        return [ask(q) for q in questions]

    return run


@pytest.mark.parametrize("mode", ["plain", "jit"])
def test_stop_iteration_of_a_twin_op_is_raised_as_by_its_sync_body(mode):
    run = pipeline(scripted(["a", "b"]))
    run = jit(run) if mode == "jit" else run
    with pytest.raises(StopIteration):
        run(["q1", "q2", "q3"])


def test_a_runtime_error_of_the_twin_itself_is_kept():
    async def aboom(x):
        raise RuntimeError("coroutine raised StopIteration")

    def boom(x):
        raise RuntimeError("coroutine raised StopIteration")

    twin = op(boom, async_fn=aboom, name="boom")
    with pytest.raises(RuntimeError, match="coroutine raised StopIteration"):
        jit(lambda x: twin(x))(1)
