"""The search box's small language: words, "phrases", ``name:value`` filters and ``AND``.

Parsing never fails: whatever cannot be understood is searched as text or dropped, and the
user is told so in ``notes``. Nothing here is an operator for a search engine or a database;
the indexes build their queries from these fields.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Literal, get_args

MAX_CHARS = 1_000
# how a search ranks (both sides fused, or one) and the orders its results come in
Mode = Literal["hybrid", "lexical", "dense"]
Sort = Literal["relevance", "date", "upvotes"]
MODES: tuple[Mode, ...] = get_args(Mode)
SORTS: tuple[Sort, ...] = get_args(Sort)
# a filter (``name:value`` or ``name:"quoted value"``), a "phrase", or any other word
_TOKEN = re.compile(r'([A-Za-z]+):("[^"]*"|\S*)|"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w")
_CATEGORY = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)?(?:\.[A-Za-z-]+)?")
_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_DROPPED = {"Cc", "Cf", "Cs"}  # control, format (zero-width, bidi) and lone surrogate chars
_AUTHOR = {"author", "au"}
_CATEGORIES = {"cat", "category"}
_DATES = {"year", "date", "after", "before"}
MAX_CATEGORIES = 20  # categories or archives one filter takes
_CATEGORY_CHARS = 40  # the longest arXiv category, cond-mat.mes-hall, has 17


@dataclass(frozen=True)
class ParsedQuery:
    """What the user asked for; filters combine with AND."""

    terms: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # "cs" stands for the whole archive
    date_from: date | None = None  # inclusive
    date_to: date | None = None  # inclusive
    every_word: bool = False  # an upper-case AND: papers must have every word
    notes: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The free text, without filters: what a dense (embedding) search should read."""
        return " ".join((*self.terms, *self.phrases))


class _Builder:
    """Accumulates the parts of a query as its tokens are read."""

    def __init__(self) -> None:
        self.terms: list[str] = []
        self.phrases: list[str] = []
        self.authors: list[str] = []
        self.categories: list[str] = []
        self.date_from: date | None = None
        self.date_to: date | None = None
        self.every_word = False
        self.notes: list[str] = []

    def word(self, word: str) -> None:
        if word == "AND":
            self.every_word = True
            return
        word = word.replace('"', "")
        if _WORD.search(word) and word.lower() not in {t.lower() for t in self.terms}:
            self.terms.append(word)

    def phrase(self, phrase: str) -> None:
        phrase = " ".join(phrase.split())
        if _WORD.search(phrase) and phrase not in self.phrases:
            self.phrases.append(phrase)

    def filter(self, token: str, name: str, raw: str) -> None:
        key = name.lower()
        value = " ".join(raw.replace('"', " ").split())
        if key not in _AUTHOR | _CATEGORIES | _DATES:
            if value:
                self.notes.append(f"unknown filter '{name}:' searched as text")
            for word in token.split():
                self.word(word)
        elif not value:
            self.notes.append(f"empty filter '{name}:' ignored")
        elif key in _AUTHOR:
            self.author(name, value)
        elif key in _CATEGORIES:
            self.category(name, value)
        else:
            self.dates(key, name, value)

    def author(self, name: str, value: str) -> None:
        if _WORD.search(value):
            self.authors.append(value)
        else:
            self.notes.append(f"bad author '{name}:{value}' ignored")

    def category(self, name: str, value: str) -> None:
        if is_category(value):
            self.categories.append(value)
        else:
            self.notes.append(f"bad category '{name}:{value}' ignored")

    def dates(self, key: str, name: str, value: str) -> None:
        bounds = _bounds(key, value)
        if bounds is None:
            self.notes.append(f"bad date '{name}:{value}' ignored")
            return
        low, high = bounds
        if low:
            self.date_from = max(low, self.date_from or low)
        if high:
            self.date_to = min(high, self.date_to or high)

    def build(self) -> ParsedQuery:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            self.notes.append("the date range is empty")
        return ParsedQuery(
            terms=tuple(self.terms),
            phrases=tuple(self.phrases),
            authors=tuple(dict.fromkeys(self.authors)),
            categories=tuple(dict.fromkeys(self.categories)),
            date_from=self.date_from,
            date_to=self.date_to,
            every_word=self.every_word,
            notes=tuple(self.notes),
        )


