"""The outbox: every mail is rendered once into a row, then delivered, retried or given up.

Each mail is queued exactly once: its row is keyed (a digest by subscription and period) and
a second row with the same key is never written. Delivery is at least once. A message's
outcome is committed right after the server's reply, so a process killed between the
server's 250 and that commit, or a connection lost before that 250 arrived, sends that one
message again on a later run; its ``Message-ID`` comes from the key, so mail clients can tell
the copy.

Two runs at once (cron overlapping, ``serve``'s scheduler and a manual run) never send the
same message: each run claims one message at a time, setting status ``sending`` and a lease
that ends at ``next_attempt_at``. On PostgreSQL the claim skips rows another run has locked;
on SQLite the write lock serialises claims, and the claim's ``UPDATE`` re-checks that the
row is still due, so only one run wins it. A crashed run's claim expires ``LEASE`` after it
was taken (in real time, even in a run given a fixed ``now``), and the message is due again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.parser import HeaderParser
from email.utils import format_datetime, parseaddr

from sqlalchemy import Connection, Engine, Row

from paperfeed.digest.smtp import (
    PermanentFailure,
    ServerUnavailable,
    SmtpConfig,
    SmtpConnection,
    TemporaryFailure,
)
from paperfeed.store.outbox import (
    bounce_message,
    claim_message,
    count_unsent,
    prune_sent,
    queue_message,
    update_message,
)
from paperfeed.store.schema import MailKind, OutboxStatus, SubscriptionStatus

LEASE = timedelta(minutes=10)  # far longer than one send may take (SMTP timeout: 30 s)
FIRST_RETRY = timedelta(minutes=1)  # then doubled after each failure ...
LONGEST_RETRY = timedelta(hours=6)  # ... up to this
MAX_ATTEMPTS = 12  # with the delays above: about 20 hours of trying
MAX_AGE = timedelta(days=2)  # a digest this old is stale: give up


@dataclass
class DeliveryReport:
    """What a delivery run did; ``error`` says why it stopped early (server unavailable)."""

    sent: int = 0
    retry_later: int = 0
    failed: int = 0
    waiting: int = 0
    cancelled: int = 0  # digests of subscriptions stopped since they were queued
    error: str | None = None

    @property
    def tried(self) -> int:
        return self.sent + self.retry_later + self.failed

    def __str__(self) -> str:
        line = (
            f"{self.sent} sent, {self.retry_later} to retry later, {self.failed} failed, "
            f"{self.waiting} waiting"
        )
        if self.cancelled:
            line += f", {self.cancelled} cancelled (unsubscribed, or the webhook stopped)"
        return f"{line}; stopped: {self.error}" if self.error else line


def enqueue(
    conn: Connection,
    key: str,
    email: str,
    kind: MailKind,
    message: Message,
    subscription_id: int | None = None,
    now: datetime | None = None,
) -> int | None:
    """Queue a mail in the caller's transaction, once per ``key``; ``None``: already queued.

    The message is given a ``Message-ID`` derived from the key and a ``Date`` (in place: a
    run queues thousands, and copying each costs more than rendering it).
    """
    now = now or datetime.now(UTC)
    row = {
        "key": key,
        "subscription_id": subscription_id,
        "email": email.strip().lower(),
        "kind": kind,
        "message": _wire(_stamped(message, key, now)),
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    return queue_message(conn, row)


def message_id(key: str, domain: str) -> str:
    """The same ``Message-ID`` for every copy of the message with this key."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try: 1, 2, 4 … minutes, at most 6 h."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)


