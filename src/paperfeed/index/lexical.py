"""Full-text search (BM25) over titles, abstracts and authors: a tantivy index of the store.

The index is derived data. ``update`` catches up on the papers whose ``changed_at`` is later
than the watermark kept in ``paperfeed.json`` (tantivy owns ``meta.json``); ``rebuild`` starts
again. Queries are built from tantivy ``Query`` objects and the index's own analyzers, never
by tantivy's query-string parser, so nothing a user types can act as an operator.

An index is checked when opened: both metadata files readable, every file of every segment
there and ending in tantivy's footer (whose CRC is checked too, smallest files first, up to
``CHECKSUM_BUDGET`` bytes), and tantivy able to open it and read a document. One that fails
is set aside and an empty one takes its place, which the next update fills from the store.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import re
import shutil
import struct
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any, cast

import tantivy
from sqlalchemy import Engine, RowMapping
from tantivy import Filter, Occur, Query, TextAnalyzer, TextAnalyzerBuilder, Tokenizer

from paperfeed.index.integrity import CHECKSUM_BUDGET, BrokenIndex, crc32, set_aside
from paperfeed.index.query import NO_FILTERS, Filters, ParsedQuery, Sort
from paperfeed.store.changes import changed_keys, count_changed, paper_rows

ProgressCallback = Callable[[int, int], None]
SCHEMA_VERSION = 2  # bump when the schema or analyzers change: the index is then rebuilt
HEAP = 128_000_000  # the writer's memory budget, bytes
CHUNK = 1_000  # papers read from the store per query
COMMIT_EVERY = 10_000  # documents per commit during an update
# Rows are stamped before their transaction commits, so a concurrent ingest can commit a row
# stamped just before the watermark; papers changed this long before it are checked again.
OVERLAP = timedelta(seconds=60)
# Keyword queries (up to SHORT_QUERY words) weigh the title high and find the papers with any
# of their words, ranking those with every word and those with the words close together (at
# most PROXIMITY_SLOP apart, in title or abstract) first: on SciFact train claims cut to their
# 3 rarest words (bench/beir.py --short 3) every word required gave NDCG@10 0.266, all but
# one 0.503 (0.516 with an all-words bonus of once the BM25), any word with that bonus 0.536,
# twice 0.542 (half 0.530, four times 0.541); the proximity bonus +0.003 on 2 words, 0 on 3.
SHORT_QUERY = 3
ALL_WORDS_BOOST = 2.0
PROXIMITY_SLOP = 3
PROXIMITY_BOOST = 0.5
# longer ones (sentences, claims) rank by BM25 over any word, with the abstract weighing more:
# on the SciFact train claims (bench/beir.py) title 0.5 gave NDCG@10 0.683, 1.0 0.663.
BOOSTS = {"title": 2.5, "abstract": 1.0, "authors": 0.5}
LONG_QUERY_BOOSTS = {"title": 0.5, "abstract": 1.0, "authors": 0.5}
# the orders results come in, by the field each sorts on (relevance: the score)
SORTS: dict[Sort, str | None] = {"relevance": None, "date": "day", "upvotes": "upvotes"}
SNIPPET_CHARS = 240
# papers counted per announcement day (tantivy's histogram over the ``day`` fast field)
PER_DAY = {"days": {"histogram": {"field": "day", "interval": 1, "min_doc_count": 1}}}
# the columns a document is made of
INDEXED = "id arxiv_id title abstract authors categories announced published upvotes withdrawn"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
META = "paperfeed.json"  # schema version and watermark, next to tantivy's own files
TANTIVY_META = "meta.json"  # tantivy's: the segments
SEGMENT_FILES = ("idx", "term", "pos", "store", "fast", "fieldnorm")  # each segment has these
FOOTER_MAGIC = 1337  # the last 4 bytes of every tantivy file, after the footer's length
# tantivy reports a failed read or write as a ValueError naming Rust's "(os error N)"; these
# are the machine's (a full disk, a read-only one), not the index's, and are raised as OSError
ENVIRONMENT = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}
_OS_ERROR = re.compile(r"\(os error (\d+)\)")

log = logging.getLogger("paperfeed.index")


def _analyzer(*filters: Filter) -> TextAnalyzer:
    builder = TextAnalyzerBuilder(Tokenizer.simple())
    for token_filter in filters:
        builder = builder.filter(token_filter)
    return builder.build()


# tantivy's en_stem, with accents folded ("Schrödinger" = "Schrodinger")
ENGLISH = _analyzer(
    Filter.remove_long(40), Filter.lowercase(), Filter.ascii_fold(), Filter.stemmer("english")
)
NAMES = _analyzer(Filter.remove_long(40), Filter.lowercase(), Filter.ascii_fold())
STOPWORDS = _analyzer(Filter.lowercase(), Filter.stopword("english"))  # nothing left: a stopword
TEXT_FIELDS = {"title": ENGLISH, "abstract": ENGLISH, "authors": NAMES}


@dataclass(frozen=True)
class Snippet:
    """A fragment of an abstract and the (start, end) character ranges of the query's words
    in it."""

    text: str
    highlights: list[tuple[int, int]] = field(default_factory=list)

    def html(self) -> str:
        """The fragment as HTML: the text escaped, the highlighted words in ``<b>``."""
        parts, done = [], 0
        for start, end in self.highlights:
            parts += [escape(self.text[done:start]), "<b>", escape(self.text[start:end]), "</b>"]
            done = end
        parts.append(escape(self.text[done:]))
        return "".join(parts)


@dataclass(frozen=True)
class LexicalHit:
    """A matching paper; ``score`` is BM25, or the sort key when sorting by date or upvotes."""

    arxiv_id: str
    score: float


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("arxiv_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", stored=True, tokenizer_name="english")
    builder.add_text_field("abstract", stored=True, tokenizer_name="english")
    builder.add_text_field("authors", tokenizer_name="names")
    builder.add_text_field("categories", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("organisation", tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("day", indexed=True, fast=True)  # date.toordinal(); 0: unknown
    builder.add_integer_field("upvotes", fast=True)
    builder.add_integer_field("changed", fast=True)  # changed_at, microseconds since 1970
    # the store's paper id, read from a column where a stored document is not needed
    builder.add_integer_field("key", indexed=True, fast=True)
    return builder.build()


class LexicalIndex:
    """A tantivy index in a folder; one writer at a time, any number of readers."""

    def __init__(self, path: Path, index: tantivy.Index, set_aside: Path | None = None) -> None:
        self.path = path
        self.set_aside = set_aside  # where a broken index found on open went (admin told)
        self._index = index
        self._schema = index.schema

    @classmethod
    def open(cls, path: Path | str) -> LexicalIndex:
        """Open the index in ``path``, creating it (or recreating an outdated one) if needed;
        one that fails its checks is set aside and replaced by an empty one."""
        path = Path(path)
        if path.is_dir() and _read_meta(path).get("schema", SCHEMA_VERSION) != SCHEMA_VERSION:
            shutil.rmtree(path)
            log.warning(
                "the words index in %s was made by an older paperfeed: it is started again, "
                "and searches find papers by meaning only until `paperfeed index` (or "
                "`paperfeed worker`) has indexed every paper again",
                path,
            )
        try:
            return cls(path, _open_checked(path))
        except BrokenIndex as exc:
            meanwhile = "searches find papers by meaning only until it is rebuilt"
            moved = set_aside(path, str(exc), meanwhile)
        return cls(path, _open_checked(path), moved)

    def built(self) -> bool:
        """Whether the index has been brought up to date with the store at least once."""
        return _read_meta(self.path).get("watermark") is not None

    def count(self) -> int:
        """How many papers the index holds."""
        return self._index.searcher().num_docs

    def document_frequencies(self, words: Sequence[str]) -> tuple[int, dict[str, int]]:
        """How many papers the index holds, and in how many abstracts each word occurs (as
        the abstract's analyzer reads it: "Models" counts "model")."""
        searcher = self._index.searcher()
        found = {}
        for word in words:
            terms = ENGLISH.analyze(_utf8(word))
            found[word] = searcher.doc_freq("abstract", terms[0]) if len(terms) == 1 else 0
        return searcher.num_docs, found

    def update(self, engine: Engine, on_progress: ProgressCallback | None = None) -> int:
        """Index the papers changed since the last update; return how many were added,
        replaced or (withdrawn) removed. Raises ``ValueError`` if another writer is at work."""
        return self._write(engine, self._since(), on_progress, clear=False)

    def backlog(self, engine: Engine) -> int:
        """How many papers the next :meth:`update` will look at."""
        return count_changed(engine, self._since())

    def _since(self) -> datetime | None:
        watermark = _read_meta(self.path).get("watermark")
        return datetime.fromisoformat(watermark) - OVERLAP if watermark else None

    def rebuild(self, engine: Engine, on_progress: ProgressCallback | None = None) -> int:
        """Index every paper from scratch; searches see the old index until it is done."""
        return self._write(engine, None, on_progress, clear=True)

    def _write(
        self,
        engine: Engine,
        since: datetime | None,
        on_progress: ProgressCallback | None,
        clear: bool,
    ) -> int:
        writer = self._index.writer(HEAP)
        try:
            if clear:
                writer.delete_documents_by_query(Query.all_query())
            total, done, changed, pending = count_changed(engine, since), 0, 0, 0
            watermark = None
            for keys in changed_keys(engine, since, CHUNK):
                stale = [k for k in keys if not k["withdrawn"]] if clear else self._stale(keys)
                self._apply(writer, engine, stale)
                done += len(keys)
                changed += len(stale)
                pending += len(stale)
                watermark = keys[-1]["changed_at"]
                if not clear and pending >= COMMIT_EVERY:
                    self._commit(writer, watermark)
                    pending = 0
                if on_progress:
                    on_progress(done, total)
            if pending or clear:
                self._commit(writer, watermark)
            elif done:  # nothing to commit, but no need to look at these papers again
                _write_meta(self.path, watermark)
        except BaseException as exc:
            writer.rollback()
            _raise_environment(exc, self.path)
            raise
        finally:
            writer.wait_merging_threads()  # releases the index's writer lock
        return changed

    def _stale(self, keys: list[RowMapping]) -> list[RowMapping]:
        """The papers the index does not hold as they are now."""
        held = self._held([key["arxiv_id"] for key in keys])
        return [key for key in keys if _is_stale(key, held.get(key["arxiv_id"]))]

    def _held(self, arxiv_ids: list[str]) -> dict[str, int]:
        """``{arxiv_id: changed}`` of the given papers the index holds."""
        searcher = self._index.searcher()
        query = Query.term_set_query(self._schema, "arxiv_id", arxiv_ids)
        addresses = [address for _, address in searcher.search(query, len(arxiv_ids)).hits]
        # "changed" is an integer field: tantivy's stub types its values for any field
        stamps = cast(list[int], searcher.fast_field_values("changed", addresses))
        ids = [_arxiv_id(searcher.doc(address)) for address in addresses]
        return dict(zip(ids, stamps, strict=True))

    def _apply(self, writer: tantivy.IndexWriter, engine: Engine, stale: list[RowMapping]) -> None:
        """Replace the stale papers' documents (a withdrawn paper's is just deleted)."""
        for key in stale:
            writer.delete_documents_by_term("arxiv_id", key["arxiv_id"])
        fresh = [key["id"] for key in stale if not key["withdrawn"]]
        for row in paper_rows(engine, fresh, INDEXED.split()):
            if not row["withdrawn"]:  # unless withdrawn since its key was read
                writer.add_document(_document(row))

    def _commit(self, writer: tantivy.IndexWriter, watermark: datetime | None) -> None:
        writer.commit()
        _write_meta(self.path, watermark)  # only once tantivy has persisted the documents
        self._index.reload()

    def search(
        self,
        query: ParsedQuery,
        *,
        limit: int = 20,
        offset: int = 0,
        sort: Sort = "relevance",
        filters: Filters = NO_FILTERS,
        within: Query | None = None,
        partial: bool = True,
    ) -> list[LexicalHit]:
        """Papers matching the free text of ``query`` and all filters (and ``within``, an
        :meth:`among` query, if given), best first; ``partial``: keyword queries find papers
        with some of their words too. Without free text, the filtered papers newest first
        (none at all without filters either)."""
        if sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        if offset < 0:
            raise ValueError(f"offset must not be negative: {offset}")
        text = self._text_query(query, partial)
        restrictions = self._filters(query, filters)
        if within is not None:
            restrictions.append(within)
        if limit <= 0 or (text is None and not restrictions):
            return []
        clauses = [(Occur.Must, text or Query.all_query())]
        clauses += [(Occur.Must, Query.const_score_query(f, 0.0)) for f in restrictions]
        # the text alone at the top, where tantivy can rank a union of words by block-max WAND
        whole = text if text is not None and not restrictions else Query.boolean_query(clauses)
        order = SORTS[sort] or (None if text else "day")
        searcher = self._index.searcher()
        found = searcher.search(whole, limit, count=False, order_by_field=order, offset=offset)
        return [
            LexicalHit(_arxiv_id(searcher.doc(address)), float(key)) for key, address in found.hits
        ]

    def day_counts(self, query: ParsedQuery, filters: Filters = NO_FILTERS) -> Counter[date]:
        """How many papers with every word of ``query`` and passing all filters were announced
        each day (papers without a day left out): a trend counts the papers about a query, not
        those sharing one of its words. Empty without free text and filters, as a search."""
        text = self._text_query(replace(query, every_word=True))
        restrictions = self._filters(query, filters)
        if text is None and not restrictions:
            return Counter()
        known = Query.range_query(self._schema, "day", tantivy.FieldType.Integer, 1, None)
        clauses = [(Occur.Must, q) for q in (text, *restrictions, known) if q is not None]
        found = self._index.searcher().aggregate(Query.boolean_query(clauses), PER_DAY)
        return Counter(
            {date.fromordinal(int(b["key"])): b["doc_count"] for b in found["days"]["buckets"]}
        )

    def newest_day(self) -> date | None:
        """The newest announcement day of any paper in the index."""
        found = self._index.searcher().aggregate(
            Query.all_query(), {"newest": {"max": {"field": "day"}}}
        )
        value = found["newest"]["value"]
        return date.fromordinal(int(value)) if value else None

    def passing(
        self, arxiv_ids: Sequence[str], query: ParsedQuery, filters: Filters = NO_FILTERS
    ) -> set[int]:
        """The store's ids of those of ``arxiv_ids`` that pass the query's and the given
        filters (its text aside)."""
        if not arxiv_ids:
            return set()
        clauses = [(Occur.Must, self.among(arxiv_ids))]
        clauses += [(Occur.Must, f) for f in self._filters(query, filters)]
        searcher = self._index.searcher()
        found = searcher.search(Query.boolean_query(clauses), len(arxiv_ids), count=False)
        # read from a column, not from each paper's stored document (2,000 dense hits: 16 ms
        # at 2.7M papers); "key" is an integer field, tantivy's stub types values for any
        keys = searcher.fast_field_values("key", [address for _, address in found.hits])
        return set(cast(list[int], keys))

    def like(
        self, arxiv_id: str, limit: int, terms: int, within: Query | None = None
    ) -> list[LexicalHit]:
        """Papers sharing this one's most distinctive words (among ``within``, an
        :meth:`among` query, if given), best first, never itself: BM25 of its ``terms`` words
        (from title and abstract) of highest tf-idf over abstracts, and over titles for the
        words of its own title (the idea of Lucene's MoreLikeThis; tantivy's own query found
        half as many list mates on the dev lists of ``bench/similar.py``). Each clause costs a
        seek into every 4,096-paper window around the pool's papers: titles for every word
        (200 clauses) took a fifth longer for 0.130 on those lists against 0.132; abstracts
        alone scored 0.140 there but ranked "Climate model emulators" (sharing "neural") over
        "Graph attention networks" for "Graph neural networks" in the tests' store. None if the
        index does not hold it."""
        searcher = self._index.searcher()
        itself = self._term("arxiv_id", _utf8(arxiv_id))
        found = searcher.search(itself, 1).hits
        if not found or limit <= 0:
            return []
        doc = searcher.doc(found[0][1])
        counts = Counter(ENGLISH.analyze(f"{doc.get_first('title')} {doc.get_first('abstract')}"))
        papers = searcher.num_docs
        weights = {
            word: count * math.log(papers / (1 + searcher.doc_freq("abstract", word)))
            for word, count in counts.items()
            if len(word) > 1
        }
        words = sorted(weights, key=lambda word: (-weights[word], word))[:terms]
        title = set(ENGLISH.analyze(doc.get_first("title") or ""))
        clauses = [(Occur.Should, self._term("abstract", word)) for word in words]
        clauses += [(Occur.Should, self._term("title", word)) for word in words if word in title]
        restrict = [(Occur.Must, Query.const_score_query(within, 0.0))] if within else []
        query = Query.boolean_query([*clauses, *restrict, (Occur.MustNot, itself)])
        hits = searcher.search(query, limit, count=False).hits
        # with ``within`` a Must clause, papers sharing no word match too, with score 0
        return [
            LexicalHit(_arxiv_id(searcher.doc(address)), float(score))
            for score, address in hits
            if score > 0
        ]

    def among(self, arxiv_ids: Sequence[str]) -> Query:
        """A query for just these papers, to restrict searches to (build it once for many)."""
        return Query.term_set_query(self._schema, "arxiv_id", [_utf8(i) for i in arxiv_ids])

    def _filters(self, query: ParsedQuery, filters: Filters) -> list[Query]:
        organisation = filters.organisation
        return [
            *self._category_filters((query.categories, filters.categories)),
            *self._author_filters((*query.authors, *filters.authors)),
            *self._date_filter(
                (query.date_from, filters.date_from), (query.date_to, filters.date_to)
            ),
            *([self._term("organisation", _utf8(organisation))] if organisation else []),
        ]

    def snippets(self, arxiv_ids: Iterable[str], query: ParsedQuery) -> dict[str, Snippet]:
        """The fragment of each abstract that best shows the query's words (the start of the
        abstract where none is there). Papers not in the index are left out."""
        searcher = self._index.searcher()
        text = self._text_query(query)
        generator = None
        if text is not None:
            generator = tantivy.SnippetGenerator.create(searcher, text, self._schema, "abstract")
            generator.set_max_num_chars(SNIPPET_CHARS)
        ids = [_utf8(arxiv_id) for arxiv_id in arxiv_ids]
        if not ids:
            return {}
        hits = searcher.search(Query.term_set_query(self._schema, "arxiv_id", ids), len(ids)).hits
        found: dict[str, Snippet] = {}
        for _, address in hits:
            doc = searcher.doc(address)
            fragment = generator.snippet_from_doc(doc) if generator else None
            found[_arxiv_id(doc)] = (
                _snippet(fragment)
                if fragment and fragment.fragment()
                else Snippet(_lead(doc.get_first("abstract") or ""))
            )
        return found

    def _text_query(self, query: ParsedQuery, partial: bool = True) -> Query | None:
        """BM25 over the fields: each phrase must match; short queries find the papers with
        any of their words (every word unless ``partial``), those with all of them and with
        them close together first; longer ones (sentences, claims) are ranked by BM25 over
        any of their words. With ``AND`` every word must match."""
        terms = _content_terms(query.terms)
        short = len(terms) <= SHORT_QUERY
        boosts = BOOSTS if short else LONG_QUERY_BOOSTS
        phrases = [q for q in (self._words(p, boosts) for p in query.phrases) if q]
        listed = short or query.every_word
        words = [q for q in (self._words(t, boosts) for t in terms) if q] if listed else []
        if query.every_word or (short and (not partial or len(words) < 2)):
            clauses = [(Occur.Must, q) for q in [*phrases, *words]]
        elif short:
            clauses = [(Occur.Must, q) for q in phrases] + self._any_words(terms, words)
        else:
            # one flat union of (field, word) term clauses: tantivy then ranks it by block-max
            # WAND, which skips most documents; nested per-word unions, or a phrase for a word
            # the analyzer splits ("self-supervised"), would have it score them all
            fields = [
                Query.boost_query(self._term(field, token), boost)
                for term in terms
                for field, boost in boosts.items()
                for token in TEXT_FIELDS[field].analyze(_utf8(term))
            ]
            clauses = [(Occur.Must, q) for q in phrases] + [(Occur.Should, q) for q in fields]
        return Query.boolean_query(clauses) if clauses else None

    def _any_words(self, terms: Sequence[str], words: list[Query]) -> list[tuple[Occur, Query]]:
        """Clauses for papers with any of ``words`` (the queries of ``terms``), scoring more
        with every word and with the words close together."""
        clauses = [
            (Occur.Must, Query.boolean_query([(Occur.Should, q) for q in words])),
            (
                Occur.Should,
                Query.boost_query(
                    Query.boolean_query([(Occur.Must, q) for q in words]), ALL_WORDS_BOOST
                ),
            ),
        ]
        tokens = [token for term in terms for token in ENGLISH.analyze(_utf8(term))]
        if len(tokens) > 1:
            clauses += [
                (
                    Occur.Should,
                    Query.boost_query(
                        Query.phrase_query(self._schema, field, [*tokens], PROXIMITY_SLOP),
                        PROXIMITY_BOOST * BOOSTS[field],
                    ),
                )
                for field in ("title", "abstract")
            ]
        return clauses

    def _words(self, text: str, boosts: dict[str, float]) -> Query | None:
        """``text`` in any of the text fields, as each field's analyzer reads it."""
        clauses = [(Occur.Should, q) for q in self._fields(text, boosts)]
        return Query.boolean_query(clauses) if clauses else None

    def _fields(self, text: str, boosts: dict[str, float]) -> list[Query]:
        """``text`` in each text field where the field's analyzer leaves something of it."""
        queries = (
            (self._tokens(field, analyzer.analyze(_utf8(text))), boosts[field])
            for field, analyzer in TEXT_FIELDS.items()
        )
        return [Query.boost_query(query, boost) for query, boost in queries if query is not None]

    def _tokens(self, field: str, tokens: list[str]) -> Query | None:
        if len(tokens) > 1:
            return Query.phrase_query(self._schema, field, [*tokens])  # as list[str | tuple]
        return self._term(field, tokens[0]) if tokens else None

    def _term(self, field: str, value: str) -> Query:
        return Query.term_query(self._schema, field, value)

    def _category_filters(self, groups: Iterable[Sequence[str]]) -> list[Query]:
        """Any of a group's categories (``cs`` for the archive); every group must match."""
        return [
            Query.term_set_query(self._schema, "categories", [_utf8(c).lower() for c in group])
            for group in groups
            if group
        ]

    def _author_filters(self, names: Iterable[str]) -> list[Query]:
        """Every author must match: "Hinton" or "Geoffrey Hinton" both find Geoffrey Hinton."""
        queries = (self._tokens("authors", NAMES.analyze(_utf8(name))) for name in names)
        return [query for query in queries if query is not None]

    def _date_filter(
        self, starts: Iterable[date | None], ends: Iterable[date | None]
    ) -> list[Query]:
        start = max((d for d in starts if d), default=None)
        end = min((d for d in ends if d), default=None)
        if start is None and end is None:
            return []
        low = start.toordinal() if start else None
        high = end.toordinal() if end else None
        if low is not None and high is not None and low > high:
            return [Query.empty_query()]
        return [Query.range_query(self._schema, "day", tantivy.FieldType.Integer, low, high)]


def _is_stale(key: RowMapping, held: int | None) -> bool:
    """A withdrawn paper is stale while indexed at all; others unless indexed as they are."""
    return held is not None if key["withdrawn"] else held != _micros(key["changed_at"])


def _content_terms(terms: Sequence[str]) -> Sequence[str]:
    """The terms without stopwords, unless nothing else is left."""
    content = [term for term in terms if STOPWORDS.analyze(_utf8(term))]
    return content or terms


def _document(row: RowMapping) -> tantivy.Document:
    doc = tantivy.Document()
    doc.add_text("arxiv_id", row["arxiv_id"])
    doc.add_text("title", row["title"])
    doc.add_text("abstract", row["abstract"])
    for name in row["authors"] or ():
        doc.add_text("authors", name)
    for category in sorted({c.lower() for c in row["categories"]} | _archives(row["categories"])):
        doc.add_text("categories", category)
    if row["organisation"]:
        doc.add_text("organisation", row["organisation"])
    day = row["announced"] or (row["published"] and row["published"].date())
    doc.add_integer("day", day.toordinal() if day else 0)
    doc.add_integer("upvotes", row["upvotes"] or 0)
    doc.add_integer("changed", _micros(row["changed_at"]))
    doc.add_integer("key", row["id"])
    return doc


def _archives(categories: Iterable[str]) -> set[str]:
    """``cs`` for ``cs.CL``: the archive a category belongs to."""
    return {category.split(".", 1)[0].lower() for category in categories}


def _arxiv_id(doc: tantivy.Document) -> str:
    """The arXiv id every document is stored with (tantivy types stored values as ``Any``)."""
    return cast(str, doc.get_first("arxiv_id"))


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def _utf8(text: str) -> str:
    """``text`` without lone surrogates, which tantivy cannot take."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _snippet(found: tantivy.Snippet) -> Snippet:
    """tantivy's snippet, its highlights counted in characters rather than UTF-8 bytes."""
    text = found.fragment()
    data = text.encode()
    return Snippet(
        text,
        [(len(data[: r.start].decode()), len(data[: r.end].decode())) for r in found.highlighted()],
    )


def _lead(abstract: str) -> str:
    return textwrap.shorten(abstract, SNIPPET_CHARS, placeholder=" …")


def _open_checked(path: Path) -> tantivy.Index:
    """The index in ``path`` (a new one if there is none); raises :class:`BrokenIndex`."""
    if path.exists() and not path.is_dir():
        raise BrokenIndex("not a folder")
    path.mkdir(parents=True, exist_ok=True)
    _check_files(path)
    try:
        index = tantivy.Index(_schema(), str(path))
        index.register_tokenizer("english", ENGLISH)
        index.register_tokenizer("names", NAMES)
        searcher = index.searcher()
        for _, address in searcher.search(Query.all_query(), 1).hits:
            searcher.doc(address)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # tantivy reports some corrupt files by a pyo3 PanicException
        _raise_environment(exc, path)
        raise BrokenIndex(f"tantivy cannot read it: {' '.join(str(exc).split())[:200]}") from None
    if not (path / META).exists():
        _write_meta(path, None)
    return index


def _raise_environment(exc: BaseException, path: Path) -> None:
    """Raise tantivy's report of a full or read-only disk as the ``OSError`` it is."""
    found = _OS_ERROR.search(str(exc))
    if found and (number := int(found.group(1))) in ENVIRONMENT:
        raise OSError(number, os.strerror(number), str(path)) from None


def _check_files(path: Path) -> None:
    """Both metadata files readable and every segment's files whole; raises
    :class:`BrokenIndex`."""
    if (path / META).exists():
        try:
            json.loads((path / META).read_text())
        except (OSError, ValueError):
            raise BrokenIndex(f"{META} is unreadable") from None
    if not (path / TANTIVY_META).exists():
        if _read_meta(path).get("watermark"):
            raise BrokenIndex(f"{TANTIVY_META} is missing")
        return  # a new index
    try:
        segments = json.loads((path / TANTIVY_META).read_text())["segments"]
        names = [
            *(
                f"{s['segment_id'].replace('-', '')}.{ext}"
                for s in segments
                for ext in SEGMENT_FILES
            ),
            *(
                f"{s['segment_id'].replace('-', '')}.{s['deletes']['opstamp']}.del"
                for s in segments
                if s.get("deletes")
            ),
        ]
    except (OSError, ValueError, KeyError, TypeError):
        raise BrokenIndex(f"{TANTIVY_META} is unreadable") from None
    files = [path / name for name in names]
    if missing := [file.name for file in files if not file.is_file()]:
        more = f" (and {len(missing) - 1} more files)" if len(missing) > 1 else ""
        raise BrokenIndex(f"{missing[0]} is missing{more}")
    budget = CHECKSUM_BUDGET
    for file in sorted(files, key=lambda f: f.stat().st_size):
        size = file.stat().st_size
        _check_footer(file, checksum=size <= budget)
        budget -= min(size, budget)


def _check_footer(file: Path, *, checksum: bool) -> None:
    """The file ends in tantivy's footer (JSON, its length, the magic number) and, if
    ``checksum``, its content has the CRC32 the footer holds."""
    size = file.stat().st_size
    with file.open("rb") as data:
        data.seek(max(size - 8, 0))
        tail = data.read(8)
        length, magic = struct.unpack("<II", tail) if len(tail) == 8 else (0, 0)
        if magic != FOOTER_MAGIC or length > size - 8:
            raise BrokenIndex(f"{file.name} is truncated or overwritten")
        body = size - 8 - length
        data.seek(body)
        try:
            crc = json.loads(data.read(length))["crc"]
        except (ValueError, KeyError, TypeError):
            raise BrokenIndex(f"{file.name} has an unreadable footer") from None
    if checksum and crc32(file, body) != crc:
        raise BrokenIndex(f"{file.name} fails its checksum")


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        return json.loads((path / META).read_text())
    except (OSError, ValueError):
        return {}


def _write_meta(path: Path, watermark: datetime | None) -> None:
    """Replace the metadata atomically (a crash leaves the old or the new file)."""
    meta = {"schema": SCHEMA_VERSION, "watermark": watermark.isoformat() if watermark else None}
    temporary = path / f"{META}.tmp"
    temporary.write_text(json.dumps(meta))
    os.replace(temporary, path / META)
