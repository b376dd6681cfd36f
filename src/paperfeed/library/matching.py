"""Which stored papers a user's references are: by arXiv id, else DOI, else title.

Ids, DOIs and titles are looked up in batches, each by an index. Titles are compared after
folding case, accents, LaTeX, punctuation and spaces, which no SQL comparison does: the store
keeps a cheaper fold of each title (:func:`paperfeed.text.folded_title`) to find the few
candidates, whose exact key is then compared here. A title match also needs an author in
common when both sides name authors.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Row

from paperfeed.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.latex import to_text
from paperfeed.library.references import (
    Reference,
    find_arxiv_id,
    find_doi,
    fold,
)
from paperfeed.store.lookup import papers_by_arxiv_id, papers_by_doi, papers_by_id, visible_titles
from paperfeed.text import folded_title

NON_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True, slots=True)
class Match:
    """A reference found in the store; ``by`` is ``arxiv_id``, ``doi`` or ``title``."""

    reference: Reference
    paper_id: int
    arxiv_id: str
    by: str


@dataclass(frozen=True, slots=True)
class Unmatched:
    """A reference with no stored paper, and why."""

    reference: Reference
    reason: str


@dataclass(frozen=True)
class MatchResult:
    """Every reference given, matched or not, each list in the order given."""

    matched: list[Match]
    unmatched: list[Unmatched]


def match_references(engine: Engine, references: Sequence[Reference]) -> MatchResult:
    """Find the visible stored paper of each reference."""
    ids = [_arxiv_id(reference) or "" for reference in references]  # "": none
    dois = [(find_doi(reference.doi) or "").lower() for reference in references]
    with engine.connect() as conn:
        by_id = papers_by_arxiv_id(conn, {i for i in ids if i})
        by_doi = papers_by_doi(conn, {d for d in dois if d})
        outcomes = [
            _by_id(reference, by_id.get(arxiv_id, []), by_doi.get(doi, []))
            for reference, arxiv_id, doi in zip(references, ids, dois, strict=True)
        ]
        left = [i for i, outcome in enumerate(outcomes) if outcome is None]
        by_title = _papers_by_title(conn, [references[i].title or "" for i in left])
        found = papers_by_id(conn, [paper_id for group in by_title.values() for paper_id in group])
    for i in left:
        candidates = [
            found[paper_id] for paper_id in by_title.get(title_key(references[i].title or ""), [])
        ]
        outcomes[i] = _by_title(references[i], candidates) or Unmatched(
            references[i], _not_found(references[i], ids[i], dois[i])
        )
    return MatchResult(
        [o for o in outcomes if isinstance(o, Match)],
        [o for o in outcomes if isinstance(o, Unmatched)],
    )


def title_key(title: str) -> str:
    """A title as compared: LaTeX read as text, then accents, case, punctuation and spaces
    dropped (``{BERT}: Pre-Training`` and ``BERT: pre-training`` give one key)."""
    return NON_WORD.sub("", fold(to_text(title)))


def _arxiv_id(reference: Reference) -> str | None:
    """The reference's arXiv id without version; arXiv's own DOIs carry one too."""
    if reference.arxiv_id:
        try:
            return parse_arxiv_id(reference.arxiv_id).id
        except InvalidArxivId:
            return None
    return find_arxiv_id(reference.doi)


def _by_id(reference: Reference, by_id: list[Row], by_doi: list[Row]) -> Match | Unmatched | None:
    """The match by arXiv id, else DOI; ``None`` when neither finds a paper."""
    for rows, by in ((by_id, "arxiv_id"), (by_doi, "doi")):
        visible = [row for row in rows if not (row.hidden or row.withdrawn)]
        if visible:
            return Match(reference, visible[0].id, visible[0].arxiv_id, by)
        if rows:
            state = "withdrawn" if rows[0].withdrawn else "hidden"
            return Unmatched(reference, f"arXiv {rows[0].arxiv_id} is {state}")
    return None


def _papers_by_title(conn: Connection, titles: list[str]) -> dict[str, list[int]]:
    """Ids of the visible papers by :func:`title_key`, for the titles given: the stored fold
    finds the candidates, whose exact key decides."""
    keys = {title_key(title) for title in titles} - {""}
    found: dict[str, list[int]] = defaultdict(list)
    if keys:
        for paper_id, title in visible_titles(conn, {folded_title(title) for title in titles}):
            if (key := title_key(title)) in keys:
                found[key].append(paper_id)
    return found


def _by_title(reference: Reference, candidates: list[Row]) -> Match | Unmatched | None:
    """The one paper with the title and an author in common; ``None`` if none has the title."""
    if not candidates:
        return None
    agreeing = [row for row in candidates if _share_author(reference.authors, row.authors or [])]
    if len(agreeing) == 1:
        return Match(reference, agreeing[0].id, agreeing[0].arxiv_id, "title")
    if agreeing:
        ids = ", ".join(sorted(row.arxiv_id for row in agreeing))
        return Unmatched(reference, f"the title matches {len(agreeing)} papers: {ids}")
    ids = ", ".join(sorted(row.arxiv_id for row in candidates))
    return Unmatched(reference, f"the title matches {ids}, but no author does")


def _share_author(ours: Iterable[str], theirs: Iterable[str]) -> bool:
    """Whether the two author lists have a name in common; true when either is empty."""
    words = [{word for name in names for word in _name_words(name)} for names in (ours, theirs)]
    return not (words[0] and words[1]) or bool(words[0] & words[1])


def _name_words(name: str) -> list[str]:
    return [word for word in NON_WORD.split(fold(name)) if len(word) > 1]


def _not_found(reference: Reference, arxiv_id: str | None, doi: str | None) -> str:
    tried = [f"arXiv id {arxiv_id}"] if arxiv_id else []
    tried += [f"DOI {doi}"] if doi else []
    tried += ["this title"] if reference.title else []
    if not tried:
        return "nothing to look it up by: no arXiv id, DOI or title"
    return "no paper in the store has " + " or ".join(tried)
