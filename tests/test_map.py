"""The map of the papers: places laid out with the topics, new papers placed near their kind,
``/api/map``'s answers and bounds, and ``/map`` drawn in Chromium.

The vectors are ``test_topics``'s synthetic groups (six fine groups, three broad ones)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from live_server import LiveServer
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from test_e2e import Browsing, browser, shot  # noqa: F401 - browser: the fixture
from test_topics import MODEL, PARAMS, fill, store_group

from paperfeed.index.topics import assign_new, refit
from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.store.database import open_store
from paperfeed.store.schema import paper_positions, papers
from paperfeed.web.app import create_app


def places(engine: Engine) -> dict[str, tuple[float, float, bool]]:
    query = select(papers.c.arxiv_id, *paper_positions.c["x", "y", "landmark"]).join(
        paper_positions, paper_positions.c.paper_id == papers.c.id
    )
    with engine.connect() as conn:
        return {row[0]: (row[1], row[2], row[3]) for row in conn.execute(query)}


def group_of(arxiv_id: str) -> int:
    return int(arxiv_id[5:]) // 100  # store_group numbers group g's papers from 100 g + 1


def test_every_paper_gets_a_place_and_new_ones_land_by_their_kind(engine: Engine) -> None:
    fill(engine)
    refit(engine, MODEL, PARAMS)
    found = places(engine)
    assert len(found) == 72 and all(mark for *_, mark in found.values())  # all fitted: landmarks
    centres = {
        g: np.mean([p[:2] for a, p in found.items() if group_of(a) == g], axis=0) for g in range(6)
    }
    for arxiv_id, (x, y, _) in found.items():  # each paper nearest the middle of its group
        distances = {g: np.hypot(x - c[0], y - c[1]) for g, c in centres.items()}
        assert min(distances, key=distances.__getitem__) == group_of(arxiv_id)

    new = store_group(engine, 4, 3, 490, spread=0.01)  # group 4's kind, embedded after the fit
    assert assign_new(engine, MODEL) == 3
    found = places(engine)
    for arxiv_id in new:
        x, y, landmark = found[arxiv_id]
        distances = {g: np.hypot(x - c[0], y - c[1]) for g, c in centres.items()}
        assert min(distances, key=distances.__getitem__) == 4 and not landmark


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    fill(engine)
    refit(engine, MODEL, PARAMS)
    services = Services.from_settings(Settings(home=tmp_path / "home"), engine=engine)
    services.lexical.update(engine)  # for the map of a search
    return TestClient(create_app(services))


def test_the_api_serves_places_quantised_with_their_topics(client: TestClient) -> None:
    answer = client.get("/api/map?weeks=2", headers={"Accept-Encoding": "gzip"})
    assert answer.headers["content-encoding"] == "gzip"
    data = answer.json()
    assert (data["count"], data["weeks"], data["scale"], data["truncated"]) == (72, 2, 65535, False)
    assert len(data["ids"]) == len(data["x"]) == len(data["y"]) == len(data["topic"]) == 72
    assert min(data["x"]) == min(data["y"]) == 0 and max(data["x"]) == max(data["y"]) == 65535
    assert sorted(t["name"].split(",")[0] for t in data["topics"]) == [
        "graph attention", "graph pooling", "protein docking", "protein folding",
        "quantum annealing", "quantum error correction"]  # fmt: skip
    assert sorted(t["papers"] for t in data["topics"]) == [12] * 6
    assert all(t["color"].startswith("#") for t in data["topics"])
    assert len({t["color"] for t in data["topics"]}) == 3  # a colour per broad topic
    assert data["saved"] == []
    one = data["topics"][0]
    of_one = client.get(f"/api/map?topic={one['id']}").json()
    assert of_one["count"] == 12 and of_one["topic"] == [0] * 12
    assert client.get("/api/map?q=protein").json()["count"] == 24


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("weeks=0", 422),
        ("weeks=521", 422),
        ("topic=0", 422),
        ("q=" + "x" * 501, 422),
        ("library=1", 401),
    ],
)
def test_the_api_refuses_what_it_cannot_answer(client: TestClient, query: str, status: int) -> None:
    assert client.get(f"/api/map?{query}").status_code == status


def test_an_answer_is_kept_until_the_layout_changes(client: TestClient, engine: Engine) -> None:
    first = client.get("/api/map").json()
    assert client.get("/api/map").json() == first
    store_group(engine, 0, 2, 95, spread=0.01)
    assign_new(engine, MODEL)
    assert client.get("/api/map").json()["count"] == 74


@pytest.fixture(scope="module")
def mapped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of 300 papers in six topics, laid out."""
    home = tmp_path_factory.mktemp("map")
    engine = open_store(f"sqlite:///{home / 'store.db'}")
    fill(engine, per_group=50)
    refit(engine, MODEL, PARAMS)
    services = Services.from_settings(Settings(home=home), engine=engine)
    with LiveServer(create_app(services)) as server:
        yield server.url


def test_the_map_draws_the_papers_and_shows_a_card(browser, mapped: str) -> None:  # noqa: F811
    browsing = Browsing(browser, mapped)
    page: Page = browsing.page(viewport={"width": 1280, "height": 900})
    page.goto("/map?weeks=4")
    expect(page.locator("#map")).to_have_attribute("data-ready", "1")
    expect(page.locator(".map-status")).to_have_text("300 papers")
    data = page.request.get("/api/map?weeks=4").json()
    scale, tx, ty = map(float, page.locator("#map").get_attribute("data-view").split())
    box = page.locator("#map canvas").bounding_box()
    assert box is not None
    x, y = data["x"][0] * scale + tx, data["y"][0] * scale + ty
    page.mouse.click(box["x"] + x, box["y"] + y)
    card = page.locator(".map-card")
    expect(card.get_by_role("link")).to_have_text(_title(data["ids"][0]))
    page.mouse.wheel(0, -300)  # zoom in: still drawn, the view changed
    expect(page.locator("#map")).not_to_have_attribute("data-view", f"{scale} {tx} {ty}")
    shot(page, "map")
    browsing.close()
    assert browsing.problems == []


def _title(arxiv_id: str) -> str:
    from test_topics import SUBJECTS

    group, n = group_of(arxiv_id), (int(arxiv_id[5:]) - 1) % 100
    return f"{SUBJECTS[group // 2][group % 2][0].capitalize()}: case {n}"
