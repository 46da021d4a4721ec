"""Ops given a random generator draw in program order, as in plain Python.

``[sample(rng, p) for p in prompts]`` with one ``rng`` drew in the order the ops ran,
and the glue's ``rng.integers(...)`` right after drew before them. Ops given the same
generator now run one after another, in program order, and the glue's draws wait for
them; ops given generators of their own still run in parallel.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import functools
import random
import time

import numpy as np
import pytest

from ember.xcs import explain, jit, op

calls: collections.Counter[str] = collections.Counter()


@op
def sample(rng, prompt):
    calls["sample"] += 1
    time.sleep(0.005 * (3 - len(prompt) % 3))  # later prompts finish first
    return f"{prompt}:{rng.integers(0, 1000)}"


@op
def pick(rng, prompt):
    time.sleep(0.005 * (3 - len(prompt) % 3))
    return f"{prompt}:{rng.randint(0, 1000)}"


@op
def sample_from(settings, prompt):
    time.sleep(0.005 * (3 - len(prompt) % 3))
    return f"{prompt}:{settings['rng'].random():.6f}"


@op
def slow_draw(rng):
    time.sleep(0.05)
    return float(rng.random())


def numpy_generator(seed, prompts):
    rng = np.random.default_rng(seed)
    drawn = [sample(rng, p) for p in prompts]
    return drawn, int(rng.integers(0, 1000))


def legacy_generator(seed, prompts):
    rng = np.random.RandomState(seed)
    drawn = [pick(rng, p) for p in prompts]
    return drawn, rng.randint(0, 1000)


def stdlib_generator(seed, prompts):
    rng = random.Random(seed)
    drawn = [pick(rng, p) for p in prompts]
    return drawn, rng.random()


def generator_in_a_dict(seed, prompts):
    settings = {"rng": random.Random(seed), "style": "short"}
    drawn = [sample_from(settings, p) for p in prompts]
    return drawn, settings["rng"].random()


@pytest.mark.parametrize("fn", [numpy_generator, legacy_generator, stdlib_generator,
                                generator_in_a_dict])
def test_ops_given_one_generator_draw_in_program_order(fn):
    jitted = jit(fn)
    for seed, prompts in ((1, ["a", "bb", "ccc", "dddd"]), (2, ["x", "yy", "zzz"])):
        calls.clear()
        expected = fn(seed, prompts)
        plain_calls = dict(calls)
        calls.clear()
        assert jitted(seed, prompts) == expected
        assert dict(calls) == plain_calls


def test_ops_given_their_own_generators_still_run_in_parallel():
    def draws(seeds):
        return [slow_draw(np.random.default_rng(seed)) for seed in seeds]

    jitted = jit(draws)
    jitted([0])
    expected = draws([1, 2, 3, 4])
    started = time.perf_counter()
    assert jitted([1, 2, 3, 4]) == expected
    assert time.perf_counter() - started < 0.15  # four 50 ms ops at once, not 200 ms
    assert "random generator" not in explain(jitted)


def test_ops_given_one_generator_in_async_glue():
    async def drawn(seed, prompts):
        rng = np.random.default_rng(seed)
        values = [sample(rng, p) for p in prompts]
        await asyncio.sleep(0)
        return values, int(rng.integers(0, 1000))

    jitted = jit(drawn)
    for seed in (3, 4):
        prompts = ["a", "bb", "ccc"]
        assert asyncio.run(jitted(seed, prompts)) == asyncio.run(drawn(seed, prompts))


def library_draws_after_an_op(seed):
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(seed)
    drawn = sample(rng, "a")
    noise = stats.norm.rvs(size=2, random_state=rng)  # a library function draws from it
    return drawn, noise.tolist()


def unbound_method_draws_after_an_op(seed):
    rng = np.random.default_rng(seed)
    drawn = sample(rng, "a")
    return drawn, np.random.Generator.random(rng)


@pytest.mark.parametrize("fn", [library_draws_after_an_op, unbound_method_draws_after_an_op])
def test_a_function_given_the_generator_draws_after_the_ops_holding_it(fn):
    jitted = jit(fn)
    for seed in (1, 2):
        assert jitted(seed) == fn(seed)


@op
async def asample(rng, prompt):
    await asyncio.sleep(0.03 * (3 - len(prompt) % 3))  # later prompts draw first
    return f"{prompt}:{rng.integers(0, 1000)}"


def test_async_ops_given_one_generator_and_gathered_draw_as_they_run():
    # asyncio.gather runs them at once in plain Python too: the shortest sleep draws
    # first. They must not be made to run one by one.
    async def gathered(seed, prompts):
        rng = np.random.default_rng(seed)
        drawn = await asyncio.gather(*[asample(rng, p) for p in prompts])
        return drawn, int(rng.integers(0, 1000))

    jitted = jit(gathered)
    for seed in (1, 2):
        prompts = ["a", "bb", "ccc"]
        assert asyncio.run(jitted(seed, prompts)) == asyncio.run(gathered(seed, prompts))


class Agent:
    """A user's object holding its generator (``self.rng``), as agents and samplers do."""

    def __init__(self, name, rng):
        self.name = name
        self.rng = rng


