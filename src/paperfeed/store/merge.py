"""How a source's record merges into the stored paper.

The rules make ingestion idempotent and, as far as the data allows, independent of the order
in which sources arrive:

- a *newer* record (higher version, or the same version updated later) overrides the fields
  it has; any other record only fills fields the stored paper lacks;
- dates and counters combine monotonically: first publication, announcement and arrival on
  Hugging Face's daily feed = earliest, last update, upvotes, stars and comments = largest,
  first/last seen = min/max;
- categories and links are unions (the newest record's primary category first).

Merging the same record twice therefore changes nothing the second time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from paperfeed.arxiv_calendar import estimate_announcement
from paperfeed.records import PaperRecord

Row = dict[str, Any]
OVERRIDABLE = (
    "title",
    "abstract",
    "authors",
    "primary_category",
    "doi",
    "journal_ref",
    "comments",
    "license",
    "organisation_id",
    "ai_summary",
    "ai_keywords",
    "submitted_by",
)
EARLIEST = ("published", "announced", "first_seen", "submitted_on_daily_at")
LARGEST = ("updated", "upvotes", "last_seen", "github_stars", "num_comments")
CONTENT = (
    *OVERRIDABLE,
    "version",
    "categories",
    "published",
    "updated",
    "announced",
    "links",
    "upvotes",
    "withdrawn",
    "first_seen",
    "last_seen",
    "github_stars",
    "num_comments",
    "submitted_on_daily_at",
)


def overridable(record: PaperRecord, organisation_id: int | None) -> Row:
    """The fields a newer record replaces (and any record fills in where missing)."""
    return {
        **{name: getattr(record, name) for name in OVERRIDABLE if name != "organisation_id"},
        "organisation_id": organisation_id,
    }


def new_row(record: PaperRecord, organisation_id: int | None, today: date) -> Row:
    """The stored form of a paper seen for the first time."""
    first_seen = record.first_seen or today
    return {
        **overridable(record, organisation_id),
        "arxiv_id": record.arxiv_id,
        "version": record.version,
        "categories": record.categories,
        "published": record.published,
        "updated": record.updated,
        "announced": announced(record),
        "links": record.links,
        "upvotes": record.upvotes,
        "github_stars": record.github_stars,
        "num_comments": record.num_comments,
        "submitted_on_daily_at": record.submitted_on_daily_at,
        "withdrawn": False,
        "first_seen": first_seen,
        "last_seen": max(record.last_seen or first_seen, first_seen),
        "source": record.source,
    }


def merge(stored: Row, record: PaperRecord, organisation_id: int | None) -> Row:
    """``stored`` updated by ``record`` (a new dict; ``stored`` is left as it was)."""
    newer = is_newer(record, stored)
    row = dict(stored)
    for name, value in overridable(record, organisation_id).items():
        if value is not None and (newer or row[name] is None):
            row[name] = value
    row["version"] = _pick(max, stored["version"], record.version)
    said = {name: getattr(record, name) for name in EARLIEST + LARGEST}
    said["announced"] = announced(record)
    for name in EARLIEST:
        row[name] = _pick(min, stored[name], said[name])
    for name in LARGEST:
        row[name] = _pick(max, stored[name], said[name])
    row["links"] = _union(stored["links"], record.links)
    row["categories"] = (
        _union(record.categories, stored["categories"])
        if newer
        else _union(stored["categories"], record.categories)
    )
    if changed(stored, row):
        row["source"] = record.source
    return row


def changed(stored: Row, row: Row) -> bool:
    """Whether merging changed anything a user could see."""
    return any(row[name] != stored[name] for name in CONTENT)


def is_newer(record: PaperRecord, stored: Row) -> bool:
    """A higher version, or the same version with a later update time."""
    if record.version is not None and record.version > (stored["version"] or 0):
        return True
    return (
        record.version == stored["version"]
        and record.updated is not None
        and stored["updated"] is not None
        and record.updated > stored["updated"]
    )


def announced(record: PaperRecord) -> date | None:
    """The listing day the source states, else one estimated from a submission time."""
    if record.announced or not record.published:
        return record.announced
    if record.published.time() == datetime.min.time():
        return None  # a bare date (OAI "created") cannot place the 14:00 deadline
    return estimate_announcement(record.published.astimezone(UTC))


def _pick(choose, *values):
    known = [v for v in values if v is not None]
    return choose(known) if known else None


def _union(first: list[str], second: list[str]) -> list[str]:
    return first + [v for v in second if v not in first]
