"""An account's address is its own only once verified: a link mailed to it, followed while
signed in to that account. Until then the account reads, saves and upvotes, but nothing tied
to the address by email (its subscriptions, their tokens, deleting them, a recommendations
digest) is open to it. Each attack test plays the attack first."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from lxml import html
from sqlalchemy import Engine

from paperfeed.cli import cli
from paperfeed.store import subscriptions
from paperfeed.store.accounts import create_token, create_user, find_user
from paperfeed.store.database import migrate
from smtp_server import SmtpServer
from web_app import WebApp, build, form_token, sign_up

PASSWORD = "correct horse"
SITE = "https://papers.example.org"
pytestmark = pytest.mark.usefixtures("cheap_passwords")


@pytest.fixture
def mailing(tmp_path: Path, smtp_server: SmtpServer) -> WebApp:
    return build(tmp_path, smtp_url=smtp_server.url, public_url=SITE)


def verify(client: TestClient, link: str) -> None:
    """Follow a verification link and press its button, as the signed-in user."""
    page = client.get(link)
    assert page.status_code == 200, page.text
    done = client.post(link, data={"csrf_token": form_token(page.text)}, follow_redirects=False)
    assert done.status_code == 303, done.text


def delete_account(client: TestClient, token: str) -> None:
    data = {"password": PASSWORD, "csrf_token": token}
    assert client.post("/profile/delete", data=data, follow_redirects=False).status_code == 303


def confirm_note(page: str) -> bool:
    """Whether the page asks to confirm the address, with the button to mail the link again."""
    tree = html.fromstring(page)
    return bool(tree.xpath("//form[@action='/profile/verify']")) and (
        "Confirm your address" in page
    )


# the attacks ------------------------------------------------------------------------------


def test_an_unverified_account_does_not_see_the_addresses_subscriptions(mailing: WebApp) -> None:
    alice = subscriptions.subscribe(mailing.engine, "alice@example.org", confirmed=True)
    her_token = mailing.services.mailer.links.token(alice)
    mallory = mailing.browser()
    sign_up(mallory, "alice@example.org", PASSWORD)

    listed = mallory.get("/api/subscriptions")
    assert listed.status_code == 403
    assert "Confirm your address" in listed.json()["error"]
    user = find_user(mailing.engine, "alice@example.org") or {}
    bearer = {"Authorization": f"Bearer {create_token(mailing.engine, user['id'])}"}
    assert mailing.browser().get("/api/subscriptions", headers=bearer).status_code == 403
    profile = mallory.get("/profile").text
    assert her_token not in profile
    assert confirm_note(profile)


def test_an_unverified_account_subscribing_its_address_gets_no_token(
    mailing: WebApp, smtp_server: SmtpServer
) -> None:
    alice = subscriptions.subscribe(mailing.engine, "alice@example.org", confirmed=True)
    mallory = mailing.browser()
    token = sign_up(mallory, "alice@example.org", PASSWORD)
    headers = {"X-CSRF-Token": token}
    taken = mallory.post("/api/subscriptions", json={"email": "alice@example.org"}, headers=headers)
    assert taken.status_code == 202
    assert "token" not in taken.json()
    assert taken.json()["status"] == "pending"
    assert subscriptions.get_subscription(mailing.engine, alice["id"]) == alice
    assert smtp_server.links("alice@example.org", "/subscriptions/")  # to her mailbox

    # nor does it get a digest to the address without the address confirming it
    search = {"email": "alice@example.org", "kind": "search", "query": "graph"}
    made = mallory.post("/api/subscriptions", json=search, headers=headers).json()
    assert "token" not in made
    [pending] = [s for s in subscriptions.list_subscriptions(mailing.engine) if s["query"]]
    assert pending["status"] == "pending"
    assert any(
        link.endswith("/confirm")
        for link in smtp_server.links("alice@example.org", "/subscriptions/")
    )


def test_deleting_an_unverified_account_leaves_the_addresses_subscriptions(
    engine: Engine, tmp_path: Path
) -> None:
    web = build(tmp_path, engine=engine)
    before = subscriptions.subscribe(web.engine, "alice@example.org", confirmed=True)
    mallory = web.browser()
    token = sign_up(mallory, "alice@example.org", PASSWORD)
    during = subscriptions.subscribe(
        web.engine, "alice@example.org", kind="search", query="graph", confirmed=True
    )
    delete_account(mallory, token)
    assert find_user(web.engine, "alice@example.org") is None
    kept = subscriptions.list_subscriptions(web.engine, email="alice@example.org")
    assert [(row["id"], row["status"]) for row in kept] == [
        (before["id"], "active"),
        (during["id"], "active"),
    ]


def test_an_unverified_accounts_export_holds_none_of_the_addresses_subscriptions(
    mailing: WebApp,
) -> None:
    subscriptions.subscribe(mailing.engine, "alice@example.org", kind="search", query="my thesis")
    mallory = mailing.browser()
    sign_up(mallory, "alice@example.org", PASSWORD)
    exported = mallory.get("/library/export.json").json()
    assert exported["subscriptions"] == []
    assert "my thesis" not in str(exported)


def test_asking_for_recommendations_by_email_does_not_tell_whether_an_account_exists(
    mailing: WebApp,
) -> None:
    create_user(mailing.engine, "ada@example.org", PASSWORD)
    stranger = mailing.browser()

    def answers() -> list[tuple[int, str]]:
        found = []
        for email in ("ada@example.org", "nobody@example.org"):
            api = stranger.post("/api/subscriptions", json={"email": email, "kind": "recommend"})
            page = stranger.get("/papers/trending")
            data = {"email": email, "kind": "recommend", "csrf_token": form_token(page.text)}
            form = stranger.post("/subscribe", data=data)
            found += [(api.status_code, api.text), (form.status_code, form.text)]
        return [(status, text.replace("ada@", "nobody@")) for status, text in found]

    unverified = answers()
    assert unverified[:2] == unverified[2:]
    assert unverified[0][0] == 400
    assert "sign in" in unverified[0][1]
    with mailing.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE users SET email_verified_at = '2025-01-01'")
    assert answers() == unverified
    assert subscriptions.list_subscriptions(mailing.engine) == []


def test_an_unverified_account_gets_no_recommendations_digest(mailing: WebApp) -> None:
    mallory = mailing.browser()
    token = sign_up(mallory, "alice@example.org", PASSWORD)
    data = {"email": "alice@example.org", "kind": "recommend", "csrf_token": token}
    refused = mallory.post("/subscribe", data=data)
    assert refused.status_code == 403
    assert confirm_note(refused.text)
    api = {"email": "alice@example.org", "kind": "recommend"}
    answer = mallory.post("/api/subscriptions", json=api, headers={"X-CSRF-Token": token})
    assert answer.status_code == 403
    assert "Confirm your address" in answer.json()["error"]
    assert subscriptions.list_subscriptions(mailing.engine) == []


# verifying --------------------------------------------------------------------------------


def test_the_mailed_link_verifies_the_address_for_the_signed_in_account_only(
    mailing: WebApp, smtp_server: SmtpServer
) -> None:
    mine = subscriptions.subscribe(mailing.engine, "ada@example.org", confirmed=True)
    ada = mailing.browser()
    token = sign_up(ada, "ada@example.org", PASSWORD)
    assert confirm_note(ada.get("/profile").text)
    [link] = smtp_server.links("ada@example.org", "/verify/")

    # whoever holds the mail but is not signed in to the account is asked to sign in first
    outsider = mailing.browser()
    asked = outsider.get(link, follow_redirects=False)
    assert asked.status_code == 303
    assert asked.headers["location"].startswith("/login?next=/verify/")
    bob = mailing.browser()
    bob_token = sign_up(bob, "bob@example.org", PASSWORD)
    wrong = bob.post(link, data={"csrf_token": bob_token})
    assert wrong.status_code == 403
    assert ada.post(link, data={"csrf_token": "forged"}).status_code == 403
    assert ada.get("/verify/not-a-link").status_code == 404
    assert ada.get("/api/subscriptions").status_code == 403  # nothing of that verified it

    verify(ada, link)
    profile = ada.get("/profile").text
    assert not confirm_note(profile)
    assert mailing.services.mailer.links.token(mine) in profile  # her digest, to manage
    [listed] = ada.get("/api/subscriptions").json()
    assert listed["id"] == mine["id"]
    search = {"email": "ada@example.org", "kind": "search", "query": "graph"}
    made = ada.post("/api/subscriptions", json=search, headers={"X-CSRF-Token": token}).json()
    assert (made["status"], "token" in made) == ("active", True)  # her own: no opt-in mail
    again = ada.get(link)
    assert "already confirmed" in again.text

    delete_account(ada, token)  # a verified account takes its address's subscriptions along
    assert subscriptions.list_subscriptions(mailing.engine, email="ada@example.org") == []


def test_a_verification_link_expires(
    mailing: WebApp, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada = mailing.browser()
    sign_up(ada, "ada@example.org", PASSWORD)
    user = find_user(mailing.engine, "ada@example.org") or {}
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: 1_700_000_000.0)  # long ago
        old = mailing.services.mailer.links.verify(user)
    path = old.removeprefix(SITE)
    expired = ada.get(path)
    assert expired.status_code == 410
    assert "expired" in expired.text
    assert confirm_note(expired.text)
    token = form_token(ada.get("/papers").text)
    assert ada.post(path, data={"csrf_token": token}).status_code == 410
    assert (find_user(mailing.engine, "ada@example.org") or {})["email_verified_at"] is None


def test_the_link_is_mailed_again_on_request_a_few_times_an_hour(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    web = build(tmp_path, smtp_url=smtp_server.url, public_url=SITE, verify_rate="1/hour")
    ada = web.browser()
    token = sign_up(ada, "ada@example.org", PASSWORD)
    assert len(smtp_server.links("ada@example.org", "/verify/")) == 1  # at sign-up
    sent = ada.post("/profile/verify", data={"csrf_token": token})
    assert sent.status_code == 200
    assert "We sent a new link to ada@example.org" in sent.text
    links = smtp_server.links("ada@example.org", "/verify/")
    assert len(links) == 2
    blocked = ada.post("/profile/verify", data={"csrf_token": token})
    assert blocked.status_code == 429
    assert "Retry-After" in blocked.headers
    assert len(smtp_server.links("ada@example.org", "/verify/")) == 2
    assert ada.post("/profile/verify", data={"csrf_token": "forged"}).status_code == 403
    verify(ada, links[0])  # an earlier link still works while it is fresh
    assert not confirm_note(ada.get("/profile").text)


def test_without_a_mail_server_the_page_says_so_and_an_admin_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = build(tmp_path)  # no PAPERFEED_SMTP_URL
    monkeypatch.setenv("PAPERFEED_DATABASE_URL", web.settings.database)
    ada = web.browser()
    sign_up(ada, "ada@example.org", PASSWORD)
    profile = ada.get("/profile").text
    assert confirm_note(profile)
    assert "This site cannot send mail yet" in profile
    assert "paperfeed admin" not in profile  # no admin instructions for visitors

    runner = CliRunner()
    verified = runner.invoke(cli, ["admin", "verify", "Ada@Example.org"])
    assert (verified.exit_code, verified.output) == (0, "ada@example.org is verified.\n")
    assert not confirm_note(ada.get("/profile").text)
    assert ada.get("/api/subscriptions").json() == []
    again = runner.invoke(cli, ["admin", "verify", "ada@example.org"])
    assert again.output == "ada@example.org was verified already.\n"
    unknown = runner.invoke(cli, ["admin", "verify", "nobody@example.org"])
    assert unknown.exit_code == 1
    assert unknown.output == "Error: there is no account for nobody@example.org\n"


def test_migrating_leaves_existing_accounts_unverified(blank_engine: Engine) -> None:
    migrate(blank_engine, "0006")
    with blank_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO users (email, name, password_hash, is_admin, created_at, session_key)"
            " VALUES ('old@example.org', 'old', 'x', false, '2025-01-01', 'k')"
        )
    migrate(blank_engine)
    assert (find_user(blank_engine, "old@example.org") or {})["email_verified_at"] is None
    assert create_user(blank_engine, "new@example.org", PASSWORD)["email_verified_at"] is None
