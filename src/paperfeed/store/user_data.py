"""All that the store keeps about one user: exported as one JSON document, or deleted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update

from paperfeed.store.comments import forget_user_comments, user_comments
from paperfeed.store.follows import user_follows
from paperfeed.store.schema import (
    api_tokens,
    not_interested,
    notes,
    paper_tags,
    papers,
    saved_papers,
    submissions,
    subscriptions,
    tags,
    users,
    votes,
)
from paperfeed.store.subscriptions import FOR_ACCOUNTS

FORMAT = "paperfeed-user-data/1"


def export_user_data(engine: Engine, user_id: int) -> dict[str, Any]:
    """The account, library (saved papers with tags and notes), upvotes, "not interested"
    marks, submissions, comments (Markdown as written), follows, subscriptions (once the address is
    verified) and API token names, as JSON-ready values."""
    with engine.connect() as conn:
        account = (
            conn.execute(
                select(
                    users.c.email,
                    users.c.name,
                    users.c.created_at,
                    users.c.preferences,
                    users.c.email_verified_at,
                ).where(users.c.id == user_id)
            )
            .mappings()
            .one()
        )
        verified = account["email_verified_at"]
        data = {
            "format": FORMAT,
            "exported_at": datetime.now(UTC).isoformat(),
            "account": {
                **account,
                "created_at": account["created_at"].isoformat(),
                "email_verified_at": verified.isoformat() if verified else None,
            },
            "library": _library(conn, user_id),
            "tags": sorted(
                conn.execute(select(tags.c.name).where(tags.c.user_id == user_id)).scalars()
            ),
            "upvoted": _papers(conn, votes, votes.c.created_at, user_id),
            "not_interested": _papers(conn, not_interested, not_interested.c.created_at, user_id),
            "submitted": _papers(conn, submissions, submissions.c.submitted_at, user_id),
            "comments": user_comments(conn, user_id),
            "follows": [
                {"kind": row["kind"], "target": row["target"], "at": row["created_at"].isoformat()}
                for row in user_follows(engine, user_id)
            ],
            # an address's subscriptions are the account's once it verified the address
            "subscriptions": _subscriptions(conn, user_id, account["email"]) if verified else [],
            "api_tokens": [
                {"name": name, "created_at": moment.isoformat()}
                for name, moment in conn.execute(
                    select(api_tokens.c.name, api_tokens.c.created_at).where(
                        api_tokens.c.user_id == user_id
                    )
                )
            ],
        }
    return data


def delete_account(engine: Engine, user_id: int) -> bool:
    """Delete the user and everything the store keeps about them, their upvotes taken back
    from the papers' counts; ``False`` if there is no such user.

    A verified address's subscriptions go too. Those of an address never verified are its
    owner's, who may not be the account holder: they stay, unlinked from the account (bar
    its recommendations and following digests, which have nothing left to learn from).

    Their comments are deleted as if they deleted each: the words go (they are the user's
    data), and one with replies stays as an empty "[deleted]" placeholder with no author, so
    that other people's replies keep their place in the thread.
    """
    with engine.begin() as conn:
        account = conn.execute(
            select(users.c.email, users.c.email_verified_at).where(users.c.id == user_id)
        ).first()
        if account is None:
            return False
        voted = select(votes.c.paper_id).where(votes.c.user_id == user_id)
        now = datetime.now(UTC)
        conn.execute(
            update(papers)
            .where(papers.c.id.in_(voted))
            .values(votes=papers.c.votes - 1, changed_at=now)
        )
        # their submissions go with the account, and so do those papers' places on a day
        submitted = select(submissions.c.paper_id).where(submissions.c.user_id == user_id)
        conn.execute(update(papers).where(papers.c.id.in_(submitted)).values(changed_at=now))
        if account.email_verified_at is not None:
            conn.execute(delete(subscriptions).where(subscriptions.c.email == account.email))
        else:
            linked = subscriptions.c.user_id == user_id
            own = linked & subscriptions.c.kind.in_(FOR_ACCOUNTS)
            conn.execute(delete(subscriptions).where(own))
            conn.execute(update(subscriptions).where(linked).values(user_id=None))
        forget_user_comments(conn, user_id)
        # the rest cascades from the user row (votes, library, notes, tags, tokens, ...)
        conn.execute(delete(users).where(users.c.id == user_id))
    return True


def _library(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    saved = conn.execute(
        select(papers.c.arxiv_id, papers.c.title, saved_papers.c.created_at)
        .join(saved_papers, saved_papers.c.paper_id == papers.c.id)
        .where(saved_papers.c.user_id == user_id)
        .order_by(saved_papers.c.created_at, papers.c.arxiv_id)
    ).all()
    tagged: dict[str, list[str]] = {}
    for arxiv_id, name in conn.execute(
        select(papers.c.arxiv_id, tags.c.name)
        .join(paper_tags, paper_tags.c.paper_id == papers.c.id)
        .join(tags, tags.c.id == paper_tags.c.tag_id)
        .where(tags.c.user_id == user_id)
        .order_by(func.lower(tags.c.name))
    ):
        tagged.setdefault(arxiv_id, []).append(name)
    noted = dict(
        conn.execute(
            select(papers.c.arxiv_id, notes.c.text)
            .join(notes, notes.c.paper_id == papers.c.id)
            .where(notes.c.user_id == user_id)
        ).all()
    )
    library = [
        {
            "arxiv_id": arxiv_id,
            "title": title,
            "saved_at": moment.isoformat(),
            "tags": tagged.get(arxiv_id, []),
            "note": noted.pop(arxiv_id, None),
        }
        for arxiv_id, title, moment in saved
    ]
    # notes on papers that are not saved are the user's data too
    library += [{"arxiv_id": key, "note": text, "tags": []} for key, text in sorted(noted.items())]
    return library


def _papers(conn: Connection, table, moment, user_id: int) -> list[dict[str, str]]:
    rows = conn.execute(
        select(papers.c.arxiv_id, moment)
        .join(table, table.c.paper_id == papers.c.id)
        .where(table.c.user_id == user_id)
        .order_by(moment, papers.c.arxiv_id)
    )
    return [{"arxiv_id": arxiv_id, "at": at.isoformat()} for arxiv_id, at in rows]


def _subscriptions(conn: Connection, user_id: int, email: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(subscriptions)
        .where((subscriptions.c.user_id == user_id) | (subscriptions.c.email == email))
        .order_by(subscriptions.c.id)
    ).mappings()
    keep = ("email", "kind", "frequency", "query", "filters", "timezone", "hour", "status")
    return [
        {**{key: row[key] for key in keep}, "created_at": row["created_at"].isoformat()}
        for row in rows
    ]
