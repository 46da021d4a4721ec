"""A function of the user's handed to an op (a lambda, a nested function, a bound
method, a ``functools.partial``) is called by the op; in plain Python that happened
before the next line, so it must read the glue's variables, globals and objects as they
were at the call, and its own effects come before the glue's next ones."""

from __future__ import annotations

import functools
import time
from typing import Any

import pytest

from ember.xcs import jit, op


@op
def transform(items: list[str], fn: Any) -> list[str]:
    time.sleep(0.004)
    return [fn(x) for x in items]


def nested_op_reads_the_loop_variable(qs: list[str]) -> list[str]:
    out = []
    for q in qs:
        @op
        def ask() -> str:
            time.sleep(0.004)
            return q
        out.append(ask())
    return out


def lambda_over_the_loop_variable(items: list[str]) -> list[list[str]]:
    outs = []
    for sep in ["-", "+"]:
        outs.append(transform(items, lambda x: sep.join(x)))
    return outs


def lambda_over_a_dict_changed_after(items: list[str]) -> list[str]:
    cfg = {"sep": "-"}
    out = transform(items, lambda x: cfg["sep"].join(x))
    cfg["sep"] = "+"
    return out


SEP = "-"


def lambda_over_a_global_rebound_after(items: list[str]) -> list[str]:
    global SEP
    SEP = "-"
    out = transform(items, lambda x: SEP.join(x))
    SEP = "+"
    return out


class Formatter:
    def __init__(self) -> None:
        self.sep = "-"

    def join(self, x: str) -> str:
        return self.sep.join(x)


def bound_method_of_an_object_changed_after(items: list[str]) -> list[str]:
    formatter = Formatter()
    out = transform(items, formatter.join)
    formatter.sep = "+"
    return out


def partial_over_a_list_changed_after(items: list[str]) -> list[str]:
    sep = ["-"]
    out = transform(items, functools.partial(lambda s, x: s[0].join(x), sep))
    sep[0] = "+"
    return out


def nested_function_with_effects(items: list[str]) -> tuple[list[str], list[str]]:
    log: list[str] = []

    def shout(x: str) -> str:
        log.append("shout " + x)
        return x.upper()

    out = transform(items, shout)
    log.append("after")
    return out, log


def variable_rebound_after(items: list[str]) -> list[str]:
    sep = "-"
    out = transform(items, lambda x: sep.join(x))
    sep = "+"
    return out + [sep]


@pytest.mark.parametrize("program", [
    nested_op_reads_the_loop_variable, lambda_over_the_loop_variable,
    lambda_over_a_dict_changed_after, lambda_over_a_global_rebound_after,
    bound_method_of_an_object_changed_after, partial_over_a_list_changed_after,
    nested_function_with_effects, variable_rebound_after,
], ids=lambda program: program.__name__)
def test_the_function_reads_what_it_read_at_the_call(program):
    argument = ["ab", "cd"]
    expected = program(argument)
    jitted = jit(program)
    assert jitted(argument) == expected
    assert jitted(argument) == expected  # later calls too


def test_functions_reading_nothing_that_changes_keep_ops_parallel():
    formatter = Formatter()

    @jit
    def fan(groups: list[list[str]]) -> list[list[str]]:
        return [transform(group, formatter.join) for group in groups] + \
            [transform(group, lambda x: x.upper()) for group in groups]

    fan([["a"]])
    started = time.perf_counter()
    assert fan([["ab"], ["cd"]] * 3) == [["a-b"], ["c-d"]] * 3 + [["AB"], ["CD"]] * 3
    assert time.perf_counter() - started < 12 * 0.004 * 0.7


def comprehension_over_the_variable(items: list[str]) -> list[list[str]]:
    return [transform(items, lambda x: sep.join(x)) for sep in ["-", "+"]]


def test_a_comprehension_variable_read_by_a_lambda_handed_to_an_op():
    expected = comprehension_over_the_variable(["ab"])
    assert expected == [["a-b"], ["a+b"]]
    jitted = jit(comprehension_over_the_variable)
    assert jitted(["ab"]) == expected
    assert jitted(["ab"]) == expected


def test_a_thread_subclass_run_gets_the_values_its_closure_holds():
    import json
    import threading

    @op
    def fetch(key: str) -> dict[str, str]:
        time.sleep(0.005)
        return {"key": key}

    def report(key: str) -> list[str]:
        reply = fetch(key)
        out: list[str] = []

        class Writer(threading.Thread):
            def run(self) -> None:
                out.append(json.dumps(reply))  # on another thread: no trace there

        writer = Writer()
        writer.start()
        writer.join()
        return out

    assert report("a") == jit(report)("a") == ['{"key": "a"}']
