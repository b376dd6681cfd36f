"""End-to-end following: in Chromium, a signed-in user follows a category and an author from
their pages and finds their papers on ``/``, each saying why (on the server of
``test_e2e``)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from test_e2e import (  # noqa: F401 - fixtures
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    browsing,
    card_ids,
    mail,
    page,
    server,
    shot,
    sign_up,
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """``test_e2e``'s Chromium, leaving the screenshots its module took."""
    if not os.access(CHROMIUM, os.X_OK):
        missing = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_following_a_category_and_an_author_makes_the_home_feed(page: Page) -> None:  # noqa: F811
    sign_up(page)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/papers$"))
    expect(page.locator("p.hint")).to_contain_text("Follow a category, an author")

    page.goto("/papers/date/2025-06-03?cat=cs.DB")
    page.get_by_role("button", name="Follow cs.DB").click()
    expect(page.get_by_role("button", name="Following cs.DB ✓")).to_be_visible()
    page.goto("/author/Olivia%20Harris")
    page.get_by_role("button", name="Follow Olivia Harris").click()
    expect(page.get_by_role("button", name="Following Olivia Harris ✓")).to_be_visible()

    page.goto("/")
    expect(page.get_by_role("heading", name="Your feed")).to_be_visible()
    assert sorted(card_ids(page)) == ["2506.00011", "2506.00014"]
    reasons = page.locator("p.reasons")
    expect(reasons).to_have_count(2)
    expect(page.locator("article.card", has_text="Because you follow cs.DB")).to_have_count(1)
    expect(page.locator("article.card", has_text="Because you follow Olivia Harris")).to_have_count(
        1
    )
    shot(page, "home-feed")

    page.get_by_role("link", name="All papers of the day").click()
    expect(page).to_have_url(re.compile(r"/papers$"))
    page.goto("/")  # the choice is remembered
    expect(page).to_have_url(re.compile(r"/papers$"))
    page.get_by_role("link", name="Your feed").click()
    expect(page.get_by_role("heading", name="Your feed")).to_be_visible()

    page.goto("/following")
    page.get_by_role("button", name="Unfollow").first.click()
    expect(page.get_by_role("button", name="Unfollow")).to_have_count(1)
