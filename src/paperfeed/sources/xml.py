"""Strict, safe XML parsing for protocol responses (no entities, no network)."""

from __future__ import annotations

from lxml import etree

from paperfeed.sources.base import SourceError


def parse_xml(body: bytes, where: str) -> etree._Element:
    """Parse ``body`` or raise :class:`SourceError` naming ``where`` and the broken line."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"{where}: broken XML at line {exc.lineno}: {exc.msg}") from None
    if root is None:
        raise SourceError(f"{where}: empty XML document")
    return root
