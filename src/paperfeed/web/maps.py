"""The map of the papers: ``/map`` (a canvas drawn by ``static/map.js``) and its data,
``/api/map``.

The data are the places the topics' refit laid out (:mod:`paperfeed.index.topics.layout`),
quantised to 0…65535 on each axis over the papers served, with each paper's fine topic as an
index into the list of topics served (their names, colours and centres). One answer is kept,
gzipped, per store version, layout version and question; a signed-in caller's saved papers
are marked in a copy.
"""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import ColumnElement, select

from paperfeed.index.query import Filters
from paperfeed.services import Services
from paperfeed.store.changes import shown_version
from paperfeed.store.positions import layout_version, placed_papers, saved_among
from paperfeed.store.schema import TopicLevel, papers, saved_papers
from paperfeed.store.topics import in_topic, live_topics
from paperfeed.web.api_docs import Auth, documented
from paperfeed.web.deps import ServicesDep
from paperfeed.web.kept import Kept
from paperfeed.web.render import page
from paperfeed.web.security import current_user
from paperfeed.web.views import latest_day

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["topics"])
MOST = 50_000  # papers on one map, newest first
SEARCHED = 2_000  # a search's best papers on its map
SCALE = 65_535  # quantised coordinates: Uint16's range
# Okabe and Ito's colour-blind-safe palette, then Tableau 10's other hues
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442",
           "#4e79a7", "#59a14f", "#b07aa1", "#9c755f", "#76b7b2")  # fmt: skip
WeeksParam = Annotated[int, Query(ge=1, le=520, description="papers announced in the last N weeks")]
TopicParam = Annotated[int | None, Query(ge=1, le=2**31, description="only this topic's papers")]
SearchParam = Annotated[
    str, Query(max_length=500, description=f"only the best {SEARCHED:,} papers for this search")
]
LibraryParam = Annotated[bool, Query(description="only the signed-in caller's saved papers")]


def map_data(
    services: Services,
    weeks: int,
    *,
    topic: int | None = None,
    q: str = "",
    user_id: int | None = None,
) -> dict[str, Any]:
    """The papers of the last ``weeks`` weeks (of ``topic``, the search ``q``, the library of
    ``user_id``) with their places and topics, and the topics among them."""
    engine = services.engine
    where = _where(services, weeks, topic, q, user_id)
    found = placed_papers(engine, *where, limit=MOST) if where is not None else []
    fine = {t.id: t for t in live_topics(engine, level=TopicLevel.FINE)}
    broad = [t.id for t in live_topics(engine, level=TopicLevel.BROAD)]
    xy = np.array([(x, y) for _, x, y, _ in found], np.float64).reshape(-1, 2)
    low, high = (xy.min(axis=0), xy.max(axis=0)) if len(xy) else (np.zeros(2), np.ones(2))
    quantised = np.rint((xy - low) / np.maximum(high - low, 1e-9) * SCALE).astype(np.int64)
    shown = sorted({t for *_, t in found if t in fine})
    index = {topic_id: i for i, topic_id in enumerate(shown)}
    of = np.array([index.get(t, -1) if t is not None else -1 for *_, t in found], np.int64)
    topics = []
    for i, topic_id in enumerate(shown):
        inside = quantised[of == i]
        parent = fine[topic_id].parent_id
        colour = PALETTE[broad.index(parent) % len(PALETTE)] if parent in broad else PALETTE[0]
        centre = np.median(inside, axis=0)
        topics.append(
            {
                "id": topic_id,
                "name": fine[topic_id].name,
                "color": colour,
                "x": int(centre[0]),
                "y": int(centre[1]),
                "papers": len(inside),
            }
        )
    return {
        "weeks": weeks,
        "count": len(found),
        "truncated": len(found) == MOST,
        "scale": SCALE,
        "topics": topics,
        "ids": [arxiv_id for arxiv_id, *_ in found],
        "x": quantised[:, 0].tolist(),
        "y": quantised[:, 1].tolist(),
        "topic": of.tolist(),
        "saved": [],
    }


def _where(
    services: Services, weeks: int, topic: int | None, q: str, user_id: int | None
) -> list[ColumnElement[bool]] | None:
    """The conditions of the papers asked for (``None``: none can match)."""
    newest = latest_day(services.engine)
    if newest is None:
        return None
    since = newest - timedelta(weeks=weeks)
    where = [papers.c.announced > since]
    if topic is not None:
        where.append(in_topic(topic, TopicLevel.FINE))
    if q.strip():
        period = Filters(date_from=since + timedelta(days=1))
        results = services.searcher.search(q, limit=SEARCHED, filters=period, snippets=False)
        where.append(papers.c.arxiv_id.in_([hit.arxiv_id for hit in results.hits]))
    if user_id is not None:
        mine = select(saved_papers.c.paper_id).where(saved_papers.c.user_id == user_id)
        where.append(papers.c.id.in_(mine))
    return where


def marked(data: dict[str, Any], saved: set[str]) -> dict[str, Any]:
    """``data`` with the positions of the ``saved`` papers."""
    return {**data, "saved": [i for i, arxiv_id in enumerate(data["ids"]) if arxiv_id in saved]}


def _gzipped(data: dict[str, Any]) -> bytes:
    return gzip.compress(json.dumps(data, separators=(",", ":")).encode(), 6)


def _answer(request: Request, body: bytes) -> Response:
    headers = {"Vary": "Accept-Encoding, Cookie, Authorization", "Cache-Control": "private"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        zipped = {**headers, "Content-Encoding": "gzip"}
        return Response(body, media_type="application/json", headers=zipped)
    return Response(gzip.decompress(body), media_type="application/json", headers=headers)


@api_router.get(
    "/map",
    summary="The papers as a 2-D map: places, topics and names",
    **documented(401, auth=Auth.OPTIONAL),
)
def map_api(
    request: Request,
    services: ServicesDep,
    weeks: WeeksParam = 12,
    topic: TopicParam = None,
    q: SearchParam = "",
    library: LibraryParam = False,
) -> Response:
    user = current_user(request)
    if library and user is None:
        raise HTTPException(401, "Sign in to see your library on the map.")
    owner = user["id"] if library and user else None
    key = (shown_version(services.engine), layout_version(services.engine), weeks, topic, q, owner)
    kept: Kept[tuple[dict[str, Any], bytes]] = request.app.state.maps

    def make() -> tuple[dict[str, Any], bytes]:
        data = map_data(services, weeks, topic=topic, q=q, user_id=owner)
        return data, _gzipped(data)

    data, body = kept.get(key, make)
    saved = saved_among(services.engine, user["id"], data["ids"]) if user else set()
    return _answer(request, _gzipped(marked(data, saved)) if saved else body)


@router.get("/map")
def map_page(request: Request, weeks: WeeksParam = 12) -> HTMLResponse:
    return page(request, "map.html", weeks=weeks, query=str(request.url.query))