def deliver(
    engine: Engine,
    config: SmtpConfig | None,
    now: datetime | None = None,
    limit: int | None = None,
    progress: Callable[[DeliveryReport], None] | None = None,
) -> DeliveryReport:
    """Send the due messages, oldest first, over one connection; ``config=None``: none.

    Stops early when the server is unavailable, leaving the rest pending. ``now`` fixes the
    clock for due times, backoff and ``sent_at``; ``limit`` caps the messages tried;
    ``progress`` sees the report after each.
    """
    lease_clock = moving_clock(now)
    clock = (lambda: now) if now else lease_clock
    report = DeliveryReport()
    if config is not None:
        with SmtpConnection(config) as smtp:
            while not report.error and (limit is None or report.tried < limit):
                claimed = claim_message(engine, clock(), lease_clock() + LEASE)
                if claimed is None:
                    break
                _attempt(engine, smtp, claimed, clock(), report)
                if progress:
                    progress(report)
    report.waiting = max(0, count_unsent(engine) - report.retry_later)
    return report


def moving_clock(start: datetime | None) -> Callable[[], datetime]:
    """A clock from ``start`` (default: now) on, moving with real time.

    Leases need it: a run told a fixed ``now`` still spends real time sending, and a lease
    taken late in a long run must not have expired already for the other runs.
    """
    origin, started = start or datetime.now(UTC), time.monotonic()
    return lambda: origin + timedelta(seconds=time.monotonic() - started)


def prune(engine: Engine, older_than: timedelta, now: datetime | None = None) -> int:
    """Drop the text of mails sent longer ago than ``older_than``; how many were pruned.

    The rows stay: their keys keep a digest from being queued twice.
    """
    return prune_sent(engine, (now or datetime.now(UTC)) - older_than)


def _wire(message: Message) -> str:
    """The message as sent: its own policy (legacy or modern), lines ending in CRLF."""
    return message.as_string(policy=message.policy.clone(linesep="\r\n"))


def _stamped(message: Message, key: str, now: datetime) -> Message:
    domain = parseaddr(str(message.get("From", "")))[1].rpartition("@")[2] or "localhost"
    del message["Message-ID"]
    message["Message-ID"] = message_id(key, domain)
    if "Date" not in message:
        message["Date"] = format_datetime(now)
    return message


def _attempt(
    engine: Engine, smtp: SmtpConnection, row: Row, now: datetime, report: DeliveryReport
) -> None:
    if row.suppressed is not None:
        update_message(
            engine, row.id, status=OutboxStatus.FAILED, last_error=f"suppressed: {row.suppressed}"
        )
        report.failed += 1
        return
    stopped = (
        row.subscription_id is not None and row.subscription_status != SubscriptionStatus.ACTIVE
    )
    if row.kind == MailKind.DIGEST and stopped:
        # unsubscribed (or bounced) after the digest was queued: it must not go out
        update_message(
            engine, row.id, status=OutboxStatus.CANCELLED, last_error=f"{row.subscription_status}"
        )
        report.cancelled += 1
        return
    try:
        smtp.send(_sender(row.message), row.email, row.message.encode())
    except PermanentFailure as error:
        bounce_message(engine, row.id, row.email, row.attempts + 1, str(error), now)
        report.failed += 1
    except TemporaryFailure as error:
        if _retry_later(engine, row, str(error), now):
            report.retry_later += 1
        else:
            report.failed += 1
        if isinstance(error, ServerUnavailable):
            report.error = str(error)
    else:
        update_message(
            engine, row.id, status=OutboxStatus.SENT, attempts=row.attempts + 1, sent_at=now
        )
        report.sent += 1


def _sender(message: str) -> str:
    """The envelope sender: the message's From address."""
    return parseaddr(HeaderParser().parsestr(message).get("From", ""))[1]


def _retry_later(engine: Engine, row: Row, error: str, now: datetime) -> bool:
    """Schedule the next try; ``False`` if the message has been tried too long and fails."""
    attempts = row.attempts + 1
    if attempts >= MAX_ATTEMPTS or now - row.created_at >= MAX_AGE:
        update_message(
            engine, row.id, status=OutboxStatus.FAILED, attempts=attempts, last_error=error
        )
        return False
    next_attempt_at = now + retry_delay(attempts)
    update_message(
        engine,
        row.id,
        status=OutboxStatus.PENDING,
        attempts=attempts,
        next_attempt_at=next_attempt_at,
        last_error=error,
    )
    return True
