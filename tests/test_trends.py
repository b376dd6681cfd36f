"""The trend of a search: every paper with its words counted per month and per week, on the
search page, on ``/trends`` (up to three searches on one chart) and as ``/api/trends``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import html

from memory_source import MemorySource, paper
from paperfeed.index.query import Filters
from paperfeed.ingest.pipeline import ingest
from paperfeed.ranking.trend import trends
from paperfeed.store.database import open_store
from web_app import NEWEST, SCRIPT, WebApp, build, clean_home

# older papers than the shared web app's (March 2025), in the months before
OLDER = {
    "2411.00001": ("Graph kernels", date(2024, 11, 12)),
    "2412.00001": ("Graph sampling", date(2024, 12, 3)),
    "2412.00002": ("Graph pooling", date(2024, 12, 20)),
    "2412.00003": ("Diffusion on graph manifolds", date(2024, 12, 20)),
    "2501.00001": ("Latent diffusion", date(2025, 1, 8)),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> WebApp:
    """The web tests' app with ``OLDER`` papers too."""
    folder = tmp_path_factory.mktemp("trends")
    with clean_home(folder):
        engine = open_store(f"sqlite:///{folder / 'store.db'}")
        older = [
            paper(key, title=title, abstract=f"{title}.", announced=day, categories=["cs.LG"])
            for key, (title, day) in OLDER.items()
        ]
        ingest(engine, MemorySource(older), today=NEWEST)
        return build(Path(folder), engine=engine)


@pytest.fixture
def client(site: WebApp) -> TestClient:
    return site.browser()


def test_a_search_is_counted_per_month_and_week(site: WebApp) -> None:
    found = trends(site.services.lexical, ["graph"])
    assert found.months == [
        date(2024, 11, 1),
        date(2024, 12, 1),
        date(2025, 1, 1),
        date(2025, 2, 1),
        date(2025, 3, 1),
    ]
    assert found.weeks[-1] == NEWEST and found.weeks[0] == date(2024, 3, 18)  # 52 Mondays
    [graph] = found.series
    # Nov: kernels; Dec: sampling, pooling, diffusion on graphs; March: three
    assert (graph.per_month, graph.total) == ([1, 3, 0, 0, 3], 7)
    assert graph.per_week[-2:] == [2, 1] and sum(graph.per_week) == 7


def test_a_trend_counts_papers_with_every_word(site: WebApp) -> None:
    [both] = trends(site.services.lexical, ["graph diffusion"]).series
    assert both.total == 1  # not every paper with one of the words


def test_filters_and_dates_bound_a_trend(site: WebApp) -> None:
    found = trends(site.services.lexical, ["graph"], Filters(date_to=date(2025, 1, 31)))
    assert found.months[-1] == date(2025, 1, 1) and found.series[0].total == 4
    [none] = trends(site.services.lexical, ["graph"], Filters(categories=("quant-ph",))).series
    assert none.total == 0


def test_the_api_compares_up_to_three_searches(client: TestClient) -> None:
    answer = client.get("/api/trends", params=[("q", "graph"), ("q", "diffusion"), ("q", "")])
    assert answer.status_code == 200
    body = answer.json()
    assert body["months"] == ["2024-11", "2024-12", "2025-01", "2025-02", "2025-03"]
    assert len(body["weeks"]) == 52 and body["weeks"][-1] == "2025-03-10"
    assert [(s["q"], s["total"], s["per_month"]) for s in body["series"]] == [
        ("graph", 7, [1, 3, 0, 0, 3]),
        ("diffusion", 4, [0, 1, 1, 0, 2]),
    ]


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ([("q", "a")] * 4, "q: List should have at most 3 items"),
        ([("q", "a" * 251)], "q.0: String should have at most 250 characters"),
        ([("q", "graph"), ("cat", "nonsense!")], "nonsense!"),
    ],
)
def test_the_api_states_its_bounds(client: TestClient, params: list, problem: str) -> None:
    answer = client.get("/api/trends", params=params)
    assert answer.status_code in (400, 422)
    assert problem in answer.json()["error"]


def charts(page: str) -> list[html.HtmlElement]:
    return html.fromstring(page).xpath("//figure[@class='chart']")


def test_the_trends_page_draws_each_search(client: TestClient) -> None:
    for queries in (["graph"], ["graph", "diffusion"], ["graph", "diffusion", "quantum"]):
        page = client.get("/trends", params=[("q", q) for q in queries])
        assert page.status_code == 200
        monthly, weekly = charts(page.text)
        assert monthly.xpath(".//svg/title/text()") == ["Papers per month"]
        assert weekly.xpath(".//svg/title/text()") == ["Papers per week, the last 52 weeks"]
        drawn = monthly.xpath(".//g[@class='bars']/rect") or monthly.xpath(".//polyline")
        assert len(drawn) == (5 if len(queries) == 1 else len(queries))
        legend = [li.text_content().strip() for li in monthly.xpath(".//ul[@class='legend']/li")]
        assert legend == (queries if len(queries) > 1 else [])
        inputs = html.fromstring(page.text).xpath("//form[@action='/trends']//input[@name='q']")
        assert [i.get("value") for i in inputs] == [*queries, *[""] * (3 - len(queries))]


def test_a_hostile_search_is_shown_as_text(client: TestClient) -> None:
    page = client.get("/trends", params={"q": f"graph {SCRIPT}"})
    assert page.status_code == 200
    assert SCRIPT not in page.text
    [monthly, _] = charts(page.text)
    assert f"graph {SCRIPT}: no papers" in monthly.xpath(".//svg/desc")[0].text_content()


def test_the_search_page_shows_the_trend_of_its_query(client: TestClient) -> None:
    page = client.get("/search", params={"q": "graph", "mode": "lexical"})
    monthly, weekly = charts(page.text)
    assert monthly.xpath(".//table/tbody/tr/td/text()") == ["1", "3", "0", "0", "3"]
    assert weekly.xpath(".//table/tbody/tr/td/text()")[-2:] == ["2", "1"]
    link = html.fromstring(page.text).xpath("//section[@class='trend']//a/@href")
    assert link == ["/trends?q=graph&mode=lexical"]
    assert charts(client.get("/search", params={"q": "graph", "page": 2}).text) == []
    assert charts(client.get("/search", params={"q": "zzzunknownzzz"}).text) == []
