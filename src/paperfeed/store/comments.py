"""Discussions: comments on papers and replies to them, edited or deleted by their authors,
reported by readers, hidden or restored by an admin; banned accounts; who opted in to a mail
for each reply, or for each comment on a paper by an author they follow. Each write is one
transaction.

A comment deleted while it has replies stays as an empty placeholder so that its thread
holds together; placeholders left without replies are removed. A comment or placeholder
changes the paper's comment count, so it moves the paper's ``changed_at`` as an upvote does
(pages of papers are kept until that moves); so does an edit, which changes its page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, exists, insert, select, update
from sqlalchemy.orm import aliased

from paperfeed.comment_html import comment_html
from paperfeed.store.activity import paper_id_of
from paperfeed.store.queries import SHOWN_COMMENT
from paperfeed.store.schema import (
    FollowKind,
    authors,
    comment_reports,
    comments,
    follows,
    paper_authors,
    papers,
    users,
)
from paperfeed.store.sql import inserted

MAX_BODY = 10_000  # characters of Markdown
MAX_REASON = 1_000
FIELDS = (
    comments.c.id,
    papers.c.arxiv_id,
    comments.c.parent_id,
    comments.c.user_id,
    users.c.name.label("author"),
    comments.c.body,
    comments.c.html,
    comments.c.created_at,
    comments.c.edited_at,
    comments.c.hidden_at,
    comments.c.deleted_at,
)


class CommentError(ValueError):
    """A comment, reply or report that cannot be taken, with the reason to show the user."""


class NoComment(LookupError):
    """No comment has this id (or it was deleted)."""


class NotAllowed(PermissionError):
    """Not the author's to change, or the account is banned from commenting."""


def _selected() -> Any:
    return (
        select(*FIELDS)
        .join(papers, papers.c.id == comments.c.paper_id)
        .outerjoin(users, users.c.id == comments.c.user_id)
    )


