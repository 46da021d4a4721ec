"""A NumPy call given an array to write into fills it at the call, as in plain Python.

``np.multiply(r, 2, out=buf)`` with ``r`` an op result was lifted: ``buf`` got the
result only once the lifted node ran, so ``buf[0]`` on the next line read the old
contents. It runs at its call now (a barrier), for ``out=``, a ufunc's outputs given
after its inputs (``np.add(buf, r, buf)``), a method of the result (``r.cumsum(out=buf)``)
and in ``async def`` glue; an op still reading ``buf`` ends before the ufunc writes it.
"""

from __future__ import annotations

import asyncio
import functools
import time

import numpy as np
import pytest

from ember.xcs import jit, op


@op
def embed(text):
    time.sleep(0.01)
    return np.array([len(text), 2.0, 0.25, 4.0])


@op
async def aembed(text):
    await asyncio.sleep(0.01)
    return np.array([len(text), 2.0, 0.25, 4.0])


@op
def total(values):
    time.sleep(0.03)
    return float(values.sum())


def keyword_out(text):
    buf = np.zeros(4)
    np.multiply(embed(text), 2, out=buf)
    return buf[0], buf.sum()


def positional_out(text):
    buf = np.ones(4)
    np.add(buf, embed(text), buf)
    return buf[0], buf.sum()


def two_outputs(text):
    whole, rest = np.zeros(4), np.zeros(4)
    np.divmod(embed(text), 0.5, whole, rest)
    return whole[0], rest.sum()


def method_out(text):
    buf = np.zeros(4)
    embed(text).cumsum(out=buf)
    return buf[-1]


def partial_out(text):
    buf = np.zeros(4)
    functools.partial(np.sqrt, out=buf)(embed(text))
    return buf[0]


def op_reads_before_positional_out(text):
    buf = np.ones(4)
    seen = total(buf)
    np.add(buf, len(text), buf)
    return seen, buf[0]


async def async_keyword_out(text):
    buf = np.zeros(4)
    np.multiply(await aembed(text), 2, out=buf)
    first = buf[0]
    np.add(buf, await aembed(text + "!"), buf)
    return first, buf[0]


@pytest.mark.parametrize("fn", [keyword_out, positional_out, two_outputs, method_out,
                                partial_out, op_reads_before_positional_out])
def test_an_output_array_holds_the_result_on_the_next_line(fn):
    jitted = jit(fn)
    for text in ("hello", "hi"):
        assert jitted(text) == fn(text)


def test_an_output_array_holds_the_result_in_async_glue():
    jitted = jit(async_keyword_out)
    for text in ("hello", "hi"):
        assert asyncio.run(jitted(text)) == asyncio.run(async_keyword_out(text))
