"""Finding a user's references among the stored papers, and exporting papers as BibTeX."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, select, update

from conftest import SAMPLE
from paperfeed.ingest.pipeline import ingest
from paperfeed.latex import to_text
from paperfeed.library.export import to_bibtex
from paperfeed.library.matching import match_references
from paperfeed.library.references import Reference, parse_references
from paperfeed.sources.jsonl import jsonl_source
from paperfeed.store.queries import get_paper
from paperfeed.store.schema import papers
from paperfeed.text import folded_title

LIBRARY = Path(__file__).parent / "data" / "library"


@pytest.fixture
def store(engine: Engine) -> Engine:
    """A store holding the 200 papers of the mixed sample."""
    ingest(engine, jsonl_source([SAMPLE]))
    return engine


def outcome(engine: Engine, references: list[Reference]) -> list[tuple[str, str, str]]:
    """``(location, arXiv id or "-", how found or why not)`` per reference, in order given."""
    result = match_references(engine, references)
    found = {m.reference.location: (m.arxiv_id, m.by) for m in result.matched}
    found |= {u.reference.location: ("-", u.reason) for u in result.unmatched}
    return [(r.location, *found[r.location]) for r in references]


def from_file(name: str) -> list[Reference]:
    return parse_references((LIBRARY / name).read_bytes(), name).references


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "zotero.bib",
            [
                ("line 7, entry hu_multi-modal_2025", "2505.08803", "arxiv_id"),
                ("line 21, entry casagrande_molecular_2007", "0704.0021", "doi"),
                ("line 35, entry balazs_calculation_2007", "0704.0001", "doi"),
                ("line 45, entry skrlj_symbolic_2025", "2506.09566", "title"),
                ("line 51, entry anonymous_schrodinger_1998", "quant-ph/9801004", "title"),
                (
                    "line 56, entry goodfellow_deep_2016",
                    "-",
                    "no paper in the store has this title",
                ),
            ],
        ),
        (
            "jabref.bib",
            [
                ("line 5, entry Wiseman2007", "quant-ph/0612147", "arxiv_id"),
                ("line 18, entry Zeng2025industrial", "2503.11731", "arxiv_id"),
                ("line 25, entry Zhao2025mirage", "2508.01191", "arxiv_id"),
                ("line 36, entry Scott2025", "2510.24178", "title"),
            ],
        ),
        (
            "mendeley.ris",
            [
                ("line 1, record 1", "0704.0021", "doi"),
                ("line 17, record 2", "2508.01191", "arxiv_id"),
                ("line 28, record 3", "2601.22419", "arxiv_id"),
                ("line 44, record 4", "-", "no paper in the store has this title"),
            ],
        ),
        (
            "zotero.json",
            [
                ("item 1, id scott2025musag", "2510.24178", "arxiv_id"),
                ("item 2, id goswami2009quantum", "0704.0041", "doi"),
                ("item 3, id mekonnen2025optimized", "2505.19356", "title"),
                ("item 4, id nagar2025fast", "2512.04039", "arxiv_id"),
                ("item 5, id openai2023gpt4", "-", "no paper in the store has this title"),
            ],
        ),
    ],
)
def test_each_export_finds_its_papers_and_lists_the_rest_with_reasons(
    store: Engine, name: str, expected: list[tuple[str, str, str]]
) -> None:
    assert outcome(store, from_file(name)) == expected


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (Reference("id", None, arxiv_id="2503.11731"), ("2503.11731", "arxiv_id")),
        (Reference("versioned", None, arxiv_id="2503.11731v2"), ("2503.11731", "arxiv_id")),
        (Reference("old", None, arxiv_id="quant-ph/0612147v1"), ("quant-ph/0612147", "arxiv_id")),
        (Reference("doi", None, doi="10.1103/PHYSREVD.76.013009"), ("0704.0001", "doi")),
        (Reference("arXiv doi", None, doi="10.48550/arXiv.2503.16591"), ("2503.16591", "arxiv_id")),
        (
            Reference("case", "unik3d: UNIVERSAL camera monocular 3d estimation"),
            ("2503.16591", "title"),
        ),
        (
            Reference(
                "punctuation",
                "CGEarthEye - A High-Resolution Remote Sensing Vision "
                "Foundation Model Based on the Jilin-1 Satellite Constellation",
            ),
            ("2507.00356", "title"),
        ),
        (
            Reference(
                "accents", "Hues and cues: human vs CLIP", ("Jorge Vila-Tomas", "Jesus Malo")
            ),
            ("2509.02305", "title"),
        ),
    ],
)
def test_a_reference_is_found_by_id_doi_or_folded_title(
    store: Engine, reference: Reference, expected: tuple[str, str]
) -> None:
    assert outcome(store, [reference]) == [(reference.location, *expected)]


@pytest.mark.parametrize(
    ("reference", "reason"),
    [
        (
            Reference("everything", "Not here", arxiv_id="2106.01234", doi="10.1000/xyz"),
            "no paper in the store has arXiv id 2106.01234 or DOI 10.1000/xyz or this title",
        ),
        (
            Reference("other authors", "Hues and Cues: Human vs. CLIP", ("Ada Lovelace",)),
            "the title matches 2509.02305, but no author does",
        ),
        (Reference("nothing", None), "nothing to look it up by: no arXiv id, DOI or title"),
    ],
)
def test_an_unmatched_reference_says_why(store: Engine, reference: Reference, reason: str) -> None:
    assert outcome(store, [reference]) == [(reference.location, "-", reason)]


def test_withdrawn_and_hidden_papers_are_not_matched(store: Engine) -> None:
    with store.begin() as conn:
        conn.execute(update(papers).where(papers.c.arxiv_id == "2503.11731").values(withdrawn=True))
        conn.execute(update(papers).where(papers.c.arxiv_id == "0704.0001").values(hidden=True))
    references = [
        Reference("withdrawn", None, arxiv_id="2503.11731"),
        Reference("hidden", None, doi="10.1103/PhysRevD.76.013009"),
        Reference(
            "hidden title",
            "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies",
        ),
    ]
    assert outcome(store, references) == [
        ("withdrawn", "-", "arXiv 2503.11731 is withdrawn"),
        ("hidden", "-", "arXiv 0704.0001 is hidden"),
        ("hidden title", "-", "no paper in the store has this title"),
    ]


def test_a_unicode_title_finds_the_stored_latex_one(store: Engine) -> None:
    latex = r"$\alpha$-Divergences of Schr\"{o}dinger {Cat} States"
    with store.begin() as conn:
        stored = {"title": latex, "title_folded": folded_title(latex)}  # as an import writes it
        conn.execute(update(papers).where(papers.c.arxiv_id == "2503.16591").values(stored))
    unicode = Reference(
        "zotero",
        "\N{GREEK SMALL LETTER ALPHA}-divergences of Schrödinger cat states",
        ("L. Piccinelli",),
    )
    beta = Reference(
        "other letter", "\N{GREEK SMALL LETTER BETA}-divergences of Schrödinger cat states"
    )
    assert outcome(store, [unicode, beta]) == [
        ("zotero", "2503.16591", "title"),
        ("other letter", "-", "no paper in the store has this title"),
    ]


def test_a_title_two_papers_share_is_not_guessed(store: Engine) -> None:
    title = "Active Inference AI Systems for Scientific Discovery"
    with store.begin() as conn:
        stored = {"title": title, "title_folded": folded_title(title)}
        conn.execute(update(papers).where(papers.c.arxiv_id == "2503.16591").values(stored))
    assert outcome(store, [Reference("shared", title.lower())]) == [
        ("shared", "-", "the title matches 2 papers: 2503.16591, 2506.21329")
    ]


def test_matching_takes_the_same_queries_for_one_reference_or_many(store: Engine) -> None:
    statements: list[str] = []
    event.listen(store, "before_cursor_execute", lambda *args: statements.append(args[2]))
    one = [Reference("r0", "Not stored 0", arxiv_id="2106.00000", doi="10.1000/0")]
    many = [
        Reference(f"r{i}", f"Not stored {i}", arxiv_id=f"2106.{i:05d}", doi=f"10.1000/{i}")
        for i in range(300)
    ]
    match_references(store, one)
    counted = len(statements)
    match_references(store, many)
    assert (counted, len(statements) - counted) == (3, 3)  # ids, DOIs, one pass over titles


def sample_cards(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        ids = conn.execute(select(papers.c.arxiv_id).order_by(papers.c.id)).scalars().all()
    return [get_paper(engine, arxiv_id) for arxiv_id in ids]


def test_exported_bibtex_reads_back_as_the_same_papers(store: Engine) -> None:
    cards = sample_cards(store)
    parsed = parse_references(to_bibtex(cards), "library.bib")
    assert parsed.skipped == []
    assert [(r.arxiv_id, r.title, r.authors, r.doi) for r in parsed.references] == [
        (c["arxiv_id"], to_text(c["title"]), tuple(c["authors"] or ()), c["doi"]) for c in cards
    ]
    result = match_references(store, parsed.references)
    assert [m.arxiv_id for m in result.matched] == [c["arxiv_id"] for c in cards]


def test_a_paper_is_written_as_arxiv_writes_it(store: Engine) -> None:
    assert to_bibtex([get_paper(store, "0704.0001")]) == (
        "@misc{balazs2007calculation,\n"
        "  title = {Calculation of prompt diphoton production cross sections at Tevatron and LHC"
        " energies},\n"
        "  author = {C. Balázs and E. L. Berger and P. M. Nadolsky and C. -P. Yuan},\n"
        "  year = {2007},\n"
        "  eprint = {0704.0001},\n"
        "  archivePrefix = {arXiv},\n"
        "  primaryClass = {hep-ph},\n"
        "  url = {https://arxiv.org/abs/0704.0001},\n"
        "  doi = {10.1103/PhysRevD.76.013009},\n"
        "}\n"
    )


def card(arxiv_id: str, title: str, authors: list[str]) -> dict:
    published = datetime(2017, 6, 12, tzinfo=UTC)
    return {"arxiv_id": arxiv_id, "title": title, "authors": authors, "published": published}


def test_citation_keys_are_unique() -> None:
    cards = [
        card("1706.03762", "Attention Is All You Need", ["Ashish Vaswani"]),
        card("1706.99999", "Attention is all you need, again", ["Ashish Vaswani"]),
        card("1706.99998", "The Attention Span", ["Ashish Vaswani"]),
        card("1706.99997", "A Survey", []),
        {
            "arxiv_id": "1706.99996",
            "title": "On Maarten",
            "authors": ["Maarten de Rijke"],
            "announced": date(2018, 1, 2),
        },
    ]
    keys = [line for line in to_bibtex(cards).splitlines() if line.startswith("@misc")]
    assert keys == [
        "@misc{vaswani2017attention,",
        "@misc{vaswani2017attentiona,",
        "@misc{vaswani2017attentionb,",
        "@misc{anon2017survey,",
        "@misc{rijke2018maarten,",
    ]


@pytest.mark.parametrize(
    ("title", "written", "read"),
    [
        (
            r"50% of $x_1$ & y_2 #1 {unbalanced",
            r"50\% of $x_1$ \& y\_2 \#1 unbalanced",
            "50% of x₁ & y_2 #1 unbalanced",
        ),
        ("It costs $5 per run_time", r"It costs \$5 per run\_time", "It costs $5 per run_time"),
        ("a } b {c} d {", "a b {c} d", "a b c d"),
    ],
)
def test_special_characters_are_escaped_and_read_back(title: str, written: str, read: str) -> None:
    text = to_bibtex([card("1706.03762", title, ["Jane Doe"])])
    assert f"  title = {{{written}}},\n" in text
    assert parse_references(text).references[0].title == read


def test_author_names_are_written_so_that_they_read_back() -> None:
    authors = ["Research and Development Team", "José Ñúñez", "Maarten de Rijke", "J. Smith Jr."]
    text = to_bibtex([card("1706.03762", "T", authors)])
    assert "  author = {{Research and Development Team} and José Ñúñez and Maarten de Rijke" in text
    assert parse_references(text).references[0].authors == tuple(authors)
