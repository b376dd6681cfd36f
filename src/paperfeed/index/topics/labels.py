"""What a topic is called: its distinctive key phrases by class-based tf-idf, and its
commonest categories.

c-TF-IDF (Grootendorst 2022, BERTopic): the papers of a topic read as one document, a
phrase's weight in topic ``c`` is ``tf(t, c) · log(1 + A / f(t))``, where ``tf`` counts the
topic's papers using the phrase, ``f(t)`` the papers of all topics using it and ``A`` is the
average over topics of the summed ``tf`` of their phrases: a phrase frequent here and rare
elsewhere ranks first.
Phrases are those of :func:`~paperfeed.index.keyphrases.candidates` (1-3 words, no stopwords
at either end) in the titles of up to :data:`READ` papers per topic, nearest its centroid
first (titles alone: abstracts cost 20 times as much, ~11 ms a paper, ~12 min per refit at
138,000 papers); a phrase
inside a better one (or holding one) is passed over, and of two as good the longer wins.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from paperfeed.index.keyphrases import candidates, overlaps

READ = 200  # papers a topic is labelled from
KEPT = 5  # phrases per topic
CATEGORIES = 3  # shown per topic
LEAST_PAPERS = 2  # papers of a topic that must use a phrase


def label_topics(titles: Sequence[Sequence[str]]) -> list[list[str]]:
    """The key phrases of each topic, given the titles of its papers."""
    used: list[Counter[tuple[str, ...]]] = []
    shown: dict[tuple[str, ...], str] = {}
    for topic in titles:
        counts: Counter[tuple[str, ...]] = Counter()
        for title in topic:
            for candidate in candidates(title, ""):
                counts[candidate.key] += 1
                shown.setdefault(candidate.key, candidate.shown)
        used.append(counts)
    everywhere: Counter[tuple[str, ...]] = Counter()
    for counts in used:
        everywhere.update(counts)
    average = sum(counts.total() for counts in used) / max(len(used), 1)
    return [_best(counts, everywhere, average, shown) for counts in used]


def _best(
    counts: Counter[tuple[str, ...]],
    everywhere: Counter[tuple[str, ...]],
    average: float,
    shown: dict[tuple[str, ...], str],
) -> list[str]:
    weights = {
        key: n * math.log(1 + average / everywhere[key])
        for key, n in counts.items()
        if n >= LEAST_PAPERS
    }
    chosen: list[tuple[str, ...]] = []
    for key in sorted(weights, key=lambda k: (-weights[k], -len(k), k)):  # longer on ties
        if not any(overlaps(key, other) for other in chosen):
            chosen.append(key)
        if len(chosen) == KEPT:
            break
    return [shown[key] for key in chosen]


def top_categories(listed: Sequence[Sequence[str]]) -> list[str]:
    """The :data:`CATEGORIES` categories most of these papers list (ties: by name)."""
    counts = Counter(name for names in listed for name in names)
    return [name for name, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))][
        :CATEGORIES
    ]
