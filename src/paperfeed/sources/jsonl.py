"""JSON-lines files: paperfeed's own record schema, and the framework the Kaggle snapshot
importer shares (one JSON object per line, any number of files, gzip or not)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from paperfeed.records import PaperRecord, RecordError, find_code_links, parse_datetime
from paperfeed.sources.base import Checkpoint, Item, Rejected, SourceError
from paperfeed.sources.files import LineFile


@dataclass(frozen=True)
class Schema:
    """How to read one JSON-lines format: its name, a converter, and ``mismatch``, which
    says why a file's first object is not in this schema (``None`` if it is)."""

    name: str
    convert: Callable[[dict[str, Any], str], PaperRecord]
    mismatch: Callable[[dict[str, Any]], str | None]


class JsonLinesSource:
    """Records from JSON-lines files in one schema; checkpoint ``{"file": i, "line": n}``."""

    def __init__(self, paths: Sequence[Path], schema: Schema, name: str = "jsonl") -> None:
        self.name = name
        self.schema = schema
        self.files = [LineFile(Path(p).resolve()) for p in paths]
        self._done_files = 0

    def params(self) -> dict[str, object]:
        return {"files": [{"path": str(f.path), "size": f.size} for f in self.files]}

    def check(self) -> None:
        for file in self.files:
            number, first = file.first_object()
            problem = (
                self.schema.mismatch(first)
                if isinstance(first, dict)
                else f"a JSON {type(first).__name__}, not an object"
            )
            if problem:
                raise SourceError(f"{file.path}:{number}: not {self.schema.name} ({problem})")
            file.verify()

    def read(self, checkpoint: Checkpoint | None) -> Iterator[tuple[Item, Checkpoint]]:
        start, skip = (checkpoint["file"], checkpoint["line"]) if checkpoint else (0, 0)
        for index in range(start, len(self.files)):
            file = self.files[index]
            for number, line in file.lines(skip if index == start else 0):
                if line.strip():
                    yield (
                        self._item(line, f"{file.path.name}:{number}"),
                        {
                            "file": index,
                            "line": number,
                        },
                    )
            self._done_files = index + 1

    def progress(self) -> tuple[int, int | None]:
        done = sum(f.size for f in self.files[: self._done_files])
        current = self.files[self._done_files] if self._done_files < len(self.files) else None
        return done + (current.position if current else 0), sum(f.size for f in self.files)

    def _item(self, line: bytes, location: str) -> Item:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            return Rejected(location, f"not JSON ({exc.msg})")
        if not isinstance(obj, dict):
            return Rejected(location, f"a JSON {type(obj).__name__}, not an object")
        try:
            return self.schema.convert(obj, location)
        except (RecordError, KeyError, TypeError, ValueError, AttributeError) as exc:
            return Rejected(location, _reason(exc))


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc) or type(exc).__name__


def _version(value: object) -> int | None:
    if value in (None, ""):
        return None
    return int(str(value).lstrip("vV"))


def _day(value: Any) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def from_paperfeed_json(obj: dict[str, Any], location: str) -> PaperRecord:
    """A record in paperfeed's own schema (the format of the shared ``arxiv_*.jsonl.gz``)."""
    published = parse_datetime(obj.get("published"))
    feed_date = _day(obj.get("feed_date"))
    comments = obj.get("comment", obj.get("comments"))
    return PaperRecord(
        arxiv_id=obj["id"],
        title=obj["title"],
        abstract=obj["abstract"],
        source=obj.get("source") or location.rsplit(":", 1)[0],
        authors=obj.get("authors"),
        categories=list(obj.get("categories") or []),
        primary_category=obj.get("primary_category"),
        version=_version(obj.get("version")),
        published=published,
        updated=parse_datetime(obj.get("updated")),
        # a daily feed's file date is the listing day, unless a submission time says better
        announced=None if published else feed_date,
        doi=obj.get("doi"),
        journal_ref=obj.get("journal_ref"),
        comments=comments,
        license=obj.get("license"),
        links=find_code_links(obj["abstract"], comments),
        first_seen=feed_date,
        last_seen=_day(obj.get("last_seen_date")) or feed_date,
    )


def missing_keys(obj: dict[str, Any], required: set[str]) -> str | None:
    """``"missing [...]"`` naming the required keys ``obj`` lacks, or ``None``."""
    missing = sorted(required - obj.keys())
    return f"missing {missing}; found {sorted(obj)}" if missing else None


def _paperfeed_mismatch(obj: dict[str, Any]) -> str | None:
    if "versions" in obj and "authors_parsed" in obj:
        return "this is a Kaggle arXiv snapshot: use `paperfeed ingest kaggle`"
    if not isinstance(obj.get("categories", []), list):
        return "categories must be a list"
    return missing_keys(obj, {"id", "title", "abstract"})


PAPERFEED_SCHEMA = Schema("paperfeed JSON lines", from_paperfeed_json, _paperfeed_mismatch)


def jsonl_source(paths: Sequence[Path]) -> JsonLinesSource:
    """Files in paperfeed's own JSON-lines schema."""
    return JsonLinesSource(paths, PAPERFEED_SCHEMA, name="jsonl")
