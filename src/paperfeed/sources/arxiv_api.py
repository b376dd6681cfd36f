"""The arXiv API (Atom 1.0): papers by id list or by search query, paged with
``start``/``max_results``. See https://info.arxiv.org/help/api/user-manual.html."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from paperfeed.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.records import PaperRecord, find_code_links, parse_datetime
from paperfeed.sources.arxiv_xml import NS, Page, entry_id, fetch_xml, text, texts
from paperfeed.sources.base import Checkpoint, Item, Rejected, SourceError
from paperfeed.sources.http import PoliteClient, QueryParams

NOT_FOUND = "not found on arXiv"
ERROR_ID = "arxiv.org/api/errors"


class ArxivApiSource:
    """Papers from the arXiv API. Id look-ups yield one item per id (a record, or
    :class:`Rejected` saying why not) with checkpoint ``{"chunk": i, "index": n}``; a search
    yields its results in order with checkpoint ``{"start": n}`` (results done)."""

    name = "arxiv-api"

    def __init__(
        self,
        client: PoliteClient,
        base_url: str,
        *,
        ids: list[str] | None = None,
        query: str | None = None,
        page_size: int = 100,
        max_results: int | None = None,
    ) -> None:
        if (ids is None) == (query is None):
            raise ValueError("give exactly one of ids and query")
        if page_size < 1:
            raise ValueError(f"page_size {page_size} (at least 1)")
        self.client = client
        self.base_url = base_url
        self.ids = list(dict.fromkeys(ids)) if ids is not None else None
        self.query = query
        self.page_size = page_size
        self.max_results = max_results
        self._done = 0
        self._total = len(self.ids) if self.ids is not None else max_results

    def params(self) -> dict[str, object]:
        return {
            "url": self.base_url,
            "ids": self.ids,
            "query": self.query,
            "page_size": self.page_size,
            "max_results": self.max_results,
        }

    def check(self) -> None:
        """Nothing to verify before the first request."""

    def read(self, checkpoint: Checkpoint | None) -> Iterator[tuple[Item, Checkpoint]]:
        if self.ids is not None:
            return self._read_ids(self.ids, checkpoint)
        return self._read_query(checkpoint)

    def progress(self) -> tuple[int, int | None]:
        return self._done, self._total

    def _read_ids(
        self, ids: list[str], checkpoint: Checkpoint | None
    ) -> Iterator[tuple[Item, Checkpoint]]:
        first, skip = (checkpoint["chunk"], checkpoint["index"]) if checkpoint else (0, 0)
        for number in range(first, -(-len(ids) // self.page_size)):
            chunk = ids[number * self.page_size : (number + 1) * self.page_size]
            found = self._lookup(chunk)
            for index in range(skip, len(chunk)):
                self._done = number * self.page_size + index + 1
                yield found[chunk[index]], {"chunk": number, "index": index + 1}
            skip = 0

    def _read_query(self, checkpoint: Checkpoint | None) -> Iterator[tuple[Item, Checkpoint]]:
        start = checkpoint["start"] if checkpoint else 0
        total: int | None = None  # the first page's (capped at max_results) is the run's
        while (end := self.max_results if total is None else total) is None or start < end:
            size = self.page_size if end is None else min(self.page_size, end - start)
            params = {"search_query": self.query, "start": start, "max_results": size}
            page, error = self._fetch(params)
            if error is not None:
                raise SourceError(f"{page.url}: arXiv API error: {error}")
            if total is None:
                total = self._total = _total(page, self.max_results)
            entries = page.root.findall("atom:entry", NS)[: max(0, total - start)]
            if not entries and start < total:
                raise SourceError(
                    f"{page.url}: no entries at start={start} of {total} results "
                    "(the arXiv API sometimes answers empty pages; resume later)"
                )
            for entry in entries:
                start += 1
                self._done = start
                yield self._item(entry, page.url), {"start": start}

    def _fetch(self, params: QueryParams) -> tuple[Page, str | None]:
        """A response and the error it reports (``None`` if none); HTTP errors without an
        Atom error entry raise :class:`SourceError`."""
        page = fetch_xml(self.client, self.base_url, params)
        error = _error(page.root)
        if error is None and page.status >= 400:
            raise page.failed()
        return page, error

    def _lookup(self, ids: list[str]) -> dict[str, Item]:
        """One item per requested id: its record, or why there is none."""
        page, error = self._fetch({"id_list": ",".join(ids), "start": 0, "max_results": len(ids)})
        if error is not None:
            return self._isolate(ids, error)
        found: dict[str, Item] = {}
        for entry in page.root.iterfind("atom:entry", NS):
            item = self._item(entry, page.url)
            found[_key(item.arxiv_id if isinstance(item, PaperRecord) else item.location)] = item
        return {i: found.get(_key(i)) or Rejected(i, NOT_FOUND) for i in ids}

    def _isolate(self, ids: list[str], error: str) -> dict[str, Item]:
        """arXiv answers a whole id list with one error: reject the id it names (or, if it
        names none, look every id up on its own) and look the others up again."""
        if len(ids) == 1:
            return {ids[0]: Rejected(ids[0], error)}
        named = next((i for i in ids if error.endswith(f" for {i}")), None)
        if named is None:
            return {i: item for one in ids for i, item in self._lookup([one]).items()}
        return {named: Rejected(named, error)} | self._lookup([i for i in ids if i != named])

    def _item(self, entry: etree._Element, where: str) -> PaperRecord | Rejected:
        try:
            return _paper(entry)
        except ValueError as exc:
            return Rejected(text(entry, "atom:id") or where, str(exc))


def _paper(entry: etree._Element) -> PaperRecord:
    """An Atom ``<entry>`` as a record; ``ValueError`` if its id or dates are unusable."""
    ident = entry_id(text(entry, "atom:id"))
    abstract = text(entry, "atom:summary") or ""
    comment = text(entry, "arxiv:comment")
    primary = entry.find("arxiv:primary_category", NS)
    primary_term = primary.get("term") if primary is not None else None
    terms = [c.get("term") for c in entry.iterfind("atom:category", NS)]
    categories = list(dict.fromkeys(t for t in [primary_term, *terms] if t))
    return PaperRecord(
        arxiv_id=ident.id,
        version=ident.version,
        title=text(entry, "atom:title") or "",
        abstract=abstract,
        source="arxiv-api",
        authors=texts(entry, "atom:author/atom:name"),
        categories=categories,
        primary_category=primary_term,
        published=parse_datetime(text(entry, "atom:published")),
        updated=parse_datetime(text(entry, "atom:updated")),
        doi=text(entry, "arxiv:doi"),
        journal_ref=text(entry, "arxiv:journal_ref"),
        comments=comment,
        links=find_code_links(abstract, comment),
    )


def _error(root: etree._Element) -> str | None:
    """The summary of the feed's error entry, if it has one."""
    for entry in root.iterfind("atom:entry", NS):
        if ERROR_ID in (text(entry, "atom:id") or ""):
            return text(entry, "atom:summary") or text(entry, "atom:id")
    return None


def _total(page: Page, limit: int | None) -> int:
    """``opensearch:totalResults``, capped at ``limit``."""
    value = text(page.root, "opensearch:totalResults")
    if value is None or not value.isdigit():
        raise SourceError(f"{page.url}: no opensearch:totalResults (not an arXiv API feed?)")
    return min(int(value), limit) if limit is not None else int(value)


def _key(arxiv_id: str) -> str:
    """The id without version, to match a returned entry with the id asked for."""
    try:
        return parse_arxiv_id(arxiv_id).id
    except InvalidArxivId:
        return arxiv_id
