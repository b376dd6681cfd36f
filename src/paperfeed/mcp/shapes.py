"""What the tools answer with: papers as compact JSON for an agent's context (LaTeX shown as
Unicode, abstracts cut to their opening in lists), and the arguments' plain-word errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from paperfeed.arxiv_ids import InvalidArxivId, abs_url, parse_arxiv_id, pdf_url
from paperfeed.text import lead, plain
from paperfeed.urls import code_url, safe_urls

RESOURCE = "paper://{arxiv_id}"


def summary(card: Mapping[str, Any]) -> dict[str, Any]:
    """A paper in a list: enough to choose which to read in full."""
    arxiv_id = card["arxiv_id"]
    announced = card.get("announced")
    return {
        "id": arxiv_id,
        "title": plain(card.get("title")),
        "authors": card.get("authors") or [],
        "date": announced.isoformat() if announced else None,
        "categories": card.get("categories") or [],
        "upvotes": card.get("upvotes") or 0,
        "abstract": lead(card.get("abstract")),
        "url": abs_url(arxiv_id),
    }


def details(card: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
    """One paper in full: the card's fields (upvotes counted as on the site) and the stored
    paper's arXiv metadata."""
    arxiv_id = card["arxiv_id"]
    published, updated = stored.get("published"), stored.get("updated")
    return {
        **summary(card),
        "abstract": plain(card.get("abstract")),
        "published": published.isoformat() if published else None,
        "updated": updated.isoformat() if updated else None,
        "organisation": stored.get("organisation_name"),
        "comments": stored.get("comments"),
        "doi": stored.get("doi"),
        "journal_ref": stored.get("journal_ref"),
        "links": {
            "arxiv": abs_url(arxiv_id),
            "pdf": pdf_url(arxiv_id),
            "code": code_url(card.get("links")),
            "other": safe_urls(card.get("links")),
        },
        "markdown": RESOURCE.format(arxiv_id=arxiv_id),
    }


def canonical(text: str) -> str:
    """The arXiv id ``text`` names (an id, a versioned id or an arxiv.org URL)."""
    try:
        return parse_arxiv_id(text).id
    except InvalidArxivId as exc:
        raise ToolError(str(exc)) from None


def not_here(arxiv_id: str) -> ToolError:
    return ToolError(f"{arxiv_id} is not in this feed.")
