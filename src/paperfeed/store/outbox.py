"""The outbox's rows: mails and webhook calls queued once per key, claimed by one delivery
run at a time, and what became of them; the addresses that refused mail; the papers each
queued digest carried.

Sending, retrying and what a server's reply means are :mod:`paperfeed.digest.outbox`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Row, func, insert, select, update

from paperfeed.store.schema import (
    MailKind,
    OutboxStatus,
    SubscriptionStatus,
    digest_papers,
    follows,
    outbox,
    papers,
    subscriptions,
    suppressed_addresses,
)
from paperfeed.store.sql import insert_new

UNSENT = (OutboxStatus.PENDING, OutboxStatus.SENDING)


def queue_message(conn: Connection, row: Mapping[str, Any]) -> int | None:
    """Insert an outbox row in the caller's transaction; ``None`` if its key is queued already."""
    statement = insert_new(conn, outbox, "key").values(row).returning(outbox.c.id)
    return conn.execute(statement).scalar()


def claim_message(
    engine: Engine, now: datetime, lease_until: datetime, *, webhooks: bool = False
) -> Row | None:
    """Take the next mail (``webhooks``: webhook call) due at ``now`` for this run until
    ``lease_until``; ``None`` when nothing is due. A mail comes with the reason its address is
    suppressed (``suppressed``) and its subscription's status (``subscription_status``); a call
    with its follow's webhook as it is now (``url``, ``secret``, ``paused_at``: no ``url`` once
    the webhook was cleared or the follow deleted).

    On PostgreSQL the read skips rows another run has locked; on SQLite the write lock
    serialises claims, and the ``UPDATE`` re-checks that the row is still due, so only one run
    wins it.
    """
    due = outbox.c.status.in_(UNSENT) & (outbox.c.next_attempt_at <= now)
    query = (
        select(
            outbox,
            suppressed_addresses.c.reason.label("suppressed"),
            subscriptions.c.status.label("subscription_status"),
            follows.c.webhook_url.label("url"),
            follows.c.webhook_secret.label("secret"),
            follows.c.webhook_paused_at.label("paused_at"),
        )
        .outerjoin(suppressed_addresses, suppressed_addresses.c.email == outbox.c.email)
        .outerjoin(subscriptions, subscriptions.c.id == outbox.c.subscription_id)
        .outerjoin(follows, follows.c.id == outbox.c.follow_id)
        .where(due, _calls(webhooks))
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(1)
        .with_for_update(of=outbox, skip_locked=True)  # PostgreSQL; SQLite ignores it
    )
    lease = {"status": OutboxStatus.SENDING, "next_attempt_at": lease_until}
    while True:
        with engine.begin() as conn:
            row = conn.execute(query).first()
            if row is None:
                return None
            take = update(outbox).where(outbox.c.id == row.id, due).values(lease)
            if conn.execute(take).rowcount:
                return row
        # another run took it between our SELECT and UPDATE (SQLite): try the next one


def _calls(webhooks: bool) -> ColumnElement[bool]:
    """Webhook calls, or mails."""
    if webhooks:
        return outbox.c.kind == MailKind.WEBHOOK
    return outbox.c.kind != MailKind.WEBHOOK


def update_message(engine: Engine, message_id: int, **values: object) -> None:
    """Record what became of a message."""
    with engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == message_id).values(values))


def bounce_message(
    engine: Engine, message_id: int, email: str, attempts: int, reply: str, now: datetime
) -> None:
    """The address does not take mail: fail the message, suppress the address and mark its
    active subscriptions bounced, in one transaction."""
    with engine.begin() as conn:
        change = {"status": OutboxStatus.FAILED, "attempts": attempts, "last_error": reply}
        conn.execute(update(outbox).where(outbox.c.id == message_id).values(change))
        suppress = {"email": email, "reason": reply, "created_at": now}
        conn.execute(insert_new(conn, suppressed_addresses, "email").values(suppress))
        active = (subscriptions.c.email == email) & (
            subscriptions.c.status == SubscriptionStatus.ACTIVE
        )
        conn.execute(update(subscriptions).where(active).values(status=SubscriptionStatus.BOUNCED))


def prune_sent(engine: Engine, cutoff: datetime) -> int:
    """Drop the text of the mails sent before ``cutoff``; how many were pruned."""
    statement = (
        update(outbox)
        .where(
            outbox.c.status == OutboxStatus.SENT,
            outbox.c.sent_at < cutoff,
            outbox.c.message.is_not(None),
        )
        .values(message=None)
    )
    with engine.begin() as conn:
        return conn.execute(statement).rowcount


def count_unsent(engine: Engine, *, webhooks: bool = False) -> int:
    """How many mails (``webhooks``: webhook calls) are pending or being sent."""
    unsent = outbox.c.status.in_(UNSENT)
    query = select(func.count()).select_from(outbox).where(unsent, _calls(webhooks))
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def digest_keys_since(engine: Engine, since: datetime) -> set[str]:
    """The keys of the digests queued since ``since``."""
    query = select(outbox.c.key).where(
        outbox.c.kind == MailKind.DIGEST, outbox.c.created_at >= since
    )
    with engine.connect() as conn:
        return set(conn.execute(query).scalars())


def suppressed_emails(engine: Engine) -> set[str]:
    """The addresses that get no more mail."""
    with engine.connect() as conn:
        return set(conn.execute(select(suppressed_addresses.c.email)).scalars())


def save_carried(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Note, in the transaction that queues the digests, which papers each carries
    (``subscription_id``, ``paper_id``, ``outbox_id``)."""
    if rows:
        conn.execute(insert(digest_papers), rows)


def carried_papers(engine: Engine, paper_ids: Sequence[int]) -> dict[int, set[str]]:
    """Which of these papers each subscription's digests carried: arXiv ids by subscription."""
    found: dict[int, set[str]] = {}
    query = (
        select(digest_papers.c.subscription_id, papers.c.arxiv_id)
        .join(papers, papers.c.id == digest_papers.c.paper_id)
        .where(digest_papers.c.paper_id.in_(list(paper_ids)))
    )
    with engine.connect() as conn:
        for subscription_id, arxiv_id in conn.execute(query):
            found.setdefault(subscription_id, set()).add(arxiv_id)
    return found
