"""Full-text search: ranking, phrases, filters, sorting, incremental updates, hostile input."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, update

from conftest import SAMPLE
from memory_source import MemorySource, paper
from paperfeed.index.lexical import META, LexicalIndex, Snippet
from paperfeed.index.query import Filters, parse_query
from paperfeed.ingest.pipeline import ingest
from paperfeed.records import Organisation, Withdrawal
from paperfeed.sources.jsonl import jsonl_source
from paperfeed.store.database import open_store
from paperfeed.store.schema import papers

A, B, C = "2401.00001", "2401.00002", "2401.00003"
PAPERS = [
    paper(
        A,
        version=1,
        title="Sparse attention for long documents",
        abstract="We compress key value caches.",
        authors=["Geoffrey Hinton", "Yann LeCun"],
        categories=["cs.CL"],
        announced=date(2024, 3, 5),
        upvotes=5,
    ),
    paper(
        B,
        title="Key value caches at scale",
        abstract="Sparse attention makes long documents cheap.",
        authors=["Ada Lovelace"],
        categories=["cs.LG", "stat.ML"],
        announced=date(2024, 6, 10),
        upvotes=1,
    ),
    paper(
        C,
        title="Quantum error correction",
        abstract="We pay close attention to sparse codes for quantum memories.",
        authors=["Alan Turing"],
        categories=["quant-ph"],
        announced=date(2023, 1, 2),
        upvotes=50,
        organisation=Organisation("deepmind", "DeepMind"),
    ),
]
EXTRAS = [
    paper("2401.00011", title="A study", abstract="Graph networks."),
    paper("2401.00012", title="Graph networks", abstract="A study."),
    paper("2401.00021", title="Schrödinger cats", authors=["Kurt Gödel"]),
    paper("2401.00031", abstract="Beware <script>alert('x')</script> & sparse attention."),
    paper("2401.00032", abstract="Nothing to see."),
]
FOLDS_PROTEINS, FOLDS_PAPER, DESIGNS_PROTEINS = "2401.00101", "2401.00102", "2401.00103"
APART, CLOSE = "2401.00111", "2401.00112"  # the same words, apart first: ties go by address
SHORT = [
    paper(FOLDS_PROTEINS, title="Diffusion", abstract="Folding of a protein, step by step."),
    paper(FOLDS_PAPER, title="Folding paper", abstract="Origami folding patterns."),
    paper(DESIGNS_PROTEINS, title="Protein design", abstract="Protein binders from scratch."),
    paper("2401.00104", title="Language models", abstract="Text."),
    paper(APART, title="A study", abstract="Attention over long documents and sparse graphs."),
    paper(CLOSE, title="A study", abstract="Sparse attention over long documents and graphs."),
]
HOSTILE = [
    "",
    "   ",
    "the of and",
    "🤖🔥 ∑∫ 中文 العربية",
    '"unbalanced',
    'au:"unbalanced',
    "AND OR NOT",
    "+ - * ^ ~ : ( ) [ ] { } ' ;",
    "attention AND (sparse OR NOT quantum)^2 ~3",
    "title:* abstract:[a TO z] {x TO y}",
    "'; DROP TABLE papers; --",
    "1' OR '1'='1",
    'attention" OR "1"="1',
    "NEAR(a b) a* *b MATCH x",
    "\x00\x01\x1f\x7f attention\u202e\u200d",
    "cat:cs.CL;-- year:9999 after:0001-01-01 before:0000",
    "word " * 2_000,
    "a" * 10_000,
]


def find(index: LexicalIndex, text: str, **options) -> list[str]:
    paging = {k: options.pop(k) for k in ("sort", "limit", "offset") if k in options}
    hits = index.search(parse_query(text), **paging, filters=Filters(**options))
    return [hit.arxiv_id for hit in hits]


def open_index(engine: Engine, folder: Path, *records) -> LexicalIndex:
    ingest(engine, MemorySource(records))
    index = LexicalIndex.open(folder / "lexical")
    index.update(engine)
    return index


def sqlite_index(folder: Path, source) -> LexicalIndex:
    """An index of ``source`` for tests that only read it: the store is closed afterwards."""
    engine = open_store(f"sqlite:///{folder / 'store.db'}")
    ingest(engine, source)
    index = LexicalIndex.open(folder / "lexical")
    index.update(engine)
    engine.dispose()
    return index


@pytest.fixture
def index(engine: Engine, tmp_path: Path) -> LexicalIndex:
    """PAPERS, through the store under test (SQLite and PostgreSQL)."""
    return open_index(engine, tmp_path, *PAPERS)


@pytest.fixture(scope="module")
def papers_index(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """PAPERS, indexed once for the tests that only query them."""
    return sqlite_index(tmp_path_factory.mktemp("papers"), MemorySource(PAPERS))


@pytest.fixture(scope="module")
def extras_index(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """EXTRAS, indexed once: papers made for one test each."""
    return sqlite_index(tmp_path_factory.mktemp("extras"), MemorySource(EXTRAS))


@pytest.fixture(scope="module")
def short_index(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """SHORT, indexed once: papers with some, all or none of a keyword query's words."""
    return sqlite_index(tmp_path_factory.mktemp("short"), MemorySource(SHORT))


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """The 200-paper sample, for hostile and random queries."""
    return sqlite_index(tmp_path_factory.mktemp("sample"), jsonl_source([SAMPLE]))


