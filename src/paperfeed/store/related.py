"""What links papers apart from their text: shared authors, shared categories, and readers
who saved both (the similar-papers signals read from the store)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, and_, func, select

from paperfeed.store.queries import NOT_WITHDRAWN, VISIBLE
from paperfeed.store.schema import paper_authors, papers, saved_papers

Counted = list[tuple[str, int]]  # (arXiv id, how many), most first


def categories_of(
    engine: Engine, arxiv_ids: Sequence[str], *, visible: bool = True
) -> dict[str, list[str]]:
    """The arXiv categories of the papers among ``arxiv_ids`` that are stored and neither
    withdrawn nor (if ``visible``) hidden; the others are left out."""
    if not arxiv_ids:
        return {}
    shown = VISIBLE if visible else (NOT_WITHDRAWN,)
    query = select(papers.c.arxiv_id, papers.c.categories).where(
        papers.c.arxiv_id.in_(set(arxiv_ids)), *shown
    )
    with engine.connect() as conn:
        return {key: list(found or []) for key, found in conn.execute(query)}


def coauthored(engine: Engine, arxiv_id: str, limit: int) -> Counted:
    """Visible papers sharing authors with ``arxiv_id``, by how many they share."""
    own = select(paper_authors.c.author_id).join(papers).where(papers.c.arxiv_id == arxiv_id)
    return _counted(
        engine,
        select(paper_authors.c.paper_id).where(paper_authors.c.author_id.in_(own)),
        arxiv_id,
        limit,
    )


def cosaved(engine: Engine, arxiv_id: str, limit: int) -> Counted:
    """Visible papers that readers who saved ``arxiv_id`` saved too, by how many did."""
    readers = select(saved_papers.c.user_id).join(papers).where(papers.c.arxiv_id == arxiv_id)
    return _counted(
        engine,
        select(saved_papers.c.paper_id).where(saved_papers.c.user_id.in_(readers)),
        arxiv_id,
        limit,
    )


def _counted(engine: Engine, links, arxiv_id: str, limit: int) -> Counted:
    """How often each visible paper other than ``arxiv_id`` appears among ``links`` (a
    one-column select of paper ids), most first."""
    found = links.subquery()
    count = func.count().label("n")
    query = (
        select(papers.c.arxiv_id, count)
        .join(found, found.c.paper_id == papers.c.id)
        .where(and_(papers.c.arxiv_id != arxiv_id, *VISIBLE))
        .group_by(papers.c.arxiv_id)
        .order_by(count.desc(), papers.c.arxiv_id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [(key, int(n)) for key, n in conn.execute(query)]
