"""Durable paper vectors: one per (paper, embedding model), remade when the embedded text changes.

Vectors are stored as unit-length little-endian float16 rows: half the bytes of float32, and
cosines move by < 1e-4 (all-MiniLM-L6-v2, 3,000 abstracts: every query keeps its top 10). A
row remembers the sha256 of the text it embeds and the paper's ``changed_at`` when that text
was read; a paper changed since then is re-checked, and re-embedded only if its title or
abstract differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import cast

import numpy as np
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)

from paperfeed.store.schema import embeddings, papers, submissions
from paperfeed.store.sql import chunks
from paperfeed.store.vector_files import RawRows, VectorFile, VectorFileError, open_vector_file
from paperfeed.text import counted

STORED = np.dtype("<f2")
EXAMPLES = 5  # rows shown for each problem found in an imported file
SKIP_NO_ID = "without an arXiv id"
SKIP_NO_VECTOR = "without a vector"
SKIP_NOT_FINITE = "with NaN or infinite values"
SKIP_ZEROS = "of zeros only"


@dataclass(frozen=True)
class PendingPaper:
    """A paper's text to embed, with what its stored row will remember."""

    paper_id: int
    changed_at: datetime
    text: str
    text_hash: str


@dataclass
class VectorBatch:
    """Stored vectors of some papers, in paper id order."""

    paper_ids: np.ndarray  # int64
    arxiv_ids: list[str]
    fingerprints: np.ndarray  # uint64, see fingerprint()
    vectors: np.ndarray  # float32, (n, dim)


