"""The signed-in user's tools: their library (list, save, tag), recommendations and digest
subscriptions. Each call finds its user by API token (:class:`~paperfeed.mcp.auth.Caller`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from paperfeed.mcp.auth import Caller
from paperfeed.mcp.papers import READ_ONLY, PaperId
from paperfeed.mcp.shapes import canonical, not_here, summary
from paperfeed.services import Services
from paperfeed.store.accounts import is_verified
from paperfeed.store.activity import UnknownPaper, set_saved
from paperfeed.store.library import (
    MAX_TAG,
    MAX_TAGS,
    LibraryError,
    library_details,
    library_ids,
    set_tags,
    user_tags,
)
from paperfeed.store.queries import cards_in_order
from paperfeed.store.subscriptions import SHOWN, list_subscriptions

Tag = Annotated[str | None, Field(max_length=MAX_TAG, description="Only this tag")]
CHANGES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True)
CONFIRM_FIRST = (
    "Confirm your email address first (the link mailed when you signed up; the profile page "
    "sends it again): subscriptions are listed by address."
)


def register(server: MCPServer, services: Services, caller: Caller) -> None:
    """Add the signed-in user's tools to ``server``."""
    engine = services.engine

    @server.tool(annotations=READ_ONLY)
    def library_list(
        ctx: Context,
        tag: Tag = None,
        limit: Annotated[int, Field(ge=1, le=100)] = 20,
        offset: Annotated[int, Field(ge=0, le=100_000)] = 0,
    ) -> dict[str, Any]:
        """Your saved papers (under one tag if given), most recently saved first, each with
        its tags and your note; and all your tags with how many papers each holds. Needs
        your API token."""
        user = caller.user(ctx)
        cards = cards_in_order(engine, library_ids(engine, user["id"], tag, limit, offset))
        kept = library_details(engine, user["id"], [card["arxiv_id"] for card in cards])
        blank: dict[str, Any] = {"tags": [], "note": None}
        papers = [
            {**summary(card), **{k: kept.get(card["arxiv_id"], blank)[k] for k in blank}}
            for card in cards
        ]
        return {"papers": papers, "tags": user_tags(engine, user["id"])}

    @server.tool(annotations=CHANGES)
    def library_save(arxiv_id: PaperId, ctx: Context, saved: bool = True) -> dict[str, Any]:
        """Save a paper to your library (saved=false removes it, and its tags). Needs your
        API token."""
        user, ident = caller.user(ctx), canonical(arxiv_id)
        with library_change(ident):
            set_saved(engine, user["id"], ident, saved)
        return {"id": ident, "saved": saved}

    @server.tool(annotations=CHANGES)
    def library_tag(
        arxiv_id: PaperId,
        ctx: Context,
        tags: Annotated[
            list[Annotated[str, Field(max_length=MAX_TAG)]],
            Field(max_length=MAX_TAGS, description="Tag names; an empty list removes its tags"),
        ],
    ) -> dict[str, Any]:
        """File a paper under exactly these tags (new ones are made), saving it to your
        library. Needs your API token."""
        user, ident = caller.user(ctx), canonical(arxiv_id)
        with library_change(ident):
            kept = set_tags(engine, user["id"], ident, tags)
        return {"id": ident, "saved": True, "tags": kept}

    @server.tool(annotations=READ_ONLY)
    def recommendations(
        ctx: Context, tag: Tag = None, limit: Annotated[int, Field(ge=1, le=50)] = 10
    ) -> dict[str, Any]:
        """Recent papers recommended from what you saved, upvoted and marked not interesting
        (or from one tag's papers), best first, each with the saved paper it is most like.
        Needs your API token."""
        found = services.recommendations(caller.user(ctx), tag, limit)
        papers = [
            {
                **summary(item.card),
                "score": round(item.score, 4),
                "because": {"id": item.because, "title": item.because_title}
                if item.because
                else None,
            }
            for item in found
        ]
        return {"papers": papers}

    @server.tool(annotations=READ_ONLY)
    def subscriptions(ctx: Context) -> dict[str, Any]:
        """Your email digests: what each sends (trending, a saved search, recommendations),
        how often, when, and whether it is active. Needs your API token."""
        user = caller.user(ctx)
        if not is_verified(user):
            raise ToolError(CONFIRM_FIRST)
        rows = list_subscriptions(engine, email=user["email"])
        return {"subscriptions": [{key: row[key] for key in SHOWN} for row in rows]}


@contextmanager
def library_change(arxiv_id: str) -> Iterator[None]:
    """Tool errors for a paper that is not here, and a tag that cannot be kept."""
    try:
        yield
    except UnknownPaper:
        raise not_here(arxiv_id) from None
    except LibraryError as exc:
        raise ToolError(f"Not kept: {exc}.") from None
