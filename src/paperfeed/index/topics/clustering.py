"""Topics found in a sample of paper vectors: UMAP down to a few dimensions, where HDBSCAN
finds dense groups (the fine topics; papers in none are left unassigned), then the fine
topics' centroids grouped by average-linkage on their cosines (the broad topics), as
BERTopic does for its hierarchy. The same neighbour graph (UMAP's costliest part for
384-dimensional vectors) gives the map its 2-D layout: a second UMAP with room between points.

UMAP (umap-learn, numba) and HDBSCAN (scikit-learn) are the ``topics`` extra. Measured on this
machine's 2 cores (``bench/topics.py``): PCA to 10 or 16 dimensions then HDBSCAN left 92-95 % of
20,000 real abstracts unassigned, UMAP to 5 dimensions 38 %; UMAP costs ~60 s per 20,000
papers plus ~40 s of numba compiling per process, so the fit sees a sample (:attr:`Params.
sample`) and every paper is then assigned by its nearest centroid (:mod:`.assign`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from paperfeed.store.vectors import unit_rows

EXTRA = "pip install 'paperfeed[topics]'"
MAP_MIN_DIST = 0.1  # UMAP's default: points spread enough to see each one on the map


class TopicsUnavailable(RuntimeError):
    """The ``topics`` extra is not installed."""


@dataclass(frozen=True)
class Params:
    """How topics are fitted."""

    sample: int = 40_000  # papers the clustering sees; the others are assigned by centroid
    neighbours: int = 15  # UMAP's n_neighbors: the size of the neighbourhoods it keeps
    dimensions: int = 5  # UMAP's output
    min_size: int | None = None  # HDBSCAN's min_cluster_size (default: grows with the sample)
    fine_per_broad: int = 8  # fine topics per broad one, about
    seed: int = 0

    def smallest(self, papers: int) -> int:
        """The fewest sampled papers a fine topic has."""
        return self.min_size or max(5, papers // 1000)


def fine_labels(vectors: np.ndarray, params: Params) -> tuple[np.ndarray, np.ndarray]:
    """The fine topic of each row of ``vectors`` (0, 1, …; -1: none) and its place on the map
    (float32, 2 columns): two UMAP layouts of one neighbour graph, computed once."""
    umap, hdbscan = stack()
    neighbours = min(params.neighbours, len(vectors) - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's and UMAP's notes on the data's size
        knn = umap.umap_.nearest_neighbors(
            vectors, neighbours, "cosine", {}, True, np.random.RandomState(params.seed), n_jobs=1
        )
        # packed tight: what density clustering needs, not what a picture needs
        points = _reducer(umap, params, knn, params.dimensions, 0.0).fit_transform(vectors)
        layout = _reducer(umap, params, knn, 2, MAP_MIN_DIST).fit_transform(vectors)
    smallest = params.smallest(len(vectors))
    found = hdbscan(min_cluster_size=smallest, min_samples=min(10, smallest), copy=True)
    labels: np.ndarray = found.fit(points).labels_
    return labels, layout.astype(np.float32)


def _reducer(umap: Any, params: Params, knn: Any, dimensions: int, min_dist: float) -> Any:
    return umap.UMAP(
        n_neighbors=knn[0].shape[1],
        n_components=dimensions,
        min_dist=min_dist,
        metric="cosine",
        random_state=params.seed,
        n_jobs=1,  # what a random_state allows; the same topics from the same papers
        precomputed_knn=knn,  # below 4,096 papers UMAP computes every distance instead
    )


def centroids(vectors: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """The unit mean vector of each label from 0 to ``count - 1`` (zeros for an empty one)."""
    sums = np.zeros((count, vectors.shape[1]), np.float32)
    kept = labels >= 0
    np.add.at(sums, labels[kept], vectors[kept].astype(np.float32))
    return unit_rows(sums)


def broad_groups(fine_centroids: np.ndarray, params: Params) -> np.ndarray:
    """The broad topic of each fine topic: average linkage on the centroids' cosine
    distances, cut into about one broad topic per :attr:`Params.fine_per_broad` fine ones."""
    count = len(fine_centroids)
    wanted = max(1, math.ceil(count / params.fine_per_broad))
    if count <= 1 or wanted == 1:
        return np.zeros(count, np.int64)
    from scipy.cluster.hierarchy import fcluster, linkage  # scikit-learn's own dependency

    tree = linkage(fine_centroids, method="average", metric="cosine")
    groups = fcluster(tree, t=wanted, criterion="maxclust")
    return np.unique(groups, return_inverse=True)[1].astype(np.int64)


def stack() -> tuple[Any, Any]:
    """umap and scikit-learn's HDBSCAN, or a clear error naming the extra."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ImportWarning)  # "Tensorflow not installed"
            import umap
        from sklearn.cluster import HDBSCAN
    except ImportError as error:
        raise TopicsUnavailable(
            f"topics need UMAP and scikit-learn ({error.name} is missing): {EXTRA}"
        ) from None
    return umap, HDBSCAN
