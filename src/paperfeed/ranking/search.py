"""Search: lexical (BM25) and dense retrieval, fused, with filters, sorts and snippets.

Hybrid ranking (tuned on the SciFact *train* queries only, see ``bench/beir.py``):

1. BM25 over title, abstract and authors, and the query embedding's nearest papers,
   each ``depth`` deep; filters apply to both;
2. one round of pseudo-relevance feedback on the dense side (Rocchio, 1971): the query
   vector moves towards the mean of the ``feedback_docs`` best fused papers by
   ``feedback_weight``, and the dense candidates are re-scored with it (a second graph
   search gave NDCG@10 0.7283 on SciFact train, re-scoring twice ``depth`` 0.7272, for one
   graph search instead of two);
3. a convex combination of min-max normalised scores, ``alpha`` on the dense side.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cached_property
from itertools import islice

import numpy as np
from sqlalchemy import Engine
from tantivy import Query

from paperfeed.index.dense import VectorIndex
from paperfeed.index.embedding import Embedder
from paperfeed.index.lexical import LexicalIndex, Snippet
from paperfeed.index.live import LiveVectors
from paperfeed.index.query import (
    MODES,
    NO_FILTERS,
    SORTS,
    Filters,
    Mode,
    ParsedQuery,
    Sort,
    parse_query,
)
from paperfeed.ranking.fusion import Ranked, convex_combination
from paperfeed.ranking.similar import Neighbour, kept_similar
from paperfeed.store.changes import latest_change
from paperfeed.store.queries import paper_cards
from paperfeed.store.vectors import unit_rows

# the dense side keeps POOL * depth papers (from twice as many graph candidates): the best
# ``depth`` are fused, all are re-scored by exact cosine after the feedback round
POOL = 2
FILTERED_DEPTH = 10  # a filtered dense search looks this many times deeper
# all-MiniLM-L6-v2 cosine from which a paper is about a query without sharing its words
MATCH_COSINE = 0.5
# what visitors read while the words index is being (re)built from the store
WORDS_REBUILDING = "Search by words is being rebuilt: for now papers are found by their meaning."
SEARCH_REBUILDING = (
    "Search is being rebuilt and finds nothing for now: please try again later, or browse "
    "the papers by day."
)

log = logging.getLogger("paperfeed.search")


@dataclass(frozen=True)
class Tuning:
    """The hybrid's parameters (defaults from the SciFact train split)."""

    alpha: float = 0.5
    feedback_docs: int = 3
    feedback_weight: float = 0.5
    depth: int = 100


@dataclass
class Hit:
    """One result: the paper's card, its score, and a highlighted abstract fragment."""

    arxiv_id: str
    score: float
    title: str = ""
    authors: list[str] | None = None
    categories: list[str] = field(default_factory=list)
    announced: date | None = None
    upvotes: int | None = None
    organisation: str | None = None
    links: list[str] = field(default_factory=list)
    abstract: str = ""
    published: datetime | None = None
    submitted_at: datetime | None = None
    organisation_name: str | None = None
    ai_summary: str | None = None
    ai_keywords: list[str] | None = None  # Hugging Face's
    keywords: list[str] | None = None  # computed here
    github_stars: int | None = None
    num_comments: int | None = None
    submitted_on_daily_at: datetime | None = None
    submitted_by: str | None = None
    snippet: Snippet | None = None
    why: list[str] = field(default_factory=list)  # a similar paper's links to the other


@dataclass
class SearchResults:
    query: ParsedQuery
    mode: Mode
    sort: Sort
    hits: list[Hit]
    notes: list[str]


@dataclass
class Window:
    """Papers that many saved searches are matched against (a digest's period), with the
    vectors of those that have one, and each query's vector embedded once."""

    ids: list[str]
    among: Query  # the lexical index's restriction to these papers
    found: list[str]  # the ids with a vector, in the rows' order
    paper_ids: np.ndarray  # the store's id of each found paper
    vectors: np.ndarray
    _queries: dict[str, np.ndarray] = field(default_factory=dict)

    @cached_property
    def rows(self) -> dict[str, int]:
        """Each found id's row."""
        return {key: row for row, key in enumerate(self.found)}

    def query_vector(self, text: str, embedder: Embedder) -> np.ndarray:
        self.embed([text], embedder)
        return self._queries[text]

    def embed(self, texts: Sequence[str], embedder: Embedder) -> None:
        """Embed the queries not embedded yet, in one batch (~5x quicker than one by one)."""
        missing = sorted({text for text in texts if text and text not in self._queries})
        if missing:
            vectors = unit_rows(embedder.embed_queries(missing))
            self._queries.update(zip(missing, vectors, strict=True))


