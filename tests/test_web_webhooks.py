"""Setting a follow's webhook on its page and through the API, and the call it brings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import html

from memory_source import MemorySource, paper
from paperfeed.digest.webhooks import verify
from paperfeed.ingest.pipeline import ingest
from paperfeed.store.accounts import create_token, create_user, find_user
from paperfeed.store.follows import follow
from web_app import WebApp, build, form_token, sign_up
from webhook_receiver import Receiver

pytestmark = pytest.mark.usefixtures("cheap_passwords")


@pytest.fixture
def web(tmp_path: Path) -> WebApp:
    return build(tmp_path)


def account(web: WebApp, email: str) -> tuple[int, dict[str, str]]:
    user = create_user(web.engine, email, "correct horse")
    return user["id"], {"Authorization": f"Bearer {create_token(web.engine, user['id'])}"}


def test_the_api_sets_a_webhook_and_shows_its_secret_once(web: WebApp) -> None:
    client = web.browser()
    user_id, auth = account(web, "ada@example.org")
    follow_id = follow(web.engine, user_id, "category", "cs.CL")
    path = f"/api/follows/{follow_id}/webhook"

    made = client.put(path, json={"url": "https://hooks.example.org/a"}, headers=auth)
    assert made.status_code == 200
    secret = made.json()["secret"]
    assert len(secret) == 64
    assert made.json() | {"secret": None} == {
        "follow": follow_id,
        "url": "https://hooks.example.org/a",
        "secret": None,
        "paused": False,
        "pausedAt": None,
        "error": None,
        "failuresInARow": 0,
    }
    assert client.get(path, headers=auth).json()["secret"] is None  # never shown again
    moved = client.put(path, json={"url": "https://hooks.example.org/b"}, headers=auth).json()
    assert (moved["url"], moved["secret"]) == ("https://hooks.example.org/b", None)
    fresh = client.put(path, json={"url": moved["url"], "newSecret": True}, headers=auth).json()
    assert fresh["secret"] not in (None, secret)

    refused = client.put(path, json={"url": "javascript:alert(1)"}, headers=auth)
    assert refused.status_code == 400
    assert "http(s) URL" in refused.json()["error"]
    assert client.put(path, json={"url": "https://x.org"}).status_code == 401
    _, other = account(web, "eve@example.org")
    assert client.get(path, headers=other).status_code == 404
    assert client.put(path, json={"url": "https://eve.org"}, headers=other).status_code == 404
    assert client.delete(path, headers=other).status_code == 404

    gone = client.delete(path, headers=auth)
    assert (gone.status_code, gone.json()["url"]) == (200, None)


def test_private_addresses_are_refused_unless_the_site_allows_them(tmp_path: Path) -> None:
    web = build(tmp_path, webhook_allow_private=False)
    user_id, auth = account(web, "ada@example.org")
    follow_id = follow(web.engine, user_id, "category", "cs.CL")
    answer = web.browser().put(
        f"/api/follows/{follow_id}/webhook", json={"url": "http://127.0.0.1:6379/"}, headers=auth
    )
    assert answer.status_code == 400
    assert "local or private address" in answer.json()["error"]


def test_a_webhook_set_on_its_page_gets_the_new_papers(web: WebApp) -> None:
    browser = web.browser()
    sign_up(browser, "ada@example.org")
    user = find_user(web.engine, "ada@example.org")
    assert user is not None
    follow_id = follow(web.engine, user["id"], "author", "Grace Hopper")
    following = browser.get("/following")
    assert f'href="/follows/{follow_id}/webhook"' in following.text
    signed_out = web.browser().get(f"/follows/{follow_id}/webhook", follow_redirects=False)
    assert signed_out.headers["location"] == f"/login?next=/follows/{follow_id}/webhook"
    with Receiver() as receiver:
        page = browser.get(f"/follows/{follow_id}/webhook")
        assert page.status_code == 200 and "Webhook for Grace Hopper" in page.text
        saved = browser.post(
            f"/follows/{follow_id}/webhook",
            data={"url": receiver.url, "csrf_token": form_token(page.text)},
        )
        assert saved.status_code == 200
        secret = form_secret(saved.text)
        assert receiver.url in saved.text
        assert form_secret(browser.get(f"/follows/{follow_id}/webhook").text) is None

        today = datetime.now(UTC).date()
        new = paper("2699.00001", title="Compilers", authors=["Grace Hopper"], announced=today)
        ingest(web.engine, MemorySource([new]))
        queued, delivered = web.services.run_webhooks()
        assert (queued.calls, delivered.sent) == (1, 1)
        (call,) = receiver.calls
    assert verify(secret, call.body, call.headers["X-Paperfeed-Signature"])
    assert [p["title"] for p in call.json["papers"]] == ["Compilers"]
    assert call.headers["User-Agent"] == web.settings.user_agent

    removed = browser.post(
        f"/follows/{follow_id}/webhook/delete", data={"csrf_token": form_token(saved.text)}
    )
    assert removed.status_code == 200 and "Remove the webhook" not in removed.text


def form_secret(text: str) -> str | None:
    """The secret a webhook page shows, if it shows one."""
    found = html.fromstring(text).xpath("//section[@id='secret']//code/text()")
    return found[0] if found else None
