"""Finding stored papers by what a reference gives: arXiv id, DOI, or title (see
:mod:`paperfeed.library.matching`, which decides what is a match)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from sqlalchemy import ColumnElement, Connection, Row, func, select

from paperfeed.store.queries import VISIBLE
from paperfeed.store.schema import papers
from paperfeed.store.sql import chunks


def papers_by_arxiv_id(conn: Connection, arxiv_ids: Iterable[str]) -> dict[str, list[Row]]:
    """The papers with these arXiv ids, hidden and withdrawn ones too (to say so): ``id``,
    ``arxiv_id``, ``hidden``, ``withdrawn``."""
    return _lookup(conn, papers.c.arxiv_id, arxiv_ids)


def papers_by_doi(conn: Connection, dois: Iterable[str]) -> dict[str, list[Row]]:
    """As :func:`papers_by_arxiv_id`, by lower-cased DOI."""
    return _lookup(conn, func.lower(papers.c.doi), dois)


def visible_titles(conn: Connection, folded: Iterable[str]) -> Iterator[Row]:
    """The ``id`` and ``title`` of the visible papers whose ``title_folded`` is among
    ``folded`` (see :func:`paperfeed.text.folded_title`)."""
    query = select(papers.c.id, papers.c.title).where(*VISIBLE)
    for chunk in chunks(sorted(folded)):
        yield from conn.execute(query.where(papers.c.title_folded.in_(chunk)))


def papers_by_id(conn: Connection, paper_ids: Iterable[int]) -> dict[int, Row]:
    """The ``id``, ``arxiv_id`` and ``authors`` of these papers."""
    found = {}
    query = select(papers.c.id, papers.c.arxiv_id, papers.c.authors)
    for chunk in chunks(sorted(set(paper_ids))):
        found.update({row.id: row for row in conn.execute(query.where(papers.c.id.in_(chunk)))})
    return found


def _lookup(
    conn: Connection, column: ColumnElement[str], values: Iterable[str]
) -> dict[str, list[Row]]:
    found: dict[str, list[Row]] = defaultdict(list)
    query = select(
        papers.c.id, papers.c.arxiv_id, papers.c.hidden, papers.c.withdrawn, column.label("key")
    )
    for chunk in chunks(sorted(values)):
        for row in conn.execute(query.where(column.in_(chunk)).order_by(papers.c.arxiv_id)):
            found[row.key].append(row)
    return found
