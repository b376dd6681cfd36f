"""The Kaggle "Cornell-University/arxiv" metadata snapshot (``arxiv-metadata-oai-snapshot.json``):
one JSON object per line, ~4.5 GB, streamed line by line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from paperfeed.latex import to_text
from paperfeed.records import PaperRecord, find_code_links
from paperfeed.sources.jsonl import JsonLinesSource, Schema, missing_keys

KAGGLE_KEYS = {"id", "title", "abstract", "categories", "versions"}


def author_name(parts: Sequence[str]) -> str:
    """``["Bal\\'azs", "C.", ""]`` (keyname, forenames, suffix) -> ``"C. Balázs"``."""
    keyname, forenames, suffix = [*parts, "", "", ""][:3]
    name = " ".join(p for p in (forenames, keyname, suffix) if p)
    return to_text(name)


def _created(version: dict[str, str]) -> datetime:
    return parsedate_to_datetime(version["created"]).astimezone(UTC)


def from_kaggle_json(obj: dict[str, Any], location: str) -> PaperRecord:
    """One snapshot row; published/updated come from the first/last entry of ``versions``."""
    versions = obj["versions"] or []
    categories = obj["categories"].split()
    parsed = obj.get("authors_parsed")
    return PaperRecord(
        arxiv_id=obj["id"],
        title=obj["title"],
        abstract=obj["abstract"],
        source="kaggle:" + location.rsplit(":", 1)[0],
        authors=[author_name(p) for p in parsed] if parsed is not None else None,
        categories=categories,
        primary_category=categories[0] if categories else None,
        version=int(versions[-1]["version"].lstrip("v")) if versions else None,
        published=_created(versions[0]) if versions else None,
        updated=_created(versions[-1]) if versions else None,
        doi=obj.get("doi"),
        journal_ref=obj.get("journal-ref"),
        comments=obj.get("comments"),
        license=obj.get("license"),
        links=find_code_links(obj["abstract"], obj.get("comments")),
    )


def _kaggle_mismatch(obj: dict[str, Any]) -> str | None:
    if not isinstance(obj.get("categories"), str):
        return "categories must be a space-separated string"
    return missing_keys(obj, KAGGLE_KEYS)


KAGGLE_SCHEMA = Schema("a Kaggle arXiv snapshot", from_kaggle_json, _kaggle_mismatch)


def kaggle_source(paths: Sequence[Path]) -> JsonLinesSource:
    """The Kaggle snapshot file(s), plain or gzip-compressed."""
    return JsonLinesSource(paths, KAGGLE_SCHEMA, name="kaggle")
