"""Webhooks against a real HTTP receiver on 127.0.0.1: a follow's new papers are POSTed,
signed, once each; a receiver that is down, slow or failing gets the call again later, one
that refuses it gets it no more, and a webhook that keeps failing is paused."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_string
from email.policy import default
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select, update

from conftest import free_port
from memory_source import MemorySource, paper
from paperfeed.digest.links import Links
from paperfeed.digest.outbox import LEASE, DeliveryReport, retry_delay
from paperfeed.digest.run import Mailer
from paperfeed.digest.webhook_delivery import PAUSE_AFTER, deliver_webhooks
from paperfeed.digest.webhooks import queue_webhooks, verify
from paperfeed.ingest.pipeline import ingest
from paperfeed.store.accounts import create_user
from paperfeed.store.follows import follow
from paperfeed.store.outbox import claim_message
from paperfeed.store.schema import MailKind, outbox, users
from paperfeed.store.webhooks import clear_webhook, set_webhook, user_follow
from paperfeed.urls import webhook_url
from webhook_receiver import Answer, Receiver

DAY = date(2026, 3, 2)
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
LINKS = Links("https://papers.example.org", "not-a-secret")
HOSTILE_TITLE = '<script>alert(1)</script> @everyone *bold* & "quotes" $\\alpha$'


def add_papers(engine: Engine, *ids: str, day: date = DAY, **fields: Any) -> None:
    ingest(engine, MemorySource([paper(i, announced=day, **fields) for i in ids]))


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=0.5, follow_redirects=False) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def hook(engine: Engine) -> dict[str, int]:
    user = create_user(engine, "ada@example.org", "correct horse battery")
    return {"user": user["id"], "follow": follow(engine, user["id"], "author", "Ada Lovelace")}


def point(engine: Engine, hook: dict[str, int], url: str, at: datetime = T0) -> str:
    secret = set_webhook(engine, hook["user"], hook["follow"], url, at, new_secret=False)
    assert secret is not None
    return secret


def run(engine: Engine, client: httpx.Client, now: datetime) -> DeliveryReport:
    queue_webhooks(engine, None, LINKS, now)
    return deliver_webhooks(engine, client, allow_private=True, now=now)


def calls(engine: Engine) -> list[tuple[str, int]]:
    query = select(outbox.c.status, outbox.c.attempts).order_by(outbox.c.id)
    with engine.connect() as conn:
        return [(status, attempts) for status, attempts in conn.execute(query)]


def test_new_papers_are_posted_signed_and_once(
    engine: Engine, hook: dict[str, int], receiver: Receiver, client: httpx.Client
) -> None:
    secret = point(engine, hook, receiver.url)
    add_papers(engine, "2603.00001", "2603.00002")
    add_papers(engine, "2603.00003", authors=["Grace Hopper"])  # not followed

    assert run(engine, client, T0 + timedelta(hours=1)) == DeliveryReport(sent=1)
    (call,) = receiver.calls
    assert verify(secret, call.body, call.headers["X-Paperfeed-Signature"])
    assert not verify("another secret", call.body, call.headers["X-Paperfeed-Signature"])
    assert call.headers["X-Paperfeed-Event"] == "papers.new"
    assert call.headers["Content-Type"] == "application/json"
    assert call.headers["User-Agent"].startswith("python-httpx")  # the test's client
    body = call.json
    assert body["follow"] == {"id": hook["follow"], "kind": "author", "target": "Ada Lovelace"}
    assert [p["id"] for p in body["papers"]] == ["2603.00002", "2603.00001"]
    assert body["papers"][0]["url"] == "https://papers.example.org/papers/2603.00002"
    assert body["papers"][0]["authors"] == ["Ada Lovelace", "Alan Turing"]
    assert body["text"].startswith("2 new papers for Ada Lovelace")
    assert "<https://papers.example.org/papers/2603.00001>" in body["content"]

    # later runs: nothing new, nothing sent; a new paper goes alone
    assert run(engine, client, T0 + timedelta(hours=2)) == DeliveryReport()
    add_papers(engine, "2603.00004")
    assert run(engine, client, T0 + timedelta(hours=3)) == DeliveryReport(sent=1)
    assert [p["id"] for p in receiver.calls[1].json["papers"]] == ["2603.00004"]
    assert run(engine, client, T0 + timedelta(days=1)) == DeliveryReport()
    assert len(receiver.calls) == 2
    assert len(set(receiver.deliveries())) == 2


def test_papers_from_before_the_webhook_days_are_not_sent(
    engine: Engine, hook: dict[str, int], receiver: Receiver, client: httpx.Client
) -> None:
    add_papers(engine, "2602.00001", day=DAY - timedelta(days=3))
    point(engine, hook, receiver.url)
    assert run(engine, client, T0 + timedelta(hours=1)) == DeliveryReport()
    assert receiver.calls == []


def test_a_paper_imported_after_its_day_was_looked_at_is_still_sent(
    engine: Engine, hook: dict[str, int], receiver: Receiver, client: httpx.Client
) -> None:
    point(engine, hook, receiver.url)
    assert run(engine, client, T0 + timedelta(days=1)) == DeliveryReport()
    # the next day, a sync brings a paper of the day before
    add_papers(engine, "2603.00009", day=DAY)
    assert run(engine, client, T0 + timedelta(days=1, minutes=1)) == DeliveryReport(sent=1)
    assert [p["id"] for p in receiver.calls[0].json["papers"]] == ["2603.00009"]


def test_a_receiver_down_gets_the_call_once_it_is_up(
    engine: Engine, hook: dict[str, int], client: httpx.Client
) -> None:
    port = free_port()
    point(engine, hook, f"http://127.0.0.1:{port}/hook")
    add_papers(engine, "2603.00001")
    t1 = T0 + timedelta(hours=1)
    assert run(engine, client, t1) == DeliveryReport(retry_later=1)
    assert "cannot reach 127.0.0.1" in (
        user_follow(engine, hook["user"], hook["follow"])["webhook_error"] or ""
    )
    # not due again before its backoff
    assert deliver_webhooks(engine, client, allow_private=True, now=t1) == DeliveryReport(waiting=1)
    with Receiver(port) as receiver:
        later = t1 + retry_delay(1)
        assert run(engine, client, later) == DeliveryReport(sent=1)
        assert run(engine, client, later + timedelta(hours=1)) == DeliveryReport()
    assert len(receiver.calls) == 1
    assert calls(engine) == [("sent", 2)]
    state = user_follow(engine, hook["user"], hook["follow"])
    assert (state["webhook_error"], state["webhook_failures"]) == (None, 0)


def test_a_slow_receiver_is_called_again_with_the_same_delivery_id(
    engine: Engine, hook: dict[str, int], receiver: Receiver, client: httpx.Client
) -> None:
    point(engine, hook, receiver.url)
    add_papers(engine, "2603.00001")
    receiver.script.append(Answer(200, delay=1.5))  # past the client's 0.5 s
    t1 = T0 + timedelta(hours=1)
    assert run(engine, client, t1) == DeliveryReport(retry_later=1)
    assert run(engine, client, t1 + retry_delay(1)) == DeliveryReport(sent=1)
    first, second = receiver.deliveries()
    assert first == second  # at least once: the receiver drops the repeat by its id
    assert receiver.calls[0].body == receiver.calls[1].body
    assert calls(engine) == [("sent", 2)]


def test_a_500_is_retried_and_counted_then_one_success(
    engine: Engine, hook: dict[str, int], receiver: Receiver, client: httpx.Client
) -> None:
    point(engine, hook, receiver.url)
    add_papers(engine, "2603.00001")
    receiver.script.extend([Answer(500), Answer(503)])
    moment = T0 + timedelta(hours=1)
    assert run(engine, client, moment) == DeliveryReport(retry_later=1)
    moment += retry_delay(1)
    assert run(engine, client, moment) == DeliveryReport(retry_later=1)
    moment += retry_delay(2)
    assert run(engine, client, moment) == DeliveryReport(sent=1)
    assert calls(engine) == [("sent", 3)]
    assert len(receiver.calls) == 3
    assert len(set(receiver.deliveries())) == 1


def test_a_429_waits_as_long_as_retry_after_asks(
    engine: Engine, hook: dict[str, int], receiver: Receiver, client: httpx.Client
) -> None:
    point(engine, hook, receiver.url)
    add_papers(engine, "2603.00001")
    receiver.script.append(Answer(429, headers={"Retry-After": "600"}))
    moment = T0 + timedelta(hours=1)
    assert run(engine, client, moment) == DeliveryReport(retry_later=1)
    with engine.connect() as conn:
        due = conn.execute(select(outbox.c.next_attempt_at)).scalar_one()
    assert due == moment + timedelta(seconds=600)


def test_a_refused_call_fails_at_once_and_the_user_is_told(
    engine: Engine, hook: dict[str, int], receiver: Receiver, client: httpx.Client
) -> None:
    point(engine, hook, receiver.url)
    receiver.script.extend([Answer(404)] * PAUSE_AFTER)
    moment = T0
    for number in range(PAUSE_AFTER):
        moment += timedelta(hours=1)
        add_papers(engine, f"2603.0000{number + 1}")
        assert run(engine, client, moment) == DeliveryReport(failed=1)
        state = user_follow(engine, hook["user"], hook["follow"])
        assert state["webhook_error"] == "HTTP 404: the receiver refused the call (not tried again)"
        assert state["webhook_failures"] == number + 1
    assert state["webhook_paused_at"] == moment
    # paused: no more calls queued or made until the user sets the URL again
    add_papers(engine, "2603.00009")
    assert run(engine, client, moment + timedelta(hours=1)) == DeliveryReport()
    assert len(receiver.calls) == PAUSE_AFTER
    point_again = set_webhook(
        engine,
        hook["user"],
        hook["follow"],
        receiver.url,
        moment + timedelta(hours=2),
        new_secret=False,
    )
    assert point_again is None  # the secret stays
    state = user_follow(engine, hook["user"], hook["follow"])
    assert (state["webhook_paused_at"], state["webhook_failures"]) == (None, 0)


def test_pausing_cancels_the_calls_waiting(
    engine: Engine, hook: dict[str, int], receiver: Receiver, client: httpx.Client
) -> None:
    point(engine, hook, receiver.url)
    for number in range(PAUSE_AFTER + 1):  # one call each, queued before any is made
        add_papers(engine, f"2603.0000{number + 1}")
        queue_webhooks(engine, None, LINKS, T0 + timedelta(minutes=number + 1))
    receiver.script.extend([Answer(400)] * PAUSE_AFTER)
    report = deliver_webhooks(engine, client, allow_private=True, now=T0 + timedelta(hours=1))
    assert report == DeliveryReport(failed=PAUSE_AFTER)
    assert [status for status, _ in calls(engine)] == ["failed"] * PAUSE_AFTER + ["cancelled"]


def test_a_paused_webhook_is_mailed_to_its_owner_once(
    engine: Engine, hook: dict[str, int], receiver: Receiver, client: httpx.Client
) -> None:
    with engine.begin() as conn:
        mine = users.c.id == hook["user"]
        conn.execute(update(users).where(mine).values(email_verified_at=T0))
    point(engine, hook, receiver.url)
    for number in range(PAUSE_AFTER + 2):
        add_papers(engine, f"2603.0000{number + 1}")
        queue_webhooks(engine, None, LINKS, T0 + timedelta(minutes=number + 1))
    receiver.script.extend([Answer(400)] * (PAUSE_AFTER + 2))
    mailer = Mailer(LINKS, "paperfeed <paperfeed@example.org>", None)
    for _ in range(2):
        deliver_webhooks(engine, client, allow_private=True, mailer=mailer, now=T0 + HOUR)
    with engine.connect() as conn:
        query = select(outbox.c.key, outbox.c.email, outbox.c.message)
        mails = conn.execute(query.where(outbox.c.kind == MailKind.PAUSED)).all()
    assert [(key, email) for key, email, _ in mails] == [
        (f"paused:{hook['follow']}:{(T0 + HOUR).isoformat()}", "ada@example.org")
    ]
    mail = message_from_string(mails[0].message, policy=default)
    assert mail["Subject"] == "Your paperfeed webhook for Ada Lovelace was paused"
    text = mail.get_body(("plain",)).get_content()
    link = f"https://papers.example.org/follows/{hook['follow']}/webhook"
    assert "HTTP 400: the receiver refused the call" in text and link in text


def test_a_cleared_webhook_makes_no_more_calls(
    engine: Engine, hook: dict[str, int], receiver: Receiver, client: httpx.Client
) -> None:
    point(engine, hook, receiver.url)
    add_papers(engine, "2603.00001")
    queue_webhooks(engine, None, LINKS, T0 + timedelta(hours=1))
    clear_webhook(engine, hook["user"], hook["follow"])
    report = deliver_webhooks(engine, client, allow_private=True, now=T0 + timedelta(hours=1))
    assert report == DeliveryReport(cancelled=1)
    assert receiver.calls == []


def test_a_run_killed_mid_call_makes_it_again_once_its_lease_ends(
    engine: Engine, hook: dict[str, int], receiver: Receiver, client: httpx.Client
) -> None:
    point(engine, hook, receiver.url)
    add_papers(engine, "2603.00001")
    t1 = T0 + timedelta(hours=1)
    queue_webhooks(engine, None, LINKS, t1)
    # a run claimed the call and was killed (-9) before it recorded what happened
    assert claim_message(engine, t1, t1 + LEASE, webhooks=True) is not None
    assert deliver_webhooks(engine, client, allow_private=True, now=t1) == DeliveryReport(waiting=1)
    after = t1 + LEASE + timedelta(seconds=1)
    assert deliver_webhooks(engine, client, allow_private=True, now=after) == DeliveryReport(sent=1)
    assert deliver_webhooks(engine, client, allow_private=True, now=after) == DeliveryReport()
    assert len(receiver.calls) == 1


def test_the_payload_escapes_hostile_titles(
    engine: Engine, hook: dict[str, int], receiver: Receiver, client: httpx.Client
) -> None:
    point(engine, hook, receiver.url)
    add_papers(engine, "2603.00001", title=HOSTILE_TITLE)
    run(engine, client, T0 + timedelta(hours=1))
    body = receiver.calls[0].json
    title = body["papers"][0]["title"]
    assert title.startswith('<script>alert(1)</script> @everyone *bold* & "quotes" ')
    assert "\N{GREEK SMALL LETTER ALPHA}" in title  # LaTeX shown as text
    # Slack: &, < and > escaped, so no link or mention is made from a title
    assert "&lt;script&gt;alert(1)&lt;/script&gt; @everyone *bold* &amp;" in body["text"]
    assert "<script>" not in body["text"]
    # Discord: markup escaped and no mention parsed
    assert "\\<script\\>" in body["content"] and "\\@everyone \\*bold\\*" in body["content"]
    assert body["allowed_mentions"] == {"parse": []}
    assert len(body["content"]) <= 2000


def test_many_papers_make_several_calls_and_chat_text_stays_short(
    engine: Engine, hook: dict[str, int], receiver: Receiver, client: httpx.Client
) -> None:
    point(engine, hook, receiver.url)
    ids = [f"2603.{n:05d}" for n in range(1, 31)]
    add_papers(engine, *ids, title="A rather long title " * 10)
    assert run(engine, client, T0 + timedelta(hours=1)) == DeliveryReport(sent=2)
    sizes = [len(call.json["papers"]) for call in receiver.calls]
    assert sizes == [25, 5]
    carried = [p["id"] for call in receiver.calls for p in call.json["papers"]]
    assert sorted(carried) == ids
    first = receiver.calls[0].json
    assert len(first["content"]) <= 2000 and "more" in first["content"]


def test_private_addresses_are_refused_unless_allowed(
    engine: Engine, hook: dict[str, int], receiver: Receiver, client: httpx.Client
) -> None:
    for url in (
        "http://127.0.0.1:8080/",
        "http://localhost/x",
        "https://10.1.2.3/",
        "http://[::1]/",
    ):
        with pytest.raises(ValueError, match="local or private"):
            webhook_url(url)
        assert webhook_url(url, allow_private=True) == url
    for url in ("ftp://example.org/", "javascript:alert(1)", "https://user:pw@example.org/"):
        with pytest.raises(ValueError, match="http"):
            webhook_url(url, allow_private=True)
    assert webhook_url(" https://hooks.example.org/x ") == "https://hooks.example.org/x"
    # checked again when the call is made: a name may resolve inside later
    point(engine, hook, receiver.url)
    add_papers(engine, "2603.00001")
    queue_webhooks(engine, None, LINKS, T0 + timedelta(hours=1))
    report = deliver_webhooks(engine, client, now=T0 + timedelta(hours=1))
    assert report == DeliveryReport(failed=1)
    assert receiver.calls == []


def test_a_call_goes_to_the_address_that_was_checked(
    engine: Engine, hook: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a name answering a public address to the check and a private one to the
    connection must not reach inside, so the call is made to the checked address."""
    answers = iter(["93.184.216.34", "127.0.0.1"])

    def resolve(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        assert host == "hooks.example.org"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    point(engine, hook, "https://hooks.example.org/in")
    add_papers(engine, "2603.00001")
    now = T0 + timedelta(hours=1)
    queue_webhooks(engine, None, LINKS, now)
    with httpx.Client(transport=httpx.MockTransport(answer)) as outside:
        assert deliver_webhooks(engine, outside, now=now) == DeliveryReport(sent=1)
    (request,) = seen
    assert request.url.host == "93.184.216.34" and request.url.scheme == "https"
    assert request.headers["Host"] == "hooks.example.org"
    assert request.extensions["sni_hostname"] == "hooks.example.org"
