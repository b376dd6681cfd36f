"""The topic pages: ``/topics`` (topics by growth, each with its sparkline and top papers) and
``/topics/<id>`` (its history as charts with their tables, people, papers filtered and
paginated), over topics fitted from ``test_topics``' synthetic vectors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import html
from sqlalchemy import Engine, update
from test_topics import MODEL, PARAMS, fill, store_group

from paperfeed.index.topics import refit
from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.store.database import open_store
from paperfeed.store.schema import TopicLevel, topics
from paperfeed.store.topics import get_topic, live_topics
from paperfeed.web.app import create_app
from web_app import SCRIPT, clean_home


@dataclass(frozen=True)
class Site:
    engine: Engine
    client: TestClient
    ids: dict[str, int]  # fine topics by their first label phrase


def served(folder: Path, engine: Engine) -> TestClient:
    services = Services.from_settings(Settings(home=folder / "home"), engine=engine)
    return TestClient(create_app(services))


def topic_store(folder: Path) -> Engine:
    """A store in ``folder`` whose topics are fitted: six fine in three broad ones, graph
    attention with 6 papers four weeks ago and graph pooling 10 a week ago."""
    engine = open_store(f"sqlite:///{folder / 'store.db'}")
    fill(engine)
    store_group(engine, 1, 6, 150, weeks_ago=4)
    store_group(engine, 0, 10, 60, weeks_ago=1)
    refit(engine, MODEL, PARAMS)
    return engine


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Six fine topics in three broad ones: graph attention had 6 papers four weeks ago and
    graph pooling 10 a week ago (22 papers: two pages); every topic 12 this week."""
    folder = tmp_path_factory.mktemp("topic-pages")
    with clean_home(folder):
        engine = topic_store(folder)
        ids = {t.label[0]: t.id for t in live_topics(engine, level=TopicLevel.FINE)}
        yield Site(engine, served(folder, engine), ids)
        engine.dispose()


def texts(page: html.HtmlElement, path: str) -> list[str]:
    return [" ".join(node.text_content().split()) for node in page.xpath(path)]


def test_rising_topics_are_listed_by_growth_with_their_week(site: Site) -> None:
    answer = site.client.get("/topics")
    assert answer.status_code == 200
    page = html.fromstring(answer.text)
    assert texts(page, "//nav[@class='sections']/a[@aria-current]") == ["Topics"]
    names = texts(page, "//li[@class='topic-row']//h2")
    assert len(names) == 6
    # four topics went from nothing to 12 papers; attention had 6 papers four weeks ago
    # (growth (12 + 2) / (6/8 + 2)), pooling 10 the week before (growth 14 / (10/8 + 2))
    assert names[-2].startswith("graph attention") and names[-1].startswith("graph pooling")
    attention = page.xpath("//li[@class='topic-row']")[-2]
    assert texts(attention, ".//span[@class='growth']") == ["\N{MULTIPLICATION SIGN}5.09"]
    assert (
        "This week: 12 papers, 0 upvotes; the 8 weeks before: 0.8 a week"
        in texts(attention, ".//p")[0]
    )
    [spark] = attention.xpath(".//svg[@class='sparkline']")
    assert (
        spark.get("aria-label") == "Papers per week, the last 9 weeks: 0, 0, 0, 0, 6, 0, 0, 0, 12"
    )
    top = attention.xpath(".//ul[contains(@class, 'top-papers')]//a")
    assert len(top) == 3 and all(a.get("href").startswith("/papers/2603.") for a in top)
    assert [a.text_content() for a in attention.xpath(".//a[@class='tag']")] == ["cs.LG"]
    [parent] = attention.xpath(".//p[starts-with(normalize-space(), 'In ')]/a")
    assert parent.text_content().startswith("graph")
    said = page.text_content()
    assert "the weekly mean of papers + upvotes / 10 over the 8 weeks before + 2" in said
    assert "left unassigned rather than forced into one" in said


def test_broad_topics_list_the_fine_topics_inside_them(site: Site) -> None:
    page = html.fromstring(site.client.get("/topics?level=broad").text)
    assert texts(page, "//nav[@aria-label='Level']/a[@aria-current]") == ["Broad topics"]
    rows = page.xpath("//li[@class='topic-row']")
    assert len(rows) == 3
    inside = sorted(
        a.text_content().split(",")[0]
        for row in rows
        for a in row.xpath(".//p[starts-with(normalize-space(), 'Fine topics')]/a")
    )
    assert inside == sorted(site.ids)


