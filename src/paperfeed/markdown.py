"""A paper as Markdown, for readers that want text rather than a page (AI agents, ``read_paper``
clients): title, authors, date, categories, abstract and links."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paperfeed.arxiv_ids import abs_url, pdf_url
from paperfeed.text import plain
from paperfeed.urls import safe_urls


def paper_markdown(paper: Mapping[str, Any]) -> str:
    """``paper`` (a stored paper or a card) as a Markdown document; LaTeX shown as Unicode."""
    arxiv_id = paper["arxiv_id"]
    day = paper.get("announced") or paper.get("published")
    facts = [
        f"**Authors:** {', '.join(paper.get('authors') or ['unknown'])}",
        f"**Date:** {day:%Y-%m-%d}" if day else None,
        f"**Categories:** {', '.join(paper.get('categories') or [])}",
        f"**arXiv:** [{arxiv_id}]({abs_url(arxiv_id)}) · [PDF]({pdf_url(arxiv_id)})",
    ]
    links = [f"- <{url}>" for url in safe_urls(paper.get("links"))]
    parts = [
        f"# {plain(paper.get('title'))}",
        "\n".join(fact for fact in facts if fact),
        f"## Abstract\n\n{plain(paper.get('abstract'))}",
        "## Links\n\n" + "\n".join(links) if links else None,
    ]
    return "\n\n".join(part for part in parts if part) + "\n"