def get_comment(engine: Engine, comment_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(_selected().where(comments.c.id == comment_id)).mappings().first()
    return dict(row) if row else None


def paper_comments(
    engine: Engine, arxiv_id: str, include_hidden: bool = False
) -> list[dict[str, Any]]:
    """Every comment on the visible (or hidden: ``include_hidden``) paper, placeholders too,
    oldest first, so replies come after what they answer;
    :class:`~paperfeed.store.activity.UnknownPaper` if it is not shown."""
    with engine.connect() as conn:
        paper_id = paper_id_of(conn, arxiv_id, include_hidden)
        query = _selected().where(comments.c.paper_id == paper_id).order_by(comments.c.id)
        return [dict(row) for row in conn.execute(query).mappings()]


def _body(text: str) -> str:
    body = text.strip()
    if not body:
        raise CommentError("a comment needs some text")
    if len(body) > MAX_BODY:
        raise CommentError(f"a comment is at most {MAX_BODY:,} characters")
    return body


def _check_not_banned(conn: Connection, user_id: int) -> None:
    if conn.execute(select(users.c.banned_at).where(users.c.id == user_id)).scalar():
        raise NotAllowed("this account may no longer comment")


def add_comment(
    engine: Engine, user_id: int, arxiv_id: str, text: str, parent_id: int | None = None
) -> int:
    """Post a comment on a visible paper, or a reply to a shown comment on it; its id.
    :class:`~paperfeed.store.activity.UnknownPaper`, :class:`CommentError`, or
    :class:`NotAllowed` for a banned account."""
    body, now = _body(text), datetime.now(UTC)
    with engine.begin() as conn:
        _check_not_banned(conn, user_id)
        paper_id = paper_id_of(conn, arxiv_id)
        if parent_id is not None:
            parent = (comments.c.id == parent_id) & (comments.c.paper_id == paper_id)
            if conn.execute(select(comments.c.id).where(parent, SHOWN_COMMENT)).first() is None:
                raise CommentError(f"there is no comment {parent_id} on {arxiv_id} to reply to")
        row = {
            "paper_id": paper_id,
            "user_id": user_id,
            "parent_id": parent_id,
            "body": body,
            "html": comment_html(body),
            "created_at": now,
        }
        comment_id: int = conn.execute(
            insert(comments).values(row).returning(comments.c.id)
        ).scalar_one()
        _touch(conn, [paper_id], now)
    return comment_id


def _own(conn: Connection, user_id: int, comment_id: int) -> int:
    """The paper of the user's own comment (not deleted); raises otherwise."""
    found = conn.execute(
        select(comments.c.paper_id, comments.c.user_id).where(
            comments.c.id == comment_id, comments.c.deleted_at.is_(None)
        )
    ).first()
    if found is None:
        raise NoComment(comment_id)
    if found.user_id != user_id:
        raise NotAllowed("only its author can change a comment")
    return found.paper_id


def edit_comment(engine: Engine, user_id: int, comment_id: int, text: str) -> None:
    """Give the user's own comment a new text (rendered again)."""
    body = _body(text)
    with engine.begin() as conn:
        paper_id = _own(conn, user_id, comment_id)
        _check_not_banned(conn, user_id)
        now = datetime.now(UTC)
        change = {"body": body, "html": comment_html(body), "edited_at": now}
        conn.execute(update(comments).where(comments.c.id == comment_id).values(change))
        _touch(conn, [paper_id], now)


def delete_comment(engine: Engine, user_id: int, comment_id: int) -> None:
    """Delete the user's own comment: gone, or a placeholder while it has replies."""
    with engine.begin() as conn:
        paper_id = _own(conn, user_id, comment_id)
        _forget(conn, comments.c.id == comment_id, [paper_id])


def forget_user_comments(conn: Connection, user_id: int) -> None:
    """In the caller's transaction, delete every comment of the user as they would one by one:
    their words go, and placeholders (with no author) keep others' replies in their threads."""
    mine = comments.c.user_id == user_id
    paper_ids = list(conn.execute(select(comments.c.paper_id).where(mine).distinct()).scalars())
    _forget(conn, mine, paper_ids)


def _forget(conn: Connection, which: Any, paper_ids: list[int]) -> None:
    now = datetime.now(UTC)
    blank = {"body": "", "html": "", "user_id": None, "deleted_at": now}
    conn.execute(update(comments).where(which).values(blank))
    reply = aliased(comments)
    childless = ~exists().where(reply.c.parent_id == comments.c.id)
    leaves = comments.c.deleted_at.is_not(None) & comments.c.paper_id.in_(paper_ids) & childless
    while conn.execute(delete(comments).where(leaves)).rowcount:
        pass  # a placeholder whose last reply went is a leaf now
    _touch(conn, paper_ids, now)


def _touch(conn: Connection, paper_ids: list[int], now: datetime) -> None:
    if paper_ids:
        conn.execute(update(papers).where(papers.c.id.in_(paper_ids)).values(changed_at=now))


def report_comment(engine: Engine, user_id: int, comment_id: int, reason: str) -> bool:
    """Report a shown comment for an admin to look at; ``False`` if the user had already."""
    reason = reason.strip()[:MAX_REASON]
    with engine.begin() as conn:
        author = conn.execute(
            select(comments.c.user_id).where(comments.c.id == comment_id, SHOWN_COMMENT)
        ).first()
        if author is None:
            raise NoComment(comment_id)
        if author.user_id == user_id:
            raise CommentError("you cannot report your own comment: edit or delete it")
        row = {
            "comment_id": comment_id,
            "user_id": user_id,
            "reason": reason,
            "created_at": datetime.now(UTC),
        }
        return inserted(conn, comment_reports, row, "comment_id", "user_id")


def set_comment_hidden(engine: Engine, comment_id: int, hidden: bool) -> None:
    """An admin hides a comment (or shows it again); either way its open reports are dealt
    with and leave the queue."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        paper_id = conn.execute(
            select(comments.c.paper_id).where(comments.c.id == comment_id)
        ).scalar()
        if paper_id is None:
            raise NoComment(comment_id)
        change = {"hidden_at": now if hidden else None}
        conn.execute(update(comments).where(comments.c.id == comment_id).values(change))
        conn.execute(
            update(comment_reports)
            .where(
                comment_reports.c.comment_id == comment_id, comment_reports.c.resolved_at.is_(None)
            )
            .values(resolved_at=now)
        )
        _touch(conn, [paper_id], now)


def reported_comments(engine: Engine) -> list[dict[str, Any]]:
    """The admin queue: comments with open reports, most reported first, each with its
    ``reports`` (``reporter``, ``reason``, ``created_at``)."""
    reporter = users.alias("reporter")
    query = (
        select(
            comment_reports.c.comment_id,
            reporter.c.name.label("reporter"),
            comment_reports.c.reason,
            comment_reports.c.created_at,
        )
        .join(reporter, reporter.c.id == comment_reports.c.user_id)
        .where(comment_reports.c.resolved_at.is_(None))
        .order_by(comment_reports.c.created_at)
    )
    with engine.connect() as conn:
        reports: dict[int, list[dict[str, Any]]] = {}
        for row in conn.execute(query).mappings():
            reports.setdefault(row["comment_id"], []).append(dict(row))
        found = conn.execute(_selected().where(comments.c.id.in_(list(reports)))).mappings()
        queue = [{**row, "reports": reports[row["id"]]} for row in found]
    return sorted(queue, key=lambda c: (-len(c["reports"]), c["id"]))


def hidden_comments(engine: Engine, limit: int = 50) -> list[dict[str, Any]]:
    """The comments hidden most recently, for an admin to restore."""
    query = _selected().where(comments.c.hidden_at.is_not(None), comments.c.deleted_at.is_(None))
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(comments.c.hidden_at.desc()).limit(limit)).mappings()
        return [dict(row) for row in rows]


def set_banned(engine: Engine, user_id: int, banned: bool) -> bool:
    """Ban an account from commenting (or lift the ban); ``False`` if there is no such user."""
    moment = datetime.now(UTC) if banned else None
    with engine.begin() as conn:
        changed = conn.execute(update(users).where(users.c.id == user_id).values(banned_at=moment))
        return bool(changed.rowcount)


def banned_users(engine: Engine) -> list[dict[str, Any]]:
    query = select(users.c.id, users.c.name, users.c.email, users.c.banned_at).where(
        users.c.banned_at.is_not(None)
    )
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query.order_by(users.c.banned_at)).mappings()]


def set_reply_mail(engine: Engine, user_id: int, on: bool) -> None:
    """Opt in to (or out of) a mail for each reply to one's comments."""
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user_id).values(reply_mail=on))