def test_a_title_match_outranks_an_abstract_match(extras_index: LexicalIndex) -> None:
    assert find(extras_index, "graph") == ["2401.00012", "2401.00011"]


def test_accents_are_folded(extras_index: LexicalIndex) -> None:
    assert find(extras_index, "schrodinger") == ["2401.00021"]
    assert find(extras_index, "author:godel") == ["2401.00021"]


def test_snippets_highlight_words_and_escape_html(extras_index: LexicalIndex) -> None:
    ids = ["2401.00031", "2401.00032", "9999.99999"]
    found = extras_index.snippets(ids, parse_query("sparse attention"))
    assert found == {
        "2401.00031": Snippet(
            "Beware <script>alert('x')</script> & sparse attention", [(37, 43), (44, 53)]
        ),
        "2401.00032": Snippet("Nothing to see."),  # no match: the start of the abstract
    }
    assert found["2401.00031"].html() == (
        "Beware &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; "
        "<b>sparse</b> <b>attention</b>"
    )


def test_snippet_highlights_count_characters_not_bytes(tmp_path: Path) -> None:
    text = "Schrödinger\N{RIGHT SINGLE QUOTATION MARK}s \N{GREEK SMALL LETTER ALPHA}-sparse kernels"
    index = sqlite_index(tmp_path, MemorySource([paper("2401.00041", abstract=text)]))
    found = index.snippets(["2401.00041"], parse_query("sparse kernels"))
    assert found == {"2401.00041": Snippet(text, [(16, 22), (23, 30)])}


def test_a_phrase_needs_its_words_side_by_side(papers_index: LexicalIndex) -> None:
    assert find(papers_index, "sparse attention") == [A, B, C]
    assert find(papers_index, '"sparse attention"') == [A, B]


def test_words_match_their_stems(papers_index: LexicalIndex) -> None:
    assert find(papers_index, "caching") == [B, A]


def test_a_keyword_query_finds_papers_with_some_of_its_words_after_those_with_all(
    short_index: LexicalIndex,
) -> None:
    found = find(short_index, "protein folding")
    assert found[0] == FOLDS_PROTEINS
    assert sorted(found[1:]) == [FOLDS_PAPER, DESIGNS_PROTEINS]


def test_a_three_word_query_recalls_papers_with_two_of_them(papers_index: LexicalIndex) -> None:
    assert {A, B} <= set(find(papers_index, "long documents quantum"))


def test_and_asks_for_every_word(short_index: LexicalIndex, papers_index: LexicalIndex) -> None:
    assert find(short_index, "protein AND folding") == [FOLDS_PROTEINS]
    assert find(papers_index, "long AND documents AND quantum") == []


def test_saved_search_matching_needs_every_word_of_a_keyword_query(
    short_index: LexicalIndex,
) -> None:
    hits = short_index.search(parse_query("protein folding"), partial=False)
    assert [hit.arxiv_id for hit in hits] == [FOLDS_PROTEINS]


def test_words_close_together_rank_first(short_index: LexicalIndex) -> None:
    assert find(short_index, "sparse attention") == [CLOSE, APART]


def test_longer_queries_rank_papers_with_more_of_their_words_first(
    papers_index: LexicalIndex,
) -> None:
    found = find(papers_index, "quantum error codes for long documents")
    assert (found[0], sorted(found[1:])) == (C, [A, B])


