"""arXiv's OAI-PMH interface: ``ListRecords`` in the ``arXiv`` metadata format, paged with
resumption tokens. See https://www.openarchives.org/OAI/openarchivesprotocol.html and
https://info.arxiv.org/help/oa/index.html."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from lxml import etree

from paperfeed.records import PaperRecord, Withdrawal, clean_text, find_code_links, parse_datetime
from paperfeed.sources.arxiv_xml import NS, Page, entry_id, fetch_xml, text, texts
from paperfeed.sources.base import Checkpoint, Item, Rejected, SourceError
from paperfeed.sources.http import PoliteClient

NO_RECORDS = "noRecordsMatch"
BAD_TOKEN = "badResumptionToken"


class ExpiredToken(SourceError):
    """The server no longer knows a resumption token (arXiv's expire after a while)."""


class OaiPmhSource:
    """Harvests ``ListRecords`` pages; checkpoint ``{"token": t, "index": n}``: ``n`` items of
    the page fetched with token ``t`` (``None`` for the first page) are done."""

    name = "oai"

    def __init__(
        self,
        client: PoliteClient,
        base_url: str,
        *,
        set_spec: str | None = None,
        from_date: date | None = None,
        until_date: date | None = None,
    ) -> None:
        self.client = client
        self.base_url = base_url
        self.set_spec = set_spec
        self.from_date = from_date
        self.until_date = until_date
        self.source = f"oai:{set_spec}" if set_spec else "oai"
        self._done = 0
        self._total: int | None = None

    def params(self) -> dict[str, object]:
        return {
            "url": self.base_url,
            "set": self.set_spec,
            "from": self.from_date.isoformat() if self.from_date else None,
            "until": self.until_date.isoformat() if self.until_date else None,
        }

    def check(self) -> None:
        """Nothing to verify before the first request."""

    def read(self, checkpoint: Checkpoint | None) -> Iterator[tuple[Item, Checkpoint]]:
        token = checkpoint["token"] if checkpoint else None
        skip = checkpoint["index"] if checkpoint else 0
        page, token, skip = self._resume(token, skip)
        while page is not None:
            records, resumption = _records(page.root)
            start = self._page_start(resumption)
            for index, record in enumerate(records[skip:], skip):
                self._done = start + index + 1
                location = f"{page.url} record {index + 1}"
                yield self._item(record, location), {"token": token, "index": index + 1}
            token = clean_text(resumption.text) if resumption is not None else None
            if not token:
                return
            skip = 0
            page = self._fetch(token)

    def progress(self) -> tuple[int, int | None]:
        return self._done, self._total

    def _resume(self, token: str | None, skip: int) -> tuple[Page | None, str | None, int]:
        """The checkpoint's page, token and skip; if the token expired, the first page (a
        re-harvest costs time, not correctness: merging a record twice changes nothing)."""
        try:
            return self._fetch(token), token, skip
        except ExpiredToken:
            if token is None:
                raise
            return self._fetch(None), None, 0

    def _fetch(self, token: str | None) -> Page | None:
        """One page of records; ``None`` when the server says nothing matches."""
        if token:
            params: dict[str, str] = {"verb": "ListRecords", "resumptionToken": token}
        else:
            params = {"verb": "ListRecords", "metadataPrefix": "arXiv"}
            if self.set_spec:
                params["set"] = self.set_spec
            if self.from_date:
                params["from"] = self.from_date.isoformat()
            if self.until_date:
                params["until"] = self.until_date.isoformat()
        page = fetch_xml(self.client, self.base_url, params)
        error = page.root.find("oai:error", NS)
        if error is not None:
            if error.get("code") == NO_RECORDS:
                return None
            message = clean_text(error.text) or "no message"
            error_class = ExpiredToken if error.get("code") == BAD_TOKEN else SourceError
            raise error_class(f"{page.url}: OAI-PMH error {error.get('code')}: {message}")
        if page.status >= 400:
            raise page.failed()
        return page

    def _page_start(self, resumption: etree._Element | None) -> int:
        """How many records of the complete list come before this page."""
        if resumption is None:
            return self._done
        if size := resumption.get("completeListSize"):
            self._total = int(size)
        cursor = resumption.get("cursor")
        return int(cursor) if cursor and cursor.isdigit() else self._done

    def _item(self, record: etree._Element, location: str) -> Item:
        header = record.find("oai:header", NS)
        if header is None:
            return Rejected(location, "record without header")
        identifier = text(header, "oai:identifier")
        try:
            if header.get("status") == "deleted":
                return Withdrawal(entry_id(identifier).id)
            metadata = record.find("oai:metadata/ax:arXiv", NS)
            if metadata is None:
                raise ValueError("no arXiv-format metadata")
            return self._paper(metadata, text(header, "oai:datestamp"))
        except ValueError as exc:
            return Rejected(identifier or location, str(exc))

    def _paper(self, meta: etree._Element, datestamp: str | None) -> PaperRecord:
        arxiv_id = text(meta, "ax:id")
        if not arxiv_id:
            raise ValueError("missing arXiv id")
        abstract = text(meta, "ax:abstract") or ""
        comments = text(meta, "ax:comments")
        categories = (text(meta, "ax:categories") or "").split()
        authors = meta.find("ax:authors", NS)
        seen = stamp.date() if (stamp := parse_datetime(datestamp)) else None
        return PaperRecord(
            arxiv_id=arxiv_id,
            title=text(meta, "ax:title") or "",
            abstract=abstract,
            source=self.source,
            authors=None if authors is None else _authors(authors),
            categories=categories,
            primary_category=categories[0] if categories else None,
            published=parse_datetime(text(meta, "ax:created")),
            updated=parse_datetime(text(meta, "ax:updated")),
            doi=text(meta, "ax:doi"),
            journal_ref=text(meta, "ax:journal-ref"),
            comments=comments,
            license=text(meta, "ax:license"),
            links=find_code_links(abstract, comments),
            first_seen=seen,
            last_seen=seen,
        )


def _records(root: etree._Element) -> tuple[list[etree._Element], etree._Element | None]:
    """The records of a ``ListRecords`` (or ``GetRecord``) response and its resumption token."""
    return root.findall("./*/oai:record", NS), root.find("oai:ListRecords/oai:resumptionToken", NS)


def _authors(authors: etree._Element) -> list[str]:
    """``"Forenames Keyname Suffix"`` for each ``<author>``, in order."""
    names = []
    for author in authors.iterfind("ax:author", NS):
        parts = [*texts(author, "ax:forenames"), *texts(author, "ax:keyname")]
        name = " ".join([*parts, *texts(author, "ax:suffix")])
        if name:
            names.append(name)
    return names
