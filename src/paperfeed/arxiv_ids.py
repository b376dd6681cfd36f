"""arXiv identifiers: new style (``2503.11731v2``) and old style (``hep-th/9901001v1``).

See https://info.arxiv.org/help/arxiv_identifier.html for the two schemes.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_NEW = r"(?P<new>\d{4}\.\d{4,5})"
_OLD = r"(?P<old>[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7})"
_ID_RE = re.compile(
    rf"^(?:arxiv:)?(?:{_NEW}|{_OLD})(?:v(?P<version>\d+))?$",
    re.IGNORECASE,
)
_URL_RE = re.compile(
    r"^(?:https?://)?(?:export\.|www\.)?arxiv\.org/(?:abs|pdf|html)/(?P<rest>.+?)(?:\.pdf)?/?$",
    re.IGNORECASE,
)
_OAI_PREFIX = "oai:arxiv.org:"


class ArxivId(NamedTuple):
    """An arXiv id split into the id without version and the version (``None`` if absent)."""

    id: str
    version: int | None


class InvalidArxivId(ValueError):
    """Raised for a string that is not an arXiv identifier."""


def parse_arxiv_id(text: str) -> ArxivId:
    """Parse an id, ``arXiv:`` id, OAI identifier or abs/pdf URL into id and version.

    >>> parse_arxiv_id("https://arxiv.org/abs/2503.11731v2")
    ArxivId(id='2503.11731', version=2)
    """
    value = text.strip()
    if value.lower().startswith(_OAI_PREFIX):
        value = value[len(_OAI_PREFIX) :]
    if url := _URL_RE.match(value):
        value = url.group("rest")
    match = _ID_RE.match(value)
    if not match:
        raise InvalidArxivId(f"not an arXiv id: {text!r}")
    if match.group("new"):
        base = match.group("new")
    else:
        archive, number = match.group("old").split("/")
        # the subject-class suffix (math.AG/...) is not part of the canonical id
        base = f"{archive.split('.')[0].lower()}/{number}"
    version = match.group("version")
    return ArxivId(base, int(version) if version else None)


def abs_url(arxiv_id: str) -> str:
    """The paper's abstract page on arXiv."""
    return f"https://arxiv.org/abs/{arxiv_id}"


def pdf_url(arxiv_id: str) -> str:
    """The paper's PDF on arXiv (latest version)."""
    return f"https://arxiv.org/pdf/{arxiv_id}"