class Searcher:
    """Runs searches over one store and its indexes; cheap to call, safe to share."""

    def __init__(
        self,
        engine: Engine,
        lexical: LexicalIndex,
        vectors: LiveVectors | None = None,
        embedder: Embedder | None = None,
        tuning: Tuning = Tuning(),
    ) -> None:
        self.engine = engine
        self.lexical = lexical
        self.vectors = vectors
        self.embedder = embedder
        self.tuning = tuning
        self._told = False  # the admin, that the words index is not built

    def search(
        self,
        text: str,
        *,
        mode: Mode = "hybrid",
        sort: Sort = "relevance",
        limit: int = 20,
        offset: int = 0,
        filters: Filters = NO_FILTERS,
        snippets: bool = True,
    ) -> SearchResults:
        """Papers for ``text`` (see ``paperfeed.index.query`` for its syntax)."""
        if mode not in MODES or sort not in SORTS:
            raise ValueError(f"mode must be one of {MODES} and sort one of {SORTS}")
        query = parse_query(text)
        notes = list(query.notes)
        limit, offset = max(0, min(limit, 1000)), max(0, offset)
        if sort != "relevance" or not query.text:
            ranked = self._lexical(query, filters, offset + limit, sort)
        else:
            ranked = self._relevance(query, filters, mode, offset + limit, notes)
        hits = self._cards(ranked[offset : offset + limit], query if snippets else None)
        if not self._words_built():
            meaning = self._usable_vectors() is not None
            notes = [*query.notes, WORDS_REBUILDING if meaning else SEARCH_REBUILDING]
        return SearchResults(query, mode, sort, hits, notes)

    def _words_built(self) -> bool:
        """Whether the words index holds the store's papers (an empty store needs none);
        when not, the admin is told once what to run."""
        if self.lexical.built() or latest_change(self.engine) is None:
            return True
        if not self._told and self.lexical.set_aside is None:  # else the admin knows
            log.error(
                "the words index in %s holds no papers while the store has some: searches "
                "find nothing by words until `paperfeed index` (or `paperfeed worker`) builds it",
                self.lexical.path,
            )
        self._told = True
        return False

    def window(self, arxiv_ids: Sequence[str]) -> Window:
        """These papers, with their vectors gathered once, for many saved searches."""
        ids, among = list(arxiv_ids), self.lexical.among(arxiv_ids)
        vectors = self._usable_vectors()
        if vectors is None or self.embedder is None:
            return Window(ids, among, [], np.empty(0, np.int64), np.empty((0, 0), np.float32))
        found, rows = vectors.rows(ids)
        return Window(ids, among, found, vectors.paper_ids(found), rows)

    def window_version(self) -> object:
        """What a :meth:`window`'s vectors come from (the saved vector index in use): a window
        made under the same version of the store and this one is still right."""
        vectors = self._usable_vectors()
        return vectors.saved if vectors is not None else None

    def match(self, text: str, window: Window, filters: Filters = NO_FILTERS) -> Ranked:
        """Which of the window's papers a saved search finds, best first: those with the
        query's words (every word of a keyword query), or close to it in meaning (cosine >=
        ``MATCH_COSINE``). An alert wants the papers that match, not the best of whatever
        arrived."""
        query = parse_query(text)
        if not query.text or not window.ids:
            return []
        hits = self.lexical.search(
            query, limit=len(window.ids), filters=filters, within=window.among, partial=False
        )
        lexical: Ranked = [(hit.arxiv_id, hit.score) for hit in hits]
        if not window.found or self.embedder is None:
            return lexical
        cosines = window.vectors @ window.query_vector(query.text, self.embedder)
        keep = cosines >= MATCH_COSINE
        keep[[window.rows[key] for key, _ in lexical if key in window.rows]] = True
        rows = np.flatnonzero(keep)
        if filters.restrict(query) and len(rows):
            found = [window.found[row] for row in rows]
            allowed = self.lexical.passing(found, query, filters)
            rows = rows[np.isin(window.paper_ids[rows], list(allowed))]
        close = [(window.found[row], float(cosines[row])) for row in rows]
        dense = sorted(close, key=lambda pair: (-pair[1], pair[0]))
        return convex_combination(lexical, dense, self.tuning.alpha)

    def similar(self, arxiv_id: str, limit: int = 10) -> list[Hit]:
        """The papers most like ``arxiv_id`` (:meth:`neighbours`) with their cards, each with
        why; never the paper itself. Raises ``KeyError`` if the store does not hold it."""
        found = self.neighbours(arxiv_id, limit)
        hits = self._cards([(near.arxiv_id, near.score) for near in found], None)
        why = {near.arxiv_id: list(near.why) for near in found}
        return [replace(hit, why=why[hit.arxiv_id]) for hit in hits]

    def neighbours(self, arxiv_id: str, limit: int = 10) -> list[Neighbour]:
        """The papers most like ``arxiv_id`` by meaning, words, authors, categories and
        co-saves (:mod:`paperfeed.ranking.similar`: kept in the store, computed on a first
        visit). Raises ``KeyError`` if the store does not hold it."""
        vectors = self._current_vectors()
        return kept_similar(self.engine, self.lexical, vectors, arxiv_id, limit)

    def _current_vectors(self) -> VectorIndex | None:
        """The newest vector index; a search keeps the one it started with."""
        return self.vectors.current() if self.vectors is not None else None

    def _usable_vectors(self) -> VectorIndex | None:
        """The newest vector index if queries can be compared with it: not empty, and made
        by the embedder's model (the index of a model used before is not)."""
        vectors = self._current_vectors()
        if vectors is None or self.embedder is None or not len(vectors):
            return None
        return vectors if vectors.model == self.embedder.model else None

    def _relevance(
        self, query: ParsedQuery, filters: Filters, mode: Mode, wanted: int, notes: list[str]
    ) -> Ranked:
        depth = max(self.tuning.depth, wanted)
        vectors = self._usable_vectors() if mode != "lexical" else None
        if mode != "lexical" and (note := coverage_note(vectors)):
            notes.append(note)
        if vectors is None or self.embedder is None:  # words alone, then
            return self._lexical(query, filters, depth, "relevance")
        if mode == "dense":
            vector = self.embedder.embed_query(query.text)
            return self._dense(vectors, vector, query, filters, POOL * depth)[:depth]
        # the words side runs beside the embedding and the graph search: tantivy, the model
        # and usearch all let go of the GIL, so a search takes the longer side, not both
        with ThreadPoolExecutor(1) as words:
            found = words.submit(self._lexical, query, filters, depth, "relevance")
            vector = self.embedder.embed_query(query.text)
            pool = self._dense(vectors, vector, query, filters, POOL * depth)
            lexical = found.result()
        dense = pool[:depth]
        fused = convex_combination(lexical, dense, self.tuning.alpha)
        feedback = [key for key, _ in fused[: self.tuning.feedback_docs]]
        if feedback and self.tuning.feedback_weight:
            centroid = vectors.vectors_of(feedback).mean(0)
            vector = vector + self.tuning.feedback_weight * centroid
            rescored = vectors.cosines(vector, [key for key, _ in pool])
            dense = sorted(rescored, key=lambda pair: (-pair[1], pair[0]))[:depth]
            fused = convex_combination(lexical, dense, self.tuning.alpha)
        return fused

    def _lexical(self, query: ParsedQuery, filters: Filters, limit: int, sort: Sort) -> Ranked:
        hits = self.lexical.search(query, limit=limit, sort=sort, filters=filters)
        return [(hit.arxiv_id, hit.score) for hit in hits]

    def _dense(
        self, vectors: VectorIndex, vector: np.ndarray, query: ParsedQuery, filters: Filters, k: int
    ) -> Ranked:
        if not filters.restrict(query):
            return vectors.search(vector, k, candidates=2 * k)
        # filtered: look deeper, keep the papers the lexical index says pass the filters (the
        # graph's own candidates re-scored: 20 per paper wanted would be 40,000 for a pool)
        found = vectors.search(vector, k * FILTERED_DEPTH, candidates=k * FILTERED_DEPTH)
        ids = [key for key, _ in found]
        allowed = self.lexical.passing(ids, query, filters)
        paper_ids = vectors.paper_ids(ids).tolist()
        passed = (pair for pair, paper in zip(found, paper_ids, strict=True) if paper in allowed)
        return list(islice(passed, k))

    def _cards(self, ranked: Ranked, query: ParsedQuery | None) -> list[Hit]:
        ids = [key for key, _ in ranked]
        cards = paper_cards(self.engine, ids)
        fragments = self.lexical.snippets(ids, query) if query is not None else {}
        return [
            Hit(key, score, **cards[key], snippet=fragments.get(key))
            for key, score in ranked
            if key in cards
        ]


def coverage_note(vectors: VectorIndex | None) -> str | None:
    """What a visitor should know about how far meaning-based results reach (``None``: all
    papers), in plain words."""
    if vectors is None:
        return "Meaning-based search is being prepared: for now papers are found by their words."
    covered = vectors.coverage
    if covered is None or covered.complete:
        return None
    newest, since = covered.newest_embedded, covered.newest_pending
    if newest is None or since is None or newest <= since:
        return (
            "Meaning-based results do not cover every paper yet (the newest are being "
            "indexed); all papers are found by their words."
        )
    day = since + timedelta(days=1)
    return (
        f"Meaning-based results cover papers announced since {day.day} {day:%b %Y}; "
        "older ones are found by their words."
    )
