"""What keeps the web app safe: escaping, no stack traces, accounts and sessions, CSRF,
rate limits, admin rights, redirects that stay on the site."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from lxml import html
from sqlalchemy import Engine

from paperfeed.ranking.search import Searcher
from paperfeed.store import accounts, feed
from paperfeed.store.accounts import create_user, make_admin
from paperfeed.web import browse
from paperfeed.web.render import author_url
from web_app import (
    ALPHA,
    BETA,
    HOSTILE,
    HOSTILE_AUTHOR,
    HOSTILE_TITLE_SHOWN,
    SCRIPT,
    WebApp,
    build,
    card_ids,
    form_token,
    sign_up,
    upvotes_shown,
)

PASSWORD = "correct horse"


pytestmark = pytest.mark.usefixtures("cheap_passwords")


@pytest.fixture
def visitor(site: WebApp) -> TestClient:
    return site.browser()


@pytest.fixture
def web(tmp_path: Path) -> WebApp:
    """A fresh app for a test that changes things."""
    return build(tmp_path)


@pytest.fixture
def browser(web: WebApp) -> TestClient:
    return web.browser()


def error_text(page: str) -> str:
    return " ".join(html.fromstring(page).xpath("string(//p[@class='error'])").split())


def log_in(client: TestClient, email: str, password: str, **extra: str) -> httpx.Response:
    """Sign in through the form; the response is not followed."""
    token = form_token(client.get("/login").text)
    data = {"email": email, "password": password, "csrf_token": token, **extra}
    return client.post("/login", data=data, follow_redirects=False)


def upvotes(web: WebApp, arxiv_id: str) -> int:
    return web.browser().get(f"/api/papers/{arxiv_id}").json()["upvotes"]


# escaping ---------------------------------------------------------------------------------

HTML_PAGES = [
    "/papers",
    "/papers/date/2025-03-10",
    f"/papers/{HOSTILE}",
    "/papers/2503.00404",  # lists the hostile paper among the similar ones
    "/search?q=robust+divergence",
    "/search?q=robust+divergence&mode=lexical",
    "/search?q=alert+script",
    "/author/Ada%20Lovelace",
    author_url(HOSTILE_AUTHOR),
    "/papers/trending",
    "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/org/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/papers/date/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/login?next=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
]


@pytest.mark.parametrize("path", HTML_PAGES)
def test_html_in_titles_abstracts_and_urls_is_shown_as_text(visitor: TestClient, path: str) -> None:
    page = visitor.get(path)
    assert page.status_code in (200, 404)
    assert SCRIPT not in page.text
    assert "<img src=x" not in page.text
    assert "<b>now</b>" not in page.text
    assert "<i>Evil</i>" not in page.text


def test_the_hostile_paper_reads_as_its_authors_wrote_it(visitor: TestClient) -> None:
    page = html.fromstring(visitor.get(f"/papers/{HOSTILE}").text)
    title = " ".join(page.xpath("string(//h1)").split())
    assert title == HOSTILE_TITLE_SHOWN  # LaTeX as Unicode
    abstract = page.xpath("string(//p[@class='abstract'])")
    assert f"{ALPHA}-divergence by {BETA}" in abstract
    assert SCRIPT in abstract
    assert "$" not in abstract
    assert page.xpath("//script[not(@src)]") == []  # no inline script made it into the page
    authors = page.xpath("//p[@class='authors']/a")
    assert (authors[0].text, authors[0].get("href")) == (HOSTILE_AUTHOR, author_url(HOSTILE_AUTHOR))
    # and the author's page finds the paper by that name
    listed = visitor.get(authors[0].get("href"))
    assert card_ids(listed.text) == [HOSTILE]


def test_the_feed_card_of_the_hostile_paper_is_text(visitor: TestClient) -> None:
    page = html.fromstring(visitor.get("/papers").text)
    [heading] = page.xpath(f"//h3/a[@href='/papers/{HOSTILE}']")
    assert " ".join(heading.text_content().split()) == HOSTILE_TITLE_SHOWN
    assert page.xpath("//b[text()='now']") == []


def test_the_api_gives_the_hostile_paper_as_data(visitor: TestClient) -> None:
    response = visitor.get(f"/api/papers/{HOSTILE}")
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.json()["title"].startswith(SCRIPT)


def test_pages_carry_security_headers(visitor: TestClient) -> None:
    headers = visitor.get("/papers").headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


# no stack traces --------------------------------------------------------------------------


def fail(*args: object, **kwargs: object) -> None:
    raise RuntimeError("database exploded in /srv/paperfeed/secret.py line 42")


def assert_no_trace(text: str) -> None:
    for leak in ("Traceback", "RuntimeError", "exploded", "/srv/", ".py", 'File "'):
        assert leak not in text


@pytest.mark.parametrize("path", ["/papers", "/papers/date/2025-03-05", "/feeds/daily.atom"])
def test_a_crash_shows_an_error_page_without_a_trace(
    visitor: TestClient, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.setattr(feed, "day_papers", fail)
    monkeypatch.setattr(browse, "shown_version", fail)  # a day's page read before is kept
    page = visitor.get(path)
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "Something went wrong on our side" in error_text(page.text)
    assert_no_trace(page.text)


@pytest.mark.parametrize("path", ["/api/daily_papers", "/api/papers/search?q=graph"])
def test_a_crash_in_the_api_is_a_json_error_without_a_trace(
    visitor: TestClient, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.setattr(feed, "period_papers", fail)
    monkeypatch.setattr(Searcher, "search", fail)
    response = visitor.get(path)
    assert response.status_code == 500
    assert list(response.json()) == ["error"]
    assert "Something went wrong" in response.json()["error"]
    assert_no_trace(response.text)


def test_a_crashing_search_page_has_no_trace(
    visitor: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Searcher, "search", fail)
    page = visitor.get("/search", params={"q": "graph"})
    assert page.status_code == 500
    assert_no_trace(page.text)


def test_a_crash_after_sign_in_still_shows_the_page_signed_in(
    web: WebApp, browser: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_up(browser)
    monkeypatch.setattr(browse, "shown_version", fail)
    page = browser.get("/papers")
    assert page.status_code == 500
    assert 'href="/profile"' in page.text
    assert_no_trace(page.text)


def test_an_unknown_api_token_on_a_page_is_a_401_page(visitor: TestClient) -> None:
    page = visitor.get("/papers", headers={"Authorization": "Bearer pf_forged"})
    assert page.status_code == 401
    assert "Unknown API token." in error_text(page.text)
    assert 'href="/login"' in page.text


# accounts and sessions --------------------------------------------------------------------


def test_sign_up_signs_in_with_a_safe_session_cookie(web: WebApp, browser: TestClient) -> None:
    token = form_token(browser.get("/signup").text)
    data = {"email": "Ada@Example.org", "password": PASSWORD, "name": "Ada", "csrf_token": token}
    response = browser.post("/signup", data=data, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/papers")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("paperfeed_session=")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= attributes
    assert "secure" not in attributes  # plain HTTP unless cookie_secure
    page = browser.get("/papers").text
    assert 'href="/profile">Ada</a>' in page
    assert "Sign out" in page
    assert accounts.find_user(web.engine, "ada@example.org") is not None


def test_the_session_cookie_is_secure_when_configured(tmp_path: Path) -> None:
    browser = build(tmp_path, cookie_secure=True).browser()
    cookie = browser.get("/login").headers["set-cookie"]
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", PASSWORD, "is not an email address"),
        ("bob@example.org", "short", "the password needs at least 8 characters"),
        ("ada@example.org", PASSWORD, "there is already an account for ada@example.org"),
    ],
)
def test_a_refused_sign_up_says_why(
    web: WebApp, browser: TestClient, email: str, password: str, message: str
) -> None:
    create_user(web.engine, "ada@example.org", "another password")
    token = form_token(browser.get("/signup").text)
    data = {"email": email, "password": password, "name": "Bob", "csrf_token": token}
    page = browser.post("/signup", data=data)
    assert page.status_code == 400
    assert message in error_text(page.text)
    assert html.fromstring(page.text).xpath("//input[@name='email']/@value") == [email]
    assert 'href="/profile"' not in page.text  # not signed in


def test_log_in_and_out(web: WebApp, browser: TestClient) -> None:
    create_user(web.engine, "ada@example.org", PASSWORD, "Ada")
    response = log_in(browser, "ADA@example.org ", PASSWORD, next="/papers/trending")
    assert (response.status_code, response.headers["location"]) == (303, "/papers/trending")
    assert 'href="/profile">Ada</a>' in browser.get("/profile").text
    token = form_token(browser.get("/papers").text)
    out = browser.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/papers")
    assert browser.get("/profile", follow_redirects=False).status_code == 303
    assert "Sign in" in browser.get("/papers").text


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(
    web: WebApp, browser: TestClient
) -> None:
    create_user(web.engine, "ada@example.org", PASSWORD)
    wrong = log_in(browser, "ada@example.org", "wrong password")
    unknown = log_in(browser, "nobody@example.org", PASSWORD)
    assert wrong.status_code == unknown.status_code == 400
    assert error_text(wrong.text) == error_text(unknown.text) == "Wrong email or password."
    assert "set-cookie" not in wrong.headers or "user" not in wrong.headers["set-cookie"]
    assert browser.get("/profile", follow_redirects=False).status_code == 303


def test_signing_in_gives_the_session_a_new_csrf_token(web: WebApp, browser: TestClient) -> None:
    create_user(web.engine, "ada@example.org", PASSWORD)
    before = form_token(browser.get("/login").text)
    log_in(browser, "ada@example.org", PASSWORD)
    after = form_token(browser.get("/papers").text)
    assert before != after
    stale = browser.post("/papers/2503.00001/upvote", data={"csrf_token": before})
    assert stale.status_code == 403


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"],
)
def test_sign_in_never_redirects_off_the_site(
    web: WebApp, browser: TestClient, target: str
) -> None:
    create_user(web.engine, "ada@example.org", PASSWORD)
    response = log_in(browser, "ada@example.org", PASSWORD, next=target)
    assert (response.status_code, response.headers["location"]) == (303, "/papers")
    form = html.fromstring(browser.get("/login", params={"next": target}).text)
    assert form.xpath("//input[@name='next']/@value") == ["/papers"]


@pytest.mark.parametrize(
    "referer", ["http://testserver//evil.example/x", "http://testserver/\\evil.example/x"]
)
def test_an_upvote_never_redirects_off_the_site(browser: TestClient, referer: str) -> None:
    token = sign_up(browser)
    response = browser.post(
        "/papers/2503.00001/upvote",
        data={"csrf_token": token},
        headers={"Referer": referer},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert not response.headers["location"].startswith(("//", "/\\"))


def test_an_upvote_goes_back_to_the_page_it_came_from(browser: TestClient) -> None:
    token = sign_up(browser)
    response = browser.post(
        "/papers/2503.00001/upvote",
        data={"csrf_token": token},
        headers={"Referer": "http://testserver/papers/date/2025-03-03"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/papers/date/2025-03-03"
    elsewhere = browser.post(
        "/papers/2503.00002/upvote",
        data={"csrf_token": token},
        headers={"Referer": "https://evil.example/papers"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == "/papers/2503.00002"


def test_accounts_on_each_database(engine: Engine, tmp_path: Path) -> None:
    web = build(tmp_path, engine=engine)
    browser = web.browser()
    token = sign_up(browser, "ada@example.org", PASSWORD)
    browser.post("/logout", data={"csrf_token": token})
    again = web.browser()
    token = form_token(again.get("/signup").text)
    data = {"email": "ADA@example.org", "password": PASSWORD, "csrf_token": token}
    refused = again.post("/signup", data=data)
    assert refused.status_code == 400
    assert "there is already an account for ada@example.org" in error_text(refused.text)
    assert log_in(again, "ada@example.org", PASSWORD).status_code == 303
    token = form_token(again.get("/papers").text)
    again.post("/papers/2503.00003/upvote", data={"csrf_token": token})
    assert upvotes(web, "2503.00003") == 2
    assert upvotes_shown(again.get("/papers/date/2025-03-03").text, "2503.00003") == 2


# CSRF -------------------------------------------------------------------------------------


def test_an_upvote_needs_the_forms_csrf_token(web: WebApp, browser: TestClient) -> None:
    sign_up(browser)
    other = web.browser()
    foreign = sign_up(other, "mallory@example.org")
    page = browser.get("/papers/2503.00002").text
    assert upvotes_shown(page, "2503.00002") == 0
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": foreign}):
        refused = browser.post("/papers/2503.00002/upvote", data={"on": "true", **data})
        assert refused.status_code == 403
        assert "did not come from this site" in error_text(refused.text)
    assert upvotes(web, "2503.00002") == 0

    token = form_token(page)
    voted = browser.post("/papers/2503.00002/upvote", data={"csrf_token": token, "on": "true"})
    assert voted.status_code == 200
    assert upvotes_shown(voted.text, "2503.00002") == 1
    pressed = html.fromstring(voted.text).xpath("//form[@data-paper='2503.00002']//button")[0]
    assert pressed.get("aria-pressed") == "true"
    again = browser.post("/papers/2503.00002/upvote", data={"csrf_token": token, "on": "true"})
    assert upvotes_shown(again.text, "2503.00002") == 1  # once per user
    assert upvotes(web, "2503.00002") == 1

    undone = browser.post("/papers/2503.00002/upvote", data={"csrf_token": token, "on": "false"})
    assert upvotes_shown(undone.text, "2503.00002") == 0
    assert upvotes(web, "2503.00002") == 0


def test_votes_of_different_users_add_up(web: WebApp) -> None:
    for number in range(2):
        client = web.browser()
        token = sign_up(client, f"reader{number}@example.org")
        client.post("/papers/2503.00001/upvote", data={"csrf_token": token})
    assert upvotes(web, "2503.00001") == 3 + 2  # Hugging Face's and ours


def test_upvoting_signed_out_asks_to_sign_in(web: WebApp) -> None:
    fresh = web.browser()  # no cookie at all
    refused = fresh.post("/papers/2503.00001/upvote", data={"on": "true"})
    assert refused.status_code == 401
    assert 'href="/login"' in refused.text
    visitor = web.browser()  # has looked at a page: a session, but nobody signed in
    token = form_token(visitor.get("/papers").text)
    assert visitor.post("/papers/2503.00001/upvote", data={"csrf_token": token}).status_code == 401
    api = fresh.post("/api/papers/2503.00001/upvote")
    assert (api.status_code, api.json()) == (401, {"error": "Sign in first."})
    assert upvotes(web, "2503.00001") == 3


def test_upvoting_an_unknown_paper_is_not_found(browser: TestClient) -> None:
    token = sign_up(browser)
    assert browser.post("/papers/2503.99999/upvote", data={"csrf_token": token}).status_code == 404


@pytest.mark.parametrize("path", ["/login", "/signup", "/logout"])
def test_account_forms_need_the_csrf_token(browser: TestClient, path: str) -> None:
    browser.get("/papers")
    data = {"email": "ada@example.org", "password": PASSWORD}
    assert browser.post(path, data=data).status_code == 403


def test_sign_out_needs_the_csrf_token(browser: TestClient) -> None:
    sign_up(browser)
    assert browser.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert browser.get("/profile", follow_redirects=False).status_code == 200


def test_the_api_with_the_session_cookie_needs_the_csrf_header(
    web: WebApp, browser: TestClient
) -> None:
    token = sign_up(browser)
    refused = browser.post("/api/papers/2503.00002/upvote")
    assert refused.status_code == 403
    assert list(refused.json()) == ["error"]
    voted = browser.post("/api/papers/2503.00002/upvote", headers={"X-CSRF-Token": token})
    assert voted.json() == {"id": "2503.00002", "upvotes": 1, "upvoted": True}
    taken_back = browser.delete("/api/papers/2503.00002/upvote", headers={"X-CSRF-Token": token})
    assert taken_back.json() == {"id": "2503.00002", "upvotes": 0, "upvoted": False}


# rate limits ------------------------------------------------------------------------------


def test_sign_ins_are_rate_limited(tmp_path: Path) -> None:
    web = build(tmp_path, login_rate="3/minute")
    create_user(web.engine, "ada@example.org", PASSWORD)
    browser = web.browser()
    for _ in range(3):
        assert log_in(browser, "ada@example.org", "guess").status_code == 400
    blocked = log_in(browser, "ada@example.org", PASSWORD)
    assert blocked.status_code == 429
    assert "Too many attempts (3/minute)" in error_text(blocked.text)
    assert browser.get("/profile", follow_redirects=False).status_code == 303


def test_sign_ups_are_rate_limited(tmp_path: Path) -> None:
    web = build(tmp_path, signup_rate="2/minute")
    for number in range(2):
        sign_up(web.browser(), f"user{number}@example.org")
    browser = web.browser()
    token = form_token(browser.get("/signup").text)
    data = {"email": "third@example.org", "password": PASSWORD, "csrf_token": token}
    blocked = browser.post("/signup", data=data)
    assert blocked.status_code == 429
    assert accounts.find_user(web.engine, "third@example.org") is None


def test_submissions_are_rate_limited_per_user(tmp_path: Path) -> None:
    web = build(tmp_path, submit_rate="2/minute")
    browser = web.browser()
    token = sign_up(browser)
    for arxiv_id in ("2503.00001", "2503.00002"):
        data = {"paper": arxiv_id, "csrf_token": token}
        assert browser.post("/submit", data=data, follow_redirects=False).status_code == 303
    blocked = browser.post("/submit", data={"paper": "2503.00003", "csrf_token": token})
    assert blocked.status_code == 429
    other = web.browser()
    other_token = sign_up(other, "bob@example.org")
    data = {"paper": "2503.00003", "csrf_token": other_token}
    assert other.post("/submit", data=data, follow_redirects=False).status_code == 303
    first = accounts.find_user(web.engine, "ada@example.org") or {}
    api_token = accounts.create_token(web.engine, first["id"])
    api = web.browser().post(
        "/api/papers/submit",
        json={"id": "2503.00101"},
        headers={"Authorization": f"Bearer {api_token}"},
    )
    assert api.status_code == 429
    assert "Too many attempts" in api.json()["error"]


def test_each_app_starts_with_a_fresh_allowance(tmp_path: Path) -> None:
    for number in range(2):  # the limiter is per process: build() empties it
        web = build(tmp_path / str(number), login_rate="1/minute")
        assert log_in(web.browser(), "nobody@example.org", PASSWORD).status_code == 400


# admins -----------------------------------------------------------------------------------


def test_an_admin_hides_a_paper_from_everyone_else(web: WebApp) -> None:
    admin = web.browser()
    sign_up(admin, "root@example.org")
    make_admin(web.engine, "root@example.org")
    page = admin.get("/papers/2503.00402").text
    assert "Hide paper" in page
    hide_token = html.fromstring(page).xpath(
        "//form[@action='/papers/2503.00402/hide']/input[@name='csrf_token']/@value"
    )[0]
    hidden = admin.post(
        "/papers/2503.00402/hide", data={"csrf_token": hide_token}, follow_redirects=False
    )
    assert (hidden.status_code, hidden.headers["location"]) == (303, "/papers")

    visitor = web.browser()
    assert "2503.00402" not in card_ids(visitor.get("/papers").text)
    found = visitor.get("/search", params={"q": "retrieval augmented generation"}).text
    assert "2503.00402" not in card_ids(found)
    assert visitor.get("/papers/2503.00402").status_code == 404
    assert visitor.get("/api/papers/2503.00402").status_code == 404
    assert "2503.00402" not in visitor.get("/feeds/daily.atom").text
    assert "This paper is hidden" in admin.get("/papers/2503.00402").text

    shown = admin.post("/papers/2503.00402/hide", data={"csrf_token": hide_token, "on": "false"})
    assert shown.status_code == 200
    assert "2503.00402" in card_ids(visitor.get("/papers").text)


def test_only_admins_hide_papers(web: WebApp, browser: TestClient) -> None:
    token = sign_up(browser)
    refused = browser.post("/papers/2503.00402/hide", data={"csrf_token": token})
    assert refused.status_code == 403
    assert "Only an admin can hide papers." in error_text(refused.text)
    assert "Hide paper" not in browser.get("/papers/2503.00402").text
    assert web.browser().post("/papers/2503.00402/hide").status_code == 401
    assert "2503.00402" in card_ids(web.browser().get("/papers").text)


def test_the_profile_shows_a_new_api_token_once(web: WebApp, browser: TestClient) -> None:
    token = sign_up(browser)
    page = browser.post("/profile/tokens", data={"csrf_token": token})
    assert page.status_code == 200
    [shown] = html.fromstring(page.text).xpath("//code[@class='token']/text()")
    assert shown.startswith("pf_")
    assert shown not in browser.get("/profile").text
    assert browser.post("/profile/tokens", data={"csrf_token": "forged"}).status_code == 403
    assert web.browser().post("/profile/tokens").status_code == 401
