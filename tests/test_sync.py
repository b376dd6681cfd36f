"""Scheduled syncs: a fresh instance's worker imports arXiv's announcements and Hugging Face's
daily papers (recorded responses), so trending means something after its first round; it
syncs again only when due, keeps going without a network, and ``paperfeed sync`` runs them
now."""

from __future__ import annotations

import importlib
import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from lxml import etree

import paperfeed.worker
from hash_embedder import HashEmbedder
from paperfeed.cli import cli
from paperfeed.cli.context import AppContext
from paperfeed.index.embedders import EMBEDDERS
from paperfeed.ranking.trending import trending_cards
from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.sources.http import PoliteClient
from paperfeed.store.accounts import create_user
from paperfeed.store.activity import set_vote
from paperfeed.web.app import create_app
from paperfeed.worker import Worker
from protocol import PATH, Reply, Route, body, recorded, recorded_transport, unreachable

FEED = "arxiv_rss/rss_all_archives_2024-11-28.xml.gz"
DAILY = "hf_daily_papers/daily_papers_2026-09-04_3entries.json"
UPVOTED = ["2609.04199", "2609.03430", "2609.01507"]  # 314, 161 and 108 upvotes
ANNOUNCED = 12
THURSDAY = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # after Thursday's feed update


def announcements(count: int = ANNOUNCED) -> Reply:
    """The recorded feed with its first ``count`` items (tests embed tens, not thousands)."""
    root = etree.fromstring(body(FEED))
    channel = root.find("channel")
    assert channel is not None
    for item in channel.findall("item")[count:]:
        channel.remove(item)
    return Reply(etree.tostring(root))


ONLINE: list[Route] = [
    ({PATH: "/rss/cs.AI"}, announcements()),
    ({PATH: "/api/daily_papers"}, recorded(DAILY)),
]
OFFLINE: list[Route] = [({}, unreachable())]


