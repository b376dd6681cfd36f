"""Fusion of lexical and dense rankings."""

from __future__ import annotations

import pytest

from paperfeed.ranking.fusion import convex_combination, reciprocal_rank_fusion

LEXICAL = [("a", 12.0), ("b", 9.0), ("c", 3.0)]
DENSE = [("c", 0.9), ("a", 0.8), ("d", 0.1)]


def test_rrf_rewards_documents_both_retrievers_rank_high() -> None:
    fused = reciprocal_rank_fusion([LEXICAL, DENSE], k=60)
    assert [key for key, _ in fused] == ["a", "c", "b", "d"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)


@pytest.mark.parametrize(
    ("alpha", "order"),
    [(0.0, ["a", "b", "c", "d"]), (1.0, ["c", "a", "b", "d"]), (0.5, ["a", "c", "b", "d"])],
)
def test_convex_combination_moves_from_lexical_to_dense(alpha: float, order: list[str]) -> None:
    assert [key for key, _ in convex_combination(LEXICAL, DENSE, alpha)] == order


def test_one_empty_list_leaves_the_other_order() -> None:
    assert [key for key, _ in convex_combination(LEXICAL, [], 0.5)] == ["a", "b", "c"]
    assert reciprocal_rank_fusion([[], DENSE])[0][0] == "c"
