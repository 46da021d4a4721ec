from __future__ import annotations

from ember.xcs import analysis
from ember.xcs.analysis.report import Analysis, analyze

from ._graphs import diamond_with_lifted


def test_analysis_summary() -> None:
    result, _ = analyze(diamond_with_lifted(), cache=False)
    assert (result.width, result.depth) == (2, 3)
    assert result.levels == {0: 0, 2: 1, 3: 1, 4: 2, 5: 0}
    assert result.parallel_groups == ((0, 5), (2, 3), (4,))
    assert result.counts == {"op": 5, "tensor": 0, "lifted": 1, "barrier": 0}


def test_the_same_structure_is_answered_from_the_cache() -> None:
    first, _ = analyze(diamond_with_lifted())
    again, hit = analyze(diamond_with_lifted())  # another graph object, the same shape
    assert hit and again is first
    fresh, hit = analyze(diamond_with_lifted(), cache=False)
    assert hit is False and fresh is not first and fresh == first


def test_the_package_re_exports_the_modules_names() -> None:
    assert analysis.analyze is analyze and analysis.Analysis is Analysis
    assert analysis.__all__ == ["Analysis", "analyze", "critical_path", "levels",
                                "parallel_groups"]