def test_a_topic_shows_its_history_as_charts_with_tables(site: Site) -> None:
    attention = site.ids["graph attention"]
    page = html.fromstring(site.client.get(f"/topics/{attention}").text)
    assert texts(page, "//h1")[0].startswith("graph attention")
    week, month = page.xpath("//figure[@class='chart']")
    assert week.xpath(".//svg[@role='img']/title")[0].text == "Papers per week"
    assert texts(week, ".//table/tbody//td") == ["6", "0", "0", "0", "12"]
    assert texts(month, ".//table/tbody//td") == ["6", "12"]  # Feb and March 2026
    assert texts(page, "//section[h2='Top authors']//li/a")[0] == "Author 1"
    assert page.xpath("//section[h2='Top authors']//li/a/@href")[0] == "/author/Author%201"
    assert len(page.xpath("//article[@class='card']")) == 18
    related = texts(page, "//ul[contains(@class, 'related-topics')]/li/a")
    assert related[0].startswith("graph pooling")
    assert page.xpath("//p[starts-with(normalize-space(), 'Part of')]/a/@href")


def test_a_topics_papers_are_paginated(site: Site) -> None:
    pooling = site.ids["graph pooling"]
    first = html.fromstring(site.client.get(f"/topics/{pooling}").text)
    assert len(first.xpath("//article[@class='card']")) == 20
    assert texts(first, "//p[contains(@class, 'count small')]") == [
        "1\N{EN DASH}20 of 22 papers, newest first"
    ]
    [more] = first.xpath("//nav[@class='pager']/a[@rel='next']/@href")
    second = html.fromstring(site.client.get(more).text)
    assert len(second.xpath("//article[@class='card']")) == 2
    assert second.xpath("//nav[@class='pager']/a/@rel") == ["prev"]
    past = site.client.get(f"/topics/{pooling}?page=5").text
    assert "page 5 is past the last one" in past


def test_a_topics_papers_are_filtered_by_category_chips(site: Site) -> None:
    pooling = site.ids["graph pooling"]
    page = html.fromstring(site.client.get(f"/topics/{pooling}").text)
    [chip] = page.xpath("//p[contains(@class, 'category-filters')]/a/@href")
    assert chip == f"/topics/{pooling}?cat=cs.LG"
    filtered = html.fromstring(site.client.get(chip).text)
    assert len(filtered.xpath("//article[@class='card']")) == 20
    [remove] = filtered.xpath("//a[contains(@class, 'active-filter')]/@href")
    assert filtered.xpath("//p[contains(@class, 'category-filters')]") == []  # none left
    assert remove == f"/topics/{pooling}"
    elsewhere = site.client.get(f"/topics/{pooling}?cat=quant-ph").text
    assert "No papers of this topic in quant-ph." in elsewhere
    ignored = site.client.get(f"/topics/{pooling}?cat=nonsense%25").text
    assert "Ignored:" in ignored


def test_an_unknown_topic_is_a_404_in_words(site: Site) -> None:
    answer = site.client.get("/topics/99999")
    assert answer.status_code == 404
    assert "There is no topic 99999 (topics change at each refit)." in answer.text


def test_a_hostile_label_is_shown_as_text(site: Site) -> None:
    attention = site.ids["graph attention"]
    stored = get_topic(site.engine, attention)
    assert stored is not None
    with site.engine.begin() as conn:
        hostile = [SCRIPT, *stored.label]
        conn.execute(update(topics).where(topics.c.id == attention).values(label=hostile))
    try:
        for path in ("/topics", f"/topics/{attention}"):
            text = site.client.get(path).text
            assert SCRIPT not in text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    finally:
        with site.engine.begin() as conn:
            conn.execute(update(topics).where(topics.c.id == attention).values(label=stored.label))


def test_without_topics_the_page_says_how_they_come(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    store_group(engine, 0, 3, 1)
    with caplog.at_level(logging.INFO, "paperfeed.web"):
        answer = served(tmp_path, engine).get("/topics")
    assert answer.status_code == 200
    [empty] = texts(html.fromstring(answer.text), "//p[@class='empty']")
    assert empty == "No topics yet. Topics appear once the papers have been embedded and grouped."
    assert "paperfeed topics" not in answer.text
    assert "`paperfeed topics`" in caplog.text


def test_the_json_twins_carry_what_the_pages_show(site: Site) -> None:
    attention = site.ids["graph attention"]
    listed = site.client.get("/api/topics?level=broad").json()["topics"]
    assert sorted(len(t["children"]) for t in listed) == [2, 2, 2]
    fine = {t["id"]: t for t in site.client.get("/api/topics").json()["topics"]}
    assert fine[attention]["baseline"] == 6 / 8
    shown = site.client.get(f"/api/topics/{attention}").json()
    assert shown["monthly"] == [
        {"month": "2026-02", "papers": 6},
        {"month": "2026-03", "papers": 12},
    ]