@dataclass
class Tally:
    """How many rows had one problem, and the first few of them."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, found: Sequence[object] | np.ndarray) -> None:
        self.count += len(found)
        self.examples += [str(item) for item in found[: EXAMPLES - len(self.examples)]]

    def where(self, unit: str) -> str:
        """``rows 5, 9, 12, …``: the examples as positions of a file."""
        more = ", …" if self.count > len(self.examples) else ""
        return f"{unit}{'s' if self.count > 1 else ''} {', '.join(self.examples)}{more}"


@dataclass
class VectorImport:
    """What an import of precomputed vectors did."""

    unit: str = "row"  # what the file's positions are called
    imported: int = 0
    unknown: Tally = field(default_factory=Tally)  # examples: ids of papers not in the store
    skipped: dict[str, Tally] = field(default_factory=dict)  # by reason; examples: positions

    def __str__(self) -> str:
        parts = [f"{counted(self.imported, 'vector')} imported"]
        if self.unknown.count:
            shown = ", ".join(self.unknown.examples)
            more = ", …" if self.unknown.count > len(self.unknown.examples) else ""
            unknown = counted(self.unknown.count, "id")
            parts.append(f"{unknown} of papers not in the store skipped ({shown}{more})")
        parts += [
            f"{counted(tally.count, self.unit)} {reason} skipped ({tally.where(self.unit)})"
            for reason, tally in self.skipped.items()
        ]
        return "; ".join(parts)


def document_text(title: str, abstract: str) -> str:
    """The text a paper's vector embeds."""
    return f"{title.strip()}. {abstract.strip()}"


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(text_hash: str) -> int:
    """The first 64 bits of a text hash: enough to notice that a vector was remade."""
    return int(text_hash[:16], 16)


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` as float32 rows of length 1 (all-zero rows stay zero)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def pending_batches(
    engine: Engine, model: str, size: int, *, since: date | None = None
) -> Iterator[list[PendingPaper]]:
    """Batches of up to ``size`` papers to embed under ``model``, in queue order: papers
    submitted on the site first, then by announcement day, newest first, then those without
    one (``since``: only papers announced on or after it). A paper is pending when it is not
    withdrawn and has no vector or one of another title/abstract; papers changed in other ways
    since they were embedded (upvotes, last seen) are marked current on the way. Each batch is
    read in its own short transaction; the caller stores a batch before asking for the next."""
    for queue in _queues(since):
        after: tuple | None = None
        while True:
            query = _candidates(model).where(queue.where)
            if after is not None:
                query = query.where(tuple_(*queue.order) < after)
            query = query.order_by(*(column.desc() for column in queue.order)).limit(size)
            with engine.begin() as conn:
                rows = conn.execute(query).all()
                found = [(_pending(row), row.text_hash) for row in rows]
                current = [paper for paper, old in found if paper.text_hash == old]
                _mark_current(conn, model, current)
            if changed := [paper for paper, old in found if paper.text_hash != old]:
                yield changed
            if len(rows) < size:
                break
            after = tuple(getattr(rows[-1], column.name) for column in queue.order)


@dataclass(frozen=True)
class _Queue:
    where: ColumnElement[bool]
    order: tuple[Column, ...]  # keyset: descending, unique


def _queues(since: date | None) -> list[_Queue]:
    submitted: ColumnElement[bool] = papers.c.id.in_(select(submissions.c.paper_id))
    dated: ColumnElement[bool] = papers.c.announced.is_not(None)
    if since is not None:
        dated = papers.c.announced >= since
        submitted = submitted & dated
    return [
        _Queue(submitted, (papers.c.id,)),
        _Queue(dated, (papers.c.announced, papers.c.id)),
        *([_Queue(papers.c.announced.is_(None), (papers.c.id,))] if since is None else []),
    ]


def count_to_embed(engine: Engine, model: str, *, since: date | None = None) -> int:
    """How many papers :func:`pending_batches` will look at: an upper bound of those it
    returns."""
    candidates = _candidates(model)
    if since is not None:
        candidates = candidates.where(papers.c.announced >= since)
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(candidates.subquery())).scalar_one()


DAYS = ("oldest_embedded", "newest_embedded", "newest_pending")


@dataclass(frozen=True)
class Coverage:
    """How far embedding has come under one model."""

    embedded: int  # papers with a current vector (withdrawn ones left out)
    pending: int  # at most this many papers still to embed
    oldest_embedded: date | None  # the announcement days of the oldest and newest papers
    newest_embedded: date | None  # with a vector
    newest_pending: date | None  # papers announced after this day all have a vector

    @property
    def complete(self) -> bool:
        return self.pending == 0

    @classmethod
    def from_json(cls, data: dict) -> Coverage:
        """A coverage saved as JSON (``dataclasses.asdict`` dumped by orjson)."""
        days = {key: date.fromisoformat(data[key]) if data[key] else None for key in DAYS}
        return cls(data["embedded"], data["pending"], **days)


def coverage(engine: Engine, model: str) -> Coverage:
    """The papers embedded under ``model`` and those still pending."""
    joined = papers.join(embeddings, embeddings.c.paper_id == papers.c.id)
    embedded = (
        select(func.count(), func.min(papers.c.announced), func.max(papers.c.announced))
        .select_from(joined)
        .where(embeddings.c.model == model, papers.c.withdrawn.is_(False))
    )
    newest = (
        _candidates(model)
        .where(papers.c.announced.is_not(None))
        .order_by(papers.c.announced.desc(), papers.c.id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        count, oldest, latest = conn.execute(embedded).one()
        row = conn.execute(newest).first()
    pending = count_to_embed(engine, model)
    return Coverage(count, pending, oldest, latest, row.announced if row else None)


def _candidates(model: str) -> Select:
    joined = papers.outerjoin(
        embeddings, and_(embeddings.c.paper_id == papers.c.id, embeddings.c.model == model)
    )
    return (
        select(
            papers.c.id,
            papers.c.announced,
            papers.c.changed_at,
            papers.c.title,
            papers.c.abstract,
            embeddings.c.text_hash,
        )
        .select_from(joined)
        .where(
            papers.c.withdrawn.is_(False),
            or_(
                embeddings.c.paper_id.is_(None),
                # < rather than !=: SQLite compares the stored strings, and rows migrated
                # by 0002 lack the microseconds that a read-and-rewritten time gains
                embeddings.c.paper_changed_at < papers.c.changed_at,
            ),
        )
    )


def _pending(row) -> PendingPaper:
    text = document_text(row.title, row.abstract)
    return PendingPaper(row.id, row.changed_at, text, text_hash(text))


def _mark_current(conn: Connection, model: str, current: list[PendingPaper]) -> None:
    if not current:
        return
    statement = (
        update(embeddings)
        .where(embeddings.c.paper_id == bindparam("id"), embeddings.c.model == model)
        .values(paper_changed_at=bindparam("changed"))
    )
    conn.execute(statement, [{"id": p.paper_id, "changed": p.changed_at} for p in current])


def save_vectors(
    conn: Connection, model: str, pending: Sequence[PendingPaper], vectors: np.ndarray
) -> None:
    """Store the vectors of ``pending`` papers under ``model``, replacing older ones."""
    if len(pending) != len(vectors):
        raise ValueError(f"{len(pending)} papers but {len(vectors)} vectors")
    vectors = unit_rows(vectors).astype(STORED)
    for chunk in chunks(sorted({p.paper_id for p in pending})):
        conn.execute(
            delete(embeddings).where(embeddings.c.model == model, embeddings.c.paper_id.in_(chunk))
        )
    rows = [
        {
            "paper_id": p.paper_id,
            "model": model,
            "text_hash": p.text_hash,
            "paper_changed_at": p.changed_at,
            "vector": vector.tobytes(),
        }
        for p, vector in zip(pending, vectors, strict=True)
    ]
    if rows:
        conn.execute(insert(embeddings), rows)


def vector_fingerprints(engine: Engine, model: str) -> tuple[np.ndarray, np.ndarray]:
    """Paper ids (int64) and text fingerprints (uint64) of the vectors under ``model`` of papers
    not withdrawn, read in one streamed pass (16 bytes a paper in memory)."""
    query = (
        select(embeddings.c.paper_id, embeddings.c.text_hash)
        .join(papers, papers.c.id == embeddings.c.paper_id)
        .where(embeddings.c.model == model, papers.c.withdrawn.is_(False))
    )
    ids: list[np.ndarray] = [np.empty(0, np.int64)]
    prints: list[np.ndarray] = [np.empty(0, np.uint64)]
    with engine.connect() as conn:
        for part in conn.execution_options(yield_per=50_000).execute(query).partitions():
            ids.append(np.array([row[0] for row in part], np.int64))
            prints.append(np.array([fingerprint(row[1]) for row in part], np.uint64))
    return np.concatenate(ids), np.concatenate(prints)


def load_vectors(
    engine: Engine, model: str, paper_ids: Sequence[int] | np.ndarray | None = None
) -> Iterator[VectorBatch]:
    """The vectors under ``model`` of ``paper_ids`` (default: all) whose papers are not
    withdrawn, in batches of at most ``IN_CHUNK``, each read in its own short transaction."""
    if paper_ids is None:
        paper_ids = vector_fingerprints(engine, model)[0]
    query = (
        select(papers.c.id, papers.c.arxiv_id, embeddings.c.text_hash, embeddings.c.vector)
        .join(papers, papers.c.id == embeddings.c.paper_id)
        .where(embeddings.c.model == model, papers.c.withdrawn.is_(False))
        .order_by(papers.c.id)
    )
    for chunk in chunks(sorted(int(i) for i in paper_ids)):
        with engine.connect() as conn:
            rows = conn.execute(query.where(papers.c.id.in_(chunk))).all()
        if rows:
            yield VectorBatch(
                np.array([row.id for row in rows], np.int64),
                [row.arxiv_id for row in rows],
                np.array([fingerprint(row.text_hash) for row in rows], np.uint64),
                np.stack([np.frombuffer(row.vector, STORED) for row in rows]).astype(np.float32),
            )


def visible_papers(engine: Engine) -> Iterator[Sequence[Row]]:
    """The visible papers (neither withdrawn nor hidden): rows of ``arxiv_id``, ``announced``,
    ``published`` and ``categories``, a streamed part at a time."""
    query = select(papers.c.arxiv_id, papers.c.announced, papers.c.published, papers.c.categories)
    query = query.where(papers.c.withdrawn.is_(False), papers.c.hidden.is_(False))
    with engine.connect() as conn:
        yield from conn.execution_options(yield_per=20_000).execute(query).partitions()


def import_vectors(
    engine: Engine,
    model: str,
    path: Path,
    *,
    made_by: str | None = None,
    id_column: str | None = None,
    vector_column: str | None = None,
) -> VectorImport:
    """Store precomputed vectors under ``model`` from a Parquet, ``.npz`` or JSON-lines file
    (see :func:`~paperfeed.store.vector_files.open_vector_file`), in constant memory.

    A first pass checks that every vector has the dimensions of those stored under ``model``
    (else of the first one); a second writes the valid rows a chunk per transaction, so a rerun
    after a crash ends with the same store. Rows without an arXiv id or with a null, NaN or
    all-zero vector are skipped and counted, as are ids of papers not in the store. Vectors
    of another model (``made_by`` or the file's metadata) or of other dimensions raise
    :class:`VectorFileError` before anything is written."""
    file = open_vector_file(path, id_column=id_column, vector_column=vector_column)
    _check_model(file, model, made_by)
    with engine.connect() as conn:
        stored = _stored_dim(conn, model)
    dim = _checked_dim(file, stored, model)
    report = VectorImport(unit=file.unit)
    for rows in file.chunks():
        ids, matrix = _valid_rows(rows, dim, report)
        with engine.begin() as conn:
            report.imported += _save_known(conn, model, ids, matrix, report.unknown)
    return report


def same_model(a: str, b: str) -> bool:
    """Whether two model names are one model: equal (ignoring case), or one names no
    organisation and the other's last part equals it (``sentence-transformers/all-MiniLM-L6-v2``
    is ``all-MiniLM-L6-v2``; ``BAAI/bge-small-en`` is not ``other/bge-small-en``)."""
    a, b = a.strip().strip("/").casefold(), b.strip().strip("/").casefold()
    if a == b:
        return True
    if "/" in a and "/" in b:
        return False
    return a.rsplit("/", 1)[-1] == b.rsplit("/", 1)[-1]


def _check_model(file: VectorFile, model: str, made_by: str | None) -> None:
    if made_by is not None and not same_model(made_by, model):
        raise VectorFileError(
            f"vectors of {made_by} cannot be stored as {model}, the configured embedding model "
            f"(set PAPERFEED_EMBEDDING_MODEL={made_by} to use them); nothing was imported"
        )
    if file.model is not None and not same_model(file.model, model):
        raise VectorFileError(
            f"{file.path}: its metadata says its vectors are of {file.model}, not {model}; "
            "nothing was imported"
        )


def _stored_dim(conn: Connection, model: str) -> int | None:
    query = select(embeddings.c.vector).where(embeddings.c.model == model).limit(1)
    vector = conn.execute(query).scalar()
    return len(vector) // STORED.itemsize if vector is not None else None


def _checked_dim(file: VectorFile, dim: int | None, model: str) -> int:
    """``dim``, or the first vector's length; rows of another length raise, with counts."""
    like = f"like the vectors stored under {model}"
    wrong: dict[int, Tally] = {}
    for rows in file.chunks():
        lengths = rows.lengths
        if dim is None and np.any(lengths >= 0):
            first = int(np.flatnonzero(lengths >= 0)[0])
            dim, like = int(lengths[first]), f"like {file.unit} {rows.positions[first]}"
        for length in np.unique(lengths[(lengths >= 0) & (lengths != dim)]):
            wrong.setdefault(int(length), Tally()).add(rows.positions[lengths == length])
    if wrong:
        found = "; ".join(
            f"{counted(tally.count, file.unit)} {'has' if tally.count == 1 else 'have'} "
            f"{counted(length, 'dimension')} ({tally.where(file.unit)})"
            for length, tally in sorted(wrong.items(), key=lambda item: -item[1].count)
        )
        raise VectorFileError(f"{file.path}: {found}, expected {dim} {like}; nothing was imported")
    return dim or 0


def _valid_rows(rows: RawRows, dim: int, report: VectorImport) -> tuple[list[str], np.ndarray]:
    """The ids and vectors of ``rows`` that can be stored; the others counted in ``report``."""
    has_vector = rows.lengths >= 0
    matrix = rows.matrix(dim)
    finite = np.isfinite(matrix).all(axis=1)
    problems = {
        SKIP_NO_ID: np.array([arxiv_id is None for arxiv_id in rows.ids], bool),
        SKIP_NO_VECTOR: ~has_vector,
        SKIP_NOT_FINITE: _spread(~finite, has_vector),
        SKIP_ZEROS: _spread(finite & ~matrix.any(axis=1), has_vector),
    }
    keep = np.ones(len(rows.positions), bool)
    for reason, found in problems.items():
        found &= keep
        if found.any():
            report.skipped.setdefault(reason, Tally()).add(rows.positions[found])
            keep &= ~found
    ids = [rows.ids[n] for n in np.flatnonzero(keep)]
    return cast(list[str], ids), matrix[keep[has_vector]]


def _spread(values: np.ndarray, where: np.ndarray) -> np.ndarray:
    """``values`` of the rows ``where`` is true, placed among all rows (False elsewhere)."""
    spread = np.zeros(len(where), bool)
    spread[where] = values
    return spread


def _save_known(
    conn: Connection, model: str, ids: list[str], matrix: np.ndarray, unknown: Tally
) -> int:
    """Save the vectors of the papers in the store (the last of an id given twice); count the
    other ids in ``unknown``. Returns how many were saved."""
    found = _pending_by_arxiv_id(conn, ids)
    unknown.add([arxiv_id for arxiv_id in ids if arxiv_id not in found])
    last = {arxiv_id: n for n, arxiv_id in enumerate(ids) if arxiv_id in found}
    save_vectors(conn, model, [found[i] for i in last], matrix[list(last.values())])
    return len(last)


def _pending_by_arxiv_id(conn: Connection, arxiv_ids: list[str]) -> dict[str, PendingPaper]:
    query = select(
        papers.c.arxiv_id, papers.c.id, papers.c.changed_at, papers.c.title, papers.c.abstract
    ).where(papers.c.arxiv_id.in_(set(arxiv_ids)))
    return {row.arxiv_id: _pending(row) for row in conn.execute(query)}
