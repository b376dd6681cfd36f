"""A paper as Markdown, for readers that are programs (``hf papers read``, AI agents): its
title, authors, dates, links, abstract and Hugging Face's summary and keywords, LaTeX shown
as Unicode text and every character that Markdown would read as markup escaped."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from paperfeed.records import keywords_of
from paperfeed.text import plain
from paperfeed.urls import safe_urls

ARXIV = "https://arxiv.org"
# CommonMark lets any ASCII punctuation be escaped; these are the ones that start markup
_MARKUP = re.compile(r"([\\`*_{}\[\]<>()#+!|~&])")


def paper_markdown(paper: Mapping[str, Any]) -> str:
    """The Markdown of a stored paper or card (``arxiv_id``, ``title``, ``abstract``,
    ``authors``, ``published``/``announced``, ``categories``, ``links`` and, where known,
    ``doi``, ``journal_ref``, ``comments``, ``organisation_name``, ``ai_summary``,
    ``ai_keywords`` or ``keywords``)."""
    arxiv_id = paper["arxiv_id"]
    lines = [f"# {escape(plain(paper.get('title')))}", ""]
    facts = [
        ("Authors", ", ".join(escape(name) for name in paper.get("authors") or ())),
        ("arXiv", f"[{arxiv_id}]({ARXIV}/abs/{arxiv_id}) ([PDF]({ARXIV}/pdf/{arxiv_id}))"),
        ("Published", _day(paper.get("published") or paper.get("announced"))),
        ("Categories", ", ".join(paper.get("categories") or ())),
        ("Organization", escape(paper.get("organisation_name") or "")),
        ("DOI", escape(paper.get("doi") or "")),
        ("Journal", escape(paper.get("journal_ref") or "")),
        ("Comments", escape(paper.get("comments") or "")),
        ("Links", ", ".join(f"<{url}>" for url in safe_urls(paper.get("links")))),
    ]
    lines += [f"- **{name}:** {value}" for name, value in facts if value]
    lines += ["", "## Abstract", "", escape(plain(paper.get("abstract")))]
    if summary := paper.get("ai_summary"):
        lines += ["", "## AI summary", "", escape(summary)]
    if keywords := keywords_of(paper):
        lines += ["", "## Keywords", "", ", ".join(escape(word) for word in keywords)]
    return "\n".join(lines) + "\n"


def escape(text: str) -> str:
    """``text`` shown as it is: markup characters escaped, line breaks folded."""
    return _MARKUP.sub(r"\\\1", " ".join(text.split()))


def _day(moment: datetime | date | None) -> str:
    if isinstance(moment, datetime):
        return moment.date().isoformat()
    return moment.isoformat() if moment else ""
