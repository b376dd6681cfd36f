"""The outbox against a real SMTP server: every queued mail arrives exactly once, or fails
for a reason that is recorded, through refusals, drops, outages, overlapping runs and kills."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import Engine, insert, select, update

from conftest import wait_for
from paperfeed.digest.outbox import (
    LEASE,
    MAX_AGE,
    MAX_ATTEMPTS,
    DeliveryReport,
    deliver,
    enqueue,
    message_id,
    prune,
    retry_delay,
)
from paperfeed.digest.smtp import SmtpConfig
from paperfeed.store.schema import outbox, subscriptions, suppressed_addresses
from smtp_server import HOST, SmtpServer

T0 = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
ADDRESSES = [f"reader{n}@example.org" for n in range(1, 6)]


def digest(to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "paperfeed <paperfeed@example.org>"
    message["To"] = to
    message["Subject"] = f"Digest for {to}"
    message.set_content("Three new papers.\n")
    return message


def queue(engine: Engine, *addresses: str, now: datetime = T0) -> list[int | None]:
    with engine.begin() as conn:
        return [
            enqueue(conn, f"digest:{address}", address, "digest", digest(address), now=now)
            for address in addresses
        ]


def config(server: SmtpServer) -> SmtpConfig:
    return SmtpConfig.from_url(server.url)


def states(engine: Engine) -> dict[str, tuple[str, int]]:
    query = select(outbox.c.email, outbox.c.status, outbox.c.attempts).order_by(outbox.c.id)
    with engine.connect() as conn:
        return {email: (status, attempts) for email, status, attempts in conn.execute(query)}


def column(engine: Engine, name: str, email: str):
    with engine.connect() as conn:
        return conn.execute(select(outbox.c[name]).where(outbox.c.email == email)).scalar_one()


def exactly_once(*addresses: str) -> dict[str, int]:
    return dict.fromkeys(addresses, 1)


def test_each_queued_message_is_sent_once(engine: Engine, smtp_server: SmtpServer) -> None:
    queue(engine, *ADDRESSES)
    assert deliver(engine, config(smtp_server), now=T0) == DeliveryReport(sent=5)
    assert deliver(engine, config(smtp_server), now=T0) == DeliveryReport()
    assert smtp_server.copies() == exactly_once(*ADDRESSES)
    assert [r.message["Subject"] for r in smtp_server.received] == [
        f"Digest for {address}" for address in ADDRESSES
    ]
    assert set(states(engine).values()) == {("sent", 1)}
    assert column(engine, "sent_at", ADDRESSES[0]) == T0


def test_message_is_stamped_with_id_from_key_and_date(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    with engine.begin() as conn:
        enqueue(
            conn,
            "digest:7:2026-11-20",
            "Ada@Example.org",
            "digest",
            digest("ada@example.org"),
            now=T0,
        )
    deliver(engine, config(smtp_server), now=T0)
    (received,) = smtp_server.received
    assert received.sender == "paperfeed@example.org"
    assert received.recipients == ["ada@example.org"]
    assert received.message["Message-ID"] == message_id("digest:7:2026-11-20", "example.org")
    assert received.message["Date"] == "Fri, 20 Nov 2026 07:00:00 +0000"


def test_message_id_is_derived_from_the_key() -> None:
    assert message_id("digest:7:2026-11-20", "example.org") == (
        "<04f61bfc63127d325f0bd60acdc9ae99@example.org>"
    )


def test_enqueueing_a_key_twice_sends_one_mail(engine: Engine, smtp_server: SmtpServer) -> None:
    first = queue(engine, "ada@example.org")
    again = queue(engine, "ada@example.org", "ada@example.org")
    assert first == [1]
    assert again == [None, None]
    assert deliver(engine, config(smtp_server), now=T0) == DeliveryReport(sent=1)
    assert smtp_server.copies() == exactly_once("ada@example.org")


def test_refused_recipient_is_suppressed_and_their_subscriptions_bounce(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    ghost, ada = "ghost@example.org", "ada@example.org"
    reply = "550 5.1.1 <ghost@example.org>: no such user"
    subscribe(engine, ghost, ada)
    smtp_server.refuse(ghost)
    queue(engine, ada, ghost, "bob@example.org")
    report = deliver(engine, config(smtp_server), now=T0)
    assert report == DeliveryReport(sent=2, failed=1)
    assert smtp_server.copies() == exactly_once(ada, "bob@example.org")
    assert states(engine)[ghost] == ("failed", 1)
    assert column(engine, "last_error", ghost) == reply
    with engine.connect() as conn:
        assert conn.execute(select(suppressed_addresses)).all() == [(ghost, reply, T0)]
        query = select(subscriptions.c.email, subscriptions.c.status).order_by("email")
        assert conn.execute(query).all() == [(ada, "active"), (ghost, "bounced")]


def test_suppressed_address_gets_no_more_mail(engine: Engine, smtp_server: SmtpServer) -> None:
    with engine.begin() as conn:
        row = {"email": "ghost@example.org", "reason": "550 no such user", "created_at": T0}
        conn.execute(insert(suppressed_addresses).values(row))
    queue(engine, "ghost@example.org")
    assert deliver(engine, config(smtp_server), now=T0) == DeliveryReport(failed=1)
    assert smtp_server.received == []
    assert states(engine) == {"ghost@example.org": ("failed", 0)}
    assert column(engine, "last_error", "ghost@example.org") == "suppressed: 550 no such user"


def subscribe(engine: Engine, *addresses: str) -> None:
    rows = [
        {"email": address, "kind": "trending", "frequency": "daily", "timezone": "UTC", "hour": 7}
        | {"status": "active", "created_at": T0}
        for address in addresses
    ]
    with engine.begin() as conn:
        conn.execute(insert(subscriptions), rows)


def test_connection_dropped_mid_run_is_reopened_and_the_lost_message_retried(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    queue(engine, *ADDRESSES)
    smtp_server.drop_after(2)
    assert deliver(engine, config(smtp_server), now=T0) == DeliveryReport(sent=4, retry_later=1)
    assert states(engine)[ADDRESSES[2]] == ("pending", 1)
    assert column(engine, "next_attempt_at", ADDRESSES[2]) == T0 + timedelta(minutes=1)
    assert deliver(engine, config(smtp_server), now=T0) == DeliveryReport(waiting=1)
    later = T0 + timedelta(minutes=1)
    assert deliver(engine, config(smtp_server), now=later) == DeliveryReport(sent=1)
    assert smtp_server.copies() == exactly_once(*ADDRESSES)


def test_server_down_stops_the_run_and_nothing_is_lost(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    queue(engine, *ADDRESSES[:3])
    smtp_server.stop()
    report = deliver(engine, config(smtp_server), now=T0)
    refused = f"mail server {HOST}:{smtp_server.port}: ConnectionRefusedError: [Errno 111] "
    assert report == DeliveryReport(retry_later=1, waiting=2, error=refused + "Connection refused")
    assert list(states(engine).values()) == [("pending", 1), ("pending", 0), ("pending", 0)]
    smtp_server.start()
    soon, later = T0 + timedelta(seconds=30), T0 + timedelta(minutes=1)
    assert deliver(engine, config(smtp_server), now=soon) == DeliveryReport(sent=2, waiting=1)
    assert deliver(engine, config(smtp_server), now=later) == DeliveryReport(sent=1)
    assert smtp_server.copies() == exactly_once(*ADDRESSES[:3])


def test_busy_server_is_retried_later(engine: Engine, smtp_server: SmtpServer) -> None:
    queue(engine, "ada@example.org")
    smtp_server.answer_busy(2)
    assert deliver(engine, config(smtp_server), now=T0) == DeliveryReport(retry_later=1)
    retry = T0 + timedelta(minutes=1)
    assert deliver(engine, config(smtp_server), now=retry) == DeliveryReport(retry_later=1)
    assert column(engine, "next_attempt_at", "ada@example.org") == retry + timedelta(minutes=2)
    assert column(engine, "last_error", "ada@example.org") == "451 4.3.0 try again later"
    assert deliver(engine, config(smtp_server), now=retry + timedelta(minutes=2)).sent == 1
    assert states(engine) == {"ada@example.org": ("sent", 3)}


@pytest.mark.parametrize(
    ("attempts", "minutes"), [(1, 1), (2, 2), (3, 4), (9, 256), (10, 360), (11, 360)]
)
def test_retry_delay_doubles_up_to_six_hours(attempts: int, minutes: int) -> None:
    assert retry_delay(attempts) == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("attempts", "now"), [(MAX_ATTEMPTS - 1, T0), (0, T0 + MAX_AGE)], ids=["attempts", "age"]
)
def test_message_is_given_up_after_too_many_tries_or_too_long(
    engine: Engine, smtp_server: SmtpServer, attempts: int, now: datetime
) -> None:
    queue(engine, "ada@example.org")
    with engine.begin() as conn:
        conn.execute(update(outbox).values(attempts=attempts))
    smtp_server.answer_busy(1)
    assert deliver(engine, config(smtp_server), now=now) == DeliveryReport(failed=1)
    assert states(engine) == {"ada@example.org": ("failed", attempts + 1)}


def test_without_a_mail_server_messages_wait(engine: Engine) -> None:
    queue(engine, *ADDRESSES[:3])
    report = deliver(engine, None, now=T0)
    assert report == DeliveryReport(waiting=3)
    assert str(report) == "0 sent, 0 to retry later, 0 failed, 3 waiting"
    assert set(states(engine).values()) == {("pending", 0)}


def test_limit_caps_the_messages_tried(engine: Engine, smtp_server: SmtpServer) -> None:
    queue(engine, *ADDRESSES[:3])
    report = deliver(engine, config(smtp_server), now=T0, limit=2)
    assert report == DeliveryReport(sent=2, waiting=1)
    assert smtp_server.copies() == exactly_once(*ADDRESSES[:2])


def test_progress_is_called_after_each_message(engine: Engine, smtp_server: SmtpServer) -> None:
    queue(engine, *ADDRESSES[:2])
    lines: list[str] = []
    deliver(engine, config(smtp_server), now=T0, progress=lambda r: lines.append(str(r)))
    assert lines == [
        "1 sent, 0 to retry later, 0 failed, 0 waiting",
        "2 sent, 0 to retry later, 0 failed, 0 waiting",
    ]


def test_claim_left_by_a_crashed_run_expires(engine: Engine, smtp_server: SmtpServer) -> None:
    queue(engine, *ADDRESSES[:3])
    with engine.begin() as conn:  # as a run that claimed the first message at T0 and died
        claimed = outbox.c.email == ADDRESSES[0]
        conn.execute(
            update(outbox).where(claimed).values(status="sending", next_attempt_at=T0 + LEASE)
        )
    assert deliver(engine, config(smtp_server), now=T0) == DeliveryReport(sent=2, waiting=1)
    assert deliver(engine, config(smtp_server), now=T0 + LEASE) == DeliveryReport(sent=1)
    assert smtp_server.copies() == exactly_once(*ADDRESSES[:3])


def test_overlapping_runs_send_each_message_once(engine: Engine, smtp_server: SmtpServer) -> None:
    addresses = [f"reader{n}@example.org" for n in range(12)]
    queue(engine, *addresses)
    smtp_server.slow(0.01)
    reports: list[DeliveryReport] = []
    runs = [
        threading.Thread(target=lambda: reports.append(deliver(engine, config(smtp_server))))
        for _ in range(3)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert sum(report.sent for report in reports) == 12
    assert smtp_server.copies() == exactly_once(*addresses)


def test_killed_run_is_resumed_without_duplicates(
    store_url: str, engine: Engine, smtp_server: SmtpServer
) -> None:
    queue(engine, *ADDRESSES)
    smtp_server.slow(0.5)  # the third MAIL FROM waits: the kill lands between messages
    code = (
        "import sys; from datetime import datetime; from paperfeed.digest.outbox import deliver;"
        "from paperfeed.digest.smtp import SmtpConfig;"
        "from paperfeed.store.database import create_store_engine;"
        "deliver(create_store_engine(sys.argv[1]), SmtpConfig.from_url(sys.argv[2]),"
        " now=datetime.fromisoformat(sys.argv[3]))"
    )
    run = subprocess.Popen([sys.executable, "-c", code, store_url, smtp_server.url, str(T0)])
    # looked at often: the run must be killed before it sends the fourth
    wait_for(lambda: smtp_server.recorder.mail_commands == 3 or run.poll() is not None, every=0.005)
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert smtp_server.copies() == exactly_once(*ADDRESSES[:2])
    statuses = [status for status, _ in states(engine).values()]
    assert statuses == ["sent", "sent", "sending", "pending", "pending"]
    lease = column(engine, "next_attempt_at", ADDRESSES[2])  # from T0, moving in real time
    assert T0 + LEASE + timedelta(seconds=0.9) < lease < T0 + LEASE + timedelta(seconds=20)
    smtp_server.slow(0)
    assert deliver(engine, config(smtp_server), now=T0) == DeliveryReport(sent=2, waiting=1)
    assert deliver(engine, config(smtp_server), now=lease) == DeliveryReport(sent=1)
    assert smtp_server.copies() == exactly_once(*ADDRESSES)


def test_message_accepted_but_unconfirmed_is_sent_again_with_the_same_id(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    queue(engine, "ada@example.org")
    smtp_server.drop_after(0, keep_dropped=True)  # the 250 never reaches us
    assert deliver(engine, config(smtp_server), now=T0) == DeliveryReport(retry_later=1)
    later = T0 + timedelta(minutes=1)
    assert deliver(engine, config(smtp_server), now=later) == DeliveryReport(sent=1)
    ids = [received.message["Message-ID"] for received in smtp_server.received]
    assert ids == [message_id("digest:ada@example.org", "example.org")] * 2


def test_prune_drops_old_texts_but_keeps_the_keys(engine: Engine, smtp_server: SmtpServer) -> None:
    queue(engine, "ada@example.org")
    deliver(engine, config(smtp_server), now=T0)
    queue(engine, "bob@example.org", now=T0 + timedelta(days=5))
    deliver(engine, config(smtp_server), now=T0 + timedelta(days=5))
    assert prune(engine, timedelta(days=7), now=T0 + timedelta(days=8)) == 1
    assert column(engine, "message", "ada@example.org") is None
    assert "Subject: Digest for bob@example.org" in column(engine, "message", "bob@example.org")
    assert queue(engine, "ada@example.org") == [None]
