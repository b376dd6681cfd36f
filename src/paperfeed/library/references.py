"""Reading a reference manager's export (BibTeX, RIS, CSL-JSON) into plain references.

Zotero, Mendeley and JabRef all write these formats. A file is read as far as it can be: good
entries come back as :class:`Reference`, bad ones as :class:`Skipped` with where they are and
why, so that no entry is lost silently; a file with no readable entry raises
:class:`ImportFormatError`.
"""

from __future__ import annotations

import html
import json
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any
from urllib.parse import unquote

import bibtexparser
import rispy
from bibtexparser.middlewares.names import (
    parse_single_name_into_parts,
    split_multiple_persons_names,
)
from bibtexparser.model import (
    Block,
    DuplicateBlockKeyBlock,
    DuplicateFieldKeyBlock,
    Entry,
    ParsingFailedBlock,
)

from paperfeed.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.latex import to_text

EXTENSIONS = {".bib": "bibtex", ".bibtex": "bibtex", ".ris": "ris", ".json": "csl-json"}
MONTHS = "January February March April May June July August September October November December"
BIBTEX_MACROS = {month[:3].lower(): month for month in MONTHS.split()}  # BibTeX's own @strings
BINARY = re.compile(r"[\x00-\x08\x0e-\x1f]")
BIB_BLOCK = re.compile(r"^\s*@\s*\w+\s*[{(]", re.MULTILINE)
RIS_LINE = re.compile(r"^(?P<tag>[A-Z][A-Z0-9])  -(?: (?P<value>.*))?$")
ARXIV_MENTION = re.compile(
    r"arxiv(?:\.org/(?:abs|pdf|html)/|\s*[:.]\s*|\s+)"
    r"(?P<id>\d{4}\.\d{4,5}(?:v\d+)?(?!\d)|[a-z]+(?:-[a-z]+)?(?:\.[a-z]{2})?/\d{7}(?:v\d+)?)",
    re.IGNORECASE,
)
DOI = re.compile(r"10\.\d{4,9}/\S+")
YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")
TAG = re.compile(r"<[^>]+>")  # Zotero's rich-text markup in CSL titles: <i>, <sup>, ...
BIB_KEY = re.compile(r"\s*@\s*\w+\s*[{(]\s*([^,\s]+)\s*,")
# it logs each broken block as a warning; the user gets them as skipped entries instead
logging.getLogger("bibtexparser").setLevel(logging.ERROR)
BIB_WORD = re.compile(r"[^\s#{}\",=]+")
ARXIV_NAMES = ("archive", "publisher", "container-title", "source", "genre")


class ImportFormatError(ValueError):
    """A file that is not a BibTeX, RIS or CSL-JSON export, or none of whose entries can be
    read; the message says what is wrong and where."""


@dataclass(frozen=True, slots=True)
class Reference:
    """One entry of a user's library; ``location`` says where it was in the file."""

    location: str
    title: str | None
    authors: tuple[str, ...] = ()
    year: int | None = None
    doi: str | None = None
    arxiv_id: str | None = None  # without version
    url: str | None = None
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry that could not be read, with where it is and why."""

    location: str
    reason: str


@dataclass(frozen=True)
class ParsedReferences:
    """What a file held: the entries read, in file order, and the entries skipped."""

    format: str
    references: list[Reference]
    skipped: list[Skipped]


def parse_references(data: str | bytes, filename: str | None = None) -> ParsedReferences:
    """Read an export; the format comes from the file name's extension, else from the
    content. Raises :class:`ImportFormatError` when no entry at all can be read."""
    text = _text(data)
    format = _detect(text, filename)
    parse = {"bibtex": _parse_bibtex, "ris": _parse_ris, "csl-json": _parse_csl}[format]
    references, skipped = parse(text)
    if not references:
        raise ImportFormatError(_nothing_read(format, skipped))
    return ParsedReferences(format, references, skipped)


def _text(data: str | bytes) -> str:
    if isinstance(data, bytes):
        raw = data
        try:
            data = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise ImportFormatError(
                f"not UTF-8 text: byte {raw[exc.start]:#04x} on line {line} "
                "(export the library as UTF-8)"
            ) from None
    text = data.removeprefix("\ufeff")
    if BINARY.search(text):
        raise ImportFormatError("a binary file, not a BibTeX, RIS or CSL-JSON export")
    if not text.strip():
        raise ImportFormatError("empty file")
    return text


def _detect(text: str, filename: str | None) -> str:
    if filename and (format := EXTENSIONS.get(PurePath(filename).suffix.lower())):
        return format
    if text.lstrip()[0] in "[{":
        return "csl-json"
    if any(RIS_LINE.match(line) for line in text.splitlines()):
        return "ris"
    if BIB_BLOCK.search(text):
        return "bibtex"
    raise ImportFormatError(
        "not a BibTeX, RIS or CSL-JSON export: no @entry{...}, no 'TY  - ' line, no JSON"
    )


def _nothing_read(format: str, skipped: list[Skipped]) -> str:
    if not skipped:
        return {
            "bibtex": "no BibTeX entry (@article{...}) in the file",
            "ris": "no RIS record (TY  - ... ER  - ) in the file",
            "csl-json": "no CSL-JSON item in the file",
        }[format]
    shown = "; ".join(f"{s.location}: {s.reason}" for s in skipped[:5])
    more = f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
    return f"no entry could be read: {shown}{more}"


def _reference(location: str, **fields: Any) -> Reference:
    """A reference, provided it has something to find the paper by."""
    reference = Reference(location, **fields)
    if not (reference.title or reference.doi or reference.arxiv_id):
        raise ValueError("no title, DOI or arXiv id")
    return reference


# Field values common to the formats


def one_line(text: str) -> str:
    """A field's value with its LaTeX as text, on one line."""
    return " ".join(to_text(text).split())


