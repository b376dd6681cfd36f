"""Email digests end to end, with a real SMTP server: subscribe, confirm, get the digest,
unsubscribe; and runs that meet a refusing, dropping, stopped server or a killed process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from paperfeed.digest.run import mail_link
from paperfeed.store.accounts import create_user, verify_email
from paperfeed.store.activity import set_saved
from paperfeed.store.schema import OutboxMessage
from paperfeed.store.subscriptions import (
    get_subscription,
    list_subscriptions,
    subscribe,
    unsubscribe,
)
from paperfeed.worker import start_digest_schedule
from smtp_server import SmtpServer
from web_app import WebApp, build, form_token

MONDAY_MORNING = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)  # the store's newest day
TUESDAY_MORNING = MONDAY_MORNING + timedelta(days=1)
# Fri 7 and Mon 10 March: by trending score, then those without votes newest first
MONDAY_TRENDING = [
    "2503.00403",
    "2503.00301",
    "2503.06666",
    "2503.00404",
    "2503.00402",
    "2503.00401",
    "2503.00303",
    "2503.00302",
]
READERS = [f"reader{n}@example.org" for n in range(6)]


@pytest.fixture
def web(tmp_path: Path, smtp_server: SmtpServer) -> WebApp:
    return build(tmp_path, smtp_url=smtp_server.url, public_url="https://papers.example.org")


def run(web: WebApp, now: datetime = MONDAY_MORNING):
    return web.services.run_digests(now)


def papers_in(message) -> list[str]:
    text = message.get_body(("plain",)).get_content()
    return re.findall(r"arXiv: https://arxiv\.org/abs/(\S+)", text)


def link(message, pattern: str) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(rf"https://papers\.example\.org(/subscriptions/\S+{pattern})", text)[1]


def readers(engine: Engine, *emails: str, **choices) -> None:
    for email in emails:
        subscribe(engine, email, confirmed=True, **choices)


def test_subscribe_confirm_digest_and_one_click_unsubscribe(
    web: WebApp,
    smtp_server: SmtpServer,
) -> None:
    browser = web.browser()
    page = browser.get("/papers/trending")
    answer = browser.post(
        "/subscribe",
        data={
            "email": "Ada@Example.org",
            "frequency": "daily",
            "csrf_token": form_token(page.text),
        },
    )
    assert "we sent a mail to" in answer.text
    [confirmation] = [r.message for r in smtp_server.received]
    assert confirmation["To"] == "ada@example.org"
    assert run(web)[0].due == 0  # unconfirmed: no digest

    confirm = link(confirmation, "/confirm")
    assert "Yes, confirm" in browser.get(confirm).text  # a link only shows the button
    assert browser.post(confirm).status_code == 200
    assert list_subscriptions(web.engine)[0]["status"] == "active"

    built, delivered = run(web)
    assert (built.queued, delivered.sent) == (1, 1)
    digest = smtp_server.received[-1].message
    assert digest["Subject"] == "Trending papers, Monday 10 March 2025"
    assert papers_in(digest) == MONDAY_TRENDING
    assert digest.get_body(("html",)) is not None
    assert (
        "https://papers.example.org/papers/2503.00403" in digest.get_body(("html",)).get_content()
    )
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    unsubscribe = re.fullmatch(r"<https://papers\.example\.org(\S+)>", digest["List-Unsubscribe"])[
        1
    ]
    one_click = browser.post(unsubscribe, content=b"List-Unsubscribe=One-Click")
    assert one_click.status_code == 200
    assert list_subscriptions(web.engine)[0]["status"] == "unsubscribed"


def test_a_period_gets_one_digest_however_many_runs(web: WebApp, smtp_server: SmtpServer) -> None:
    readers(web.engine, *READERS[:2])
    run(web)
    again, _ = run(web, MONDAY_MORNING + timedelta(hours=3))
    assert (again.due, again.queued, again.done_before) == (2, 0, 2)
    assert smtp_server.copies() == {READERS[0]: 1, READERS[1]: 1}


def test_no_paper_is_sent_twice_and_an_empty_digest_is_not_sent(
    web: WebApp,
    smtp_server: SmtpServer,
) -> None:
    readers(web.engine, READERS[0])
    run(web)
    tuesday, delivered = run(web, TUESDAY_MORNING)  # Monday's papers were all in Monday's
    assert (tuesday.due, tuesday.empty, delivered.sent) == (1, 1, 0)
    assert len(smtp_server.received) == 1


def test_a_weekend_has_no_daily_digest_but_a_weekly_one(
    web: WebApp,
    smtp_server: SmtpServer,
) -> None:
    readers(web.engine, READERS[0])
    readers(web.engine, READERS[1], frequency="weekly")
    sunday = MONDAY_MORNING - timedelta(days=1)
    built, _ = run(web, sunday)
    assert built.queued == 1
    [weekly] = smtp_server.received
    assert weekly.recipients == [READERS[1]]
    assert weekly.message["Subject"] == "Trending papers, week 10 of 2025"


def test_the_digest_comes_in_the_subscribers_morning(web: WebApp, smtp_server: SmtpServer) -> None:
    readers(web.engine, "tokyo@example.org", timezone="Asia/Tokyo", hour=7)
    readers(web.engine, "berlin@example.org", timezone="Europe/Berlin", hour=7)
    sunday_night_utc = datetime(2025, 3, 9, 22, 30, tzinfo=UTC)  # Monday 07:30 in Tokyo
    run(web, sunday_night_utc)
    assert list(smtp_server.copies()) == ["tokyo@example.org"]
    run(web, datetime(2025, 3, 10, 6, 5, tzinfo=UTC))  # 07:05 in Berlin
    assert smtp_server.copies() == {"tokyo@example.org": 1, "berlin@example.org": 1}


def test_a_saved_search_digest_has_only_papers_that_match(
    web: WebApp,
    smtp_server: SmtpServer,
) -> None:
    readers(web.engine, READERS[0], kind="search", query="graph transformers")
    run(web)
    [digest] = smtp_server.received
    assert digest.message["Subject"] == "New papers for “graph transformers”, Monday 10 March 2025"
    assert papers_in(digest.message)[0] == "2503.00404"
    assert "2503.00403" not in papers_in(digest.message)  # diffusion for audio
    # how the search's papers came week by week, as text every mail client shows
    text = digest.message.get_body(("plain",)).get_content()
    trend = re.search(r"week by week \(the last 12 weeks\): ([▁▂▃▄▅▆▇█]{12})\n", text)
    assert trend is not None and trend[1][-1] != "▁"  # this week's papers are counted
    html = digest.message.get_body(("html",)).get_content()
    assert trend[1] in html


def test_a_trending_digest_draws_no_search_trend(web: WebApp, smtp_server: SmtpServer) -> None:
    readers(web.engine, READERS[0])
    run(web)
    [digest] = smtp_server.received
    assert "week by week" not in digest.message.get_body(("plain",)).get_content()


def test_a_refused_address_is_marked_and_not_mailed_again(
    web: WebApp,
    smtp_server: SmtpServer,
) -> None:
    readers(web.engine, *READERS[:3])
    smtp_server.refuse(READERS[1])
    _, delivered = run(web)
    assert (delivered.sent, delivered.failed) == (2, 1)
    bounced = list_subscriptions(web.engine, email=READERS[1])
    assert [s["status"] for s in bounced] == ["bounced"]
    run(web, TUESDAY_MORNING)
    assert smtp_server.copies() == {READERS[0]: 1, READERS[2]: 1}


def test_a_server_dropping_mid_run_loses_nothing_and_sends_nothing_twice(
    web: WebApp,
    smtp_server: SmtpServer,
) -> None:
    readers(web.engine, *READERS)
    smtp_server.drop_after(2)
    _, first = run(web)
    assert first.sent < len(READERS)
    smtp_server.drop_after(None)  # type: ignore[arg-type]
    run(web, MONDAY_MORNING + timedelta(minutes=30))
    assert smtp_server.copies() == {reader: 1 for reader in READERS}


def test_a_stopped_server_keeps_the_digests_until_it_is_back(
    web: WebApp,
    smtp_server: SmtpServer,
) -> None:
    readers(web.engine, *READERS[:3])
    smtp_server.stop()
    built, delivered = run(web)
    assert (built.queued, delivered.sent, delivered.retry_later + delivered.waiting) == (3, 0, 3)
    smtp_server.start()
    run(web, MONDAY_MORNING + timedelta(hours=1))
    assert smtp_server.copies() == {reader: 1 for reader in READERS[:3]}


def test_a_run_killed_half_way_is_finished_by_the_next_without_duplicates(
    web: WebApp,
    smtp_server: SmtpServer,
) -> None:
    readers(web.engine, *READERS)
    pending = subscribe(web.engine, "pending@example.org")
    stopped = subscribe(web.engine, "stopped@example.org", confirmed=True)
    unsubscribe(web.engine, stopped["id"])
    smtp_server.slow(0.4)
    environment = {
        **os.environ,
        "PAPERFEED_HOME": str(web.settings.home),
        "PAPERFEED_DATABASE_URL": web.settings.database,
        "PAPERFEED_SMTP_URL": smtp_server.url,
    }
    command = [sys.executable, "-m", "paperfeed", "digest", "run", "--now", "2025-03-10T08:00"]
    process = subprocess.Popen(command, env=environment, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    # kill while the third message waits for the server: between messages, not in the
    # moment between the server's 250 and the commit (at-least-once: that one goes twice)
    while smtp_server.recorder.mail_commands < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 2 <= len(smtp_server.received) < len(READERS)
    smtp_server.slow(0)
    run(web, MONDAY_MORNING + timedelta(minutes=20))  # after the killed run's lease
    assert smtp_server.copies() == {reader: 1 for reader in READERS}
    assert get_subscription(web.engine, pending["id"])["status"] == "pending"
    with web.engine.connect() as conn:
        keys = conn.execute(select(OutboxMessage.key).where(OutboxMessage.kind == "digest"))
        assert len(list(keys)) == len(READERS)


def test_a_digest_queued_before_an_unsubscribe_is_not_sent(
    web: WebApp, smtp_server: SmtpServer
) -> None:
    readers(web.engine, *READERS[:2])
    smtp_server.stop()
    run(web)  # queued, not sent
    smtp_server.start()
    leaving = list_subscriptions(web.engine, email=READERS[0])[0]
    unsubscribe(web.engine, leaving["id"])
    _, delivered = run(web, MONDAY_MORNING + timedelta(hours=1))
    assert (delivered.sent, delivered.cancelled) == (1, 1)
    assert smtp_server.copies() == {READERS[1]: 1}


def test_a_recommendations_digest_learns_from_the_account_and_says_why(
    web: WebApp, smtp_server: SmtpServer, cheap_passwords: None
) -> None:
    user = create_user(web.engine, READERS[0], "long enough")
    verify_email(web.engine, user["id"], user["email"])
    set_saved(web.engine, user["id"], "2503.00001", True)  # Graph neural networks at scale
    set_saved(web.engine, user["id"], "2503.00002", True)  # Graph attention networks
    readers(web.engine, READERS[0], kind="recommend")
    run(web)
    [digest] = smtp_server.received
    assert digest.message["Subject"] == "Recommended for you, Monday 10 March 2025"
    assert papers_in(digest.message)[0] == "2503.00404"  # Graph transformers for molecules
    text = digest.message.get_body(("plain",)).get_content()
    assert "Because you saved: Graph" in text


def test_the_servers_schedule_sends_what_the_outbox_holds(
    web: WebApp, smtp_server: SmtpServer
) -> None:
    made = subscribe(web.engine, READERS[0])
    mail_link(web.engine, made, web.services.mailer)
    stop = threading.Event()
    thread = start_digest_schedule(web.services, stop)
    deadline = time.monotonic() + 30
    while not smtp_server.received and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert smtp_server.copies() == {READERS[0]: 1}


def test_without_a_mail_server_subscribing_says_no_mail_went_out(
    tmp_path: Path, cheap_passwords: None
) -> None:
    browser = build(tmp_path).browser()  # no PAPERFEED_SMTP_URL
    page = browser.get("/papers/trending")
    answer = browser.post(
        "/subscribe", data={"email": "grace@example.org", "csrf_token": form_token(page.text)}
    )
    assert "this site cannot send mail yet, so no confirmation went to" in answer.text
    assert "we sent a mail" not in answer.text
