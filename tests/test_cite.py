"""Papers for reference managers, as Zotero, Google Scholar and a researcher see them: the
paper page's Highwire/DC meta tags and COinS read from the served HTML, its Cite box, and
the BibTeX and RIS files of a paper, a search page and the library, read back by the
library's own importer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from fastapi.testclient import TestClient
from lxml import html
from sqlalchemy import update

from paperfeed.library.references import Reference, parse_references
from paperfeed.store.accounts import create_token, create_user
from paperfeed.store.schema import papers
from web_app import (
    HOSTILE,
    HOSTILE_AUTHOR,
    HOSTILE_TITLE_SHOWN,
    SCRIPT,
    WebApp,
    build,
    card_ids,
    sign_up,
)

GRAPHS, PROTEIN = "2503.00001", "2503.00003"
TYPES = {
    "bib": "application/x-bibtex; charset=utf-8",
    "ris": "application/x-research-info-systems; charset=utf-8",
}


@pytest.fixture
def visitor(site: WebApp) -> TestClient:
    return site.browser()


def meta_tags(page: str) -> list[tuple[str, str]]:
    """``(name, content)`` of every named meta tag in the page's head, in order."""
    head = html.fromstring(page).head
    return [(m.get("name"), m.get("content")) for m in head.iterfind("meta") if m.get("name")]


def values(tags: list[tuple[str, str]], name: str) -> list[str]:
    return [content for tag, content in tags if tag == name]


