"""Hugging Face "daily papers" (``/api/daily_papers``): papers picked by the community, with
upvotes, claiming organisations and code links; from the API or a saved response."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from paperfeed.records import Organisation, PaperRecord, find_code_links, parse_datetime
from paperfeed.sources.base import Checkpoint, Item, Rejected, SourceError
from paperfeed.sources.http import PoliteClient, QueryParams

PAGE_SIZE = 100
MAX_PAGES = 20
NOT_DAILY_PAPERS = "not a Hugging Face daily_papers response"


class HfDailySource:
    """The entries of one daily_papers response (a JSON list), in order; checkpoint
    ``{"index": n}``. Build it with :meth:`from_file` or :meth:`from_api`."""

    name = "hf-daily"

    def __init__(
        self,
        *,
        path: Path | None = None,
        client: PoliteClient | None = None,
        base_url: str | None = None,
        day: date | None = None,
    ) -> None:
        self.path = path
        self.client = client
        self.base_url = base_url
        self.day = day
        self.source = f"hf-daily:{path.name}" if path else f"hf-daily:{day}"
        self._entries: list[Any] | None = None
        self._done = 0

    @classmethod
    def from_file(cls, path: Path) -> HfDailySource:
        """Entries from a saved daily_papers response."""
        return cls(path=Path(path).resolve())

    @classmethod
    def from_api(cls, client: PoliteClient, base_url: str, day: date) -> HfDailySource:
        """Entries of ``day`` from the API (``GET base_url?date=YYYY-MM-DD``)."""
        return cls(client=client, base_url=base_url, day=day)

    def params(self) -> dict[str, object]:
        if self.path is not None:
            size = self.path.stat().st_size if self.path.is_file() else None
            return {"file": str(self.path), "size": size}
        return {"url": self.base_url, "date": self.day.isoformat() if self.day else None}

    def check(self) -> None:
        """Parse a saved response, so a broken file stops the run before anything is written."""
        if self.path is not None:
            self._load()

    def read(self, checkpoint: Checkpoint | None) -> Iterator[tuple[Item, Checkpoint]]:
        entries = self._load()
        where = self.path.name if self.path else self.source
        for index in range(checkpoint["index"] if checkpoint else 0, len(entries)):
            self._done = index + 1
            yield (
                _item(entries[index], f"{where} entry {index + 1}", self.source),
                {"index": index + 1},
            )

    def progress(self) -> tuple[int, int | None]:
        return self._done, len(self._entries) if self._entries is not None else None

    def _load(self) -> list[Any]:
        if self._entries is None:
            self._entries = self._read_file() if self.path else self._download()
        return self._entries

    def _read_file(self) -> list[Any]:
        assert self.path is not None
        try:
            body = self.path.read_bytes()
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot read ({exc.strerror or exc})") from None
        return parse_entries(body, str(self.path))

    def _download(self) -> list[Any]:
        """Every entry of the day, page by page (``p``/``limit``); stops at a short page or
        at one that brings nothing new (a server that ignores ``p``)."""
        assert self.client is not None and self.base_url is not None and self.day is not None
        entries: list[Any] = []
        seen: set[str] = set()
        for page in range(MAX_PAGES):
            params: QueryParams = {"date": self.day.isoformat(), "limit": PAGE_SIZE, "p": page}
            response = self.client.get(self.base_url, params=params)
            if response.status_code >= 400:
                raise SourceError(f"{response.url}: HTTP {response.status_code}")
            batch = parse_entries(response.content, str(response.url))
            new = [e for e in batch if _paper_id(e) is None or _paper_id(e) not in seen]
            entries.extend(new)
            seen.update(i for i in map(_paper_id, new) if i)
            if len(batch) < PAGE_SIZE or not new:
                break
        return entries


def parse_entries(body: bytes, where: str) -> list[Any]:
    """The entries of a daily_papers response; :class:`SourceError` if it is not one."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise SourceError(f"{where}: {NOT_DAILY_PAPERS}: not JSON ({exc})") from None
    if not isinstance(value, list):
        raise SourceError(f"{where}: {NOT_DAILY_PAPERS}: a JSON {type(value).__name__}, not a list")
    return value


def _item(entry: Any, location: str, source: str) -> Item:
    try:
        return _record(entry, source)
    except (TypeError, ValueError, AttributeError) as exc:
        return Rejected(location, str(exc) or type(exc).__name__)


def _record(entry: Any, source: str) -> PaperRecord:
    """One entry (``{"paper": {...}, ...}``) as a record; ``ValueError`` if unusable."""
    paper = entry.get("paper") if isinstance(entry, dict) else None
    if not isinstance(paper, dict):
        raise ValueError("no paper object")
    if not paper.get("id"):
        raise ValueError("missing paper.id")
    summary = paper.get("summary") or ""
    links = [paper.get("githubRepo"), paper.get("projectPage"), *find_code_links(summary)]
    arrived = parse_datetime(paper.get("submittedOnDailyAt"))
    seen = arrived.date() if arrived else None
    return PaperRecord(
        arxiv_id=str(paper["id"]),
        title=paper.get("title") or "",
        abstract=summary,
        source=source,
        authors=[a["name"] for a in paper.get("authors") or [] if a.get("name")],
        announced=_day(paper.get("publishedAt")),
        links=list(dict.fromkeys(link for link in links if link)),
        first_seen=seen,
        last_seen=seen,
        organisation=_organisation(paper.get("organization") or entry.get("organization")),
        upvotes=_count(paper, "upvotes"),
        ai_summary=paper.get("ai_summary") or None,
        ai_keywords=_keywords(paper.get("ai_keywords")),
        github_stars=_count(paper, "githubStars"),
        num_comments=_count(entry, "numComments"),
        submitted_on_daily_at=arrived,
        submitted_by=_submitter(paper.get("submittedOnDailyBy") or entry.get("submittedBy")),
    )


def _count(value: dict[str, Any], key: str) -> int | None:
    count = value.get(key)
    if count is not None and (not isinstance(count, int) or isinstance(count, bool)):
        raise ValueError(f"{key} {count!r} is not a number")
    return count


def _keywords(value: object) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(word, str) for word in value):
        raise ValueError(f"ai_keywords {value!r} is not a list of words")
    return value


def _submitter(value: object) -> str | None:
    """The user name (``user``, or ``name``) of whoever brought the paper to the feed."""
    if not isinstance(value, dict):
        return None
    name = value.get("user") or value.get("name")
    return name if isinstance(name, str) and name else None


def _organisation(value: object) -> Organisation | None:
    if not isinstance(value, dict) or not value.get("name"):
        return None
    return Organisation(handle=value["name"], name=value.get("fullname") or value["name"])


def _day(value: Any) -> date | None:
    parsed = parse_datetime(value)
    return parsed.date() if parsed else None


def _paper_id(entry: object) -> str | None:
    paper = entry.get("paper") if isinstance(entry, dict) else None
    return str(paper["id"]) if isinstance(paper, dict) and paper.get("id") else None
