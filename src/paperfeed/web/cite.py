"""Papers as reference managers read them from a page: Highwire Press ``citation_*`` and
Dublin Core ``DC.*`` meta tags (Zotero's Embedded Metadata translator, Google Scholar),
a COinS span (Zotero's COinS translator), and lists as BibTeX or RIS files to download."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import Response

from paperfeed.arxiv_ids import abs_url, pdf_url
from paperfeed.library.export import first_day, surname_first, to_bibtex, to_ris
from paperfeed.records import keywords_of
from paperfeed.text import plain

# extension: (writer, media type); RIS's type is the one reference managers register for
FORMATS: dict[str, tuple[Callable[[Iterable[Mapping[str, Any]]], str], str]] = {
    "bib": (to_bibtex, "application/x-bibtex; charset=utf-8"),
    "ris": (to_ris, "application/x-research-info-systems; charset=utf-8"),
}


def reference_file(cards: Iterable[Mapping[str, Any]], extension: str, name: str) -> Response:
    """``cards`` as a ``name.bib`` or ``name.ris`` file to save."""
    write, media_type = FORMATS[extension]
    headers = {"Content-Disposition": f'attachment; filename="{name}.{extension}"'}
    return Response(write(cards), media_type=media_type, headers=headers)


def citation_meta(paper: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(name, content)`` of the paper page's meta tags, as arXiv's abstract pages write
    them (authors ``Surname, Given`` in order, dates ``YYYY/MM/DD``), plus what arXiv leaves
    to its own Zotero translator: arXiv as the report's institution and ``arXiv:<id>`` as its
    number (Zotero saves a report; Google Scholar's rules for preprints), and the DOI."""
    arxiv_id = paper["arxiv_id"]
    first = first_day(paper)
    latest = paper.get("updated") or first
    authors = [surname_first(name) for name in paper.get("authors") or []]
    highwire = [
        ("citation_title", plain(paper["title"])),
        *(("citation_author", name) for name in authors),
        ("citation_date", f"{first:%Y/%m/%d}" if first else ""),
        ("citation_publication_date", f"{first:%Y/%m/%d}" if first else ""),
        ("citation_online_date", f"{latest:%Y/%m/%d}" if latest else ""),
        ("citation_technical_report_institution", "arXiv"),
        ("citation_technical_report_number", f"arXiv:{arxiv_id}"),
        ("citation_arxiv_id", arxiv_id),
        ("citation_doi", paper.get("doi") or ""),
        ("citation_pdf_url", pdf_url(arxiv_id)),
        ("citation_abstract_html_url", abs_url(arxiv_id)),
        ("citation_abstract", " ".join(plain(paper.get("abstract")).split())),
        *(("citation_keywords", word) for word in keywords_of(paper)),
    ]
    dublin_core = [
        ("DC.title", plain(paper["title"])),
        *(("DC.creator", name) for name in authors),
        ("DC.date", f"{first:%Y-%m-%d}" if first else ""),
        ("DC.identifier", abs_url(arxiv_id)),
        ("DC.identifier", f"https://doi.org/{paper['doi']}" if paper.get("doi") else ""),
    ]
    return [(name, content) for name, content in highwire + dublin_core if content]


def coins(paper: Mapping[str, Any]) -> str:
    """The ``title`` of a COinS span: an OpenURL ContextObject of the paper as a preprint."""
    first = first_day(paper)
    fields = [
        ("ctx_ver", "Z39.88-2004"),
        ("rft_val_fmt", "info:ofi/fmt:kev:mtx:journal"),
        ("rft.genre", "preprint"),
        ("rft.atitle", plain(paper["title"])),
        ("rft.jtitle", "arXiv"),
        *(("rft.au", plain(name)) for name in paper.get("authors") or []),
        ("rft.date", f"{first:%Y-%m-%d}" if first else ""),
        ("rft_id", f"info:arxiv/{paper['arxiv_id']}"),
        ("rft_id", f"info:doi/{paper['doi']}" if paper.get("doi") else ""),
        ("rft_id", abs_url(paper["arxiv_id"])),
    ]
    return urlencode([(name, value) for name, value in fields if value])
