"""Topics as JSON: the rising ones (``/api/topics``) and one topic (``/api/topics/{id}``).

The data functions (:func:`rising_data`, :func:`topic_data`) build what a page or the API
shows; the routes only serve it, so the ``/topics`` pages can reuse them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, HTTPException, Path, Query

from paperfeed.ranking.rising import WEEKS, Rising, rising_topics, weekly_series
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
from paperfeed.web.deps import ServicesDep
from paperfeed.web.views import PER_PAGE, CategoryParam, PageNumber, api_categories, entry_json
from paperfeed.web.views import latest_day as newest_day

api_router = APIRouter(prefix="/api", tags=["topics"])
TOP_PAPERS = 3  # per topic in the list
TOP_PEOPLE = 10  # authors, organisations
RELATED = 5
LEVELS = {"broad": TopicLevel.BROAD, "fine": TopicLevel.FINE}
LevelParam = Annotated[
    Literal["broad", "fine"], Query(description="broad topics, or the fine ones inside them")
]


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


def rising_data(services: Services, level: TopicLevel, limit: int) -> dict[str, Any]:
    """The topics at ``level`` by growth this week, each with its papers per week and its
    most upvoted papers of those weeks."""
    end = newest_day(services.engine)
    ranked = rising_topics(services.engine, level, end)[:limit]
    return {
        "weekEnds": _week_ends(end, WEEKS + 1),
        "formula": (
            "growth = (n + v/10 + 2) / (m + 2): n papers and v upvotes this week, m the mean of "
            "n + v/10 over the 8 weeks before"
        ),
        "topics": [_rising_json(services, item, end) for item in ranked],
    }


def _rising_json(services: Services, item: Rising, end: date | None) -> dict[str, Any]:
    since = end - timedelta(weeks=WEEKS + 1) if end else None
    recent = [papers.c.announced > since] if since else []
    top = topic_papers(services.engine, item.topic, *recent, by_votes=True, limit=TOP_PAPERS)
    return {
        **topic_json(item.topic),
        "growth": round(item.growth, 4),
        "papersThisWeek": item.papers,
        "upvotesThisWeek": item.upvotes,
        "weekly": item.weekly,
        "topPapers": [entry_json(card) for card in top],
    }


def _week_ends(end: date | None, count: int) -> list[str]:
    if end is None:
        return []
    return [(end - timedelta(weeks=w)).isoformat() for w in range(count - 1, -1, -1)]


def topic_data(
    services: Services, topic_id: int, categories: Sequence[str], number: int
) -> dict[str, Any]:
    """A live topic: its papers per week over its whole history, top authors and
    organisations, its papers (newest first, in any of ``categories``, page ``number``),
    its broad topic or fine ones and the nearest topics of its level; a 404 otherwise."""
    engine = services.engine
    topic = get_topic(engine, topic_id)
    if topic is None or topic.retired_at is not None:
        raise HTTPException(404, f"There is no topic {topic_id} (topics change at each refit).")
    end = newest_day(engine)
    listed = in_categories(categories)
    offset = (number - 1) * PER_PAGE
    found = topic_papers(engine, topic, *listed, limit=PER_PAGE, offset=offset)
    same_level = live_topics(engine, level=topic.level)
    return {
        **topic_json(topic),
        "weekly": [
            {"weekEnd": day.isoformat(), "papers": n}
            for day, n in (weekly_series(engine, topic, end) if end else [])
        ],
        "topAuthors": [
            {"name": name, "papers": n} for name, n in top_authors(engine, topic, TOP_PEOPLE)
        ],
        "topOrganizations": [
            {"name": handle, "fullname": name, "papers": n}
            for handle, name, n in top_organisations(engine, topic, TOP_PEOPLE)
        ],
        "papers": [entry_json(card) for card in found],
        "total": count_topic_papers(engine, topic, *listed),
        "page": number,
        "perPage": PER_PAGE,
        "children": [topic_json(t) for t in live_topics(engine) if t.parent_id == topic.id],
        "related": [topic_json(t) for t in related(topic, same_level)],
    }


def related(topic: StoredTopic, others: Sequence[StoredTopic]) -> list[StoredTopic]:
    """The :data:`RELATED` topics whose centroids are nearest the topic's."""
    candidates = [other for other in others if other.id != topic.id]
    if not candidates:
        return []
    nearness = np.stack([other.centroid for other in candidates]) @ topic.centroid
    return [candidates[i] for i in np.argsort(-nearness, kind="stable")[:RELATED]]


@api_router.get("/topics", summary="Topics ranked by growth this week", **documented())
def rising(
    services: ServicesDep,
    level: LevelParam = "fine",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, Any]:
    return rising_data(services, LEVELS[level], limit)


@api_router.get(
    "/topics/{topic_id}", summary="A topic: its history, people and papers", **documented(400, 404)
)
def topic(
    services: ServicesDep,
    topic_id: Annotated[int, Path(ge=1, le=2**31)],
    number: PageNumber = 1,
    cat: CategoryParam = (),
) -> dict[str, Any]:
    return topic_data(services, topic_id, api_categories(cat), number)