def read_back(response: httpx.Response, extension: str) -> list[Reference]:
    """The entries of a downloaded file as the library's importer reads them: every one."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == TYPES[extension]
    parsed = parse_references(response.content, f"export.{extension}")
    assert parsed.skipped == []
    return parsed.references


# the paper page ---------------------------------------------------------------------------


def test_a_paper_page_carries_highwire_tags_as_arxiv_writes_them(visitor: TestClient) -> None:
    tags = meta_tags(visitor.get(f"/papers/{GRAPHS}").text)
    expected = {
        "citation_title": ["Graph neural networks at scale"],
        "citation_author": ["Lovelace, Ada", "Turing, Alan"],  # in the paper's order
        "citation_date": ["2025/03/03"],  # announced: this paper has no submission time
        "citation_publication_date": ["2025/03/03"],
        "citation_online_date": ["2025/03/03"],
        "citation_arxiv_id": [GRAPHS],
        "citation_pdf_url": [f"https://arxiv.org/pdf/{GRAPHS}"],
        "citation_abstract_html_url": [f"https://arxiv.org/abs/{GRAPHS}"],
        "citation_technical_report_institution": ["arXiv"],  # Zotero saves a report
        "citation_technical_report_number": [f"arXiv:{GRAPHS}"],
        "citation_abstract": ["Message passing between graph nodes on billions of edges."],
        "citation_doi": [],  # none known
        "DC.title": ["Graph neural networks at scale"],
        "DC.creator": ["Lovelace, Ada", "Turing, Alan"],
        "DC.date": ["2025-03-03"],
        "DC.identifier": [f"https://arxiv.org/abs/{GRAPHS}"],
    }
    assert {name: values(tags, name) for name in expected} == expected


def test_a_hostile_title_and_author_are_text_in_the_tags(visitor: TestClient) -> None:
    page = visitor.get(f"/papers/{HOSTILE}").text
    tags = meta_tags(page)
    assert values(tags, "citation_title") == [HOSTILE_TITLE_SHOWN]
    assert values(tags, "citation_author") == ["<i>Evil</i>, Mallory", "Lovelace, Ada"]
    assert SCRIPT not in page and HOSTILE_AUTHOR not in page  # escaped everywhere
    assert all(name.startswith(("citation_", "DC.", "viewport")) for name, _ in tags)


def test_the_cite_box_shows_the_bibtex_of_the_download(visitor: TestClient) -> None:
    box = html.fromstring(visitor.get(f"/papers/{GRAPHS}").text).find_class("cite")[0]
    assert box.tag == "details"
    assert box.findtext("summary") == "Cite"
    assert box.findtext(".//pre") == visitor.get(f"/papers/{GRAPHS}.bib").text
    links = {a.text: a.get("href") for a in box.iter("a")}
    assert links == {"BibTeX file": f"/papers/{GRAPHS}.bib", "RIS file": f"/papers/{GRAPHS}.ris"}


def test_the_coins_span_names_the_paper(visitor: TestClient) -> None:
    [span] = html.fromstring(visitor.get(f"/papers/{HOSTILE}").text).find_class("Z3988")
    fields = parse_qs(span.get("title"))
    assert fields["ctx_ver"] == ["Z39.88-2004"]
    assert fields["rft.atitle"] == [HOSTILE_TITLE_SHOWN]
    assert fields["rft.au"] == [HOSTILE_AUTHOR, "Ada Lovelace"]
    assert f"info:arxiv/{HOSTILE}" in fields["rft_id"]


# one paper's files ------------------------------------------------------------------------


@pytest.mark.parametrize("extension", ["bib", "ris"])
def test_a_paper_file_reads_back_as_the_paper(visitor: TestClient, extension: str) -> None:
    response = visitor.get(f"/papers/{GRAPHS}.{extension}")
    disposition = f'attachment; filename="{GRAPHS}.{extension}"'
    assert response.headers["content-disposition"] == disposition
    [entry] = read_back(response, extension)
    assert (entry.arxiv_id, entry.title, entry.authors, entry.year) == (
        GRAPHS,
        "Graph neural networks at scale",
        ("Ada Lovelace", "Alan Turing"),
        2025,
    )


@pytest.mark.parametrize("extension", ["bib", "ris"])
def test_a_hostile_paper_reads_back_as_its_text(visitor: TestClient, extension: str) -> None:
    [entry] = read_back(visitor.get(f"/papers/{HOSTILE}.{extension}"), extension)
    assert (entry.arxiv_id, entry.title) == (HOSTILE, HOSTILE_TITLE_SHOWN)
    assert entry.authors == (HOSTILE_AUTHOR, "Ada Lovelace")


def test_a_versioned_or_unknown_paper_file(visitor: TestClient) -> None:
    versioned = visitor.get(f"/papers/{GRAPHS}v2.ris", follow_redirects=False)
    assert (versioned.status_code, versioned.headers["location"]) == (301, f"/papers/{GRAPHS}.ris")
    assert visitor.get("/papers/2503.09999.bib").status_code == 404
    assert visitor.get("/papers/not-an-id.bib").status_code == 404


def test_what_is_known_later_reaches_the_tags_and_files(tmp_path: Path) -> None:
    web = build(tmp_path)
    first, latest = datetime(2025, 2, 27, 18, tzinfo=UTC), datetime(2025, 3, 20, tzinfo=UTC)
    known = {"doi": "10.1000/gnn.42", "ai_keywords": ["graph learning", "message passing"]}
    with web.engine.begin() as conn:
        change = {"published": first, "updated": latest, **known}
        conn.execute(update(papers).where(papers.c.arxiv_id == GRAPHS).values(change))
    client = web.browser()
    tags = meta_tags(client.get(f"/papers/{GRAPHS}").text)
    assert values(tags, "citation_doi") == ["10.1000/gnn.42"]
    assert values(tags, "citation_date") == ["2025/02/27"]  # first version
    assert values(tags, "citation_online_date") == ["2025/03/20"]  # newest version
    assert values(tags, "citation_keywords") == ["graph learning", "message passing"]
    assert "https://doi.org/10.1000/gnn.42" in values(tags, "DC.identifier")
    for extension in ("bib", "ris"):
        [entry] = read_back(client.get(f"/papers/{GRAPHS}.{extension}"), extension)
        assert (entry.doi, entry.year) == ("10.1000/gnn.42", 2025)


def test_a_hidden_paper_has_no_files_for_visitors(tmp_path: Path) -> None:
    web = build(tmp_path)
    with web.engine.begin() as conn:
        conn.execute(update(papers).where(papers.c.arxiv_id == GRAPHS).values(hidden=True))
    assert web.browser().get(f"/papers/{GRAPHS}.bib").status_code == 404


# lists ------------------------------------------------------------------------------------

SEARCHES = ["q=graph", "q=graph&sort=date", "q=attention&mode=lexical", "q=transformers&cat=cs"]


@pytest.mark.parametrize("query", SEARCHES)
@pytest.mark.parametrize("extension", ["bib", "ris"])
def test_a_search_exports_the_papers_its_page_lists(
    visitor: TestClient, query: str, extension: str
) -> None:
    shown = card_ids(visitor.get(f"/search?{query}").text)
    assert len(shown) >= 2
    response = visitor.get(f"/search.{extension}?{query}")
    disposition = f'attachment; filename="paperfeed-search.{extension}"'
    assert response.headers["content-disposition"] == disposition
    assert [entry.arxiv_id for entry in read_back(response, extension)] == shown


def test_the_search_page_links_its_files_with_the_same_query(visitor: TestClient) -> None:
    page = html.fromstring(visitor.get("/search?q=graph&sort=date&page=1").text)
    links = {a.text: a.get("href") for a in page.iter("a") if a.text in ("BibTeX", "RIS")}
    query = "q=graph&sort=date&page=1"
    assert links == {"BibTeX": f"/search.bib?{query}", "RIS": f"/search.ris?{query}"}


def test_a_search_page_past_the_results_exports_nothing(visitor: TestClient) -> None:
    response = visitor.get("/search.ris?q=graph&page=2")
    assert (response.status_code, response.text) == (200, "")


@pytest.mark.usefixtures("cheap_passwords")
def test_exported_search_results_import_as_the_same_papers(tmp_path: Path) -> None:
    """Export a search as RIS, import it into a library: the same papers, every one."""
    site = build(tmp_path)
    client = site.browser()
    shown = card_ids(client.get("/search?q=graph").text)
    user = create_user(site.engine, "ris@example.org", "correct horse")
    auth = {"Authorization": f"Bearer {create_token(site.engine, user['id'])}"}
    for extension in ("ris", "bib"):
        exported = client.get(f"/search.{extension}?q=graph").content
        upload = {"file": (f"search.{extension}", exported)}
        result = client.post("/api/library/import", files=upload, headers=auth).json()
        assert [match["id"] for match in result["matched"]] == shown
        assert (result["unmatched"], result["skipped"]) == ([], [])
    library = client.get("/api/library", headers=auth).json()
    assert sorted(paper["id"] for paper in library) == sorted(shown)
    again = read_back(client.get("/api/library/export.ris", headers=auth), "ris")
    assert sorted(entry.arxiv_id or "" for entry in again) == sorted(shown)


@pytest.mark.usefixtures("cheap_passwords")
def test_the_library_exports_ris_beside_bibtex(tmp_path: Path) -> None:
    client = build(tmp_path).browser()
    token = sign_up(client, "tagger@example.org")
    for arxiv_id in (GRAPHS, PROTEIN):
        client.post(
            f"/papers/{arxiv_id}/tags",
            data={"csrf_token": token, "tags": "mine"},
            follow_redirects=False,
        )
    page = html.fromstring(client.get("/library?tag=mine").text)
    assert page.xpath("//a[@href='/library/export.ris?tag=mine']/text()") == ["RIS of this tag"]
    response = client.get("/library/export.ris?tag=mine")
    disposition = 'attachment; filename="paperfeed-library.ris"'
    assert response.headers["content-disposition"] == disposition
    exported = [entry.arxiv_id for entry in read_back(response, "ris")]
    assert exported == [PROTEIN, GRAPHS]  # most recently saved first, as listed
    assert card_ids(client.get("/library?tag=mine").text) == exported
