"""``paperfeed library`` as a user (or their admin) runs it, on the 200-paper sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import SAMPLE
from paperfeed.cli import cli
from paperfeed.library.references import parse_references

LIBRARY = Path(__file__).parent / "data" / "library"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def reader(cheap_passwords: None) -> str:
    assert invoke("ingest", "jsonl", str(SAMPLE)).exit_code == 0
    assert invoke("admin", "create", "ada@example.org", "--password", "long enough").exit_code == 0
    return "ada@example.org"


def test_import_saves_what_is_stored_and_lists_the_rest(reader: str) -> None:
    result = invoke(
        "library", "import", str(LIBRARY / "zotero.bib"), "--user", reader, "--tag", "thesis"
    )
    assert result.exit_code == 0
    assert result.output.splitlines()[-2:] == [
        "not found line 56, entry goodfellow_deep_2016 (Deep Learning): "
        "no paper in the store has this title",
        "6 bibtex entries: 5 in the store (5 new to the library), 1 not found, 0 unreadable",
    ]
    listed = json.loads(
        invoke("library", "list", "--user", reader, "--tag", "thesis", "--json").output
    )
    assert sorted(row["arxiv_id"] for row in listed) == [
        "0704.0001", "0704.0021", "2505.08803", "2506.09566", "quant-ph/9801004",
    ]  # fmt: skip


def test_a_malformed_file_is_one_clear_error(reader: str) -> None:
    result = invoke("library", "import", str(LIBRARY / "truncated.json"), "--user", reader)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {LIBRARY / 'truncated.json'}: ")
    assert invoke("library", "list", "--user", reader).output == "0 papers\n"


def test_tag_note_and_export_as_json_and_bibtex(reader: str) -> None:
    assert invoke(
        "library", "tag", "2503.11731", "sensors", "to read", "--user", reader
    ).output == ("2503.11731 saved under sensors, to read.\n")
    assert invoke("library", "note", "2503.11731", "check Table 2", "--user", reader).exit_code == 0
    invoke("library", "not-interested", "0704.0001", "--user", reader)
    data = json.loads(invoke("library", "export", "--user", reader).output)
    assert data["library"][0]["tags"] == ["sensors", "to read"]
    assert data["library"][0]["note"] == "check Table 2"
    assert [e["arxiv_id"] for e in data["not_interested"]] == ["0704.0001"]
    invoke("library", "tag", "0704.0001", "physics", "--user", reader)
    bibtex = invoke("library", "export", "--user", reader, "--bibtex").output
    entries = parse_references(bibtex, "library.bib").references
    assert [(e.arxiv_id, e.doi) for e in entries] == [
        ("0704.0001", "10.1103/PhysRevD.76.013009"),
        ("2503.11731", None),
    ]
    assert "primaryClass = {hep-ph}" in bibtex


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["tag", "2999.99999", "x", "--user", "ada@example.org"], "2999.99999 is not in the store"),
        (["list", "--user", "nobody@example.org"], "there is no account for nobody@example.org"),
    ],
)
def test_mistakes_get_one_line_errors(reader: str, args: list[str], error: str) -> None:
    result = invoke("library", *args)
    assert (result.exit_code, result.output) == (1, f"Error: {error}\n")


def test_recommend_without_an_index_says_what_to_do(reader: str) -> None:
    invoke("library", "tag", "2503.11731", "sensors", "--user", reader)
    result = invoke("recommend", "--user", reader)
    assert result.exit_code == 0
    assert "run `paperfeed index`" in result.output
