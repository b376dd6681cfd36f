"""End-to-end topics: in Chromium, ``/topics`` and a topic's page over topics fitted from
``test_topics``' synthetic vectors, with JavaScript on and off under the site's CSP; their
screenshots go with ``test_e2e``'s."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from live_server import LiveServer
from playwright.sync_api import Page, expect
from test_e2e import (  # noqa: F401 - fixtures
    Browsing,
    browser,
    browsing,
    page,
    shot,
)
from test_topic_pages import topic_store

from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.web.app import create_app
from web_app import clean_home


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app over six fine topics in three broad ones, served on a free local port."""
    folder = tmp_path_factory.mktemp("e2e-topics")
    with clean_home(folder):
        engine = topic_store(folder)
        settings = Settings(home=folder / "home", secret_key="e2e-test-secret")
        with LiveServer(create_app(Services.from_settings(settings, engine=engine))) as live:
            yield live.url
        engine.dispose()


def test_rising_topics_lead_to_a_topic_and_its_papers(page: Page) -> None:  # noqa: F811
    page.goto("/")
    page.get_by_role("navigation").get_by_role("link", name="Topics").click()
    expect(page.get_by_role("heading", name="Rising topics")).to_be_visible()
    rows = page.locator("li.topic-row")
    expect(rows).to_have_count(6)
    expect(rows.locator("svg.sparkline")).to_have_count(6)
    expect(rows.last).to_contain_text("graph pooling")
    expect(page.locator("p.formula")).to_contain_text("over the 8 weeks before")
    shot(page, "topics")

    page.get_by_role("link", name="Broad topics").click()
    expect(rows).to_have_count(3)
    shot(page, "topics-broad")

    page.get_by_role("link", name="Fine topics", exact=True).click()
    rows.last.get_by_role("heading").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/topics/\d+$"))
    weekly = page.locator("figure.chart").first
    chart = weekly.get_by_role("img", name="Papers per week")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    weekly.get_by_text("The counts as a table").click()
    expect(weekly.locator("table tbody td")).to_have_text(["10", "12"])
    expect(page.locator("article.card")).to_have_count(20)
    shot(page, "topic")

    page.get_by_role("link", name="More papers").click()
    expect(page.locator("article.card")).to_have_count(2)
    page.locator("p.category-filters").get_by_role("link", name="cs.LG").click()
    expect(page.locator("a.active-filter")).to_have_text("cs.LG ×")  # noqa: RUF001
    expect(page.locator("article.card")).to_have_count(20)  # back to the first page
    page.locator("a.active-filter").click()
    expect(page.locator("a.active-filter")).to_have_count(0)


def test_the_topic_pages_work_without_javascript(browsing: Browsing) -> None:  # noqa: F811
    visitor = browsing.page(java_script_enabled=False)
    visitor.goto("/topics")
    visitor.locator("li.topic-row h2 a").first.click()
    expect(visitor.get_by_role("img", name="Papers per month")).to_be_visible()
    visitor.get_by_text("The counts as a table").first.click()
    expect(visitor.locator("figure.chart table").first).to_be_visible()
