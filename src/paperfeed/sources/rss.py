"""arXiv's daily announcement feed (RSS 2.0, ``https://rss.arxiv.org/rss/cs+math``).
See https://info.arxiv.org/help/rss.html."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from email.utils import parsedate_to_datetime

from lxml import etree

from paperfeed.records import PaperRecord, find_code_links
from paperfeed.sources.arxiv_xml import Page, entry_id, fetch_xml, text, texts
from paperfeed.sources.base import Checkpoint, Item, Rejected, SourceError
from paperfeed.sources.http import PoliteClient

ERROR_TITLE = "Feed error for query"


class RssSource:
    """Today's announcements in some archives or categories: new submissions, cross-lists and
    replacements (these carry the new version). Checkpoint ``{"index": n, "day": iso}``; a
    checkpoint from another announcement day starts the current feed from its first item.
    A feed without items (weekends, holidays) yields nothing and sets ``empty_day_message``;
    ``announce_counts`` counts the items read by announce type (new, cross, replace, ...)."""

    name = "rss"

    def __init__(self, client: PoliteClient, base_url: str, categories: list[str]) -> None:
        if not categories:
            raise ValueError("no categories to follow")
        self.client = client
        self.url = base_url.rstrip("/") + "/" + "+".join(categories)
        self.source = "rss:" + "+".join(categories)
        self.empty_day_message: str | None = None
        self.announce_counts: Counter[str] = Counter()
        self._done = 0
        self._total: int | None = None

    def params(self) -> dict[str, object]:
        return {"url": self.url}

    def check(self) -> None:
        """Nothing to verify before the request."""

    def read(self, checkpoint: Checkpoint | None) -> Iterator[tuple[Item, Checkpoint]]:
        page = self._fetch()
        channel = page.root.find("channel")
        if channel is None:
            raise SourceError(f"{page.url}: not an RSS feed (no <channel>)")
        try:
            day = _day(text(channel, "pubDate"))
        except ValueError as exc:
            raise SourceError(f"{page.url}: {exc}") from None
        items = channel.findall("item")
        self._total = len(items)
        if not items:
            self.empty_day_message = f"{page.url}: no announcements on {day or 'this day'}"
        same_day = checkpoint and checkpoint.get("day") == (day and day.isoformat())
        skip = checkpoint["index"] if same_day and checkpoint else 0
        for index in range(skip, len(items)):
            self._done = index + 1
            item = self._item(items[index], f"{page.url} item {index + 1}", day)
            yield item, {"index": index + 1, "day": day.isoformat() if day else None}

    def progress(self) -> tuple[int, int | None]:
        return self._done, self._total

    def _fetch(self) -> Page:
        page = fetch_xml(self.client, self.url)
        channel = page.root.find("channel")
        title = text(channel, "title") if channel is not None else None
        if title and title.startswith(ERROR_TITLE):
            raise SourceError(f"{page.url}: {text(channel, 'description') or title}")
        if page.status >= 400:
            raise page.failed()
        return page

    def _item(self, item: etree._Element, location: str, day: date | None) -> Item:
        self.announce_counts[text(item, "arxiv:announce_type") or "unknown"] += 1
        try:
            ident = entry_id(text(item, "guid") or text(item, "link"))
            day = _day(text(item, "pubDate")) or day
        except ValueError as exc:
            return Rejected(location, str(exc))
        abstract = _abstract(text(item, "description") or "")
        categories = texts(item, "category")
        return PaperRecord(
            arxiv_id=ident.id,
            version=ident.version,
            title=text(item, "title") or "",
            abstract=abstract,
            source=self.source,
            authors=[name for value in texts(item, "dc:creator") for name in split_creators(value)],
            categories=categories,
            primary_category=categories[0] if categories else None,
            announced=day,
            doi=text(item, "arxiv:DOI"),
            journal_ref=text(item, "arxiv:journal_reference"),
            license=text(item, "dc:rights"),
            links=find_code_links(abstract),
            first_seen=day,
            last_seen=day,
        )


def _day(value: str | None) -> date | None:
    """The calendar day of an RFC 822 date (``Thu, 28 Nov 2024 00:00:00 -0500``), as
    written; ``ValueError`` if it is not one."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).date()
    except (TypeError, ValueError):
        raise ValueError(f"bad date {value!r}") from None


def _abstract(description: str) -> str:
    """The abstract in ``arXiv:2411.17700v1 Announce Type: new Abstract: ...``."""
    _, found, abstract = description.partition("Abstract:")
    return abstract.strip() if found else description


def split_creators(value: str) -> list[str]:
    """Author names from ``dc:creator`` (``"A, B (Univ, Dept), and C"``): commas and "and"
    inside parentheses belong to affiliations, which are dropped."""
    names, current, depth = [], "", 0
    for char in value + ",":
        depth = max(0, depth + (char == "(") - (char == ")"))
        if char == "," and depth == 0:
            names.extend(_and_split(current))
            current = ""
        elif depth == 0 and char != ")":
            current += char
    return names


def _and_split(part: str) -> list[str]:
    words = part.strip()
    if words.startswith("and "):
        words = words[4:]
    return [name.strip() for name in words.split(" and ") if name.strip()]