@pytest.mark.parametrize(
    ("text", "options", "expected"),
    [
        ("author:hinton", {}, [A]),
        ('au:"Yann LeCun"', {}, [A]),
        ('au:"Hinton Yann"', {}, []),  # a name does not run on into the next author
        ("attention", {"authors": ["Lovelace"]}, [B]),
        ("author:Hinton", {"authors": ["Turing"]}, []),
        ("turing", {}, [C]),  # free text reaches the authors too
    ],
)
def test_author_filter(
    papers_index: LexicalIndex, text: str, options: dict, expected: list
) -> None:
    assert find(papers_index, text, **options) == expected


@pytest.mark.parametrize(
    ("text", "options", "expected"),
    [
        ("cat:cs", {}, [B, A]),
        ("cat:cs.CL", {}, [A]),
        ("cat:CS.cl", {}, [A]),
        ("cat:stat", {}, [B]),
        ("cat:cs.CL cat:quant-ph", {}, [A, C]),  # any of the categories
        ("", {"categories": ["cs.LG", "quant-ph"]}, [B, C]),
        ("cat:cs", {"categories": ["quant-ph"]}, []),  # query and arguments: both
    ],
)
def test_category_filter(
    papers_index: LexicalIndex, text: str, options: dict, expected: list
) -> None:
    assert find(papers_index, text, **options) == expected


@pytest.mark.parametrize(
    ("text", "options", "expected"),
    [
        ("year:2024", {}, [B, A]),
        ("before:2024-03-31", {}, [A, C]),
        ("attention after:2024-04", {}, [B]),
        ("date:2024-03-05", {}, [A]),
        ("year:2024", {"date_to": date(2024, 3, 31)}, [A]),
        ("", {"date_from": date(2023, 1, 2), "date_to": date(2023, 1, 2)}, [C]),
        ("after:2024-06 before:2024-01", {}, []),
    ],
)
def test_date_range(papers_index: LexicalIndex, text: str, options: dict, expected: list) -> None:
    assert find(papers_index, text, **options) == expected


def test_organisation_filter(papers_index: LexicalIndex) -> None:
    assert find(papers_index, "attention", organisation="deepmind") == [C]


@pytest.mark.parametrize(
    ("sort", "expected"), [("relevance", [A, B, C]), ("date", [B, A, C]), ("upvotes", [C, A, B])]
)
def test_sort(papers_index: LexicalIndex, sort: str, expected: list[str]) -> None:
    assert find(papers_index, "sparse attention", sort=sort) == expected


def test_limit_and_offset(papers_index: LexicalIndex) -> None:
    assert find(papers_index, "attention", sort="date", limit=1, offset=1) == [A]
    assert find(papers_index, "attention", limit=0) == []


def test_no_text_and_no_filter_finds_nothing(papers_index: LexicalIndex) -> None:
    assert find(papers_index, "") == []


def test_an_unknown_sort_is_refused(papers_index: LexicalIndex) -> None:
    with pytest.raises(ValueError, match="sort must be one of"):
        papers_index.search(parse_query("x"), sort="random")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("attention AND NOT caches", [A, B]),  # NOT would drop both
        ("-caches attention AND", [A, B]),  # so would a minus
        ("attention OR quantum AND", [C]),  # OR would add A and B
        ("title:quantum", []),  # a field prefix would find C
        ("*", []),  # a wildcard would find all
        ('"attention', [A, B, C]),
    ],
)
def test_operators_are_only_words(
    papers_index: LexicalIndex, text: str, expected: list[str]
) -> None:
    assert sorted(find(papers_index, text)) == expected


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_queries_return_a_list(sample_index: LexicalIndex, text: str) -> None:
    query = parse_query(text)
    hits = sample_index.search(query, limit=5)
    assert len(hits) <= 5
    assert set(sample_index.snippets([hit.arxiv_id for hit in hits], query)) == {
        hit.arxiv_id for hit in hits
    }