@op
def act(agent, prompt):
    time.sleep(0.005 * (3 - len(prompt) % 3))
    return f"{agent.name}:{prompt}:{agent.rng.random():.6f}"


@op
def sample_nested(config, prompt):
    time.sleep(0.005 * (3 - len(prompt) % 3))
    return f"{prompt}:{config['sampling']['rng'].integers(0, 1000)}"


@op
def act_first(team, prompt):
    time.sleep(0.005 * (3 - len(prompt) % 3))
    return f"{prompt}:{team[0].rng.random():.6f}"


def agents_sharing_a_generator(seed, prompts):
    rng = random.Random(seed)
    drawn = [act(Agent(p, rng), p) for p in prompts]
    return drawn, rng.random()


def team_in_a_list(seed, prompts):
    team = [Agent("a", np.random.default_rng(seed))]
    drawn = [act_first(team, p) for p in prompts]
    return drawn, float(team[0].rng.random())


def generator_in_a_nested_dict(seed, prompts):
    config = {"sampling": {"rng": np.random.default_rng(seed)}, "style": "short"}
    drawn = [sample_nested(config, p) for p in prompts]
    return drawn, int(config["sampling"]["rng"].integers(0, 1000))


def glue_draws_after_an_agent(seed, prompts):
    rng = np.random.default_rng(seed)
    first = act(Agent("solo", rng), prompts[0])
    return first, float(rng.random())


@pytest.mark.parametrize("fn", [agents_sharing_a_generator, team_in_a_list,
                                generator_in_a_nested_dict, glue_draws_after_an_agent])
def test_a_generator_inside_an_object_or_nested_dict_keeps_program_order(fn):
    # The generator an op holds through an object's attribute or a dict in a dict: the
    # ops given it and the glue's own draws came in the order the ops ran.
    jitted = jit(fn)
    for seed, prompts in ((1, ["a", "bb", "ccc", "dddd"]), (2, ["x", "yy", "zzz"])):
        assert jitted(seed, prompts) == fn(seed, prompts)


def looks_at_the_generator(seed):
    rng = np.random.default_rng(seed)
    first = slow_draw(rng)
    seen = [isinstance(rng, np.random.Generator), type(rng).__name__, repr(rng)[:9]]
    settings = dict(rng=rng, temperature=0.2)
    kept = []
    kept.append(rng)
    return first, seen, settings["rng"] is rng, kept[0] is rng


def copies_the_generator(seed):
    rng = np.random.default_rng(seed)
    first = slow_draw(rng)
    twin = copy.deepcopy(rng)  # reads its state: after the op's draw, as in plain Python
    return first, float(twin.random()), float(rng.random())


