"""End-to-end following: in Chromium, a signed-in user follows a category and an author from
their pages and finds their papers on ``/``, each saying why; sets a webhook on a follow's page
that a local receiver gets the signed call of; a comment reported by a reader is hidden by an
admin from the moderation queue (on the server of ``test_e2e``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.sync_api import Page, expect
from test_e2e import (  # noqa: F401 - fixtures
    PASSWORD,
    Browsing,
    browser,
    browsing,
    card_ids,
    mail,
    page,
    served,
    server,
    shot,
    sign_up,
)

from memory_source import MemorySource, paper
from paperfeed.digest.webhooks import verify
from paperfeed.ingest.pipeline import ingest
from paperfeed.services import Services
from paperfeed.store.accounts import make_admin
from webhook_receiver import Receiver


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


def test_a_webhook_call_then_a_comment_reported_and_hidden(
    browsing: Browsing,  # noqa: F811
    served: tuple[str, Services],  # noqa: F811
) -> None:
    _, services = served
    ada, bob, admin = browsing.page(), browsing.page(), browsing.page()
    sign_up(ada, "Ada Follower")
    ada.goto("/author/Olivia%20Harris")
    ada.get_by_role("button", name="Follow Olivia Harris").click()
    ada.goto("/following")
    ada.get_by_role("row", name=re.compile("Olivia Harris")).get_by_role(
        "link", name="Webhook"
    ).click()
    with Receiver() as receiver:
        ada.get_by_label("URL").fill(receiver.url)
        ada.get_by_role("button", name="Save").click()
        secret = ada.locator("#secret code").inner_text()
        shot(ada, "webhook")
        today = datetime.now(UTC).date()
        new = paper("2506.00099", title="Fair Rankings", authors=["Olivia Harris"], announced=today)
        ingest(services.engine, MemorySource([new]))
        queued, delivered = services.run_webhooks()  # the worker's webhook step
        assert (queued.calls, delivered.sent) == (1, 1)
        (call,) = receiver.calls
    assert verify(secret, call.body, call.headers["X-Paperfeed-Signature"])
    assert [p["title"] for p in call.json["papers"]] == ["Fair Rankings"]

    ada.goto("/papers/2506.00014")
    ada.get_by_label("Add a comment").fill("Buy cheap watches at example.com")
    ada.get_by_role("button", name="Comment", exact=True).click()
    sign_up(bob, "Bob Reporter")
    bob.goto("/papers/2506.00014")
    comment = bob.locator("li.comment").first
    comment.locator("summary", has_text="Report").click()
    comment.get_by_label("Why").fill("spam")
    comment.get_by_role("button", name="Report").click()
    expect(bob.locator("main")).to_contain_text("reported")

    make_admin(services.engine, "moderator@example.org", PASSWORD)
    admin.goto("/login")
    admin.get_by_label("Email").fill("moderator@example.org")
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Sign in").click()
    admin.goto("/admin/reports")
    expect(admin.locator("main")).to_contain_text("spam")
    shot(admin, "admin-reports")
    with admin.expect_navigation():
        admin.get_by_role("button", name="Hide").first.click()
    admin.goto("/papers/2506.00014")
    expect(admin.locator("li.comment .tag")).to_have_text("hidden")  # an admin still sees it
    shot(admin, "comment-hidden")
    bob.goto("/papers/2506.00014")
    expect(bob.locator("#comments")).not_to_contain_text("cheap watches")
