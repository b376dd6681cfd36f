"""The public tools: search, similar papers, one paper, a day's papers, trending; and every
paper as a Markdown resource. Anybody may call them, with or without a token."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from paperfeed.index.query import MAX_CHARS, Filters
from paperfeed.markdown import paper_markdown
from paperfeed.mcp.shapes import RESOURCE, canonical, details, not_here, summary
from paperfeed.ranking.trending import trending_cards
from paperfeed.services import Services
from paperfeed.store import feed
from paperfeed.store.queries import cards_by_id, get_paper

PaperId = Annotated[
    str, Field(max_length=300, description="An arXiv id (2401.12345, hep-th/9901001) or URL")
]
Day = Annotated[date | None, Field(description="A day, YYYY-MM-DD")]
DEEPEST = 1000  # results a search ranks, as on the search page
READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True)


def register(server: MCPServer, services: Services) -> None:
    """Add the public tools and the papers' resource to ``server``."""

    @server.tool(annotations=READ_ONLY)
    def search(
        query: Annotated[
            str,
            Field(
                max_length=2 * MAX_CHARS,
                description='Words; also author:"Ada Lovelace", cat:cs.CL, year:2024, '
                '"quoted phrases"',
            ),
        ] = "",
        mode: Literal["hybrid", "lexical", "dense"] = "hybrid",
        sort: Literal["relevance", "date", "upvotes"] = "relevance",
        category: Annotated[str, Field(max_length=100, description="cs.CL, or cs")] = "",
        author: Annotated[str, Field(max_length=200, description="An author's name")] = "",
        organisation: Annotated[str, Field(max_length=200, description="Its handle")] = "",
        date_from: Day = None,
        date_to: Day = None,
        limit: Annotated[int, Field(ge=1, le=50)] = 10,
        offset: Annotated[int, Field(ge=0, le=DEEPEST - 50)] = 0,
    ) -> dict[str, Any]:
        """Search the papers by words and meaning ("hybrid"), words only ("lexical") or
        meaning only ("dense"), as the site's search page does, with its filters and sorts.
        Answers the papers (best first) and notes about the query."""
        if not (query.strip() or category.strip() or author.strip() or organisation.strip()):
            raise ToolError("Give words to search for, or a category, author or organisation.")
        filters = Filters.typed(category, author, organisation, date_from, date_to)
        found = services.searcher.search(
            query, mode=mode, sort=sort, limit=limit, offset=offset, filters=filters
        )
        papers = [{**summary(vars(hit)), "score": round(hit.score, 4)} for hit in found.hits]
        return {"papers": papers, "notes": found.notes}

    @server.tool(annotations=READ_ONLY)
    def similar(
        arxiv_id: PaperId, limit: Annotated[int, Field(ge=1, le=50)] = 10
    ) -> dict[str, Any]:
        """The papers most like one paper, most alike first: by meaning, distinctive words,
        shared authors and categories, and readers who saved both."""
        ident = visible(services, canonical(arxiv_id))["arxiv_id"]
        hits = services.searcher.similar(ident, limit)
        return {"id": ident, "papers": [summary(vars(hit)) for hit in hits]}

    @server.tool(annotations=READ_ONLY)
    def paper(arxiv_id: PaperId) -> dict[str, Any]:
        """One paper in full: title, authors, dates, categories, abstract, upvotes, arXiv's
        comments, DOI and journal reference, and links (arXiv page, PDF, code)."""
        ident = canonical(arxiv_id)
        card = visible(services, ident)
        return details(card, get_paper(services.engine, ident) or {})

    @server.tool(annotations=READ_ONLY)
    def daily(
        day: Annotated[
            date | None, Field(description="An announcement day, YYYY-MM-DD; default the newest")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=100)] = 20,
        offset: Annotated[int, Field(ge=0, le=10_000)] = 0,
    ) -> dict[str, Any]:
        """The papers arXiv announced on a day (and those users submitted that day), most
        upvoted first, with how many there are in all."""
        wanted = day or feed.latest_day(services.engine, datetime.now(UTC).date())
        if wanted is None:
            return {"day": None, "total": 0, "papers": []}
        papers = feed.day_papers(services.engine, wanted, limit=limit, offset=offset)
        total = feed.day_count(services.engine, wanted)
        return {"day": wanted.isoformat(), "total": total, "papers": [summary(c) for c in papers]}

    @server.tool(annotations=READ_ONLY)
    def trending(
        period: Annotated[
            Literal["now", "week", "month"],
            Field(description="now: upvotes with time decay; week, month: the most upvoted"),
        ] = "now",
        limit: Annotated[int, Field(ge=1, le=50)] = 10,
    ) -> dict[str, Any]:
        """The papers trending now, or the most upvoted of the past week or month."""
        cards = trending_cards(services.engine, period, limit)
        return {"period": period, "papers": [summary(card) for card in cards]}

    @server.resource(RESOURCE, name="paper", mime_type="text/markdown")
    def paper_resource(arxiv_id: str) -> str:
        """A paper as Markdown: title, authors, date, categories, abstract and links."""
        try:
            ident = canonical(arxiv_id)
            return paper_markdown(visible(services, ident))
        except ToolError as exc:
            raise ResourceError(str(exc)) from None


def visible(services: Services, arxiv_id: str) -> dict[str, Any]:
    """The card of a paper the site shows; a tool error for any other."""
    card = cards_by_id(services.engine, [arxiv_id]).get(arxiv_id)
    if card is None:
        raise not_here(arxiv_id)
    return card
