"""pandas and NumPy glue around ops, written as analysts write it, gives the frames,
dtypes and errors plain Python gives: op results stored into frames are values, functions
handed to pandas get values back, frames given to ops are kept in order with the glue's
later changes, and a Series meets an op result as it would meet the value."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ember.xcs import jit, op


@op
def score(text: str) -> float | None:
    time.sleep(0.002)
    return None if text == "x" else float(len(text)) / 10


@op
def label(text: str) -> str:
    time.sleep(0.002)
    return "pos" if "good" in text else "neg"


@op
def threshold(_: Any) -> float:
    time.sleep(0.002)
    return 0.5


@op
def summary(frame: pd.DataFrame) -> dict[str, Any]:
    time.sleep(0.01)
    return {"cols": list(frame.columns), "total": int(frame["v"].sum())}


@op
async def ascore(text: str) -> float:
    await asyncio.sleep(0.002)
    return float(len(text))


def _texts() -> pd.DataFrame:
    return pd.DataFrame({"text": ["good movie", "bad plot", "x"]})


def column_from_a_comprehension(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["score"] = [score(t) for t in frame.text]
    frame.loc[:, "label"] = [label(t) for t in frame.text]
    return frame


def cell_by_cell(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["label"] = ""
    frame["score"] = 0.0
    for i, text in enumerate(frame.text):
        frame.loc[i, "label"] = label(text)
        frame.iloc[i, 2] = threshold(text)
        frame.at[i, "text"] = label(text) + ":" + text
    series = pd.Series(["", ""], index=["a", "b"])
    series[series.index[1]] = label("good")
    return frame.assign(extra=series.iloc[1])


def handed_functions(frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "rows": frame.apply(lambda row: label(row.text), axis=1).tolist(),
        "apply": frame.text.apply(label).tolist(),
        "map": frame.text.map(label).tolist(),
        "assign": frame.assign(n=lambda d: [label(t) for t in d.text])["n"].tolist(),
        "groups": frame.assign(k=["a", "a", "b"]).groupby("k")["text"].agg(
            lambda s: label(" ".join(s))).to_dict(),
        "vectorize": np.vectorize(label)(np.array(["good", "bad"])).tolist(),
        "frompyfunc": np.frompyfunc(label, 1, 1)(np.array(["good"])).tolist(),
        "series_of_map": pd.Series(map(label, frame.text)).tolist(),
        "series_of_generator": pd.Series(label(t) for t in frame.text).tolist(),
        "frame_of_map": pd.DataFrame({"l": map(label, frame.text)})["l"].tolist(),
    }


def series_meets_op_results(frame: pd.DataFrame) -> dict[str, Any]:
    frame = frame.assign(score=[0.2, 0.7, 0.9], label=["pos", "neg", "pos"])
    t = threshold(1)
    return {
        "above": frame[frame.score > t].text.tolist(),
        "matching": frame[frame.label == label("good")].text.tolist(),
        "scaled": (frame.score * threshold(1)).tolist(),
        "flags": np.where(frame.score > threshold(1), "hi", "lo").tolist(),
    }


def frame_changed_after_an_op_got_it(_: pd.DataFrame) -> list[dict[str, Any]]:
    outs = []
    for change in ("column", "loc", "iadd"):
        frame = pd.DataFrame({"text": ["a", "b"], "v": [1, 2]})
        seen = summary(frame)
        if change == "column":
            frame["new"] = 1
        elif change == "loc":
            frame.loc[0, "v"] = 100
        else:
            frame["v"] += 10
        outs.append(seen)
    return outs


@pytest.mark.parametrize("program", [
    column_from_a_comprehension, cell_by_cell, handed_functions, series_meets_op_results,
    frame_changed_after_an_op_got_it,
], ids=lambda program: program.__name__)
def test_pandas_glue_gives_the_plain_result(program):
    expected = program(_texts())
    jitted = jit(program)
    for _ in range(2):  # first and later calls
        got = jitted(_texts())
        if isinstance(expected, pd.DataFrame):
            assert got.equals(expected) and list(got.dtypes) == list(expected.dtypes)
            assert got.to_json() == expected.to_json()
        else:
            assert got == expected


def test_a_column_of_op_results_has_the_values_dtype_and_missing_values():
    frame = jit(column_from_a_comprehension)(_texts())
    assert frame["score"].dtype == np.float64
    assert frame["score"].isna().tolist() == [False, False, True]
    assert [type(v) for v in frame["label"]] == [str, str, str]


def test_async_glue_stores_values_into_a_frame():
    async def fill(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame["n"] = [await ascore(t) for t in frame.text]
        frame.loc[0, "first"] = await ascore("abc")
        return frame

    expected = asyncio.run(fill(_texts()))
    got = asyncio.run(jit(fill)(_texts()))
    assert got.equals(expected) and got["n"].dtype == np.float64


def test_a_column_built_from_a_comprehension_stays_parallel():
    @op
    def slow(text: str) -> int:
        time.sleep(0.03)
        return len(text)

    @jit
    def lengths(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame["n"] = [slow(t) for t in frame.text]
        return frame

    frame = pd.DataFrame({"text": [f"t{i}" for i in range(8)]})
    lengths(frame)
    started = time.perf_counter()
    assert lengths(frame)["n"].tolist() == [2] * 8
    assert time.perf_counter() - started < 8 * 0.03 * 0.6
