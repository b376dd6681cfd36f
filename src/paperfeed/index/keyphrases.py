"""A paper's key phrases, KeyBERT-style but at a cost near one more embedding per paper.

Candidates are the title's and abstract's 1-3-word phrases (maths and LaTeX left out, nothing
across punctuation) that neither start nor end with a stopword. Each is scored cheaply first,
tf-idf style: how often it occurs (the title counting :data:`TITLE_WEIGHT` times) by the summed
inverse document frequencies of its words in the corpus, so that what every abstract says
("experimental results") falls back. Only the best :data:`EMBEDDED` are embedded, with the
paper's own model, and maximal marginal relevance (Carbonell & Goldstein 1998, as KeyBERT uses
it) picks :data:`KEPT` of them: each next phrase the one nearest the paper's vector less
:data:`DIVERSITY` times its nearness to a phrase already picked; a phrase inside a picked one
(or holding one) is passed over.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine

from paperfeed.index.embedding import Embedder
from paperfeed.index.lexical import LexicalIndex
from paperfeed.store.keywords import count_pending_keywords, pending_keywords, save_keywords
from paperfeed.store.vectors import document_text
from paperfeed.text import plain

KEPT = 6  # phrases per paper, at most
EMBEDDED = 15  # candidates embedded per paper: the expensive part
DIVERSITY = 0.5  # MMR: 0 ranks by nearness to the paper alone, 1 by difference alone
TITLE_WEIGHT = 3  # an occurrence in the title counts as this many in the abstract
LONGEST = 3  # words
JOINING = frozenset({"of"})  # the stopword a phrase may hold inside ("mixture of experts")
BATCH = 64  # papers a transaction
Frequencies = Callable[[Sequence[str]], dict[str, float]]  # word -> inverse document frequency
ProgressCallback = Callable[[int, int | None], None]  # (papers done, at most this many to do)

MATHS = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]", re.DOTALL)
# a word (letters, then letters, digits, hyphens: "GPT-4o", "3D"), or a break between phrases
TOKEN = re.compile(r"(\d*[^\W\d_][\w'\u2019-]*)|[^\w\s'\u2019-]+|\b\d+\b")
DIMENSION = re.compile(r"\d[A-Z]{1,2}")  # the words that may start with a digit: 3D, 6G
ADVERB = re.compile(r"[a-z]{4,}ly")
NOT_ADVERBS = frozenset({"anomaly", "assembly", "family", "supply", "monopoly", "butterfly"})
# function words, and the words every abstract uses whatever its subject
FUNCTION_WORDS = """a about above across after again against all almost along also although
    always am among an and another any are around as at based be because been before being below
    between both but by can cannot could did do does doing done down due during each
    either enough especially etc even ever every few for from further furthermore given
    had has have having he her here hers herself him himself his how however i if in
    including into is it its itself just less like made make makes making many may me
    might more moreover most mostly much must my myself namely near nearly neither never
    new nor not novel now of off often on once one only onto or other others otherwise
    our ours ourselves out over own per perhaps propose proposed proposes rather same
    several shall she should show shown shows since so some such than that the their
    theirs them themselves then there thereby therefore these they this those though
    three through throughout thus to together too two under until up upon us use used
    uses using various very via was we well were what whatever when where whereas whether
    which while who whom whose why will with within without would yet you your yours
    approach approaches paper papers method methods result results study studies work
    works first second third existing different significant
    significantly respectively recent recently present presents introduce introduces
    demonstrate demonstrates achieve achieves achieving able effective effectively
    improve improves improved improving performance state art large small high low
    better best good key main important problem problems task tasks beyond toward towards
    versus take takes keep keeps allow allows enable enables provide provides
    require requires yield yields lead leads remain remains reach reaches"""
STOPWORDS = frozenset(FUNCTION_WORDS.split())


def compute_keywords(
    engine: Engine,
    embedder: Embedder,
    lexical: LexicalIndex,
    *,
    batch_size: int = BATCH,
    limit: int | None = None,
    embedded_only: bool = False,
    on_progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Compute the keywords of the papers that have none or older ones than the paper (see
    :func:`~paperfeed.store.keywords.pending_keywords`; ``embedded_only``: only papers whose
    vector is current, as the worker does after embedding them), at most ``limit``; return
    how many. Each batch is committed alone: running again goes on with the rest."""
    total = None
    if on_progress:
        total = count_pending_keywords(engine)
        total = min(total, limit) if limit is not None else total
    frequencies = corpus_frequencies(lexical)
    done = 0
    due = pending_keywords(engine, embedder.model, batch_size, embedded_only=embedded_only)
    for batch in due:
        if (limit is not None and done >= limit) or (stop is not None and stop.is_set()):
            break
        batch = batch[: limit - done] if limit is not None else batch
        texts = [(paper.title, paper.abstract) for paper in batch]
        chosen = key_phrases(texts, [paper.vector for paper in batch], embedder, frequencies)
        save_keywords(engine, batch, chosen)
        done += len(batch)
        if on_progress:
            on_progress(done, total)
    return done


