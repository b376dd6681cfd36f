"""A user's library: saved papers filed under tags, short notes, and "not interested".

A tagged paper is always a saved one: tagging saves it, unsaving drops its tags.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, literal, select, union_all

from paperfeed.store.activity import paper_id_of, save_paper
from paperfeed.store.queries import cards_in_order
from paperfeed.store.schema import (
    not_interested,
    notes,
    paper_tags,
    papers,
    saved_papers,
    tags,
    votes,
)

MAX_TAG = 100
MAX_NOTE = 5000
MAX_TAGS = 20  # on one paper
EXPORT_BATCH = 1000


class LibraryError(ValueError):
    """A tag or note that cannot be kept, with the reason to show the user."""


def tag_name(text: str) -> str:
    """A tag as typed, with its whitespace folded; raises ``LibraryError`` if unusable."""
    name = re.sub(r"\s+", " ", text).strip()
    if not name:
        raise LibraryError("a tag needs a name")
    if len(name) > MAX_TAG:
        raise LibraryError(f"a tag name has at most {MAX_TAG} characters")
    return name


def set_tags(engine: Engine, user_id: int, arxiv_id: str, names: Iterable[str]) -> list[str]:
    """File the paper under exactly these tags (creating new ones), saving it; returns them."""
    # one tag per spelling regardless of case: "GNN" and "gnn" are the same tag
    typed = [tag_name(name) for name in names if name.strip()]
    unique = {name.casefold(): name for name in reversed(typed)}  # the first spelling wins
    wanted = sorted(unique.values(), key=str.casefold)
    if len(wanted) > MAX_TAGS:
        raise LibraryError(f"a paper takes at most {MAX_TAGS} tags")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        paper_id = paper_id_of(conn, arxiv_id)
        save_paper(conn, user_id, paper_id, now)
        mine = select(tags.c.id).where(tags.c.user_id == user_id)
        conn.execute(
            delete(paper_tags).where(
                paper_tags.c.paper_id == paper_id, paper_tags.c.tag_id.in_(mine)
            )
        )
        for tag_id in _tag_ids(conn, user_id, wanted, now):
            conn.execute(
                insert(paper_tags).values(tag_id=tag_id, paper_id=paper_id, created_at=now)
            )
    return wanted


def save_papers(engine: Engine, user_id: int, arxiv_ids: Sequence[str], tag: str | None) -> int:
    """Save many papers at once (an import), under ``tag`` if given; returns how many were new
    to the library. Papers already saved keep their tags and gain ``tag``."""
    now = datetime.now(UTC)
    name = tag_name(tag) if tag else None
    added = 0
    with engine.begin() as conn:
        tag_ids = _tag_ids(conn, user_id, [name], now) if name else []
        for arxiv_id in dict.fromkeys(arxiv_ids):
            paper_id = paper_id_of(conn, arxiv_id)
            added += save_paper(conn, user_id, paper_id, now)
            for tag_id in tag_ids:
                key = (paper_tags.c.tag_id == tag_id) & (paper_tags.c.paper_id == paper_id)
                if conn.execute(select(func.count()).where(key)).scalar_one() == 0:
                    conn.execute(
                        insert(paper_tags).values(tag_id=tag_id, paper_id=paper_id, created_at=now)
                    )
    return added


def user_tags(engine: Engine, user_id: int) -> list[dict[str, Any]]:
    """The user's tags with how many papers each holds, by name."""
    query = (
        select(tags.c.name, func.count(paper_tags.c.paper_id).label("papers"))
        .outerjoin(paper_tags, paper_tags.c.tag_id == tags.c.id)
        .where(tags.c.user_id == user_id)
        .group_by(tags.c.id, tags.c.name)
        .order_by(func.lower(tags.c.name))
    )
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def delete_tag(engine: Engine, user_id: int, name: str) -> bool:
    """Remove a tag (its papers stay saved); ``False`` if the user has no such tag."""
    with engine.begin() as conn:
        gone = conn.execute(delete(tags).where(tags.c.user_id == user_id, tags.c.name == name))
    return bool(gone.rowcount)


def set_note(engine: Engine, user_id: int, arxiv_id: str, text: str) -> str:
    """Keep the user's note on a paper (an empty text removes it); returns what was kept."""
    text = text.strip()
    if len(text) > MAX_NOTE:
        raise LibraryError(f"a note has at most {MAX_NOTE} characters")
    with engine.begin() as conn:
        paper_id = paper_id_of(conn, arxiv_id)
        conn.execute(delete(notes).where(notes.c.user_id == user_id, notes.c.paper_id == paper_id))
        if text:
            row = {"text": text, "updated_at": datetime.now(UTC)}
            conn.execute(insert(notes).values(user_id=user_id, paper_id=paper_id, **row))
    return text


def set_not_interested(engine: Engine, user_id: int, arxiv_id: str, on: bool) -> None:
    """Mark the paper "not interested" (``on``), which keeps papers like it out of the user's
    recommendations, or take the mark back; idempotent."""
    with engine.begin() as conn:
        paper_id = paper_id_of(conn, arxiv_id)
        key = (not_interested.c.user_id == user_id) & (not_interested.c.paper_id == paper_id)
        conn.execute(delete(not_interested).where(key))
        if on:
            row = {"user_id": user_id, "paper_id": paper_id, "created_at": datetime.now(UTC)}
            conn.execute(insert(not_interested).values(row))


