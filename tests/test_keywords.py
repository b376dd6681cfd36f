"""Key phrases computed here for the papers Hugging Face gave none: sensible phrases of the
paper's own text, recomputed when the paper changes and only then, shown on its page as
searches, and a command that resumes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from memory_source import MemorySource, paper
from paperfeed.cli import cli
from paperfeed.index.dense import embed_pending
from paperfeed.index.keyphrases import STOPWORDS, compute_keywords
from paperfeed.ingest.pipeline import ingest
from paperfeed.records import keywords_of
from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.store.accounts import create_user
from paperfeed.store.activity import set_vote
from paperfeed.store.schema import papers
from paperfeed.web.app import create_app
from protocol import PROTOCOL

HF = PROTOCOL / "hf_daily_papers" / "daily_papers_2026-09-04_3entries.json"
LATEX = paper(
    "2501.00010",
    title=r"Schr\"odinger bridges for $\alpha$-divergence minimisation",
    abstract=(
        r"We study Schr\"odinger bridges under an $\alpha$-divergence $D_\alpha(p\|q)$. "
        r"Entropic optimal transport with \emph{Sinkhorn iterations} solves the bridge "
        r"problem; we prove convergence rates of $O(1/\sqrt{n})$ for the Sinkhorn iterations."
    ),
)


def hf_papers() -> list:
    """The three papers of the recorded daily feed, as arXiv gives them (no keywords)."""
    entries = json.loads(HF.read_text())
    return [
        paper(e["paper"]["id"], title=e["paper"]["title"], abstract=e["paper"]["summary"])
        for e in entries
    ]


@pytest.fixture
def services(tmp_path: Path) -> Services:
    services = Services.from_settings(Settings(home=tmp_path / "home"))
    ingest(services.engine, MemorySource([*hf_papers(), LATEX]))
    services.lexical.update(services.engine)
    return services


def stored(services: Services) -> dict[str, dict]:
    query = select(papers.c.arxiv_id, papers.c.keywords, papers.c.keywords_at, papers.c.changed_at)
    with services.engine.connect() as conn:
        return {row.arxiv_id: row._asdict() for row in conn.execute(query)}


def compute(services: Services, **options: object) -> int:
    return compute_keywords(services.engine, services.embedder, services.lexical, **options)


def test_key_phrases_are_phrases_of_the_text_without_stopwords_or_latex(
    services: Services,
) -> None:
    assert compute(services) == 4
    found = {arxiv_id: row["keywords"] for arxiv_id, row in stored(services).items()}
    for phrases in found.values():
        assert 3 <= len(phrases) <= 8
        for phrase in phrases:
            words = phrase.lower().split()
            assert words[0] not in STOPWORDS and words[-1] not in STOPWORDS, phrase
            assert not re.search(r"[$\\{}^_]", phrase), phrase
    assert "KV cache" in " | ".join(found["2609.03430"])
    latex = " | ".join(found["2501.00010"])
    assert "Schrödinger bridges" in latex and "sinkhorn iterations" in latex.lower()


def test_papers_with_hugging_face_keywords_get_none_computed(services: Services) -> None:
    given = ["KV cache compression", "attention heads"]
    with services.engine.begin() as conn:
        hf_paper = papers.c.arxiv_id == "2609.03430"
        conn.execute(papers.update().where(hf_paper), {"ai_keywords": given})
    assert compute(services) == 3
    row = stored(services)["2609.03430"]
    assert row["keywords"] is None and row["keywords_at"] is not None  # looked at, done
    assert keywords_of({"ai_keywords": given, "keywords": ["other"]}) == given
    assert keywords_of({"ai_keywords": None, "keywords": ["other"]}) == ["other"]
    assert compute(services) == 0


def test_keywords_are_recomputed_when_a_paper_changes_and_kept_when_not(
    services: Services,
) -> None:
    before = stored(services)
    compute(services)
    after = stored(services)
    assert {k: r["changed_at"] for k, r in after.items()} == {
        k: r["changed_at"] for k, r in before.items()
    }  # the indexes see no change
    assert compute(services) == 0  # nothing changed: kept
    create_user(services.engine, "ada@example.org", "a long password")
    set_vote(services.engine, 1, "2501.00010", True)  # the paper changes, its text does not
    assert compute(services) == 0
    assert stored(services)["2501.00010"]["keywords"] == after["2501.00010"]["keywords"]
    changed = paper(
        "2501.00010",
        version=2,
        title="Graph neural networks for molecule property prediction",
        abstract="Message passing graph neural networks predict molecule properties.",
    )
    ingest(services.engine, MemorySource([changed]))
    assert compute(services) == 1
    phrases = stored(services)["2501.00010"]["keywords"]
    assert "graph neural networks" in phrases
    assert not any("sinkhorn" in phrase.lower() for phrase in phrases)


def test_the_worker_uses_the_stored_vector_and_waits_for_it(services: Services) -> None:
    assert compute(services, embedded_only=True) == 0  # nothing embedded yet
    embed_pending(services.engine, services.embedder, limit=2)
    assert compute(services, embedded_only=True) == 2


def test_the_paper_page_and_cards_link_each_phrase_to_a_search(services: Services) -> None:
    compute(services)
    phrases = stored(services)["2609.03430"]["keywords"]
    client = TestClient(create_app(services))
    page = client.get("/papers/2609.03430").text
    for phrase in phrases:
        assert f'href="/search?q=%22{phrase.replace(" ", "+")}%22">{phrase}</a>' in page
    listing = client.get("/search", params={"q": "KV cache", "mode": "lexical"}).text
    assert f">{phrases[0]}</a>" in listing


def test_the_command_resumes_where_it_stopped(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERFEED_HOME", str(services.settings.home))
    first = CliRunner().invoke(cli, ["keywords", "--limit", "3"], catch_exceptions=False)
    assert first.exit_code == 0
    assert "key phrases: 3 papers" in first.output
    assert "1 paper still to do: run `paperfeed keywords` again." in first.output
    rest = CliRunner().invoke(cli, ["keywords"], catch_exceptions=False)
    assert "key phrases: 1 paper" in rest.output and "still to do" not in rest.output
    assert all(row["keywords"] for row in stored(services).values())
    again = CliRunner().invoke(cli, ["keywords", "--rebuild"], catch_exceptions=False)
    assert "key phrases: 4 papers" in again.output