def corpus_frequencies(lexical: LexicalIndex) -> Frequencies:
    """Inverse document frequencies of words among the abstracts of the words index (all 1
    while it is empty)."""

    def look_up(words: Sequence[str]) -> dict[str, float]:
        documents, containing = lexical.document_frequencies(words)
        return {word: inverse_frequency(documents, n) for word, n in containing.items()}

    return look_up


@dataclass
class Candidate:
    """A phrase of a paper: its words lowercased (a last plural ``s`` dropped) as the key, the
    form shown (the first seen, see :func:`_shown`), and how often it occurs (title
    occurrences weighted)."""

    key: tuple[str, ...]
    shown: str
    count: float = 0.0
    score: float = 0.0  # the cheap one, see shortlist()


def candidates(title: str, abstract: str) -> list[Candidate]:
    """The 1-3-word phrases of a paper, first seen first."""
    found: dict[tuple[str, ...], Candidate] = {}
    written: dict[tuple[str, ...], list[str]] = {}
    runs = {TITLE_WEIGHT: _runs(title), 1: _runs(abstract)}
    for weight, text_runs in runs.items():
        for run in text_runs:
            for size in range(1, LONGEST + 1):
                for start in range(len(run) - size + 1):
                    words = run[start : start + size]
                    if _stop(words[0]) or _stop(words[-1]) or not _joins(words[1:-1]):
                        continue
                    key = _key(words)
                    found.setdefault(key, Candidate(key, "")).count += weight
                    written.setdefault(key, words)
    names = {w.lower() for run in runs[1] for w in run[1:] if w[:1].isupper()}
    for key, candidate in found.items():
        candidate.shown = _shown(written[key], names)
    return list(found.values())


def shortlist(found: list[Candidate], frequencies: dict[str, float]) -> list[Candidate]:
    """The :data:`EMBEDDED` candidates with the best count x summed inverse document
    frequency of their words (1 for a word the corpus has not seen)."""
    for candidate in found:
        weight = sum(frequencies.get(w, 1.0) for w in candidate.key if not _stop(w))
        candidate.score = candidate.count * weight
    return sorted(found, key=lambda c: -c.score)[:EMBEDDED]


def pick(document: np.ndarray, phrases: np.ndarray, shortlisted: list[Candidate]) -> list[str]:
    """Up to :data:`KEPT` of the shortlisted phrases by maximal marginal relevance;
    ``document`` and ``phrases`` are unit vectors (one row per shortlisted phrase)."""
    if not shortlisted:
        return []
    nearness = phrases @ document
    likeness = phrases @ phrases.T
    chosen: list[int] = []
    left = list(range(len(shortlisted)))
    while left and len(chosen) < KEPT:
        redundancy = likeness[np.ix_(left, chosen)].max(axis=1) if chosen else 0.0
        marginal = (1 - DIVERSITY) * nearness[left] - DIVERSITY * redundancy
        best = left.pop(int(np.argmax(marginal)))
        if not any(overlaps(shortlisted[best].key, shortlisted[i].key) for i in chosen):
            chosen.append(best)
    return [shortlisted[i].shown for i in chosen]