def library_details(
    engine: Engine, user_id: int, arxiv_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """For each of these papers the user has anything on: ``{"tags": [...], "note": str | None,
    "not_interested": bool}``."""
    found: dict[str, dict[str, Any]] = {}

    def entry(arxiv_id: str) -> dict[str, Any]:
        return found.setdefault(arxiv_id, {"tags": [], "note": None, "not_interested": False})

    if not arxiv_ids:
        return found
    wanted = papers.c.arxiv_id.in_(list(arxiv_ids))
    with engine.connect() as conn:
        tagged = (
            select(papers.c.arxiv_id, tags.c.name)
            .join(paper_tags, paper_tags.c.paper_id == papers.c.id)
            .join(tags, tags.c.id == paper_tags.c.tag_id)
            .where(tags.c.user_id == user_id, wanted)
            .order_by(func.lower(tags.c.name))
        )
        for arxiv_id, name in conn.execute(tagged):
            entry(arxiv_id)["tags"].append(name)
        noted = select(papers.c.arxiv_id, notes.c.text).join(notes, notes.c.paper_id == papers.c.id)
        for arxiv_id, text in conn.execute(noted.where(notes.c.user_id == user_id, wanted)):
            entry(arxiv_id)["note"] = text
        marked = select(papers.c.arxiv_id).join(
            not_interested, not_interested.c.paper_id == papers.c.id
        )
        for arxiv_id in conn.execute(marked.where(not_interested.c.user_id == user_id, wanted)):
            entry(arxiv_id[0])["not_interested"] = True
    return found


def papers_by_mark(conn: Connection, user_id: int, tag: str | None = None) -> dict[str, list[str]]:
    """The arXiv ids of the papers the user marked, sorted, by mark: ``saved``, ``voted``,
    ``rejected`` (not interested) and, with ``tag``, ``tagged`` (its name matched ignoring
    case)."""
    kinds = {
        "saved": select(saved_papers.c.paper_id).where(saved_papers.c.user_id == user_id),
        "voted": select(votes.c.paper_id).where(votes.c.user_id == user_id),
        "rejected": select(not_interested.c.paper_id).where(not_interested.c.user_id == user_id),
    }
    if tag is not None:
        kinds["tagged"] = (
            select(paper_tags.c.paper_id)
            .join(tags, tags.c.id == paper_tags.c.tag_id)
            .where(tags.c.user_id == user_id, func.lower(tags.c.name) == tag.lower())
        )
    parts = [query.add_columns(literal(kind).label("kind")) for kind, query in kinds.items()]
    rows = union_all(*parts).subquery()
    found: dict[str, list[str]] = {kind: [] for kind in kinds}
    joined = select(papers.c.arxiv_id, rows.c.kind).join(rows, rows.c.paper_id == papers.c.id)
    for arxiv_id, kind in conn.execute(joined.order_by(papers.c.arxiv_id)):
        found[kind].append(arxiv_id)
    return found


def library_ids(
    engine: Engine, user_id: int, tag: str | None = None, limit: int = 100, offset: int = 0
) -> list[str]:
    """The arXiv ids in the user's library (under ``tag`` if given), most recently saved first."""
    query = (
        select(papers.c.arxiv_id)
        .join(saved_papers, saved_papers.c.paper_id == papers.c.id)
        .where(saved_papers.c.user_id == user_id)
        .order_by(saved_papers.c.created_at.desc(), papers.c.arxiv_id)
        .limit(limit)
        .offset(offset)
    )
    if tag is not None:
        tagged = (
            select(paper_tags.c.paper_id)
            .join(tags, tags.c.id == paper_tags.c.tag_id)
            .where(tags.c.user_id == user_id, tags.c.name == tag)
        )
        query = query.where(papers.c.id.in_(tagged))
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def whole_library(engine: Engine, user_id: int, tag: str | None = None) -> list[dict[str, Any]]:
    """Every card of the user's library (under ``tag``), most recently saved first (for an
    export): read in batches, so that a large library is neither cut off nor one huge query."""
    found: list[dict[str, Any]] = []
    while ids := library_ids(engine, user_id, tag, EXPORT_BATCH, len(found)):
        found += cards_in_order(engine, ids)
        if len(ids) < EXPORT_BATCH:
            break
    return found


def _tag_ids(conn: Connection, user_id: int, names: Sequence[str], now: datetime) -> list[int]:
    """The ids of the user's tags with these names, creating the missing ones."""
    folded = [name.casefold() for name in names]
    query = select(tags.c.name, tags.c.id).where(
        tags.c.user_id == user_id, func.lower(tags.c.name).in_(folded)
    )
    known = {name.casefold(): tag_id for name, tag_id in conn.execute(query)}
    for name, key in zip(names, folded, strict=True):
        if key not in known:
            row = {"user_id": user_id, "name": name, "created_at": now}
            known[key] = conn.execute(insert(tags).values(row).returning(tags.c.id)).scalar_one()
    return [known[key] for key in folded]