def test_built_ins_that_only_look_at_a_generator_do_not_wait_for_its_op():
    # isinstance(rng, ...), repr(rng), dict(rng=rng), kept.append(rng) read no state:
    # they waited for the op drawing from rng (a barrier), costing the ops after them.
    jitted = jit(looks_at_the_generator)
    for seed in (1, 2):
        assert jitted(seed) == looks_at_the_generator(seed)
    assert "holds it" not in explain(jitted)
    copying = jit(copies_the_generator)
    for seed in (1, 2):
        assert copying(seed) == copies_the_generator(seed)


@op
def jitter(draw, prompt):
    time.sleep(0.005 * (3 - len(prompt) % 3))
    return f"{prompt}:{float(draw()):.6f}"


def bound_method(seed, prompts):
    rng = np.random.default_rng(seed)
    drawn = [jitter(rng.random, p) for p in prompts]
    return drawn, float(rng.random())


def partial_of_a_method(seed, prompts):
    rng = random.Random(seed)
    drawn = [jitter(functools.partial(rng.gauss, 0, 1), p) for p in prompts]
    return drawn, rng.random()


def closure(seed, prompts):
    rng = np.random.default_rng(seed)
    drawn = [jitter(lambda: rng.normal(), p) for p in prompts]
    return drawn, float(rng.random())


@pytest.mark.parametrize("fn", [bound_method, partial_of_a_method, closure])
def test_a_function_drawing_from_a_generator_keeps_program_order(fn):
    # jitter(rng.random, p): the op holds rng through the method it is given, as through
    # partial(rng.gauss, 0, 1) or lambda: rng.normal(); they drew in the order they ran.
    jitted = jit(fn)
    for seed, prompts in ((1, ["a", "bb", "ccc", "dddd"]), (2, ["x", "yy", "zzz"])):
        assert jitted(seed, prompts) == fn(seed, prompts)


@op
async def ajitter(draw, prompt):
    await asyncio.sleep(0.01)
    return f"{prompt}:{float(draw()):.6f}"


def test_an_async_op_handed_a_drawing_function_starts_when_awaited():
    # Plain Python: the coroutine draws once awaited, after the glue's rng.random().
    async def glue(seed):
        rng = np.random.default_rng(seed)
        pending = [ajitter(rng.random, "a"), ajitter(lambda: rng.normal(), "b")]
        mine = float(rng.random())
        return [await task for task in pending], mine

    jitted = jit(glue)
    for seed in (1, 2):
        assert asyncio.run(jitted(seed)) == asyncio.run(glue(seed))


@op
def first_and_total(values):
    time.sleep(0.03)
    return float(values[0]), float(values.sum())


def shuffles_an_array_an_op_reads(seed):
    rng = np.random.default_rng(seed)
    data = np.arange(6.0)
    seen = first_and_total(data)
    rng.shuffle(data)
    return seen, data.tolist()


def shuffles_with_the_legacy_generator(seed):
    np.random.seed(seed)
    data = np.arange(6.0)
    seen = first_and_total(data)
    np.random.shuffle(data)
    return seen, data.tolist()


def shuffles_with_a_generator_an_op_draws_from(seed):
    rng = np.random.default_rng(seed)
    drawn = slow_draw(rng)
    data = np.arange(6.0)
    rng.shuffle(data)
    return drawn, data.tolist()


@pytest.mark.parametrize("fn", [shuffles_an_array_an_op_reads, shuffles_with_the_legacy_generator,
                                shuffles_with_a_generator_an_op_draws_from])
def test_a_generator_shuffling_an_array_waits_for_the_ops_holding_either(fn):
    # rng.shuffle(data) changes data: an op still reading it saw it shuffled (values[0]).
    jitted = jit(fn)
    for seed in (1, 2):
        assert jitted(seed) == fn(seed)