def find_arxiv_id(*texts: str | None) -> str | None:
    """The first arXiv id mentioned in ``texts`` (``arXiv:2106.01234``, an arxiv.org URL, an
    arXiv DOI ``10.48550/arXiv.2106.01234``), without version."""
    for text in texts:
        for match in ARXIV_MENTION.finditer(text or ""):
            try:
                return parse_arxiv_id(match.group("id")).id
            except InvalidArxivId:
                continue
    return None


def find_doi(text: str | None) -> str | None:
    """The bare DOI in a DOI field or link (``https://doi.org/10...``, ``doi:10...``)."""
    match = DOI.search(unquote(text or ""))
    return match.group().rstrip(".,;") if match else None


def fold(text: str) -> str:
    """Lower case without accents (Schrödinger -> schrodinger), for comparing names."""
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _year(text: str | None) -> int | None:
    match = YEAR.search(text or "")
    return int(match.group()) if match else None


def _split_keywords(text: str | None) -> tuple[str, ...]:
    words = (one_line(word) for word in re.split(r"[,;]", text or ""))
    return tuple(word for word in words if word)


# BibTeX: bibtexparser splits the file into blocks (and recovers after a broken one); the
# values are evaluated here, since it resolves neither '#' nor macros inside them.


def _parse_bibtex(text: str) -> tuple[list[Reference], list[Skipped]]:
    library = bibtexparser.parse_string(text, parse_stack=[])
    macros, skipped = _bib_macros(library)
    references = []
    for block in library.blocks:
        if isinstance(block, DuplicateBlockKeyBlock | DuplicateFieldKeyBlock):
            block = block.ignore_error_block or block  # still the user's entry: keep it
        if isinstance(block, Entry):
            location = f"{_line(block)}, entry {block.key}"
            try:
                references.append(_bib_reference(location, block, macros))
            except ValueError as exc:
                skipped.append(Skipped(location, str(exc)))
        elif isinstance(block, ParsingFailedBlock):
            skipped.append(_bib_failure(block))
    return references, skipped


def _bib_macros(library: bibtexparser.Library) -> tuple[dict[str, str], list[Skipped]]:
    macros, skipped = dict(BIBTEX_MACROS), []
    for string in library.strings:
        try:
            macros[string.key.lower()] = _bib_value(string.value, macros)
        except ValueError as exc:
            skipped.append(Skipped(f"{_line(string)}, @string {string.key}", str(exc)))
    return macros, skipped


def _bib_failure(block: ParsingFailedBlock) -> Skipped:
    key = BIB_KEY.match(block.raw or "")
    location = _line(block) + (f", entry {key.group(1)}" if key else "")
    reason = (getattr(block.error, "abort_reason", None) or str(block.error)).strip()
    if reason == "Unexpectedly reached end of file.":  # bibtexparser's words for it
        reason = "the file ends inside this entry: a brace or quote is not closed"
    return Skipped(location, reason)


def _line(block: Block) -> str:
    """Where a block starts: bibtexparser counts lines from 0, and gives every block it
    parses a line (only blocks made in code have none)."""
    return f"line {(block.start_line or 0) + 1}"


