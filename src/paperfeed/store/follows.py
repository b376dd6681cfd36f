"""What users follow: authors, organisations, categories and searches (``follows``), the
secret key of each account's Atom feed of them, and whether comments on their followed
authors' papers are mailed to them."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, select, update

from paperfeed.store.schema import FollowKind, follows, users
from paperfeed.store.sql import inserted

TARGET_CHARS = 1000  # the column's width


class FollowError(ValueError):
    """A follow the store cannot keep; the message says why in plain words."""


def follow(engine: Engine, user_id: int, kind: str, target: str) -> int:
    """Follow ``target`` (a :class:`FollowKind`); the follow's id, the existing one's if the user
    follows it already (a double click or two tabs change nothing)."""
    if kind not in set(FollowKind):
        raise FollowError(f"cannot follow a {kind!r}: one of {', '.join(FollowKind)}")
    target = target.strip()
    if not target or len(target) > TARGET_CHARS:
        raise FollowError(f"what to follow must have 1 to {TARGET_CHARS} characters")
    row = {"user_id": user_id, "kind": kind, "target": target, "created_at": datetime.now(UTC)}
    with engine.begin() as conn:
        inserted(conn, follows, row, "user_id", "kind", "target")
        return conn.execute(
            select(follows.c.id).where(
                follows.c.user_id == user_id, follows.c.kind == kind, follows.c.target == target
            )
        ).scalar_one()


def unfollow(engine: Engine, user_id: int, follow_id: int) -> bool:
    """Stop one of the user's follows; whether it was there."""
    with engine.begin() as conn:
        gone = conn.execute(
            delete(follows).where(follows.c.id == follow_id, follows.c.user_id == user_id)
        )
    return gone.rowcount > 0


def user_follows(engine: Engine, user_id: int) -> list[dict[str, Any]]:
    """The user's follows, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(follows).where(follows.c.user_id == user_id).order_by(follows.c.id)
        )
        return [dict(row) for row in rows.mappings()]


def followed(engine: Engine, user_id: int, kind: str, target: str) -> int | None:
    """The id of the user's follow of ``target``, if they follow it."""
    with engine.connect() as conn:
        return conn.execute(
            select(follows.c.id).where(
                follows.c.user_id == user_id,
                follows.c.kind == kind,
                follows.c.target == target.strip(),
            )
        ).scalar()


def feed_key(engine: Engine, user_id: int) -> str:
    """The secret part of the user's Atom feed URL, made on first use."""
    with engine.begin() as conn:
        conn.execute(
            update(users)
            .where(users.c.id == user_id, users.c.feed_key.is_(None))
            .values(feed_key=secrets.token_urlsafe(24))
        )
        return conn.execute(select(users.c.feed_key).where(users.c.id == user_id)).scalar_one()


def feed_owner(engine: Engine, key: str) -> int | None:
    """The account whose feed URL holds ``key``."""
    with engine.connect() as conn:
        return conn.execute(select(users.c.id).where(users.c.feed_key == key)).scalar()


def new_feed_key(engine: Engine, user_id: int) -> str:
    """A new secret for the user's feed URL: the old URL stops working."""
    key = secrets.token_urlsafe(24)
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user_id).values(feed_key=key))
    return key


def set_follow_mail(engine: Engine, user_id: int, on: bool) -> None:
    """Opt in to (or out of) a mail for each comment on a paper by an author one follows."""
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user_id).values(follow_mail=on))
