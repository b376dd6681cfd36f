"""Follows' webhooks: setting and clearing one, the follows whose new papers are to be looked
for, the papers each webhook's calls carried, and what became of a call.

Sending, retrying and when to pause are :mod:`paperfeed.digest.webhooks`'s.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from paperfeed.store.outbox import UNSENT
from paperfeed.store.schema import MailKind, OutboxStatus, follows, outbox, users, webhook_papers
from paperfeed.store.sql import chunks


class NoFollow(LookupError):
    """The user has no follow with this id."""


def set_webhook(
    engine: Engine, user_id: int, follow_id: int, url: str, now: datetime, *, new_secret: bool
) -> str | None:
    """Send the follow's new papers to ``url`` (checked by the caller) from ``now`` on; a
    paused webhook starts again, from ``now`` too. The secret is made here, the first time
    or when ``new_secret`` asks: it is returned then, and only then (as GitHub shows a
    token once); ``None`` when the old one stays."""
    mine = (follows.c.id == follow_id) & (follows.c.user_id == user_id)
    with engine.begin() as conn:
        row = conn.execute(select(follows).where(mine)).first()
        if row is None:
            raise NoFollow(follow_id)
        values: dict[str, Any] = {
            "webhook_url": url,
            "webhook_failures": 0,
            "webhook_error": None,
            "webhook_paused_at": None,
        }
        if row.webhook_url is None or row.webhook_paused_at is not None:
            values["webhook_checked_at"] = now
        secret = None
        if new_secret or row.webhook_secret is None:
            secret = values["webhook_secret"] = secrets.token_hex(32)
        conn.execute(update(follows).where(mine).values(values))
    return secret


def clear_webhook(engine: Engine, user_id: int, follow_id: int) -> None:
    """Stop the follow's webhook: its calls not sent yet are cancelled when their turn comes."""
    mine = (follows.c.id == follow_id) & (follows.c.user_id == user_id)
    cleared = {
        "webhook_url": None,
        "webhook_secret": None,
        "webhook_checked_at": None,
        "webhook_failures": 0,
        "webhook_error": None,
        "webhook_paused_at": None,
    }
    with engine.begin() as conn:
        if not conn.execute(update(follows).where(mine).values(cleared)).rowcount:
            raise NoFollow(follow_id)


def user_follow(engine: Engine, user_id: int, follow_id: int) -> dict[str, Any]:
    """One of the user's follows, with its webhook's state."""
    mine = (follows.c.id == follow_id) & (follows.c.user_id == user_id)
    with engine.connect() as conn:
        row = conn.execute(select(follows).where(mine)).mappings().first()
    if row is None:
        raise NoFollow(follow_id)
    return dict(row)


def webhook_follows(engine: Engine) -> list[dict[str, Any]]:
    """The follows with a webhook that is not paused, oldest first."""
    query = (
        select(follows)
        .where(follows.c.webhook_url.is_not(None), follows.c.webhook_paused_at.is_(None))
        .order_by(follows.c.id)
    )
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def carried_by(engine: Engine, follow_id: int, paper_ids: Sequence[int]) -> set[int]:
    """Which of these papers the follow's webhook calls carried already."""
    found: set[int] = set()
    with engine.connect() as conn:
        for chunk in chunks(list(paper_ids)):
            query = select(webhook_papers.c.paper_id).where(
                webhook_papers.c.follow_id == follow_id, webhook_papers.c.paper_id.in_(chunk)
            )
            found.update(conn.execute(query).scalars())
    return found


def take_turn(conn: Connection, follow: Mapping[str, Any], now: datetime) -> bool:
    """Move the follow's watermark from where ``follow`` saw it to ``now``, in the caller's
    transaction; ``False`` if another run moved it first (that run queues these papers)."""
    statement = (
        update(follows)
        .where(
            follows.c.id == follow["id"],
            follows.c.webhook_checked_at == follow["webhook_checked_at"],
            follows.c.webhook_url.is_not(None),
        )
        .values(webhook_checked_at=now)
    )
    return conn.execute(statement).rowcount > 0


def save_webhook_papers(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Note, in the transaction that queues a call, the papers it carries (``follow_id``,
    ``paper_id``, ``outbox_id``): a paper carried before breaks the key, and the call with it."""
    if rows:
        conn.execute(insert(webhook_papers), rows)


def record_call(
    engine: Engine,
    message_id: int,
    follow_id: int,
    now: datetime,
    *,
    error: str | None,
    failed: bool,
    pause_after: int,
    on_pause: Callable[[Connection, dict[str, Any]], None] | None = None,
    **values: object,
) -> bool:
    """Record a call's outcome (``values`` for its outbox row) and the webhook's with it: a
    success clears its error and failures; an error is kept for the user to see, and a call
    that ``failed`` for good counts one more failure in a row. At ``pause_after`` the webhook
    is paused, its unsent calls are cancelled and ``on_pause`` is given the transaction and
    the follow with its owner's ``email``, ``name`` and ``email_verified_at``. Whether it was
    paused now."""
    with engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == message_id).values(values))
        mine = follows.c.id == follow_id
        if error is None:
            change = {"webhook_failures": 0, "webhook_error": None}
            conn.execute(update(follows).where(mine).values(change))
            return False
        failures = follows.c.webhook_failures + (1 if failed else 0)
        conn.execute(
            update(follows).where(mine).values(webhook_error=error, webhook_failures=failures)
        )
        count = conn.execute(select(follows.c.webhook_failures).where(mine)).scalar()
        if not failed or count is None or count < pause_after:
            return False
        conn.execute(update(follows).where(mine).values(webhook_paused_at=now))
        pending = (
            (outbox.c.follow_id == follow_id)
            & (outbox.c.kind == MailKind.WEBHOOK)
            & outbox.c.status.in_(UNSENT)
            & (outbox.c.id != message_id)
        )
        cancel = {"status": OutboxStatus.CANCELLED, "last_error": "webhook paused"}
        conn.execute(update(outbox).where(pending).values(cancel))
        if on_pause is not None:
            owner = (users.c.email, users.c.name, users.c.email_verified_at)
            query = select(follows, *owner).join(users, users.c.id == follows.c.user_id)
            on_pause(conn, dict(conn.execute(query.where(mine)).mappings().one()))
        return True
