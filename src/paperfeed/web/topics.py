"""Topics: the rising ones (``/topics``, ``/api/topics``) and one topic (``/topics/{id}``,
``/api/topics/{id}``).

The data functions (:func:`rising_list`, :func:`topic_view`) read what a page or its JSON twin
shows; the routes only render or serve it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse

from paperfeed.ranking.rising import WEEKS, Rising, history, rising_topics
from paperfeed.services import Services
from paperfeed.store.feed import in_categories
from paperfeed.store.schema import TopicLevel, papers
from paperfeed.store.topics import (
    StoredTopic,
    count_topic_papers,
    get_topic,
    live_topics,
    top_authors,
    top_organisations,
    topic_papers,
)
from paperfeed.web.api_docs import documented
from paperfeed.web.browse import page_categories
from paperfeed.web.charts import Chart, counts_chart, sparkline
from paperfeed.web.deps import ServicesDep
from paperfeed.web.render import page
from paperfeed.web.security import current_user
from paperfeed.web.views import (
    PER_PAGE,
    CategoryParam,
    PageNumber,
    api_categories,
    entry_json,
    with_marks,
)
from paperfeed.web.views import latest_day as newest_day

log = logging.getLogger("paperfeed.web")
router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["topics"])
TOP_PAPERS = 3  # per topic in the list
TOP_PEOPLE = 10  # authors, organisations
RELATED = 5
LISTED = 50  # topics on /topics
LEVELS = {"broad": TopicLevel.BROAD, "fine": TopicLevel.FINE}
LevelParam = Annotated[
    Literal["broad", "fine"], Query(description="broad topics, or the fine ones inside them")
]
TopicId = Annotated[int, Path(ge=1, le=2**31)]
FORMULA = (
    "growth = (n + v/10 + 2) / (m + 2): n papers and v upvotes this week, m the mean of "
    "n + v/10 over the 8 weeks before"
)


@dataclass(frozen=True)
class RisingEntry:
    """A rising topic, its most upvoted papers of these weeks (cards), and the topics above
    and below it."""

    rising: Rising
    top: list[dict[str, Any]]
    parent: StoredTopic | None
    children: list[StoredTopic]


@dataclass(frozen=True)
class RisingList:
    """The topics of a level by growth in the week ending on ``end`` (``None``: no papers)."""

    end: date | None
    topics: list[RisingEntry]


@dataclass(frozen=True)
class TopicView:
    """A live topic and what its page shows: its history (``(week's last day, papers)`` and
    ``(month's first day, papers)``), people, one page of its papers (cards) and neighbours."""

    topic: StoredTopic
    parent: StoredTopic | None
    weekly: list[tuple[date, int]]
    monthly: list[tuple[date, int]]
    authors: list[tuple[str, int]]
    organisations: list[tuple[str, str, int]]
    cards: list[dict[str, Any]]
    total: int
    page: int
    children: list[StoredTopic]
    related: list[StoredTopic]


def topic_json(topic: StoredTopic) -> dict[str, Any]:
    """What every answer says of a topic."""
    return {
        "id": topic.id,
        "level": topic.level.name.lower(),
        "parent": topic.parent_id,
        "name": topic.name,
        "label": topic.label,
        "categories": topic.categories,
        "size": topic.size,
        "refitAt": topic.refit_at.isoformat(),
    }


def rising_list(services: Services, level: TopicLevel, limit: int) -> RisingList:
    """The topics at ``level`` by growth this week, each with its most upvoted papers of
    those weeks."""
    engine = services.engine
    end = newest_day(engine)
    ranked = rising_topics(engine, level, end)[:limit]
    every = live_topics(engine)
    by_id = {topic.id: topic for topic in every}
    since = [papers.c.announced > end - timedelta(weeks=WEEKS + 1)] if end else []
    return RisingList(
        end,
        [
            RisingEntry(
                item,
                topic_papers(engine, item.topic, *since, by_votes=True, limit=TOP_PAPERS),
                by_id.get(item.topic.parent_id) if item.topic.parent_id else None,
                [topic for topic in every if topic.parent_id == item.topic.id],
            )
            for item in ranked
        ],
    )


def rising_json(found: RisingList) -> dict[str, Any]:
    return {
        "weekEnds": _week_ends(found.end, WEEKS + 1),
        "formula": FORMULA,
        "topics": [_rising_json(entry) for entry in found.topics],
    }


def _rising_json(entry: RisingEntry) -> dict[str, Any]:
    item = entry.rising
    return {
        **topic_json(item.topic),
        "growth": round(item.growth, 4),
        "papersThisWeek": item.papers,
        "upvotesThisWeek": item.upvotes,
        "baseline": round(item.baseline, 4),
        "weekly": item.weekly,
        "children": [child.id for child in entry.children],
        "topPapers": [entry_json(card) for card in entry.top],
    }


def _week_ends(end: date | None, count: int) -> list[str]:
    if end is None:
        return []
    return [(end - timedelta(weeks=w)).isoformat() for w in range(count - 1, -1, -1)]


def topic_view(
    services: Services, topic_id: int, categories: Sequence[str], number: int
) -> TopicView:
    """A live topic: its papers per week and month over its whole history, top authors and
    organisations, its papers (newest first, in any of ``categories``, page ``number``), its
    broad topic or fine ones and the nearest topics of its level; a 404 otherwise."""
    engine = services.engine
    topic = get_topic(engine, topic_id)
    if topic is None or topic.retired_at is not None:
        raise HTTPException(404, f"There is no topic {topic_id} (topics change at each refit).")
    end = newest_day(engine)
    weekly, monthly = history(engine, topic, end) if end else ([], [])
    listed = in_categories(categories)
    every = live_topics(engine)
    return TopicView(
        topic=topic,
        parent=next((t for t in every if t.id == topic.parent_id), None),
        weekly=weekly,
        monthly=monthly,
        authors=top_authors(engine, topic, TOP_PEOPLE),
        organisations=top_organisations(engine, topic, TOP_PEOPLE),
        cards=topic_papers(engine, topic, *listed, limit=PER_PAGE, offset=(number - 1) * PER_PAGE),
        total=count_topic_papers(engine, topic, *listed),
        page=number,
        children=[t for t in every if t.parent_id == topic.id],
        related=related(topic, [t for t in every if t.level == topic.level]),
    )


def topic_data(view: TopicView) -> dict[str, Any]:
    """A topic's page as JSON."""
    return {
        **topic_json(view.topic),
        "weekly": [{"weekEnd": day.isoformat(), "papers": n} for day, n in view.weekly],
        "monthly": [{"month": f"{day:%Y-%m}", "papers": n} for day, n in view.monthly],
        "topAuthors": [{"name": name, "papers": n} for name, n in view.authors],
        "topOrganizations": [
            {"name": handle, "fullname": name, "papers": n}
            for handle, name, n in view.organisations
        ],
        "papers": [entry_json(card) for card in view.cards],
        "total": view.total,
        "page": view.page,
        "perPage": PER_PAGE,
        "children": [topic_json(t) for t in view.children],
        "related": [topic_json(t) for t in view.related],
    }


def history_charts(view: TopicView) -> list[Chart]:
    """The topic's papers per week (each bar a week up to the newest day, by its first day)
    and per month."""
    weeks = [day - timedelta(days=6) for day, _ in view.weekly]
    return [
        counts_chart(
            "topic-weeks",
            "Papers per week",
            weeks,
            [("Papers", [n for _, n in view.weekly])],
            "week",
            x_label="Week (the 7 days from the day shown)",
        ),
        counts_chart(
            "topic-months",
            "Papers per month",
            [day for day, _ in view.monthly],
            [("Papers", [n for _, n in view.monthly])],
            "month",
        ),
    ]


def related(topic: StoredTopic, others: Sequence[StoredTopic]) -> list[StoredTopic]:
    """The :data:`RELATED` topics whose centroids are nearest the topic's."""
    candidates = [other for other in others if other.id != topic.id]
    if not candidates:
        return []
    nearness = np.stack([other.centroid for other in candidates]) @ topic.centroid
    return [candidates[i] for i in np.argsort(-nearness, kind="stable")[:RELATED]]


@router.get("/topics")
def rising_page(
    request: Request, services: ServicesDep, level: LevelParam = "fine"
) -> HTMLResponse:
    found = rising_list(services, LEVELS[level], LISTED)
    if not found.topics:
        log.info("/topics is empty: `paperfeed topics` (or the worker) groups embedded papers")
    return page(
        request,
        "topics.html",
        level=level,
        found=found,
        sparklines={
            entry.rising.topic.id: sparkline(
                entry.rising.weekly,
                f"Papers per week, the last {WEEKS + 1} weeks: "
                + ", ".join(str(n) for n in entry.rising.weekly),
            )
            for entry in found.topics
        },
        weeks=WEEKS,
    )


@router.get("/topics/{topic_id}")
def topic_page(
    request: Request,
    services: ServicesDep,
    topic_id: TopicId,
    number: PageNumber = 1,
    cat: CategoryParam = (),
) -> HTMLResponse:
    categories, notes = page_categories(cat)
    view = topic_view(services, topic_id, categories, number)
    return page(
        request,
        "topic.html",
        view=view,
        topic=view.topic,
        papers=with_marks(services, current_user(request), view.cards),
        charts=history_charts(view) if view.weekly else [],
        categories=categories,
        notes=notes,
        more=number * PER_PAGE < view.total,
        per_page=PER_PAGE,
    )


@api_router.get("/topics", summary="Topics ranked by growth this week", **documented())
def rising(
    services: ServicesDep,
    level: LevelParam = "fine",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, Any]:
    return rising_json(rising_list(services, LEVELS[level], limit))


@api_router.get(
    "/topics/{topic_id}", summary="A topic: its history, people and papers", **documented(400, 404)
)
def topic(
    services: ServicesDep,
    topic_id: TopicId,
    number: PageNumber = 1,
    cat: CategoryParam = (),
) -> dict[str, Any]:
    return topic_data(topic_view(services, topic_id, api_categories(cat), number))
