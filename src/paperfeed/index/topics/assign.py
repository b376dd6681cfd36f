"""Papers to topics by their nearest centroid: how a refit places every paper, and how new
papers join the topics between refits, without refitting.

A paper joins the fine topic whose centroid is nearest (cosine) if it is at least as near
as the topic's threshold, the :data:`ADMIT` quantile of its fitted members' cosines (so the
loosest tenth of what the clustering put there would be left out), else no fine topic; its
broad topic is its fine topic's, or for a paper in none the nearest broad topic by the same
rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from paperfeed.store.vectors import unit_rows

ADMIT = 0.1
CHUNK = 8_192  # papers a matrix product


@dataclass
class Centroids:
    """The topics of one level: unit centroids and thresholds, one row each."""

    vectors: np.ndarray  # float32 (topics, dim)
    thresholds: np.ndarray  # float32 (topics,)

    def nearest(self, vectors: np.ndarray) -> np.ndarray:
        """The position of each vector's topic (-1: none near enough)."""
        if not len(self.vectors):
            return np.full(len(vectors), -1, np.int64)
        found = []
        for start in range(0, len(vectors), CHUNK):
            cosines = unit_rows(vectors[start : start + CHUNK]) @ self.vectors.T
            best = cosines.argmax(axis=1)
            near = cosines[np.arange(len(best)), best] >= self.thresholds[best]
            found.append(np.where(near, best, -1))
        return np.concatenate(found).astype(np.int64)


def thresholds(vectors: np.ndarray, labels: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Each topic's :data:`ADMIT` quantile of its members' cosines to its centroid (1: a
    topic without members admits nothing)."""
    found = np.ones(len(centres), np.float32)
    for topic in range(len(centres)):
        inside = vectors[labels == topic]
        if len(inside):
            found[topic] = np.quantile(unit_rows(inside) @ centres[topic], ADMIT)
    return found


def assign(
    vectors: np.ndarray, fine: Centroids, broad: Centroids, parents: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The fine and broad topic positions of each vector (-1: none); ``parents`` gives each
    fine topic's broad one."""
    fine_found = fine.nearest(vectors)
    broad_found = np.full(len(vectors), -1, np.int64)
    inside = fine_found >= 0
    broad_found[inside] = parents[fine_found[inside]]
    if not inside.all():
        broad_found[~inside] = broad.nearest(vectors[~inside])
    return fine_found, broad_found