def key_phrases(
    texts: Sequence[tuple[str, str]],
    documents: Sequence[np.ndarray | None],
    embedder: Embedder,
    frequencies: Frequencies,
) -> list[list[str]]:
    """The key phrases of papers given as ``(title, abstract)``, each scored against its
    vector in ``documents`` (``None``: embedded here too). All their shortlisted phrases go
    to the embedder in one call."""
    found = [candidates(title, abstract) for title, abstract in texts]
    idf = frequencies(sorted({w for cs in found for c in cs for w in c.key if not _stop(w)}))
    shortlists = [shortlist(cs, idf) for cs in found]
    missing = [i for i, vector in enumerate(documents) if vector is None]
    phrases = [c.shown for cs in shortlists for c in cs]
    asked = phrases + [document_text(*texts[i]) for i in missing]
    vectors = embedder.embed_documents(asked) if asked else np.empty((0, embedder.dim))
    own = dict(zip(missing, vectors[len(phrases) :], strict=True))
    chosen, at = [], 0
    for i, listed in enumerate(shortlists):
        document = documents[i]
        vector = own[i] if document is None else document
        chosen.append(pick(np.asarray(vector, np.float32), vectors[at : at + len(listed)], listed))
        at += len(listed)
    return chosen


def inverse_frequency(documents: int, containing: int) -> float:
    """Smoothed idf, as scikit-learn's: 1 for a word in every document, more the rarer."""
    return math.log((documents + 1) / (containing + 1)) + 1


def _runs(text: str) -> list[list[str]]:
    """The runs of words between punctuation, maths and numbers."""
    text = plain(MATHS.sub(" . ", text))
    runs: list[list[str]] = [[]]
    for token in TOKEN.finditer(text):
        word = token.group(1)
        if word and (not word[0].isdigit() or DIMENSION.fullmatch(word)):
            runs[-1].append(word.strip("'\u2019-"))
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def _stop(word: str) -> bool:
    """A stopword, an adverb ("routinely"), or a word of one or two small letters ("ms")."""
    lowered = word.lower()
    adverb = ADVERB.fullmatch(lowered) is not None and lowered not in NOT_ADVERBS
    return lowered in STOPWORDS or adverb or (len(word) < 3 and not word.isupper())


def _joins(inner: Sequence[str]) -> bool:
    """Whether words may stand inside a phrase: any but stopwords, save :data:`JOINING`."""
    return all(w.lower() in JOINING or not _stop(w) for w in inner)


def _key(words: Sequence[str]) -> tuple[str, ...]:
    """The words lowercased, hyphenated ones apart ("long-short" = "long short"), and the
    last one's plural ``s`` dropped."""
    lowered = [part for w in words for part in w.lower().split("-") if part]
    last = lowered[-1]
    if len(last) > 3 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        lowered[-1] = last[:-1]
    return tuple(lowered)


def _shown(words: Sequence[str], names: set[str]) -> str:
    """Words as written where they are capitals (LLM, C-PASS), hold one after their first
    letter (NeRF, GPT-4o) or are written capitalised inside an abstract's sentence (Nash,
    PAC-Bayes), else lowercased, each part of a hyphenated word alone (OAMP-aided): a
    capital at the start of a title word or a sentence is not part of a name."""
    return " ".join("-".join(_cased(part, names) for part in w.split("-")) for w in words)


def _cased(word: str, names: set[str]) -> str:
    kept = word.isupper() or any(c.isupper() for c in word[1:]) or word.lower() in names
    return word if kept else word.lower()


def overlaps(one: tuple[str, ...], other: tuple[str, ...]) -> bool:
    """Whether either phrase's words run inside the other's."""
    short, long = sorted((one, other), key=len)
    return any(long[i : i + len(short)] == short for i in range(len(long) - len(short) + 1))
