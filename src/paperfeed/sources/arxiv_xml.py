"""Helpers shared by the XML adapters (OAI-PMH, arXiv API Atom, announcement RSS):
namespaces, text look-ups, fetching and parsing a response, entry ids."""

from __future__ import annotations

from typing import NamedTuple

from lxml import etree

from paperfeed.arxiv_ids import ArxivId, InvalidArxivId, parse_arxiv_id
from paperfeed.records import clean_text
from paperfeed.sources.base import SourceError
from paperfeed.sources.http import PoliteClient, QueryParams
from paperfeed.sources.xml import parse_xml

NS = {
    "oai": "http://www.openarchives.org/OAI/2.0/",
    "ax": "http://arxiv.org/OAI/arXiv/",
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
    "dc": "http://purl.org/dc/elements/1.1/",
}


class Page(NamedTuple):
    """A parsed XML response: its root element, the URL asked for, and the HTTP status."""

    root: etree._Element
    url: str
    status: int

    def failed(self) -> SourceError:
        """The error for an HTTP failure whose body explains nothing we understand."""
        return SourceError(f"{self.url}: HTTP {self.status}")


def fetch_xml(client: PoliteClient, url: str, params: QueryParams | None = None) -> Page:
    """GET ``url`` and parse the body; an HTTP error whose body is not XML raises
    :class:`SourceError` naming the status, broken XML one naming the line."""
    response = client.get(url, params=params)
    where = str(response.url)
    if response.status_code >= 400:
        try:
            root = parse_xml(response.content, where)
        except SourceError:
            raise SourceError(f"{where}: HTTP {response.status_code}") from None
    else:
        root = parse_xml(response.content, where)
    return Page(root, where, response.status_code)


def text(element: etree._Element, path: str) -> str | None:
    """The whitespace-collapsed text of the first match of ``path`` (``None`` if absent)."""
    found = element.find(path, NS)
    return None if found is None else clean_text("".join(found.itertext()))


def texts(element: etree._Element, path: str) -> list[str]:
    """The non-empty whitespace-collapsed texts of every match of ``path``, in order."""
    found = (clean_text("".join(e.itertext())) for e in element.iterfind(path, NS))
    return [value for value in found if value]


def entry_id(value: str | None) -> ArxivId:
    """The arXiv id (and version) in an entry's id, guid or link; ``ValueError`` if none."""
    if not value:
        raise ValueError("missing arXiv id")
    try:
        return parse_arxiv_id(value)
    except InvalidArxivId as exc:
        raise ValueError(str(exc)) from None
