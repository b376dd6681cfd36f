"""The normalised paper record every source yields, and its validation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from paperfeed.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.urls import safe_urls

MAX_TITLE = 1_000
MAX_ABSTRACT = 20_000
MAX_AUTHORS = 5_000
MAX_FIELD = 500  # DOIs, licences, sources: the store's column width
# author names are unique-indexed: 800 characters stay under PostgreSQL's btree row limit
MAX_AUTHOR_NAME = 800
MAX_KEYWORDS = 100
MAX_KEYWORD = 200
MAX_SUBMITTER = 200  # the store's column width
_CATEGORY = re.compile(r"^[a-z]+(?:-[a-z]+)?(?:\.[A-Za-z-]+)?$")
_CODE_URL = re.compile(
    r"https?://(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org|codeberg\.org|huggingface\.co)"
    r"/[\w.-]+(?:/[\w.-]+)?",
    re.IGNORECASE,
)


def keywords_of(paper: Mapping[str, Any]) -> list[str]:
    """A paper's key phrases: Hugging Face's if it gave any, else those computed here."""
    return list(paper.get("ai_keywords") or paper.get("keywords") or [])


class RecordError(ValueError):
    """A single record is malformed: it is rejected with this reason and the run goes on."""


@dataclass(frozen=True, slots=True)
class Organisation:
    """An organisation that claims papers, as on Hugging Face (handle + display name)."""

    handle: str
    name: str


@dataclass(slots=True)
class PaperRecord:
    """One paper as a source reports it; ``None`` means "this source does not say"."""

    arxiv_id: str
    title: str
    abstract: str
    source: str
    authors: list[str] | None = None
    categories: list[str] = field(default_factory=list)
    primary_category: str | None = None
    version: int | None = None
    published: datetime | None = None
    updated: datetime | None = None
    announced: date | None = None
    doi: str | None = None
    journal_ref: str | None = None
    comments: str | None = None
    license: str | None = None
    links: list[str] = field(default_factory=list)
    first_seen: date | None = None
    last_seen: date | None = None
    organisation: Organisation | None = None
    upvotes: int | None = None
    # Hugging Face's own data about a paper on its daily feed
    ai_summary: str | None = None
    ai_keywords: list[str] | None = None
    github_stars: int | None = None
    num_comments: int | None = None
    submitted_on_daily_at: datetime | None = None
    submitted_by: str | None = None


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """A source says the paper was deleted (an OAI-PMH ``status="deleted"`` header)."""

    arxiv_id: str


def clean_text(value: str | None) -> str | None:
    """Collapse whitespace runs (line breaks of OAI/Kaggle text) into single spaces."""
    if value is None:
        return None
    return " ".join(value.split()) or None  # str.split() splits on any whitespace run


def find_code_links(*texts: str | None) -> list[str]:
    """Code repository URLs (GitHub, GitLab, ...) mentioned in abstracts or comments."""
    found: list[str] = []
    for text in texts:
        for url in _CODE_URL.findall(text or ""):
            url = url.rstrip(".").removesuffix(".git")
            if url not in found:
                found.append(url)
    return found


def parse_datetime(value: str | None) -> datetime | None:
    """Parse an ISO 8601 date or timestamp into an aware UTC datetime."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def validate(record: PaperRecord) -> PaperRecord:
    """Normalise a record in place and return it, or raise :class:`RecordError` saying why."""
    try:
        ident = parse_arxiv_id(record.arxiv_id)
    except InvalidArxivId as exc:
        raise RecordError(str(exc)) from None
    record.arxiv_id = ident.id
    if ident.version and not record.version:
        record.version = ident.version
    record.title = _required_text(record.title, "title", MAX_TITLE)
    record.abstract = _required_text(record.abstract, "abstract", MAX_ABSTRACT)
    if record.authors is not None:
        record.authors = [a for a in (clean_text(str(x)) for x in record.authors) if a]
        if len(record.authors) > MAX_AUTHORS:
            raise RecordError(f"{len(record.authors)} authors (at most {MAX_AUTHORS})")
        if long := next((a for a in record.authors if len(a) > MAX_AUTHOR_NAME), None):
            raise RecordError(f"author name of {len(long)} characters (at most {MAX_AUTHOR_NAME})")
    record.categories = _categories(record.categories, record.primary_category)
    if not record.primary_category and record.categories:
        record.primary_category = record.categories[0]
    for name in ("doi", "journal_ref", "comments", "license"):
        setattr(record, name, clean_text(getattr(record, name)))
    for name in ("doi", "license"):
        if len(getattr(record, name) or "") > MAX_FIELD:
            raise RecordError(f"{name} longer than {MAX_FIELD} characters")
    record.source = record.source[:MAX_FIELD]
    record.links = safe_urls(record.links)  # a javascript: "code link" is dropped, not stored
    if record.version is not None and record.version < 1:
        raise RecordError(f"version {record.version} (versions start at 1)")
    for name in ("upvotes", "github_stars", "num_comments"):
        if (count := getattr(record, name)) is not None and count < 0:
            raise RecordError(f"negative {name.replace('_', ' ')} {count}")
    _hugging_face_text(record)
    return record


def _hugging_face_text(record: PaperRecord) -> None:
    """Hugging Face's summary, keywords and submitter name, cleaned and bounded."""
    record.ai_summary = clean_text(record.ai_summary)
    if len(record.ai_summary or "") > MAX_ABSTRACT:
        raise RecordError(f"ai_summary longer than {MAX_ABSTRACT} characters")
    if record.ai_keywords is not None:
        words = [w for w in (clean_text(str(x)) for x in record.ai_keywords) if w]
        if len(words) > MAX_KEYWORDS or any(len(w) > MAX_KEYWORD for w in words):
            raise RecordError(f"ai_keywords: at most {MAX_KEYWORDS} of {MAX_KEYWORD} characters")
        record.ai_keywords = list(dict.fromkeys(words))
    record.submitted_by = clean_text(record.submitted_by)
    if len(record.submitted_by or "") > MAX_SUBMITTER:
        raise RecordError(f"submitted_by longer than {MAX_SUBMITTER} characters")


def _required_text(value: object, name: str, limit: int) -> str:
    if not isinstance(value, str) or not (text := clean_text(value)):
        raise RecordError(f"missing {name}")
    if len(text) > limit:
        raise RecordError(f"{name} of {len(text)} characters (at most {limit})")
    return text


def _categories(values: list[str], primary: str | None) -> list[str]:
    """arXiv categories, primary first; ACM or MSC class codes that some listings mix in
    (``I.2.7``, ``68T50``) are dropped, they are not arXiv categories."""
    if primary is not None and not _is_category(primary):
        raise RecordError(f"bad primary category {primary!r}")
    ordered = [primary] if primary else []
    for value in values:
        if value not in ordered and _is_category(value):
            ordered.append(value)
    return ordered


def _is_category(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 64 and bool(_CATEGORY.match(value))
