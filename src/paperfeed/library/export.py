"""Writing stored papers out for reference managers: BibTeX the way arXiv and Google Scholar
write it (``@misc`` entries with ``eprint``, ``archivePrefix`` and ``primaryClass``, keyed
``vaswani2017attention``), and RIS the way Zotero reads an arXiv paper (a report of arXiv
numbered ``arXiv:<id>``). Reading a reference manager's files is
:mod:`paperfeed.library.references`."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from string import ascii_lowercase
from typing import Any

import rispy
from bibtexparser.middlewares.names import parse_single_name_into_parts

from paperfeed.arxiv_ids import abs_url, pdf_url
from paperfeed.latex import DOLLAR, LITERAL, to_text
from paperfeed.library.references import fold, one_line

# words Google Scholar passes over for the key's title word
STOPWORDS = frozenset({"a", "an", "and", "for", "in", "is", "of", "on", "the", "to", "with"})
UNDERSCORE = re.compile(r"(?<!\\)_")  # a subscript outside maths, an error in LaTeX
MATHS = re.compile(r"((?<!\\)\$[^$]*(?<!\\)\$)")
AND = re.compile(r"\band\b", re.IGNORECASE)


def to_bibtex(cards: Iterable[Mapping[str, Any]]) -> str:
    """One entry per paper, keys made unique with a letter (``...attention``,
    ``...attentiona``). A card has ``arxiv_id``, ``title`` and ``authors``, and may have
    ``published`` or ``announced``, ``primary_category`` or ``categories``, and ``doi``."""
    used: set[str] = set()
    return "\n".join(_entry(card, _unique(citation_key(card), used)) for card in cards)


def to_ris(cards: Iterable[Mapping[str, Any]]) -> str:
    """One RIS record per paper (cards as for :func:`to_bibtex`, ``abstract`` too), its LaTeX
    as Unicode text: Zotero, Mendeley and EndNote import it; Zotero files it as a report by
    arXiv, as its own arXiv translator does."""
    return rispy.dumps([_record(card) for card in cards], implementation=_RisFile)


class _RisFile(rispy.RisWriter):
    """rispy's writer without the ``1.``, ``2.``... it puts before each record, which is no
    RIS tag (importers skip it as stray text, at best)."""

    def set_header(self, count: int) -> str:
        return ""


def _record(card: Mapping[str, Any]) -> dict[str, Any]:
    arxiv_id, day = card["arxiv_id"], first_day(card)
    fields = {
        "type_of_reference": "RPRT",
        "title": one_line(card["title"]),
        "authors": [surname_first(name) for name in card.get("authors") or []],
        "year": str(_year(card) or ""),
        "date": f"{day:%Y/%m/%d}/" if day else "",  # RIS's YYYY/MM/DD/other
        "publisher": "arXiv",  # a report's institution, to Zotero
        "issn": f"arXiv:{arxiv_id}",  # SN: a report's number
        "urls": [abs_url(arxiv_id)],
        "file_attachments1": pdf_url(arxiv_id),  # L1: the full text, as a PDF
        "doi": card.get("doi") or "",
        "abstract": one_line(card.get("abstract") or ""),
    }
    return {name: value for name, value in fields.items() if value}


def surname_first(name: str) -> str:
    """An author as ``Surname, Given names`` (``van Beethoven, Ludwig``), LaTeX as text: how
    RIS and Highwire's ``citation_author`` write names, so that no reader has to guess where
    the surname starts."""
    parts = parse_single_name_into_parts(one_line(name), strict=False)
    surname = " ".join([*parts.von, *parts.last])
    given = " ".join(parts.first)
    return ", ".join(part for part in (surname, given, " ".join(parts.jr)) if part)


def citation_key(card: Mapping[str, Any]) -> str:
    """First author's surname, year and first significant title word, in ASCII."""
    authors = card.get("authors") or []
    surname = parse_single_name_into_parts(authors[0], strict=False).last if authors else []
    words = re.findall(r"[a-z0-9]+", fold(to_text(card["title"])))
    word = next((w for w in words if w not in STOPWORDS), "")
    name = "".join(re.findall(r"[a-z0-9]+", fold(" ".join(surname)))) or "anon"
    return f"{name}{_year(card) or ''}{word}"


def _unique(key: str, used: set[str]) -> str:
    chosen = next(candidate for candidate in _candidates(key) if candidate not in used)
    used.add(chosen)
    return chosen


def _candidates(key: str) -> Iterator[str]:
    yield key
    for length in itertools.count(1):
        for letters in itertools.product(ascii_lowercase, repeat=length):
            yield key + "".join(letters)


def first_day(card: Mapping[str, Any]) -> date | None:
    """When the paper came out: its first version (a time), else its announcement day."""
    day: date | None = card.get("published") or card.get("announced")
    return day


def _year(card: Mapping[str, Any]) -> int | None:
    day = first_day(card)
    return day.year if day else None


def _entry(card: Mapping[str, Any], key: str) -> str:
    arxiv_id, year = card["arxiv_id"], _year(card)
    fields = [
        ("title", _escape(card["title"])),
        ("author", " and ".join(map(_author, card.get("authors") or []))),
        ("year", str(year) if year else ""),
        ("eprint", arxiv_id),
        ("archivePrefix", "arXiv"),
        ("primaryClass", card.get("primary_category") or (card.get("categories") or [""])[0]),
        ("url", abs_url(arxiv_id)),
        ("doi", card.get("doi") or ""),
    ]
    body = "".join(f"  {name} = {{{value}}},\n" for name, value in fields if value)
    return f"@misc{{{key},\n{body}}}\n"


def _author(name: str) -> str:
    """A name as BibTeX reads it back: braced when it holds the word "and" (a team's name)."""
    name = _escape(name)
    return f"{{{name}}}" if AND.search(name) else name


def _escape(text: str) -> str:
    """Text or arXiv's LaTeX as a BibTeX value that LaTeX compiles: its maths and commands
    kept, bare ``& % # _`` and a lone ``$`` escaped, unpaired braces dropped."""
    text = LITERAL.sub(r"\\\g<0>", text)
    if len(DOLLAR.findall(text)) % 2:  # a lone $ is money, not maths
        text = DOLLAR.sub(r"\\$", text)
    parts = MATHS.split(text)  # odd parts are maths, where _ is a subscript
    text = "".join(p if i % 2 else UNDERSCORE.sub(r"\\_", p) for i, p in enumerate(parts))
    return " ".join(_paired_braces(text).split())


def _paired_braces(text: str) -> str:
    """``text`` without the braces that have no partner, which would end the value early or
    never (escaped ones count too, as BibTeX counts them)."""
    opened: list[int] = []
    unpaired: set[int] = set()
    for position, char in enumerate(text):
        if char == "{":
            opened.append(position)
        elif char == "}":
            if opened:
                opened.pop()
            else:
                unpaired.add(position)
    unpaired.update(opened)
    return "".join(char for position, char in enumerate(text) if position not in unpaired)
