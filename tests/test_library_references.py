"""Reading Zotero, Mendeley and JabRef exports: good entries read, bad ones reported."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from paperfeed.library.references import (
    ImportFormatError,
    Reference,
    Skipped,
    parse_references,
)

LIBRARY = Path(__file__).parent / "data" / "library"


def read(name: str, filename: str | None = None) -> tuple[list[Reference], list[Skipped]]:
    parsed = parse_references((LIBRARY / name).read_bytes(), filename or name)
    return parsed.references, parsed.skipped


def test_a_zotero_bibtex_export_reads_with_macros_accents_and_every_kind_of_id() -> None:
    references, skipped = read("zotero.bib")
    assert skipped == []
    assert references == [
        Reference(
            "line 7, entry hu_multi-modal_2025",
            "Multi-modal Synthetic Data Training and Model Collapse: Insights from VLMs and "
            "Diffusion Models",
            ("Zizhao Hu", "Mohammad Rostami", "Jesse Thomason"),
            2025,
            doi="10.48550/arXiv.2505.08803",
            arxiv_id="2505.08803",
            url="http://arxiv.org/abs/2505.08803",
            keywords=(
                "Computer Science - Machine Learning",
                "Computer Science - Artificial Intelligence",
            ),
        ),
        Reference(
            "line 21, entry casagrande_molecular_2007",
            "Molecular Synchronization Waves in Arrays of Allosterically Regulated Enzymes",
            ("Vanessa Casagrande", "Yuichi Togashi", "Alexander S. Mikhailov"),
            2007,
            doi="10.1103/PhysRevLett.99.048301",
            url="https://link.aps.org/doi/10.1103/PhysRevLett.99.048301",
        ),
        Reference(
            "line 35, entry balazs_calculation_2007",
            "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies",
            ("C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"),
            2007,
            doi="10.1103/PhysRevD.76.013009",
        ),
        Reference(
            "line 45, entry skrlj_symbolic_2025",
            "From Symbolic to Neural and Back: Exploring Knowledge Graph\N{EN DASH}Large Language "
            "Model Synergies",
            ("Blaž Škrlj", "Boshko Koloski", "Senja Pollak", "Nada Lavrač"),
            2025,
        ),
        Reference(
            "line 51, entry anonymous_schrodinger_1998",
            "Does Schrödinger's Cat Know Something That Schrödinger Does Not Know?",
            year=1998,
        ),
        Reference(
            "line 56, entry goodfellow_deep_2016",
            "Deep Learning",
            ("Ian Goodfellow", "Yoshua Bengio", "Aaron Courville"),
            2016,
        ),
    ]


def test_a_jabref_library_reads_eprints_old_ids_versions_and_scholar_journals() -> None:
    references, skipped = read("jabref.bib")
    assert skipped == []
    assert references == [
        Reference(
            "line 5, entry Wiseman2007",
            "Steering, Entanglement, Nonlocality, and the EPR Paradox",
            ("H. M. Wiseman", "S. J. Jones", "A. C. Doherty"),
            2007,
            doi="10.1103/PhysRevLett.98.140402",
            arxiv_id="quant-ph/0612147",
        ),
        Reference(
            "line 18, entry Zeng2025industrial",
            "Industrial-grade sensor simulation via gaussian splatting: A modular framework for "
            "scalable editing and full-stack validation",
            ("Xianming Zeng", "Sicong Du", "Qifeng Chen"),  # "and others" is no author
            2025,
            arxiv_id="2503.11731",
        ),
        Reference(
            "line 25, entry Zhao2025mirage",
            "Is Chain-of-Thought Reasoning of LLMs a Mirage? A Data Distribution Lens",
            ("Chengshuai Zhao", "Zhen Tan", "Pingchuan Ma"),
            2025,
            arxiv_id="2508.01191",
            url="https://arxiv.org/abs/2508.01191v3",
            keywords=("reasoning", "chain of thought", "LLM"),
        ),
        Reference(
            "line 36, entry Scott2025",
            "MuSaG: A Multimodal German Sarcasm Dataset with Full-Modal Annotations",
            ("Aaron Scott", "Maike Züfle", "Jan Niehues"),
            2025,
        ),
    ]


def test_a_mendeley_ris_export_reads_each_record() -> None:
    references, skipped = read("mendeley.ris")
    assert skipped == []
    assert references == [
        Reference(
            "line 1, record 1",
            "Molecular synchronization waves in arrays of allosterically regulated enzymes",
            ("Vanessa Casagrande", "Yuichi Togashi", "Alexander S. Mikhailov"),
            2007,
            doi="10.1103/physrevlett.99.048301",
            keywords=("enzymes", "synchronization"),
        ),
        Reference(
            "line 17, record 2",
            "Is Chain-of-Thought Reasoning of LLMs a Mirage? A Data Distribution Lens",
            ("Chengshuai Zhao", "Zhen Tan", "Pingchuan Ma"),
            2025,
            arxiv_id="2508.01191",
            url="http://arxiv.org/abs/2508.01191",
        ),
        Reference(
            "line 28, record 3",
            "Dynamic Welfare-Maximizing Pooled Testing",
            (
                "Nicholas Lopez",
                "Francisco Marmolejo-Cossío",
                "Jose Roberto Tello Ayala",
                "David C. Parkes",
            ),
            2026,
            doi="10.48550/arXiv.2601.22419",
            arxiv_id="2601.22419",
            url="http://arxiv.org/abs/2601.22419",
            keywords=(
                "Computer Science - Computer Science and Game Theory",
                "Computer Science - Artificial Intelligence",
            ),
        ),
        Reference(
            "line 44, record 4",
            "Quantum Computation and Quantum Information",
            ("Michael A. Nielsen", "Isaac L. Chuang"),
            2010,
        ),
    ]


def test_a_zotero_csl_json_export_reads_names_dates_and_arxiv_numbers() -> None:
    references, skipped = read("zotero.json")
    assert skipped == []
    assert references == [
        Reference(
            "item 1, id scott2025musag",
            "MuSaG: A Multimodal German Sarcasm Dataset with Full-Modal Annotations",
            ("Aaron Scott", "Maike Züfle", "Jan Niehues"),
            2025,
            doi="10.48550/arXiv.2510.24178",
            arxiv_id="2510.24178",
            url="http://arxiv.org/abs/2510.24178",
            keywords=(
                "Computer Science - Computation and Language",
                "Computer Science - Artificial Intelligence",
            ),
        ),
        Reference(
            "item 2, id goswami2009quantum",
            "Quantum Group of Isometries in Classical and Noncommutative Geometry",
            ("Debashish Goswami",),
            2009,
            doi="10.1007/S00220-008-0461-1",
        ),
        Reference(
            "item 3, id mekonnen2025optimized",
            "Optimized Text Embedding Models and Benchmarks for Amharic Passage Retrieval",
            ("Kidist Amde Mekonnen", "Yosef Worku Alemneh", "Maarten de Rijke"),
            2025,
        ),
        Reference(
            "item 4, id nagar2025fast",
            "Fast & Efficient Normalizing Flows and Applications of Image Generative Models",
            ("Sandeep Nagar",),
            2025,
            arxiv_id="2512.04039",
        ),
        Reference("item 5, id openai2023gpt4", "GPT-4 Technical Report", ("OpenAI",), 2023),
    ]


@pytest.mark.parametrize(
    ("name", "format"),
    [
        ("zotero.bib", "bibtex"),
        ("jabref.bib", "bibtex"),
        ("mendeley.ris", "ris"),
        ("zotero.json", "csl-json"),
    ],
)
def test_the_format_is_found_from_the_content_without_a_file_name(name: str, format: str) -> None:
    with_name = parse_references((LIBRARY / name).read_bytes(), name)
    without = parse_references((LIBRARY / name).read_text())
    assert (without.format, without.references) == (format, with_name.references)


def test_a_bibtex_entry_with_unbalanced_braces_is_reported_and_the_others_read(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        references, skipped = read("broken_braces.bib")
    assert not caplog.records  # reported to the user below, not in the server's log
    assert [r.location for r in references] == [
        "line 1, entry goswami2009quantum",
        "line 17, entry wiseman2007steering",
    ]
    assert skipped == [
        Skipped(
            "line 9, entry cunningham2007computing",
            "Unexpected block start: `@article`. "
            "Was still looking for field-value closing `,` or `}`",
        )
    ]


def test_ris_records_without_er_are_reported_and_the_others_read() -> None:
    references, skipped = read("no_end.ris")
    assert [(r.location, r.arxiv_id or r.doi) for r in references] == [
        ("line 1, record 1", "10.1007/s00220-008-0461-1"),
        ("line 16, record 3", "quant-ph/0612147"),
    ]
    assert skipped == [
        Skipped("line 9, record 2", "no 'ER  - ' line before the next record (line 16)"),
        Skipped("line 23, record 4", "no 'ER  - ' line before the end of the file"),
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("not_csl.json", 'not CSL-JSON: expected a list of items with "id" and "type"'),
        (
            "truncated.json",
            "invalid JSON on line 17, column 1: Expecting value (the file ends early: cut off?)",
        ),
    ],
)
def test_json_that_is_not_a_csl_export_is_refused(name: str, message: str) -> None:
    with pytest.raises(ImportFormatError, match=re.escape(message)):
        read(name)


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"", "empty.bib", "empty file"),
        (b" \n\n", None, "empty file"),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "cover.png",
            "not UTF-8 text: byte 0x89 on line 1",
        ),
        (b"\x00\x01\x02\x03library", None, "a binary file, not a BibTeX, RIS or CSL-JSON export"),
        (b"Dear colleague, here are my papers.", None, "not a BibTeX, RIS or CSL-JSON export"),
        (b"% only a comment\n@string{x = {y}}\n", "refs.bib", "no BibTeX entry"),
        (
            b"@article{only,\n  title = {Never closed\n",
            "refs.bib",
            "no entry could be read: line 1, entry only: the file ends inside this entry",
        ),
        (b"TY  - JOUR\nTI  - Cut\n", None, "no entry could be read: line 1, record 1: no 'ER  - '"),
        (b"[1, 2]", "refs.json", "not CSL-JSON"),
        (b"[]", "refs.json", "not CSL-JSON"),
    ],
)
def test_unreadable_files_say_what_is_wrong(
    content: bytes, filename: str | None, message: str
) -> None:
    with pytest.raises(ImportFormatError, match=re.escape(message)):
        parse_references(content, filename)


def test_text_outside_ris_records_is_reported_and_the_records_read() -> None:
    content = "Exported from Mendeley\nsecond line\n\nTY  - JOUR\nTI  - Kept\nER  - \n"
    parsed = parse_references(content)
    assert parsed.references == [Reference("line 4, record 1", "Kept")]
    assert parsed.skipped == [
        Skipped("line 1", "'Exported from Mendeley' is outside a record (no TY before)")
    ]


def test_bibtex_entries_sharing_a_key_are_all_kept() -> None:
    parsed = parse_references("@misc{same, title = {One}}\n@misc{same, title = {Two}}\n")
    assert [(r.location, r.title) for r in parsed.references] == [
        ("line 1, entry same", "One"),
        ("line 2, entry same", "Two"),
    ]


def test_csl_items_that_cannot_be_read_are_reported_and_the_others_read() -> None:
    items = (
        '[{"id": "a", "type": "book", "title": "Kept"}, "stray text",'
        ' {"id": "b", "type": "book", "author": [{"family": "Nobody"}]},'
        ' {"id": "c", "type": "book", "title": ["not", "text"]}]'
    )
    parsed = parse_references(items)
    assert parsed.references == [Reference("item 1, id a", "Kept")]
    assert parsed.skipped == [
        Skipped("item 2", 'not a CSL item (an object with "id" and "type")'),
        Skipped("item 3, id b", "no title, DOI or arXiv id"),
        Skipped("item 4, id c", '"title" is a JSON list, not text'),
    ]


def test_an_undefined_bibtex_macro_is_reported_with_its_field_and_line() -> None:
    parsed = parse_references("@misc{a, title = {Kept}}\n@misc{b,\n  title = conf # { 2024}\n}\n")
    assert parsed.skipped == [
        Skipped("line 2, entry b", "title (line 3): undefined @string 'conf'")
    ]


def bib(fields: str) -> Reference:
    return parse_references(f"@misc{{key,\n  {fields},\n}}\n").references[0]


@pytest.mark.parametrize(
    ("fields", "title"),
    [
        (r"title = {Na{\"\i}ve {B}ayes for {\'E}cole {\o}resund}", "Naïve Bayes for École øresund"),
        (r"title = {Schr\"{o}dinger's {\v{C}}ech \'{e}tude}", "Schrödinger's Čech étude"),
        (
            r"title = {$\alpha$-divergences in {$O(n^2)$} time}",
            "\N{GREEK SMALL LETTER ALPHA}-divergences in O(n²) time",
        ),
        (r"title = {50\% faster \& {The {\TeX}book}}", "50% faster & The TeXbook"),
        ("title = {50% faster & better #1}", "50% faster & better #1"),
        (r'title = "A {"}quoted{"} word"', 'A "quoted" word'),
        (r'title = "Part " # {One} # " and " # 2', "Part One and 2"),
        ("title = {Split\n    over   lines}", "Split over lines"),
    ],
)
def test_bibtex_titles_read_as_unicode_text(fields: str, title: str) -> None:
    assert bib(fields).title == title


@pytest.mark.parametrize(
    ("fields", "arxiv_id"),
    [
        ("eprint = {2106.01234v2}, archivePrefix = {arXiv}", "2106.01234"),
        ("eprint = {hep-th/9901001}, eprinttype = {arxiv}", "hep-th/9901001"),
        ("eprint = {math.AG/0309136v1}", "math/0309136"),
        ("journal = {arXiv preprint arXiv:2106.01234}", "2106.01234"),
        ("note = {arXiv: hep-th/9901001v3 [hep-th]}", "hep-th/9901001"),
        ("url = {https://arxiv.org/pdf/2106.01234v1.pdf}", "2106.01234"),
        ("doi = {10.48550/ARXIV.2106.01234}", "2106.01234"),
        ("eprint = {PMC123456}, archivePrefix = {PubMed}", None),
        ("journal = {Nature}, volume = {2106.01234}", None),
    ],
)
def test_bibtex_arxiv_ids_are_found_where_managers_put_them(
    fields: str, arxiv_id: str | None
) -> None:
    assert bib(f"title = {{T}}, {fields}").arxiv_id == arxiv_id


@pytest.mark.parametrize(
    "doi",
    [
        "10.1103/PhysRevD.76.013009",
        "https://doi.org/10.1103/PhysRevD.76.013009",
        "http://dx.doi.org/10.1103/PhysRevD.76.013009",
        "doi:10.1103/PhysRevD.76.013009",
        " 10.1103/PhysRevD.76.013009. ",
    ],
)
def test_dois_are_read_in_any_form(doi: str) -> None:
    assert bib(f"title = {{T}}, doi = {{{doi}}}").doi == "10.1103/PhysRevD.76.013009"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("year = 2019", 2019),
        ("year = {2019}, month = jan", 2019),
        ("date = {2019-06-12}", 2019),
        ("year = {in press}", None),
    ],
)
def test_bibtex_years_read_from_year_or_date(fields: str, expected: int | None) -> None:
    assert bib(f"title = {{T}}, {fields}").year == expected


def test_a_utf8_bom_and_windows_line_ends_are_read() -> None:
    content = "\ufeffTY  - JOUR\r\nTI  - Kept\r\nAU  - Doe, Jane, Jr.\r\nER  - \r\n"
    parsed = parse_references(content.encode("utf-8"), "export.ris")
    assert parsed.references == [Reference("line 1, record 1", "Kept", ("Jane Doe Jr.",))]
