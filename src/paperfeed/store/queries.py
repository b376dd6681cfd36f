"""Reading the store: one paper, and the figures ``paperfeed stats`` shows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, func, select

from paperfeed.store.schema import (
    authors,
    comments,
    ingest_runs,
    organisations,
    paper_authors,
    papers,
    submissions,
)

NOT_WITHDRAWN = papers.c.withdrawn.is_(False)
VISIBLE = (NOT_WITHDRAWN, papers.c.hidden.is_(False))
UPVOTES = func.coalesce(papers.c.upvotes, 0) + papers.c.votes  # ours and those counted elsewhere
SHOWN_COMMENT = comments.c.hidden_at.is_(None) & comments.c.deleted_at.is_(None)
# Hugging Face's count (comments there) plus the comments shown here
COMMENTS = func.coalesce(papers.c.num_comments, 0) + (
    select(func.count())
    .where(comments.c.paper_id == papers.c.id, SHOWN_COMMENT)
    .correlate(papers)
    .scalar_subquery()
)


def get_paper(engine: Engine, arxiv_id: str) -> dict[str, Any] | None:
    """A stored paper with its organisation, or ``None``."""
    query = (
        select(
            papers,
            organisations.c.handle.label("organisation_handle"),
            organisations.c.name.label("organisation_name"),
        )
        .outerjoin(organisations, papers.c.organisation_id == organisations.c.id)
        .where(papers.c.arxiv_id == arxiv_id)
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def is_stored(engine: Engine, arxiv_id: str) -> bool:
    """Whether the paper is stored and not withdrawn (hidden or not)."""
    query = select(papers.c.id).where(papers.c.arxiv_id == arxiv_id, papers.c.withdrawn.is_(False))
    with engine.connect() as conn:
        return conn.execute(query).first() is not None


def card_columns() -> list[ColumnElement[Any]]:
    """What a list of papers shows of each: upvotes are ours plus those counted elsewhere."""
    return [
        papers.c.id,
        papers.c.arxiv_id,
        papers.c.title,
        papers.c.authors,
        papers.c.categories,
        papers.c.primary_category,
        papers.c.doi,
        papers.c.announced,
        papers.c.published,
        UPVOTES.label("upvotes"),
        papers.c.upvotes.label("hf_upvotes"),  # where they come from
        papers.c.votes,
        papers.c.links,
        papers.c.abstract,
        organisations.c.handle.label("organisation"),
        organisations.c.name.label("organisation_name"),
        submissions.c.submitted_at,
        papers.c.ai_summary,
        papers.c.ai_keywords,
        papers.c.github_stars,
        COMMENTS.label("num_comments"),
        papers.c.submitted_on_daily_at,
        papers.c.submitted_by,
        papers.c.keywords,
        # together, the version of what a card shows
        papers.c.changed_at,
        papers.c.keywords_at,
    ]


def cards(
    engine: Engine,
    *where: ColumnElement[bool],
    order_by: Sequence[ColumnElement[Any]] = (),
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Cards of the visible papers matching ``where``, in ``order_by`` order."""
    query = _matching(card_columns(), where).order_by(*order_by).limit(limit).offset(offset or None)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def page_cards(
    engine: Engine,
    *where: ColumnElement[bool],
    order_by: Sequence[ColumnElement[Any]],
    limit: int | None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """:func:`cards` for a page of many matching papers: the page's papers found first, so
    that only their cards are made (a card made for each of a day's 4,500 papers and sorted
    took 30 ms of a 2.7M store's day page)."""
    page = _matching([papers.c.id], where).order_by(*order_by).limit(limit).offset(offset or None)
    with engine.connect() as conn:
        place = {key: at for at, key in enumerate(conn.execute(page).scalars())}
        found = conn.execute(_matching(card_columns(), [papers.c.id.in_(list(place))]))
        return sorted((dict(row) for row in found.mappings()), key=lambda c: place[c["id"]])


def _matching(columns: Sequence[Any], where: Sequence[ColumnElement[bool]]) -> Select[Any]:
    return (
        select(*columns)
        .outerjoin(organisations, papers.c.organisation_id == organisations.c.id)
        .outerjoin(submissions, submissions.c.paper_id == papers.c.id)
        .where(*VISIBLE, *where)
    )


CARD = (
    "title",
    "authors",
    "categories",
    "announced",
    "upvotes",
    "organisation",
    "links",
    "abstract",
    "keywords",
    # what an API result carries besides (Hugging Face's fields)
    "published",
    "submitted_at",
    "organisation_name",
    "ai_summary",
    "ai_keywords",
    "github_stars",
    "num_comments",
    "submitted_on_daily_at",
    "submitted_by",
)


def cards_by_id(engine: Engine, arxiv_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The cards of the visible papers among ``arxiv_ids``, by arXiv id."""
    return {c["arxiv_id"]: c for c in cards(engine, papers.c.arxiv_id.in_(list(arxiv_ids)))}


def cards_in_order(engine: Engine, arxiv_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The cards of the visible papers among ``arxiv_ids``, in that order (a user's list)."""
    found = cards_by_id(engine, arxiv_ids)
    return [found[i] for i in arxiv_ids if i in found]


def paper_cards(engine: Engine, arxiv_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """What a result list shows of each paper, by arXiv id; withdrawn and hidden papers are
    left out."""
    if not arxiv_ids:
        return {}
    found = cards_by_id(engine, arxiv_ids)
    return {key: {name: card[name] for name in CARD} for key, card in found.items()}


def titles_of(engine: Engine, arxiv_ids: Sequence[str]) -> dict[str, str]:
    """The titles of the stored papers among ``arxiv_ids`` (hidden and withdrawn ones too)."""
    if not arxiv_ids:
        return {}
    query = select(papers.c.arxiv_id, papers.c.title)
    with engine.connect() as conn:
        found = conn.execute(query.where(papers.c.arxiv_id.in_(set(arxiv_ids))))
        return {key: title for key, title in found}


def store_stats(engine: Engine) -> dict[str, Any]:
    """Counts of papers, authors and organisations, date ranges, top sources, last runs."""
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(papers)).scalar_one()
        first, last = conn.execute(
            select(func.min(papers.c.announced), func.max(papers.c.announced))
        ).one()
        sources = conn.execute(
            select(papers.c.source, func.count().label("n"))
            .group_by(papers.c.source)
            .order_by(func.count().desc(), papers.c.source)
            .limit(10)
        ).all()
        recent = (
            conn.execute(
                select(
                    ingest_runs.c.id,
                    ingest_runs.c.source,
                    ingest_runs.c.status,
                    ingest_runs.c.started_at,
                    ingest_runs.c.new,
                    ingest_runs.c.updated,
                    ingest_runs.c.unchanged,
                    ingest_runs.c.rejected,
                )
                .order_by(ingest_runs.c.id.desc())
                .limit(5)
            )
            .mappings()
            .all()
        )
        return {
            "papers": count,
            "authors": conn.execute(select(func.count()).select_from(authors)).scalar_one(),
            "paper_authors": conn.execute(
                select(func.count()).select_from(paper_authors)
            ).scalar_one(),
            "organisations": conn.execute(
                select(func.count()).select_from(organisations)
            ).scalar_one(),
            "withdrawn": conn.execute(
                select(func.count()).select_from(papers).where(papers.c.withdrawn.is_(True))
            ).scalar_one(),
            "announced_from": first.isoformat() if first else None,
            "announced_to": last.isoformat() if last else None,
            "sources": {source: n for source, n in sources},
            "recent_runs": [{**row, "started_at": row["started_at"].isoformat()} for row in recent],
        }
