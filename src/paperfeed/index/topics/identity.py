"""A refit's topics matched to the stored ones by the papers they share, so that a topic
found again keeps its id, and with it its history and links.

Overlap is the Jaccard index of two topics' papers (those the refit saw); the one-to-one
matching with the largest total overlap is the Hungarian algorithm's (scipy's
``linear_sum_assignment``), and a pair overlapping less than :data:`LEAST` is no match: the new
topic gets a new id and the old one is retired.
"""

from __future__ import annotations

import numpy as np

LEAST = 0.3


def match(
    old: dict[int, np.ndarray], paper_ids: np.ndarray, labels: np.ndarray, count: int
) -> list[int | None]:
    """For each new topic 0 … ``count - 1`` (``labels`` of ``paper_ids``, -1: none) the id of
    the ``old`` topic (id: its sorted paper ids) it continues, or ``None``."""
    if not old or not count:
        return [None] * count
    from scipy.optimize import linear_sum_assignment  # scikit-learn's own dependency

    keys = np.array(list(old), np.int64)
    old_papers = np.concatenate(list(old.values()))
    old_topic = np.repeat(np.arange(len(keys)), [len(old[k]) for k in keys])
    inside = labels >= 0
    new_papers, new_topic = paper_ids[inside], labels[inside]
    _, at_old, at_new = np.intersect1d(old_papers, new_papers, return_indices=True)
    shared = np.zeros((len(keys), count), np.int64)
    np.add.at(shared, (old_topic[at_old], new_topic[at_new]), 1)
    old_sizes = np.bincount(old_topic, minlength=len(keys))[:, None]
    new_sizes = np.bincount(new_topic, minlength=count)[None, :]
    jaccard = shared / np.maximum(old_sizes + new_sizes - shared, 1)
    rows, columns = linear_sum_assignment(-jaccard)
    found: list[int | None] = [None] * count
    for row, column in zip(rows, columns, strict=True):
        if jaccard[row, column] >= LEAST:
            found[column] = int(keys[row])
    return found