@dataclass(frozen=True)
class Filters:
    """Restrictions besides the query's own ``cat:``/``author:``/date terms; all must hold."""

    categories: Sequence[str] = ()
    authors: Sequence[str] = ()
    organisation: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def typed(
        cls,
        category: str = "",
        author: str = "",
        organisation: str = "",
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> Filters:
        """The filters as typed in a search form's fields: categories or archives separated by
        commas or spaces (``cs.CL, cs.LG``), one author, one organisation handle."""
        return cls(
            categories=[c for c in category.replace(",", " ").split() if c],
            authors=[author.strip()] if author.strip() else [],
            organisation=organisation.strip() or None,
            date_from=date_from,
            date_to=date_to,
        )

    def restrict(self, query: ParsedQuery) -> bool:
        """Whether these filters or the query's own leave out any paper."""
        own = query.categories or query.authors or query.date_from or query.date_to
        return bool(own or any(getattr(self, f.name) for f in fields(self)))


NO_FILTERS = Filters()


def is_category(name: str) -> bool:
    """Whether ``name`` is written as an arXiv category (``cs.CL``) or archive (``cs``)."""
    return len(name) <= _CATEGORY_CHARS and _CATEGORY.fullmatch(name) is not None


def read_categories(values: Iterable[str]) -> tuple[list[str], list[str]]:
    """The categories and archives ``values`` name (each value may list several, separated by
    commas or spaces), each once whatever its case, and why each one left out is."""
    names: dict[str, str] = {}
    notes: list[str] = []
    for name in (n for value in values for n in value.replace(",", " ").split()):
        if not is_category(name):
            notes.append(f"{name[:64]!r} is not an arXiv category or archive (like cs.CL or cs)")
        elif len(names) == MAX_CATEGORIES and name.lower() not in names:
            notes.append(f"{name!r} is one category too many: at most {MAX_CATEGORIES} at once")
        else:
            names.setdefault(name.lower(), name)
    return list(names.values()), notes


def parse_query(text: str) -> ParsedQuery:
    """Parse what was typed in the search box; never raises."""
    builder = _Builder()
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
        builder.notes.append(f"query cut to {MAX_CHARS:,} characters")
    for match in _TOKEN.finditer(_clean(text)):
        name, value, phrase, word = match.groups()
        if name is not None:
            builder.filter(match.group(0), name, value)
        elif phrase is not None:
            builder.phrase(phrase)
        else:
            builder.word(word)
    return builder.build()


def _clean(text: str) -> str:
    """Whitespace of any kind becomes a space; other control and format characters go."""
    return "".join(
        " " if char.isspace() else char
        for char in text
        if char.isspace() or unicodedata.category(char) not in _DROPPED
    )


def _bounds(key: str, value: str) -> tuple[date | None, date | None] | None:
    """``(first day, last day)`` a date filter allows (``None``: unbounded), or ``None``."""
    if key in {"year", "date"} and ".." in value:
        start, end = value.split("..", 1)
        low = _span(start) if start else (None, None)
        high = _span(end) if end else (None, None)
        if low is None or high is None or not (start or end):
            return None
        return low[0], high[1]
    span = _span(value)
    if span is None:
        return None
    return {"after": (span[0], None), "before": (None, span[1])}.get(key, span)


def _span(value: str) -> tuple[date, date] | None:
    """The first and last day of a year (2024), a month (2024-03) or a day (2024-03-05)."""
    match = _DATE.fullmatch(value)
    if not match:
        return None
    year, month, day = match.groups()
    try:
        if day:
            one = date(int(year), int(month), int(day))
            return one, one
        if month:
            last = calendar.monthrange(int(year), int(month))[1]
            return date(int(year), int(month), 1), date(int(year), int(month), last)
        return date(int(year), 1, 1), date(int(year), 12, 31)
    except ValueError:  # month 13, day 31 in April, year 0
        return None
