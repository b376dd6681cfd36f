"""Identity that cannot be inherited: ids never reused, sessions bound to the account's session
key (signing out or a new password ends them all), subscriptions managed only through the
mailed link, API tokens listed and revoked, simultaneous upvotes counted once, and a 429
that says when to try again. Each test plays the attack first."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from live_server import LiveServer
from lxml import html
from sqlalchemy import Engine

from paperfeed.store import subscriptions
from paperfeed.store.accounts import create_token, create_user, find_user, session_key
from paperfeed.store.database import migrate
from paperfeed.store.library import library_ids
from smtp_server import SmtpServer
from web_app import WebApp, build, form_token, sign_up

PASSWORD = "correct horse"
pytestmark = pytest.mark.usefixtures("cheap_passwords")


@pytest.fixture
def web(tmp_path: Path) -> WebApp:
    return build(tmp_path)


def session_cookie(client: TestClient) -> str:
    cookie = client.cookies.get("paperfeed_session")
    assert cookie, "not signed in"
    return cookie


def with_cookie(web: WebApp, cookie: str) -> TestClient:
    """A client that presents a copied session cookie."""
    client = web.browser()
    client.cookies.set("paperfeed_session", cookie)
    return client


def signed_in_as(client: TestClient) -> str | None:
    """The name the page header shows for the signed-in user, or ``None``."""
    names = html.fromstring(client.get("/papers").text).xpath("//a[@href='/profile']/text()")
    return names[0] if names else None


def delete_account(client: TestClient, token: str) -> None:
    data = {"password": PASSWORD, "csrf_token": token}
    response = client.post("/profile/delete", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text


# sessions ---------------------------------------------------------------------------------


def test_a_deleted_accounts_cookie_does_not_open_the_next_account(
    engine: Engine, tmp_path: Path
) -> None:
    web = build(tmp_path, engine=engine)
    mallory = web.browser()
    token = sign_up(mallory, "mallory@example.org", PASSWORD)
    stolen = session_cookie(mallory)
    old_id = (find_user(web.engine, "mallory@example.org") or {})["id"]
    delete_account(mallory, token)

    ada = web.browser()
    sign_up(ada, "ada@example.org", PASSWORD)
    assert (find_user(web.engine, "ada@example.org") or {})["id"] != old_id  # never reused
    attacker = with_cookie(web, stolen)
    assert signed_in_as(attacker) is None
    assert attacker.get("/profile", follow_redirects=False).status_code == 303
    assert attacker.get("/library/export.json").status_code in (303, 401)
    assert attacker.post("/profile/tokens", data={"csrf_token": token}).status_code == 401
    assert signed_in_as(ada) == "ada"


def test_a_reused_user_id_still_does_not_inherit_the_session(web: WebApp) -> None:
    """Ids are never reused; should one be (a restored backup), the session key differs."""
    mallory = web.browser()
    token = sign_up(mallory, "mallory@example.org", PASSWORD)
    stolen = session_cookie(mallory)
    old_id = (find_user(web.engine, "mallory@example.org") or {})["id"]
    delete_account(mallory, token)
    with web.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO users (id, email, name, password_hash, is_admin, created_at,"
            " session_key) VALUES (?, 'ada@example.org', 'ada', 'x', 0, '2025-01-01', 'k')",
            (old_id,),
        )
    assert signed_in_as(with_cookie(web, stolen)) is None


def test_signing_out_ends_every_session_of_the_account(web: WebApp) -> None:
    create_user(web.engine, "ada@example.org", PASSWORD, "Ada")
    laptop, phone = web.browser(), web.browser()
    for client in (laptop, phone):
        token = form_token(client.get("/login").text)
        data = {"email": "ada@example.org", "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=data, follow_redirects=False).status_code == 303
    copied = session_cookie(phone)
    assert signed_in_as(phone) == "Ada"
    laptop.post("/logout", data={"csrf_token": form_token(laptop.get("/papers").text)})
    assert signed_in_as(laptop) is None
    assert signed_in_as(phone) is None
    assert signed_in_as(with_cookie(web, copied)) is None
    again = web.browser()
    token = form_token(again.get("/login").text)
    data = {"email": "ada@example.org", "password": PASSWORD, "csrf_token": token}
    again.post("/login", data=data)
    assert signed_in_as(again) == "Ada"  # signing in again works


def test_a_new_password_ends_the_other_sessions(web: WebApp) -> None:
    laptop = web.browser()
    token = sign_up(laptop, "ada@example.org", PASSWORD)
    stolen = session_cookie(laptop)
    wrong = {"password": "not it at all", "new_password": "a new secret", "csrf_token": token}
    refused = laptop.post("/profile/password", data=wrong)
    assert refused.status_code == 400
    assert "not your password" in refused.text
    assert signed_in_as(with_cookie(web, stolen)) == "ada"
    short = {"password": PASSWORD, "new_password": "short", "csrf_token": token}
    assert laptop.post("/profile/password", data=short).status_code == 400

    data = {"password": PASSWORD, "new_password": "a new secret", "csrf_token": token}
    changed = laptop.post("/profile/password", data=data)
    assert changed.status_code == 200
    assert "Your password is changed" in changed.text
    assert signed_in_as(laptop) == "ada"  # this session goes on
    assert signed_in_as(with_cookie(web, stolen)) is None  # every other one ends
    fresh = web.browser()
    token = form_token(fresh.get("/login").text)
    old = {"email": "ada@example.org", "password": PASSWORD, "csrf_token": token}
    assert fresh.post("/login", data=old).status_code == 400
    new = {**old, "password": "a new secret"}
    assert fresh.post("/login", data=new, follow_redirects=False).status_code == 303


# subscriptions ----------------------------------------------------------------------------


@pytest.fixture
def mailing(tmp_path: Path, smtp_server: SmtpServer) -> WebApp:
    return build(tmp_path, smtp_url=smtp_server.url, public_url="https://papers.example.org")


def test_subscribing_someone_elses_address_gives_no_token_and_mails_them(
    mailing: WebApp, smtp_server: SmtpServer
) -> None:
    alice = subscriptions.subscribe(mailing.engine, "alice@example.org", confirmed=True)
    stranger = mailing.browser()
    taken = stranger.post("/api/subscriptions", json={"email": "Alice@example.org"})
    fresh = stranger.post("/api/subscriptions", json={"email": "carol@example.org"})
    assert (taken.status_code, fresh.status_code) == (202, 202)
    assert "token" not in taken.json()
    assert taken.json() == {**fresh.json(), "email": "alice@example.org"}  # nothing told apart
    assert subscriptions.get_subscription(mailing.engine, alice["id"]) == alice  # unchanged
    links = smtp_server.links("alice@example.org", "/subscriptions/")
    assert links and all("/confirm" not in link for link in links)  # her manage link
    assert stranger.get(links[0]).status_code == 200  # which works for whoever holds the mail

    page = stranger.get("/papers/trending")
    data = {"email": "alice@example.org", "csrf_token": form_token(page.text)}
    answer = stranger.post("/subscribe", data=data)
    assert "we sent a mail to" in answer.text
    assert "You are subscribed" not in answer.text


def test_subscribing_an_address_with_a_pending_subscription_mails_the_confirmation(
    mailing: WebApp, smtp_server: SmtpServer
) -> None:
    subscriptions.subscribe(mailing.engine, "alice@example.org")
    answer = mailing.browser().post("/api/subscriptions", json={"email": "alice@example.org"})
    assert "token" not in answer.json()
    assert any(
        link.endswith("/confirm")
        for link in smtp_server.links("alice@example.org", "/subscriptions/")
    )


def test_the_owner_signed_in_still_gets_the_token(mailing: WebApp, smtp_server: SmtpServer) -> None:
    """Once the address is verified (see test_web_verify_email for before)."""
    browser = mailing.browser()
    token = sign_up(browser, "ada@example.org", PASSWORD)
    mail = smtp_server.received[0].message.get_body(("plain",)).get_content()
    [verify] = re.findall(r"/verify/\S+", mail)
    confirm = form_token(browser.get(verify).text)
    assert browser.post(verify, data={"csrf_token": confirm}).status_code == 200
    made = browser.post(
        "/api/subscriptions", json={"email": "ada@example.org"}, headers={"X-CSRF-Token": token}
    )
    assert made.json()["status"] == "active"
    assert browser.get(f"/api/subscriptions/{made.json()['token']}").status_code == 200


def test_an_old_manage_link_never_opens_a_later_subscription(
    engine: Engine, tmp_path: Path
) -> None:
    web = build(tmp_path, engine=engine)
    bob = subscriptions.subscribe(web.engine, "bob@example.org")
    old = web.services.mailer.links.token(bob)
    subscriptions.remove(web.engine, "bob@example.org")
    carol = subscriptions.subscribe(web.engine, "carol@example.org")
    assert carol["id"] != bob["id"]  # never reused
    client = web.browser()
    assert client.get(f"/subscriptions/{old}").status_code == 404
    assert client.post(f"/subscriptions/{old}/confirm").status_code == 404
    assert client.post(f"/api/subscriptions/{old}/confirm").status_code == 404
    assert subscriptions.get_subscription(web.engine, carol["id"])["status"] == "pending"


def test_a_link_carries_its_subscriptions_own_key(web: WebApp) -> None:
    """Should an id be reused after all (a restored backup), a link still names one
    subscription: its random key is signed into the link."""
    bob = subscriptions.subscribe(web.engine, "bob@example.org")
    old = web.services.mailer.links.token(bob)
    subscriptions.remove(web.engine, "bob@example.org")
    with web.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO subscriptions (id, email, kind, frequency, timezone, hour, status,"
            " created_at, link_key) VALUES (?, 'carol@example.org', 'trending', 'daily', 'UTC',"
            " 7, 'pending', '2025-01-01', 'another')",
            (bob["id"],),
        )
    assert web.browser().post(f"/subscriptions/{old}/confirm").status_code == 404
    assert subscriptions.get_subscription(web.engine, bob["id"])["status"] == "pending"


def test_links_mailed_before_links_had_keys_still_work(web: WebApp) -> None:
    """A mail sent before the upgrade carries the bare signed id: its unsubscribe link goes
    on working for the subscription it was sent for (which has no key)."""
    ada = subscriptions.subscribe(web.engine, "ada@example.org", confirmed=True)
    with web.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE subscriptions SET link_key = NULL")
    legacy = web.services.mailer.links.token({**ada, "link_key": None})
    client = web.browser()
    assert client.post(f"/subscriptions/{legacy}/unsubscribe").status_code == 200
    assert subscriptions.get_subscription(web.engine, ada["id"])["status"] == "unsubscribed"
    other = subscriptions.subscribe(web.engine, "bob@example.org")  # has a key
    bare = web.services.mailer.links.token({**other, "link_key": None})
    assert client.get(f"/subscriptions/{bare}").status_code == 404


def test_migrating_keys_accounts_and_no_id_is_reused_after(blank_engine: Engine) -> None:
    migrate(blank_engine, "0005")
    with blank_engine.begin() as conn:
        for number in (1, 2):
            conn.exec_driver_sql(
                "INSERT INTO users (email, name, password_hash, is_admin, created_at)"
                f" VALUES ('u{number}@example.org', 'u', 'x', false, '2025-01-01')"
            )
        conn.exec_driver_sql(
            "INSERT INTO subscriptions (email, kind, frequency, timezone, hour, status,"
            " created_at) VALUES ('u1@example.org', 'trending', 'daily', 'UTC', 7, 'active',"
            " '2025-01-01')"
        )
    migrate(blank_engine)
    users = [find_user(blank_engine, f"u{number}@example.org") or {} for number in (1, 2)]
    keys = {session_key(blank_engine, user["id"]) for user in users}
    assert None not in keys and len(keys) == 2  # a key each: the sessions of before end
    [old] = subscriptions.list_subscriptions(blank_engine)
    assert old["link_key"] is None  # the links mailed before go on working
    subscriptions.remove(blank_engine, "u1@example.org")
    with blank_engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM users WHERE id = {users[1]['id']}")
    assert create_user(blank_engine, "new@example.org", PASSWORD)["id"] > users[1]["id"]
    assert subscriptions.subscribe(blank_engine, "new@example.org")["id"] > old["id"]


# simultaneous writes ----------------------------------------------------------------------


@pytest.mark.parametrize("action", ["upvote", "save"])
def test_ten_simultaneous_upvotes_or_saves_by_one_user_count_once(
    engine: Engine, tmp_path: Path, action: str
) -> None:
    web = build(tmp_path, engine=engine)
    user = create_user(web.engine, "ada@example.org", PASSWORD)
    headers = {"Authorization": f"Bearer {create_token(web.engine, user['id'])}"}
    papers = ["2503.00001", "2503.00002", "2503.00003"]  # a race each: it shows more often
    before = {key: web.browser().get(f"/api/papers/{key}").json()["upvotes"] for key in papers}
    statuses: list[int] = []

    def press(url: str, arxiv_id: str, start: threading.Barrier) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            start.wait()
            answer = client.post(f"/api/papers/{arxiv_id}/{action}", headers=headers)
            statuses.append(answer.status_code)

    with LiveServer(web.app) as server:
        for arxiv_id in papers:
            start = threading.Barrier(10)
            threads = [
                threading.Thread(target=press, args=(server.url, arxiv_id, start))
                for _ in range(10)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    assert statuses == [200] * 30
    after = {key: web.browser().get(f"/api/papers/{key}").json()["upvotes"] for key in papers}
    if action == "upvote":
        assert after == {key: count + 1 for key, count in before.items()}
    else:
        assert sorted(library_ids(web.engine, user["id"])) == papers


# API tokens -------------------------------------------------------------------------------


def test_api_tokens_are_listed_without_their_secret_and_revoked(web: WebApp) -> None:
    browser = web.browser()
    token = sign_up(browser, "ada@example.org", PASSWORD)
    made = browser.post("/profile/tokens", data={"csrf_token": token, "name": "laptop script"})
    [secret] = html.fromstring(made.text).xpath("//code[@class='token']/text()")
    browser.post("/profile/tokens", data={"csrf_token": token, "name": "ci"})
    headers = {"Authorization": f"Bearer {secret}"}

    listed = web.browser().get("/api/tokens", headers=headers).json()
    assert [row["name"] for row in listed] == ["laptop script", "ci"]
    assert set(listed[0]) == {"id", "name", "created_at", "last_used_at"}
    assert listed[0]["last_used_at"] is not None  # it was used just now to list them
    assert listed[1]["last_used_at"] is None
    assert secret not in str(listed)
    page = browser.get("/profile").text
    assert "laptop script" in page and "ci" in page and secret not in page

    bob = web.browser()
    bob_token = sign_up(bob, "bob@example.org", PASSWORD)
    refused = bob.delete(f"/api/tokens/{listed[0]['id']}", headers={"X-CSRF-Token": bob_token})
    assert refused.status_code == 404  # not his
    assert web.browser().get("/api/tokens", headers=headers).status_code == 200

    revoke = f"/profile/tokens/{listed[0]['id']}/delete"
    assert browser.post(revoke, data={"csrf_token": "forged"}).status_code == 403
    gone = browser.post(revoke, data={"csrf_token": token}, follow_redirects=False)
    assert gone.status_code == 303
    assert web.browser().get("/api/tokens", headers=headers).status_code == 401
    assert "laptop script" not in browser.get("/profile").text

    ci = listed[1]["id"]
    assert browser.delete(f"/api/tokens/{ci}", headers={"X-CSRF-Token": token}).json() == {
        "revoked": ci
    }
    assert browser.get("/api/tokens").json() == []
    too_big = browser.delete("/api/tokens/9223372036854775808", headers={"X-CSRF-Token": token})
    assert too_big.status_code == 422
    assert browser.delete(f"/api/tokens/{ci}", headers={"X-CSRF-Token": token}).status_code == 404


# rate limits ------------------------------------------------------------------------------


def test_a_refusal_for_too_many_attempts_says_when_to_try_again(tmp_path: Path) -> None:
    web = build(tmp_path, login_rate="1/minute", subscribe_rate="1/hour")
    browser = web.browser()
    for _ in range(2):
        token = form_token(browser.get("/login").text)
        data = {"email": "ada@example.org", "password": "guess", "csrf_token": token}
        blocked = browser.post("/login", data=data)
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    for _ in range(2):
        api = web.browser().post("/api/subscriptions", json={"email": "ada@example.org"})
    assert api.status_code == 429
    assert 3000 < int(api.headers["Retry-After"]) <= 3600
    assert list(api.json()) == ["error"]