def _bib_value(value: str, macros: Mapping[str, str]) -> str:
    """A field value: ``{...}``, ``"..."``, numbers and @string names joined by ``#``."""
    parts: list[str] = []
    pos = 0
    while True:
        pos = _skip_spaces(value, pos)
        if pos == len(value):
            raise ValueError("a value ends with '#'" if parts else "an empty value")
        if value[pos] in '{"':
            end = _closing(value, pos)
            parts.append(value[pos + 1 : end])
            pos = end + 1
        else:
            word = BIB_WORD.match(value, pos)
            if not word:
                raise ValueError(f"unexpected {value[pos]!r} in a value")
            parts.append(_bib_word(word.group(), macros))
            pos = word.end()
        pos = _skip_spaces(value, pos)
        if pos == len(value):
            return "".join(parts)
        if value[pos] != "#":
            raise ValueError(f"unexpected {value[pos : pos + 12]!r} after a value (missing '#'?)")
        pos += 1


def _skip_spaces(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _closing(value: str, start: int) -> int:
    """Where the ``{`` or ``"`` at ``start`` closes; braces nest, escaped characters do not
    count (as bibtexparser's splitter reads them)."""
    depth, pos = 0, start
    while pos < len(value):
        char = value[pos]
        if char == "\\":
            pos += 1
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0 and value[start] == "{":
                return pos
        elif char == '"' and pos > start and depth == 0 and value[start] == '"':
            return pos
        pos += 1
    raise ValueError("unbalanced braces or quotes in a value")


def _bib_word(word: str, macros: Mapping[str, str]) -> str:
    if word.isdigit():
        return word
    if word.lower() not in macros:
        raise ValueError(f"undefined @string {word!r}")
    return macros[word.lower()]


def _bib_reference(location: str, entry: Entry, macros: Mapping[str, str]) -> Reference:
    fields = {field.key.lower(): field for field in entry.fields}

    def get(name: str) -> str | None:
        field = fields.get(name)
        if field is None:
            return None
        try:
            return _bib_value(str(field.value), macros).strip()
        except ValueError as exc:
            raise ValueError(f"{field.key} (line {field.start_line + 1}): {exc}") from None

    return _reference(
        location,
        title=one_line(get("title") or "") or None,
        authors=_bib_authors(get("author")),
        year=_year(get("year") or get("date")),
        doi=find_doi(_verbatim(get("doi"))) or find_doi(_verbatim(get("url"))),
        arxiv_id=_bib_arxiv_id(get),
        url=_verbatim(get("url")),
        keywords=_split_keywords(get("keywords")),
    )


def _bib_authors(text: str | None) -> tuple[str, ...]:
    names = (
        parse_single_name_into_parts(name, strict=False).merge_first_name_first
        for name in split_multiple_persons_names(text or "")
        if name.strip().lower() != "others"
    )
    return tuple(name for name in map(one_line, names) if name)


def _bib_arxiv_id(get: Callable[[str], str | None]) -> str | None:
    eprint, prefix = get("eprint"), get("archiveprefix") or get("eprinttype") or "arxiv"
    if eprint and prefix.lower() == "arxiv":
        try:
            return parse_arxiv_id(_verbatim(eprint) or "").id
        except InvalidArxivId:
            pass
    fields = ("journal", "note", "url", "doi", "howpublished", "number", "eprint")
    return find_arxiv_id(*(_verbatim(get(name)) for name in fields))


def _verbatim(text: str | None) -> str | None:
    """A URL-like value as written: braces dropped, ``\\_`` and the like unescaped."""
    if text is None:
        return None
    return re.sub(r"\\([_%&#~$])", r"\1", text.replace("{", "").replace("}", "")).strip() or None


# RIS: records are framed here (with their line numbers, and a missing ER reported rather
# than dropped); rispy reads the tags of each record.


def _parse_ris(text: str) -> tuple[list[Reference], list[Skipped]]:
    references, skipped = [], []
    for location, lines, problem in _ris_records(text.splitlines()):
        try:
            if problem:
                raise ValueError(problem)
            references.append(_ris_reference(location, rispy.loads("\n".join(lines))[0]))
        except ValueError as exc:
            skipped.append(Skipped(location, str(exc)))
    return references, skipped


def _ris_records(lines: list[str]) -> Iterator[tuple[str, list[str], str | None]]:
    """``(location, lines, problem)`` for each record from ``TY`` to ``ER``, and for each
    stretch of text outside records."""
    start, count, stray = 0, 0, False
    record: list[str] = []
    for number, line in enumerate(map(str.rstrip, lines), 1):
        tag = match.group("tag") if (match := RIS_LINE.match(line)) else None
        if tag == "TY":
            if record:
                problem = f"no 'ER  - ' line before the next record (line {number})"
                yield f"line {start}, record {count}", record, problem
            start, count, record = number, count + 1, [line]
        elif tag == "ER" and record:
            yield f"line {start}, record {count}", [*record, "ER  - "], None
            record = []
        elif record:
            record.append(line)
        elif line.strip() and not stray:
            yield f"line {number}", [], f"{line.strip()[:40]!r} is outside a record (no TY before)"
        stray = bool(line.strip()) and not record and tag != "ER"
    if record:
        yield f"line {start}, record {count}", record, "no 'ER  - ' line before the end of the file"


def _ris_reference(location: str, record: dict[str, Any]) -> Reference:
    urls = record.get("urls", [])
    notes = [*record.get("notes", []), record.get("note"), record.get("type_of_work")]
    places = [record.get(name) for name in ("journal_name", "secondary_title", "doi")]
    authors = list(record.get("authors", []))
    authors += [name for name in record.get("first_authors", []) if name not in authors]
    return _reference(
        location,
        title=record.get("title") or record.get("primary_title"),
        authors=tuple(map(_ris_name, authors)),
        year=_year(record.get("year") or record.get("publication_year") or record.get("date")),
        doi=find_doi(record.get("doi")) or next(filter(None, map(find_doi, urls)), None),
        arxiv_id=find_arxiv_id(*urls, *notes, *places),
        url=urls[0] if urls else None,
        keywords=tuple(k.strip() for k in record.get("keywords", []) if k.strip()),
    )


def _ris_name(name: str) -> str:
    """``Last, First[, Suffix]`` as ``First Last Suffix``."""
    last, _, rest = name.partition(",")
    first, _, suffix = rest.partition(",")
    return " ".join(part.strip() for part in (first, last, suffix) if part.strip())


# CSL-JSON: the list of items Zotero ("CSL JSON", Better BibTeX's "Better CSL JSON") and
# citeproc use; https://citeproc-js.readthedocs.io/en/latest/csl-json/markup.html


def _parse_csl(text: str) -> tuple[list[Reference], list[Skipped]]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        cut = " (the file ends early: cut off?)" if exc.pos >= len(text.rstrip()) else ""
        raise ImportFormatError(
            f"invalid JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}{cut}"
        ) from None
    if not isinstance(items, list) or not any(_is_item(item) for item in items):
        raise ImportFormatError(
            'not CSL-JSON: expected a list of items with "id" and "type" '
            "(in Zotero: Export Library, format CSL JSON)"
        )
    references, skipped = [], []
    for number, item in enumerate(items, 1):
        location = f"item {number}" + (f", id {item['id']}" if _is_item(item) else "")
        try:
            if not _is_item(item):
                raise ValueError('not a CSL item (an object with "id" and "type")')
            references.append(_csl_reference(location, item))
        except ValueError as exc:
            skipped.append(Skipped(location, str(exc)))
    return references, skipped


def _is_item(item: object) -> bool:
    return isinstance(item, dict) and "type" in item and "id" in item


def _csl_reference(location: str, item: dict[str, Any]) -> Reference:
    def text(name: str) -> str | None:
        value = item.get(name)
        if value is None or isinstance(value, str | int):
            return None if value is None else str(value)
        raise ValueError(f'"{name}" is a JSON {type(value).__name__}, not text')

    return _reference(
        location,
        title=_without_markup(text("title")),
        authors=_csl_authors(item.get("author")),
        year=_csl_year(item.get("issued")),
        doi=find_doi(text("DOI")),
        arxiv_id=_csl_arxiv_id(text),
        url=text("URL"),
        keywords=_split_keywords(text("keyword")),
    )


def _without_markup(title: str | None) -> str | None:
    return " ".join(html.unescape(TAG.sub("", title or "")).split()) or None


def _csl_authors(names: object) -> tuple[str, ...]:
    if names is None:
        return ()
    if not isinstance(names, list) or not all(isinstance(name, dict) for name in names):
        raise ValueError('"author" is not a list of names')
    parts = ("given", "dropping-particle", "non-dropping-particle", "family", "suffix")
    joined = (n.get("literal") or " ".join(str(n[p]) for p in parts if n.get(p)) for n in names)
    return tuple(name for name in (" ".join(str(j).split()) for j in joined) if name)


def _csl_year(issued: object) -> int | None:
    """From ``{"date-parts": [[2017, 6, 12]]}``, or the ``raw``/``literal`` date text."""
    if not isinstance(issued, dict):
        return None
    parts = issued.get("date-parts")
    if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
        return _year(str(parts[0][0]))
    return _year(str(issued.get("raw") or issued.get("literal") or ""))


def _csl_arxiv_id(text: Callable[[str], str | None]) -> str | None:
    number = text("number")
    if number and any("arxiv" in (text(name) or "").lower() for name in ARXIV_NAMES):
        try:
            return parse_arxiv_id(number).id
        except InvalidArxivId:
            pass
    names = ("number", "URL", "DOI", "note", "container-title", "archive_location")
    return find_arxiv_id(*(text(name) for name in names))
