"""Fusing ranked lists from the lexical and the dense retriever.

Two methods, chosen by configuration and compared by ``bench/beir.py``:

- reciprocal rank fusion (Cormack, Clarke & Buettcher, SIGIR 2009): ``sum 1 / (k + rank)``;
- convex combination of normalised scores (Bruch, Gai & Ingber, "An Analysis of Fusion
  Functions for Hybrid Retrieval", TOIS 2023): ``alpha * dense + (1 - alpha) * lexical``,
  each list's scores min-max normalised; a document missing from one list gets that list's
  minimum (0 after normalisation).
"""

from __future__ import annotations

from collections.abc import Sequence

Ranked = Sequence[tuple[str, float]]


def reciprocal_rank_fusion(lists: Sequence[Ranked], k: float = 60.0) -> list[tuple[str, float]]:
    """RRF over any number of ranked lists (scores are ignored, ranks count)."""
    fused: dict[str, float] = {}
    for ranked in lists:
        for rank, (key, _) in enumerate(ranked, 1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def convex_combination(lexical: Ranked, dense: Ranked, alpha: float) -> list[tuple[str, float]]:
    """``alpha`` * normalised dense score + (1 - ``alpha``) * normalised lexical score."""
    lex, den = _min_max(lexical), _min_max(dense)
    fused = {
        key: alpha * den.get(key, 0.0) + (1 - alpha) * lex.get(key, 0.0)
        for key in lex.keys() | den.keys()
    }
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def weighted_combination(lists: Sequence[tuple[Ranked, float]]) -> list[tuple[str, float]]:
    """The sum of each list's min-max normalised scores times its weight (``convex_combination``
    for any number of lists; weights need not sum to 1)."""
    fused: dict[str, float] = {}
    for ranked, weight in lists:
        for key, score in _min_max(ranked).items():
            fused[key] = fused.get(key, 0.0) + weight * score
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def _min_max(ranked: Ranked) -> dict[str, float]:
    if not ranked:
        return {}
    scores = [score for _, score in ranked]
    low, high = min(scores), max(scores)
    if high == low:  # one document, or a tie: each is the best of its list, not the worst
        return {key: 1.0 for key, _ in ranked}
    return {key: (score - low) / (high - low) for key, score in ranked}