@settings(max_examples=150, deadline=None)
@given(
    text=st.one_of(
        st.text(st.characters(exclude_categories=())),
        st.lists(st.sampled_from([*HOSTILE[:16], "quantum", "cat:cs", "year:20"])).map(" ".join),
    ),
    sort=st.sampled_from(["relevance", "date", "upvotes"]),
)
def test_no_string_breaks_search(sample_index: LexicalIndex, text: str, sort: str) -> None:
    query = parse_query(text)
    hits = sample_index.search(query, sort=sort, limit=3, filters=Filters(categories=[text[:20]]))
    hits += sample_index.search(query, sort=sort, limit=3)
    sample_index.snippets([hit.arxiv_id for hit in hits] + [text], query)


def test_update_indexes_only_changed_papers(engine: Engine, index: LexicalIndex) -> None:
    ingest(
        engine,
        MemorySource(
            [
                paper(A, version=2, title="Linear recurrences for long documents"),
                paper("2401.00004", title="Mixture of experts"),
                PAPERS[1],  # unchanged
            ]
        ),
    )
    assert index.update(engine) == 2
    assert (find(index, "linear recurrences"), find(index, '"sparse attention"')) == ([A], [B])
    assert (find(index, "experts"), index.count(), index.update(engine)) == (["2401.00004"], 4, 0)


def test_update_reports_progress(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, MemorySource(PAPERS))
    seen: list[tuple[int, int]] = []
    LexicalIndex.open(tmp_path / "lexical").update(engine, on_progress=lambda *p: seen.append(p))
    assert seen == [(3, 3)]


def test_a_withdrawn_paper_disappears(engine: Engine, index: LexicalIndex) -> None:
    ingest(engine, MemorySource([Withdrawal(A)]))
    assert (index.update(engine), index.count(), find(index, "hinton")) == (1, 2, [])


def test_a_late_commit_stamped_before_the_watermark_is_picked_up(
    engine: Engine, index: LexicalIndex
) -> None:
    watermark = json.loads((index.path / META).read_text())["watermark"]
    stamp = datetime.fromisoformat(watermark) - timedelta(seconds=10)
    with engine.begin() as conn:
        conn.execute(
            update(papers).where(papers.c.arxiv_id == C).values(title="Late", changed_at=stamp)
        )
    assert (index.update(engine), find(index, "late")) == (1, [C])


def test_the_watermark_survives_reopening(engine: Engine, index: LexicalIndex) -> None:
    assert LexicalIndex.open(index.path).update(engine) == 0


def test_an_index_of_another_schema_version_is_started_again(
    engine: Engine, index: LexicalIndex, caplog: pytest.LogCaptureFixture
) -> None:
    (index.path / META).write_text(json.dumps({"schema": 0, "watermark": None}))
    reopened = LexicalIndex.open(index.path)
    assert (reopened.count(), reopened.update(engine)) == (0, 3)
    assert "older paperfeed" in caplog.text and "`paperfeed index`" in caplog.text


def test_every_store_gives_the_same_index(index: LexicalIndex, papers_index: LexicalIndex) -> None:
    queries = [parse_query(q) for q in ("sparse attention", "cat:cs", "au:hinton", "year:2024")]
    assert [index.search(q) for q in queries] == [papers_index.search(q) for q in queries]


def test_rebuild_gives_the_same_results(engine: Engine, index: LexicalIndex) -> None:
    queries = ["sparse attention", "cat:cs", "author:hinton", "year:2024"]
    before = [index.search(parse_query(q)) for q in queries]
    assert index.rebuild(engine) == 3
    assert ([index.search(parse_query(q)) for q in queries], index.count()) == (before, 3)


def test_readers_see_the_old_index_until_a_rebuild_commits(
    engine: Engine, index: LexicalIndex
) -> None:
    reader = LexicalIndex.open(index.path)
    during: list[int] = []
    index.rebuild(engine, on_progress=lambda *_: during.append(reader.count()))
    assert during == [3]


def test_passing_gives_the_store_ids_of_the_papers_that_pass_the_filters(
    engine: Engine, index: LexicalIndex
) -> None:
    with engine.connect() as conn:
        ids = dict(conn.execute(select(papers.c.arxiv_id, papers.c.id)).all())
    every = list(ids)
    assert index.passing(every, parse_query("")) == set(ids.values())
    assert index.passing(every, parse_query("cat:cs")) == {ids[A], ids[B]}
    assert index.passing(every, parse_query("year:2024"), Filters(categories=["cs.LG"])) == {ids[B]}
    assert index.passing([C, "2401.99999"], parse_query("au:turing")) == {ids[C]}
    assert index.passing([], parse_query("cat:cs")) == set()