class Net:
    """The outside world as recorded: ``routes`` answer, ``requests`` are what was asked."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def client(self) -> PoliteClient:
        transport = recorded_transport(self.routes, self.requests.append)
        return PoliteClient(delay=0, retries=0, transport=transport)

    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]


@pytest.fixture
def hash_backend(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(EMBEDDERS, "hash-words", lambda settings: HashEmbedder())
    return "hash-words"


def instance(tmp_path: Path, backend: str, net: Net, **settings: object) -> Services:
    """A fresh instance with syncs on (the tests' environment turns them off)."""
    options: dict = {"sync": True, "sync_categories": "cs.AI", **settings}
    configured = Settings(home=tmp_path / "home", embedding_backend=backend, **options)
    return Services.from_settings(configured, http=net.client)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_a_fresh_instance_has_trending_papers_after_its_first_round(
    tmp_path: Path, hash_backend: str
) -> None:
    net = Net(ONLINE)
    services = instance(tmp_path, hash_backend, net)
    report = Worker(services, threading.Event(), clock=Clock(THURSDAY)).round()
    assert (report.synced, report.words) == (ANNOUNCED + 3, ANNOUNCED + 3)
    assert report.embedded == ANNOUNCED + 3  # the new papers go to indexing in the same round
    assert net.paths() == ["/rss/cs.AI", "/api/daily_papers", "/api/daily_papers"]
    assert [p["date"] for p in (r.url.params for r in net.requests[1:])] == [
        "2026-12-02",
        "2026-12-03",
    ]
    assert [card["arxiv_id"] for card in trending_cards(services.engine, "now")][:3] == UPVOTED

    web = TestClient(create_app(services))
    page = web.get("/papers/trending").text
    assert "314 ▲ (314 on Hugging Face, 0 here)" in page
    assert "daily papers were last synced 20" in page
    user = create_user(services.engine, "reader@example.org", "a long passphrase")
    set_vote(services.engine, user["id"], UPVOTED[0], True)
    page = web.get("/papers/trending").text  # the anonymous card is rendered anew
    assert "315 ▲ (314 on Hugging Face, 1 here)" in page
    assert '<span class="count">315</span>' in page
    entry = web.get("/api/papers/trending").json()[0]
    assert entry["paper"]["upvotes"] == 315
    assert entry["paper"]["upvotesFrom"] == {"huggingFace": 314, "here": 1}


def test_a_sync_runs_again_only_when_due(tmp_path: Path, hash_backend: str) -> None:
    net = Net(ONLINE)
    clock = Clock(THURSDAY)
    worker = Worker(instance(tmp_path, hash_backend, net), threading.Event(), clock=clock)
    worker.round()
    assert len(net.requests) == 3
    clock.now += timedelta(hours=2)
    assert worker.round().synced == 0
    assert len(net.requests) == 3  # nothing due
    clock.now += timedelta(hours=1)  # Hugging Face's every 3 hours
    assert worker.round().synced == 0  # the same papers: updated or unchanged
    assert net.paths()[3:] == ["/api/daily_papers"] * 2
    clock.now = datetime(2026, 12, 4, 5, 30, tzinfo=UTC)  # past midnight in New York: RSS
    worker.round()
    assert net.paths()[5:] == ["/rss/cs.AI", "/api/daily_papers", "/api/daily_papers"]


def test_without_network_syncs_pause_with_one_line_and_resume_later(
    tmp_path: Path,
    hash_backend: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monotonic = [1000.0]
    monkeypatch.setattr(paperfeed.worker, "time", SimpleNamespace(monotonic=lambda: monotonic[0]))
    net = Net(OFFLINE)
    worker = Worker(instance(tmp_path, hash_backend, net), threading.Event(), clock=Clock(THURSDAY))
    with caplog.at_level(logging.DEBUG, logger="paperfeed.worker"):
        for _ in range(3):
            assert worker.round().synced == 0
        assert len(net.requests) == 1  # tried again only after a while
        monotonic[0] += 61
        worker.round()
        assert len(net.requests) == 2
        monotonic[0] += 121  # the wait doubled
        net.routes = ONLINE
        assert worker.round().synced == ANNOUNCED + 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("syncs paused: the rss sync failed: cannot reach rss.arxiv.org")
    assert "Trying again in 1 min" in warnings[0]
    assert "PAPERFEED_SYNC=false turns syncs off" in warnings[0]
    assert "Traceback" not in caplog.text
    assert "syncs resumed after 2 failed tries" in caplog.text


@pytest.mark.parametrize(
    "settings",
    [{"sync": False}, {"sync_categories": "", "sync_hf_daily": False}],
    ids=["switched off", "nothing to sync"],
)
def test_settings_turn_syncs_off(
    tmp_path: Path, hash_backend: str, settings: dict[str, object]
) -> None:
    net = Net(ONLINE)
    services = instance(tmp_path, hash_backend, net, **settings)
    assert Worker(services, threading.Event(), clock=Clock(THURSDAY)).round().synced == 0
    assert net.requests == []


def test_the_environment_switches_syncs_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERFEED_SYNC", "false")
    assert Settings().sync is False
    monkeypatch.delenv("PAPERFEED_SYNC")
    assert Settings().sync is True
    assert Settings().sync_category_list == ["cs.AI", "cs.CL", "cs.CV", "cs.LG", "stat.ML"]


def run(monkeypatch: pytest.MonkeyPatch, net: Net, *args: str) -> str:
    monkeypatch.setattr(AppContext, "http", lambda self: net.client())
    monkeypatch.setenv("PAPERFEED_SYNC_CATEGORIES", "cs.AI")
    result = CliRunner().invoke(cli, ["sync", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_sync_command_runs_them_now_and_again_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    net = Net(ONLINE)
    said = run(monkeypatch, net)
    assert f"{ANNOUNCED} new, 0 updated" in said
    assert f"announced: {ANNOUNCED} new" in said
    assert said.count("3 new, 0 updated, 0 unchanged") == 1  # then the same 3: unchanged
    assert net.paths() == ["/rss/cs.AI", "/api/daily_papers", "/api/daily_papers"]
    said = run(monkeypatch, net, "--only", "hf-daily")
    assert "sync hf-daily: https://huggingface.co/api/daily_papers" in said
    assert said.count("0 new, 0 updated, 3 unchanged") == 2
    assert net.paths()[3:] == ["/api/daily_papers"] * 2


def test_the_sync_command_says_in_one_line_when_the_network_is_not_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(AppContext, "http", lambda self: Net(OFFLINE).client())
    result = CliRunner().invoke(cli, ["sync", "--only", "hf-daily"])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith("Error: cannot reach huggingface.co")
    assert "Traceback" not in result.output


def test_syncing_by_rss_needs_categories(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERFEED_SYNC_CATEGORIES", "")
    result = CliRunner().invoke(cli, ["sync", "--only", "rss"])
    assert result.exit_code == 2
    assert "no categories to sync: set PAPERFEED_SYNC_CATEGORIES" in result.output


def test_the_command_offers_the_syncs_there_are() -> None:
    """``paperfeed sync --only`` lists its choices without loading the syncs (fast --help)."""
    command = importlib.import_module("paperfeed.cli.sync")  # the package names its command so
    assert command.KINDS == importlib.import_module("paperfeed.ingest.sync").KINDS
