"""What users do to papers: upvote (once each, undoable), save, submit; admins hide.

An upvote also adds to ``papers.votes`` in the same transaction, and stamps ``changed_at``
so the search index picks up the new count on its next update.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, func, select, update

from paperfeed.store.schema import paper_tags, papers, saved_papers, submissions, tags, votes
from paperfeed.store.sql import inserted


class UnknownPaper(LookupError):
    """No visible paper has this arXiv id."""


def set_vote(engine: Engine, user_id: int, arxiv_id: str, on: bool) -> int:
    """Upvote (``on``) or take the upvote back; idempotent, however many come at once (the
    count moves only with the row written or deleted). Returns the paper's upvotes."""
    with engine.begin() as conn:
        paper_id = paper_id_of(conn, arxiv_id)
        if on:
            row = {"user_id": user_id, "paper_id": paper_id, "created_at": datetime.now(UTC)}
            changed = inserted(conn, votes, row, "user_id", "paper_id")
        else:
            key = (votes.c.user_id == user_id) & (votes.c.paper_id == paper_id)
            changed = conn.execute(delete(votes).where(key)).rowcount > 0
        if changed:
            conn.execute(
                update(papers)
                .where(papers.c.id == paper_id)
                .values(votes=papers.c.votes + (1 if on else -1), changed_at=datetime.now(UTC))
            )
        total = select(func.coalesce(papers.c.upvotes, 0) + papers.c.votes)
        return conn.execute(total.where(papers.c.id == paper_id)).scalar_one()


def set_saved(engine: Engine, user_id: int, arxiv_id: str, on: bool) -> None:
    """Save the paper for the user (``on``) or remove it with its tags; idempotent, however
    many come at once."""
    with engine.begin() as conn:
        paper_id = paper_id_of(conn, arxiv_id)
        if on:
            save_paper(conn, user_id, paper_id, datetime.now(UTC))
            return
        key = (saved_papers.c.user_id == user_id) & (saved_papers.c.paper_id == paper_id)
        conn.execute(delete(saved_papers).where(key))
        mine = select(tags.c.id).where(tags.c.user_id == user_id)
        conn.execute(
            delete(paper_tags).where(
                paper_tags.c.paper_id == paper_id, paper_tags.c.tag_id.in_(mine)
            )
        )


def save_paper(conn: Connection, user_id: int, paper_id: int, now: datetime) -> bool:
    """Save a paper for the user unless it is saved already: whether it was saved now."""
    row = {"user_id": user_id, "paper_id": paper_id, "created_at": now}
    return inserted(conn, saved_papers, row, "user_id", "paper_id")


def record_submission(engine: Engine, user_id: int, arxiv_id: str) -> bool:
    """Note that the user submitted the paper; ``False`` if somebody already had. The paper
    changes with it: it now shows on the day it was submitted."""
    now = datetime.now(UTC)
    row = {"user_id": user_id, "submitted_at": now}
    with engine.begin() as conn:
        row["paper_id"] = paper_id = paper_id_of(conn, arxiv_id)
        if not inserted(conn, submissions, row, "paper_id"):
            return False
        conn.execute(update(papers).where(papers.c.id == paper_id).values(changed_at=now))
        return True


def submitter(engine: Engine, arxiv_id: str) -> tuple[int, datetime] | None:
    """Who submitted the paper and when, if anybody did."""
    query = (
        select(submissions.c.user_id, submissions.c.submitted_at)
        .join(papers, papers.c.id == submissions.c.paper_id)
        .where(papers.c.arxiv_id == arxiv_id)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return (row.user_id, row.submitted_at) if row else None


def set_hidden(engine: Engine, arxiv_id: str, hidden: bool) -> None:
    """Hide a paper from every page, feed and search (or show it again)."""
    with engine.begin() as conn:
        paper_id = paper_id_of(conn, arxiv_id, include_hidden=True)
        change = {"hidden": hidden, "changed_at": datetime.now(UTC)}
        conn.execute(update(papers).where(papers.c.id == paper_id).values(change))


def marks(engine: Engine, user_id: int, arxiv_ids: Sequence[str]) -> dict[str, set[str]]:
    """Which of the papers the user has upvoted and saved: ``{"voted": …, "saved": …}``."""
    found: dict[str, set[str]] = {"voted": set(), "saved": set()}
    if not arxiv_ids:
        return found
    with engine.connect() as conn:
        for name, table in (("voted", votes), ("saved", saved_papers)):
            query = (
                select(papers.c.arxiv_id)
                .join(table, table.c.paper_id == papers.c.id)
                .where(table.c.user_id == user_id, papers.c.arxiv_id.in_(list(arxiv_ids)))
            )
            found[name] = set(conn.execute(query).scalars())
    return found


def activity_ids(engine: Engine, user_id: int, limit: int = 100) -> dict[str, list[str]]:
    """The arXiv ids a user submitted, upvoted and saved, newest first."""
    found = {}
    with engine.connect() as conn:
        for name, table, moment in (
            ("submitted", submissions, submissions.c.submitted_at),
            ("upvoted", votes, votes.c.created_at),
            ("saved", saved_papers, saved_papers.c.created_at),
        ):
            query = (
                select(papers.c.arxiv_id)
                .join(table, table.c.paper_id == papers.c.id)
                .where(table.c.user_id == user_id)
                .order_by(moment.desc())
                .limit(limit)
            )
            found[name] = list(conn.execute(query).scalars())
    return found


def paper_id_of(conn: Connection, arxiv_id: str, include_hidden: bool = False) -> int:
    query = select(papers.c.id).where(papers.c.arxiv_id == arxiv_id, papers.c.withdrawn.is_(False))
    if not include_hidden:
        query = query.where(papers.c.hidden.is_(False))
    paper_id = conn.execute(query).scalar()
    if paper_id is None:
        raise UnknownPaper(arxiv_id)
    return paper_id
