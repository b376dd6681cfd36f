"""Hugging Face's own client (``huggingface_hub``: ``HfApi`` and the ``hf papers`` command)
against a live paperfeed server holding Hugging Face's recorded daily papers and arXiv
records: every field comes back with the type and meaning the client gives it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from live_server import LiveServer

from memory_source import MemorySource, paper
from paperfeed.ingest.pipeline import ingest
from paperfeed.sources.hf_daily import HfDailySource
from paperfeed.store.accounts import create_token, create_user
from paperfeed.store.database import open_store
from protocol import PROTOCOL, recorded, unreachable
from web_app import DEEP, GITHUB, PAPERS, WebApp, build

DAILY = PROTOCOL / "hf_daily_papers" / "daily_papers_2026-09-04_3entries.json"
HF_IDS = ["2609.04199", "2609.03430", "2609.01507"]  # most upvoted first: 314, 161, 108
HF_DAY = datetime(2026, 9, 4, tzinfo=UTC)  # when they came to Hugging Face's daily papers
ARXIV = "2609.00042"  # an arXiv record Hugging Face never saw
PUBLISHED = datetime(2026, 9, 1, 17, 30, tzinfo=UTC)
MODEL = "https://huggingface.co/deepthought/tiny-model"
AEW10 = "1707.08567"  # on arXiv, not here
ARXIV_ROUTES = [
    ({"id_list": AEW10}, recorded("arxiv_api_atom/id_1707.08567_s0_m100_6a1afebfc6a3.xml")),
    ({}, unreachable()),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebApp, str]]:
    """The app over Hugging Face's recorded day, an arXiv record and the web tests' papers,
    all indexed, served at a URL."""
    folder = tmp_path_factory.mktemp("hf")
    engine = open_store(f"sqlite:///{folder / 'store.db'}")
    ingest(engine, HfDailySource.from_file(DAILY))
    arxiv = paper(
        ARXIV,
        title="Sparse attention for $n$-body graphs",
        abstract="We sparsify attention over graphs.",
        published=PUBLISHED,
        announced=date(2026, 9, 2),
        comments="12 pages, 3 figures",
        doi="10.1234/sparse",
        links=[MODEL, "https://huggingface.co/datasets/deepthought/graphs"],
    )
    ingest(engine, MemorySource([arxiv]))
    with pytest.MonkeyPatch.context() as patch:  # made before conftest cleans the environment
        for name in [n for n in os.environ if n.startswith("PAPERFEED_")]:
            patch.delenv(name)
        patch.setenv("PAPERFEED_HOME", str(folder / "home"))
        # adds the web tests' papers and indexes them all; arXiv knows one more paper
        web = build(folder, engine=engine, routes=ARXIV_ROUTES)
    with LiveServer(web.app) as server:
        yield web, server.url


@pytest.fixture(scope="module")
def hf(site: tuple[WebApp, str]) -> HfApi:
    return HfApi(endpoint=site[1], token=False)


def test_daily_papers_of_a_day(hf: HfApi) -> None:
    first, *rest = list(hf.list_daily_papers(date="2026-09-04"))
    assert [first.id, *(p.id for p in rest)] == HF_IDS
    assert first.title.startswith("Compile by Training")
    assert first.summary.startswith("Many recurring text functions")
    assert first.submitted_at == HF_DAY  # the daily feed's day, not arXiv's
    assert first.published_at == datetime(2026, 9, 3, tzinfo=UTC)  # arXiv's
    assert (first.upvotes, first.comments, first.github_stars) == (314, 3, 4)
    assert first.github_repo == "https://github.com/programasweights/compile-by-training"
    assert first.project_page == "https://programasweights.com/playground?compiler=paw-ft-bs48"
    assert [a.name for a in first.authors] == ["Yuntian Deng", "Pengyu Nie", "Stuart Shieber"]
    assert first.submitted_by is not None and first.submitted_by.username == "yuntian-deng"
    assert first.organization is not None
    assert (first.organization.name, first.organization.fullname) == (
        "UWaterloo",
        "University of Waterloo",
    )
    assert first.ai_summary.startswith("Compile by training converts natural-language")
    assert first.ai_keywords[:2] == ["compile by training", "neural function"]
    assert isinstance(first.comments, int) and all(isinstance(p.comments, int) for p in rest)


# by day on arXiv (Hugging Face's: 3, 3 and 1 September; ours: the 2nd), then by upvotes
NEWEST_FIRST = ["2609.04199", "2609.03430", ARXIV, "2609.01507"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"week": "2026-W36"}, NEWEST_FIRST),  # 31 August to 6 September
        ({"month": "2026-09"}, NEWEST_FIRST),
        ({"month": "2026-09", "sort": "trending"}, [*HF_IDS, ARXIV]),  # most upvoted first
        ({"date": "2026-09-04", "submitter": "ChengsongHuang"}, ["2609.03430"]),
        ({"date": "2026-09-04", "limit": 2}, HF_IDS[:2]),
        ({"date": "2026-09-04", "limit": 2, "p": 1}, HF_IDS[2:]),
        ({"date": "2026-09-04", "limit": 2, "p": 5}, []),  # past the end
        ({"date": "2026-09-05"}, []),
    ],
)
def test_daily_papers_parameters(hf: HfApi, params: dict, expected: list[str]) -> None:
    assert [p.id for p in hf.list_daily_papers(**params)] == expected


def test_the_default_is_the_newest_day(hf: HfApi) -> None:
    assert [p.id for p in hf.list_daily_papers()] == ["2609.04199", "2609.03430"]


@pytest.mark.parametrize(
    "params",
    [{"date": "2026-02-30"}, {"date": "monday"}, {"week": "2026-W60"}, {"month": "2026-13"}],
)
def test_a_bad_period_is_a_400_saying_why(site: tuple[WebApp, str], params: dict) -> None:
    response = httpx.get(f"{site[1]}/api/daily_papers", params=params)
    assert response.status_code == 400
    [(name, value)] = params.items()
    assert response.json()["error"].startswith(f"{name} {value!r} is not a")


def test_paper_info(hf: HfApi) -> None:
    info = hf.paper_info("2609.03430")
    assert info.id == "2609.03430"
    assert (info.upvotes, info.comments, info.github_stars) == (161, 4, 31)
    assert info.submitted_at == HF_DAY
    assert info.published_at == datetime(2026, 9, 3, tzinfo=UTC)
    assert info.submitted_by is not None and info.submitted_by.username == "ChengsongHuang"
    assert info.organization is not None and info.organization.name == "Salesforce"
    assert len(info.authors) == 10 and info.ai_keywords[0] == "KV cache compression"
    ours = hf.paper_info(ARXIV)
    assert (ours.comments, ours.github_stars, ours.ai_keywords, ours.submitted_by) == (
        0,
        None,
        [],
        None,
    )
    assert ours.published_at == PUBLISHED  # the arXiv time, to the minute
    assert ours.submitted_at == datetime(2026, 9, 2, tzinfo=UTC)  # its announcement day
    assert ours.arxivComment == "12 pages, 3 figures"  # paperfeed's own, named apart
    assert ours.doi == "10.1234/sparse"
    old = hf.paper_info("2503.00001")
    assert old.github_repo == GITHUB and old.organization.name == DEEP.handle
    with pytest.raises(HfHubHTTPError) as missing:
        hf.paper_info("2609.99999")
    assert missing.value.response.status_code == 404


def test_search(hf: HfApi) -> None:
    found = list(hf.list_papers(query="KV cache compression attention heads", limit=3))
    assert found[0].id == "2609.03430"
    assert found[0].github_stars == 31 and found[0].submitted_at == HF_DAY
    assert len(list(hf.list_papers(query="graph", limit=1))) == 1


def test_read_paper(hf: HfApi) -> None:
    text = hf.read_paper(ARXIV)
    assert text.startswith("# Sparse attention for n-body graphs\n")  # LaTeX as text
    assert "- **arXiv:** [2609.00042](https://arxiv.org/abs/2609.00042)" in text
    assert "- **Comments:** 12 pages, 3 figures" in text
    assert "## Abstract\n\nWe sparsify attention over graphs." in text
    hf_text = hf.read_paper("2609.04199v1")  # a version: redirected to the paper
    assert "## Keywords\n\ncompile by training, neural function" in hf_text
    with pytest.raises(HfHubHTTPError):
        hf.read_paper("2609.99999")


def test_markdown_by_accept_header(site: tuple[WebApp, str]) -> None:
    url = f"{site[1]}/papers/{ARXIV}"
    markdown = httpx.get(url, headers={"Accept": "text/markdown"})
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text == httpx.get(f"{url}.md").text
    assert httpx.get(url).headers["content-type"].startswith("text/html")


def test_papers_page_by_page_with_a_cursor(site: tuple[WebApp, str]) -> None:
    url, seen = f"{site[1]}/api/papers?limit=4", []
    while url:
        response = httpx.get(url)
        seen += [p["id"] for p in response.json()]
        url = response.links.get("next", {}).get("url")
    assert seen[:4] == NEWEST_FIRST
    assert len(seen) == len(set(seen)) == 4 + len(PAPERS)  # each paper once
    bad = httpx.get(f"{site[1]}/api/papers", params={"cursor": "nonsense"})
    assert (bad.status_code, bad.json()) == (400, {"error": "The cursor is not one this API gave."})


def test_repos_a_paper_links_to(site: tuple[WebApp, str]) -> None:
    repos = httpx.get(f"{site[1]}/api/arxiv/{ARXIV}/repos").json()
    assert repos == {
        "models": [{"id": "deepthought/tiny-model"}],
        "datasets": [{"id": "deepthought/graphs"}],
        "spaces": [],
    }
    empty = httpx.get(f"{site[1]}/api/arxiv/2609.99999/repos").json()
    assert empty == {"models": [], "datasets": [], "spaces": []}


def test_indexing_a_paper(site: tuple[WebApp, str]) -> None:
    web, url = site
    user = create_user(web.engine, "idx@example.org", "correct horse")
    headers = {"Authorization": f"Bearer {create_token(web.engine, user['id'])}"}

    def index(arxiv_id: str, signed_in: bool = True) -> httpx.Response:
        given = headers if signed_in else {}
        return httpx.post(f"{url}/api/papers/index", json={"arxivId": arxiv_id}, headers=given)

    assert (index(ARXIV).status_code, index(ARXIV).json()) == (200, {})  # here already
    with pytest.raises(HfHubHTTPError):
        HfApi(endpoint=url, token=False).paper_info(AEW10)
    assert (index(AEW10).status_code, index(AEW10).json()) == (200, {})  # fetched from arXiv
    assert HfApi(endpoint=url, token=False).paper_info(AEW10).title.startswith("Proceedings")
    unreachable = index("2609.77777")
    assert unreachable.status_code == 400
    assert "arXiv cannot be reached right now" in unreachable.json()["error"]
    assert index(ARXIV, signed_in=False).status_code == 401
    assert index("hep-th/9901001").status_code == 422  # Hugging Face indexes new ids only


def hf_command(url: str, home: Path, *args: str) -> str:
    """``hf papers ARGS`` in its own process, pointed at ``url`` by ``HF_ENDPOINT``."""
    environment = {**os.environ, "HF_ENDPOINT": url, "HF_HOME": str(home), "NO_COLOR": "1"}
    command = [sys.executable, "-c", "from huggingface_hub.cli.hf import main; main()"]
    done = subprocess.run(
        [*command, "papers", *args], env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_hf_papers_command(site: tuple[WebApp, str], tmp_path: Path) -> None:
    url = site[1]
    listed = json.loads(hf_command(url, tmp_path, "ls", "--date", "2026-09-04", "--format", "json"))
    assert [(p["id"], p["comments"], p["submitted_by_name"]) for p in listed] == [
        ("2609.04199", 3, "yuntian-deng"),
        ("2609.03430", 4, "ChengsongHuang"),
        ("2609.01507", 2, "pb09204048"),
    ]
    assert listed[0]["submitted_at"].startswith("2026-09-04")
    phrase = '"sparsify attention"'
    found = json.loads(hf_command(url, tmp_path, "search", phrase, "--format", "json"))
    assert found[0]["id"] == ARXIV
    info = json.loads(hf_command(url, tmp_path, "info", "2609.01507", "--format", "json"))
    assert (info["id"], info["upvotes"], info["github_stars"]) == ("2609.01507", 108, 3)
    assert hf_command(url, tmp_path, "read", ARXIV).startswith("# Sparse attention")
