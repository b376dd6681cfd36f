"""Places on the map for the papers the layout was not fitted on: the papers a refit assigns
by centroid, and those embedded between refits.

A paper goes to the similarity-weighted mean of the places of its :data:`NEAREST` most similar
landmarks (cosine), as UMAP's own ``transform`` starts a new point before refining it; the
refinement is left out, so a new paper costs one matrix product and no refit. Between refits
the landmarks are a sample of the fitted papers (:data:`LANDMARKS`), stored with their places.
"""

from __future__ import annotations

import numpy as np

from paperfeed.store.vectors import unit_rows

NEAREST = 5
LANDMARKS = 10_000  # fitted papers kept to place new ones: ~8 MB of vectors to read a round
CHUNK = 2_048  # papers a matrix product


def place(vectors: np.ndarray, landmarks: np.ndarray, places: np.ndarray) -> np.ndarray:
    """The place (float32, 2 columns) of each of ``vectors`` among the ``landmarks``' vectors
    and ``places``."""
    found = np.empty((len(vectors), 2), np.float32)
    if not len(landmarks):
        found[:] = np.nan
        return found
    known = unit_rows(landmarks)
    nearest = min(NEAREST, len(known))
    for start in range(0, len(vectors), CHUNK):
        cosines = unit_rows(vectors[start : start + CHUNK]) @ known.T
        best = np.argpartition(-cosines, nearest - 1, axis=1)[:, :nearest]
        weights = np.maximum(np.take_along_axis(cosines, best, axis=1), 1e-3)
        found[start : start + CHUNK] = np.einsum("nk,nkd->nd", weights, places[best]) / weights.sum(
            axis=1, keepdims=True
        )
    return found


def landmarks(count: int, rng: np.random.Generator) -> np.ndarray:
    """Which of ``count`` fitted papers are landmarks (a boolean mask)."""
    chosen = np.zeros(count, bool)
    chosen[rng.choice(count, min(count, LANDMARKS), replace=False)] = True
    return chosen
