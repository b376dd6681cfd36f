"""Email subscriptions: who gets which digest, how often, and in which time zone.

A subscription starts ``pending`` and becomes ``active`` when the address confirms it (double
opt-in); ``unsubscribed`` and ``bounced`` (the mail server refused the address) get nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import Engine, delete, insert, select, update

from paperfeed.store.accounts import EMAIL
from paperfeed.store.schema import (
    DigestKind,
    Frequency,
    SubscriptionStatus,
    subscriptions,
    users,
)

KINDS = tuple(DigestKind)
# digests made from an account's own data: subscribed only by the account holder
FOR_ACCOUNTS = (DigestKind.RECOMMEND, DigestKind.FOLLOWING)
FREQUENCIES = tuple(Frequency)
LIVE = (SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE)
MAX_QUERY = 500
# what its owner is shown of a subscription (not the key its mailed links are signed with)
SHOWN = ("id", "email", "kind", "frequency", "query", "filters", "timezone", "hour", "status")


class SubscriptionError(ValueError):
    """A subscription that cannot be made, with the reason to show the user."""


def subscribe(
    engine: Engine,
    email: str,
    *,
    kind: str = DigestKind.TRENDING,
    frequency: str = Frequency.DAILY,
    query: str | None = None,
    filters: dict[str, Any] | None = None,
    timezone: str = "UTC",
    hour: int = 7,
    confirmed: bool = False,
) -> dict[str, Any]:
    """A new subscription (pending unless ``confirmed``), or the same live one again.

    A subscription belongs to the account with this email only once the account verified
    the address. A recommendations digest needs such an account: it is what the account
    saved and upvoted that the recommendations learn from.
    """
    email, query = email.strip().lower(), (query or "").strip() or None
    _check(email, kind, frequency, query, timezone, hour)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        account = conn.execute(
            select(users.c.id, users.c.email_verified_at).where(users.c.email == email)
        ).first()
        user_id = account.id if account and account.email_verified_at else None
        if kind in FOR_ACCOUNTS and user_id is None:
            learn = {
                DigestKind.RECOMMEND: "recommendations learn from an account's saved and "
                "upvoted papers: ",
                DigestKind.FOLLOWING: "this digest brings what an account follows: ",
            }[DigestKind(kind)]
            if account is None:
                raise SubscriptionError(f"{learn}sign up with {email} first")
            raise SubscriptionError(f"{learn}the account of {email} has not confirmed it yet")
        same = select(subscriptions.c.id).where(
            subscriptions.c.email == email,
            subscriptions.c.kind == kind,
            subscriptions.c.frequency == frequency,
            subscriptions.c.status.in_(LIVE),
            subscriptions.c.query.is_(None) if query is None else subscriptions.c.query == query,
        )
        found = conn.execute(same).scalar()
        if found is None:
            row = {
                "email": email,
                "user_id": user_id,
                "kind": kind,
                "frequency": frequency,
                "query": query,
                "filters": filters or None,
                "timezone": timezone,
                "hour": hour,
                "status": SubscriptionStatus.ACTIVE if confirmed else SubscriptionStatus.PENDING,
                "created_at": now,
                "confirmed_at": now if confirmed else None,
            }
            statement = insert(subscriptions).values(row).returning(subscriptions.c.id)
            found = conn.execute(statement).scalar_one()
    return get_subscription(engine, found) or {}


def _check(email: str, kind: str, frequency: str, query: str | None, zone: str, hour: int) -> None:
    if not EMAIL.match(email):
        raise SubscriptionError(f"{email!r} is not an email address")
    if kind not in KINDS:
        raise SubscriptionError(f"a digest is one of {', '.join(KINDS)}, not {kind!r}")
    if kind == DigestKind.SEARCH and not query:
        raise SubscriptionError("a saved-search digest needs a search query")
    if query and len(query) > MAX_QUERY:
        raise SubscriptionError(f"a saved search has at most {MAX_QUERY} characters")
    _check_timing(frequency, zone, hour)


def _check_timing(frequency: str, zone: str, hour: int) -> None:
    if frequency not in FREQUENCIES:
        raise SubscriptionError(f"a digest comes daily or weekly, not {frequency!r}")
    if not 0 <= hour <= 23:
        raise SubscriptionError("the hour is 0 to 23")
    if zone not in zone_names():
        raise SubscriptionError(f"{zone!r} is not a time zone name like Europe/Berlin")


@cache
def zone_names() -> list[str]:
    """The IANA time zone names, sorted."""
    return sorted(available_timezones() | {"UTC"})


def get_subscription(engine: Engine, subscription_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        query = select(subscriptions).where(subscriptions.c.id == subscription_id)
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def list_subscriptions(
    engine: Engine, *, email: str | None = None, status: SubscriptionStatus | None = None
) -> list[dict[str, Any]]:
    """Subscriptions, oldest first; only one address's or one status's if given."""
    query = select(subscriptions).order_by(subscriptions.c.id)
    if email is not None:
        query = query.where(subscriptions.c.email == email.strip().lower())
    if status is not None:
        query = query.where(subscriptions.c.status == status)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def confirm(engine: Engine, subscription_id: int) -> bool:
    """Activate a pending subscription (the address answered its confirmation mail);
    ``False`` if it is not pending (already active, or unsubscribed since)."""
    change = {"status": SubscriptionStatus.ACTIVE, "confirmed_at": datetime.now(UTC)}
    return _move(engine, subscription_id, (SubscriptionStatus.PENDING,), change)


def unsubscribe(engine: Engine, subscription_id: int) -> bool:
    """Stop a subscription; ``False`` if it was already stopped."""
    change = {"status": SubscriptionStatus.UNSUBSCRIBED, "unsubscribed_at": datetime.now(UTC)}
    return _move(engine, subscription_id, LIVE, change)


def change(
    engine: Engine, subscription_id: int, *, frequency: str, timezone: str, hour: int
) -> None:
    """Change when a subscription's digest comes."""
    _check_timing(frequency, timezone, hour)
    values = {"frequency": frequency, "timezone": timezone, "hour": hour}
    with engine.begin() as conn:
        conn.execute(
            update(subscriptions).where(subscriptions.c.id == subscription_id).values(values)
        )


def remove(engine: Engine, email: str) -> int:
    """Delete every subscription of an address, with its digest history; returns how many."""
    with engine.begin() as conn:
        gone = conn.execute(delete(subscriptions).where(subscriptions.c.email == email.lower()))
    return gone.rowcount


def _move(
    engine: Engine,
    subscription_id: int,
    before: tuple[SubscriptionStatus, ...],
    values: dict[str, object],
) -> bool:
    with engine.begin() as conn:
        moved = conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id == subscription_id, subscriptions.c.status.in_(before))
            .values(values)
        )
    return bool(moved.rowcount)
