"""``paperfeed subscriptions`` and ``paperfeed digest`` as an admin runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from paperfeed.cli import cli
from smtp_server import SmtpServer
from web_app import WebApp, build


@pytest.fixture
def store(tmp_path: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> WebApp:
    web = build(tmp_path)
    monkeypatch.setenv("PAPERFEED_DATABASE_URL", web.settings.database)
    monkeypatch.setenv("PAPERFEED_SMTP_URL", smtp_server.url)
    return web


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_add_list_and_remove_subscriptions(store: WebApp, smtp_server: SmtpServer) -> None:
    added = invoke("subscriptions", "add", "ada@example.org")
    assert added.exit_code == 0
    assert "Subscription 1: trending, daily at 07:00 UTC, pending" in added.output
    assert [r.recipients for r in smtp_server.received] == [["ada@example.org"]]  # confirm?
    searched = invoke(
        "subscriptions", "add", "bob@example.org", "--weekly", "--search", "graph neural",
        "--timezone", "Europe/Berlin", "--confirmed",
    )  # fmt: skip
    assert "search “graph neural”, weekly at 07:00 Europe/Berlin, active" in searched.output
    listed = json.loads(invoke("subscriptions", "list", "--json").output)
    assert [(s["email"], s["status"]) for s in listed] == [
        ("ada@example.org", "pending"),
        ("bob@example.org", "active"),
    ]
    assert (
        "Removed 1 subscription of bob@example.org."
        in invoke("subscriptions", "remove", "bob@example.org").output
    )
    gone = invoke("subscriptions", "remove", "bob@example.org")
    assert (gone.exit_code, gone.output) == (1, "Error: bob@example.org has no subscriptions\n")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--timezone", "Mars/Olympus"], "'Mars/Olympus' is not a time zone name"),
        (["--recommend"], "sign up with carol@example.org first"),
    ],
)
def test_a_subscription_that_cannot_be_made_says_why(
    store: WebApp, args: list[str], error: str
) -> None:
    result = invoke("subscriptions", "add", "carol@example.org", *args)
    assert result.exit_code == 1
    assert error in result.output


def test_digest_run_sends_the_due_digests_once(store: WebApp, smtp_server: SmtpServer) -> None:
    invoke("subscriptions", "add", "ada@example.org", "--confirmed")
    first = invoke("digest", "run", "--now", "2025-03-10T08:00")
    assert first.output.splitlines()[:2] == [
        "1 digest due: 1 queued, 0 queued before, 0 with no new papers (not sent)",
        "1 sent, 0 to retry later, 0 failed, 0 waiting",
    ]
    again = invoke("digest", "run", "--now", "2025-03-10T09:00")
    assert again.output.startswith("1 digest due: 0 queued, 1 queued before")
    assert smtp_server.copies() == {"ada@example.org": 1}


def test_digest_preview_prints_the_next_digest(store: WebApp) -> None:
    invoke("subscriptions", "add", "ada@example.org", "--confirmed")
    shown = invoke("digest", "preview", "1")
    assert shown.exit_code == 0
    assert shown.output.startswith("Subject: Trending papers, ")