def reply_recipient(engine: Engine, comment_id: int) -> dict[str, Any] | None:
    """Who is to be mailed about the reply ``comment_id``: the author of the comment it
    answers (``email``, ``name``), if they opted in, their address is verified, and they are
    not answering themselves; else ``None``."""
    reply, parent = comments.alias("reply"), comments.alias("parent")
    query = (
        select(users.c.id, users.c.email, users.c.name)
        .select_from(reply)
        .join(parent, parent.c.id == reply.c.parent_id)
        .join(users, users.c.id == parent.c.user_id)
        .where(
            reply.c.id == comment_id,
            users.c.reply_mail.is_(True),
            users.c.email_verified_at.is_not(None),
            reply.c.user_id.is_distinct_from(users.c.id),
        )
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def comment_followers(
    engine: Engine, comment_id: int, leave_out: int | None = None
) -> list[dict[str, Any]]:
    """Who is to be mailed about the new comment ``comment_id`` as a follower of one of its
    paper's authors: each account (``id``, ``email``, ``name``, the followed ``authors`` in
    the paper's order) that opted in, with a verified address, but its author and
    ``leave_out`` (the one a reply mail tells already)."""
    query = (
        select(users.c.id, users.c.email, users.c.name, authors.c.name.label("author"))
        .select_from(comments)
        .join(paper_authors, paper_authors.c.paper_id == comments.c.paper_id)
        .join(authors, authors.c.id == paper_authors.c.author_id)
        .join(follows, (follows.c.kind == FollowKind.AUTHOR) & (follows.c.target == authors.c.name))
        .join(users, users.c.id == follows.c.user_id)
        .where(
            comments.c.id == comment_id,
            users.c.follow_mail.is_(True),
            users.c.email_verified_at.is_not(None),
            comments.c.user_id.is_distinct_from(users.c.id),
            users.c.id.is_distinct_from(leave_out),
        )
        .order_by(users.c.id, paper_authors.c.position)
    )
    found: dict[int, dict[str, Any]] = {}
    with engine.connect() as conn:
        for row in conn.execute(query).mappings():
            recipient = found.setdefault(row["id"], {**row, "authors": []})
            recipient["authors"].append(row["author"])
    for recipient in found.values():
        del recipient["author"]
    return list(found.values())


def user_comments(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """The user's comments for their data export: paper, id, reply to, Markdown, times."""
    query = (
        select(
            papers.c.arxiv_id,
            comments.c.id,
            comments.c.parent_id,
            comments.c.body,
            comments.c.created_at,
            comments.c.edited_at,
            comments.c.hidden_at,
        )
        .join(papers, papers.c.id == comments.c.paper_id)
        .where(comments.c.user_id == user_id, comments.c.deleted_at.is_(None))
        .order_by(comments.c.id)
    )
    return [
        {
            **row,
            **{
                key: row[key].isoformat() if row[key] else None
                for key in ("created_at", "edited_at", "hidden_at")
            },
        }
        for row in conn.execute(query).mappings()
    ]
