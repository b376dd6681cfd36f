"""Semantic search: papers embedded in resumable batches, and an HNSW index over their vectors.

An index folder holds ``index-G.usearch`` (the HNSW graph over int8-quantised vectors, cosine
metric, keys = paper ids; about 0.5 GB of RAM at 1M x 384 dims), ``vectors-V.f16`` (the float16
vectors, append-only and memory-mapped, so they stay on disk: the graph's candidates are
re-ranked by their exact cosine), ``rows-G.npz`` (per row of the vectors: paper id, text
fingerprint, arXiv id) and ``meta.json``, which names them. Each save writes a new generation
G and commits it by replacing ``meta.json``, so a crash at any point leaves a usable index, and
a process that loaded an older generation keeps reading its files. One writer at a time.

A generation is checked as it loads: ``meta.json`` whole, each file the size it was saved
with (and its CRC32, up to ``CHECKSUM_BUDGET`` bytes in all), the row table's own CRCs, the
graph's dimensions, and the vectors file at least as long as
the rows mapped from it (reading a mapping past the end of a file kills the process with
SIGBUS, so the size is checked again before every read). One that fails is set aside, see
:mod:`paperfeed.index.integrity`; everything here can be rebuilt from the vectors in the store.
"""

from __future__ import annotations

import mmap
import os
import threading
import uuid
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import numpy as np

# onnxruntime must be loaded before usearch: once usearch's extension is in the process,
# importing onnxruntime (the onnx embedder does, on first use) crashes it with a segfault
import onnxruntime  # noqa: F401
import orjson
from sqlalchemy import Engine
from usearch.index import Index

from paperfeed.arxiv_ids import parse_arxiv_id
from paperfeed.index.embedding import Embedder
from paperfeed.index.integrity import CHECKSUM_BUDGET, BrokenIndex, crc32, set_aside
from paperfeed.store.vectors import (
    STORED,
    Coverage,
    VectorBatch,
    count_to_embed,
    coverage,
    load_vectors,
    pending_batches,
    save_vectors,
    unit_rows,
    vector_fingerprints,
)

ProgressCallback = Callable[[int, int | None], None]  # (papers done, at most this many to do)
META = "meta.json"
DERIVED = ("index-*.usearch", "rows-*.npz", "vectors-*.f16")  # named by meta.json
FORMAT = 1
MEANWHILE = "searches find papers by their words only until it is rebuilt"
Saved = tuple[int, str | None]  # which save of a folder: generation, and the save's own id


def embed_pending(
    engine: Engine,
    embedder: Embedder,
    *,
    batch_size: int = 32,
    limit: int | None = None,
    since: date | None = None,
    on_progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Embed the papers whose vector under ``embedder.model`` is missing or stale, in queue
    order (submitted papers, then newest announced first: see
    :func:`~paperfeed.store.vectors.pending_batches`); at most ``limit`` of them, announced on
    or after ``since``; return how many. Each batch of ``batch_size`` is committed alone: a
    crash or ``stop`` loses at most the batch in flight, and running again goes on with the
    rest."""
    total = None
    if on_progress:
        total = count_to_embed(engine, embedder.model, since=since)
        total = min(total, limit) if limit is not None else total
    done = 0
    size = min(batch_size, limit) if limit is not None else batch_size
    for batch in pending_batches(engine, embedder.model, max(size, 1), since=since):
        if (limit is not None and done >= limit) or (stop is not None and stop.is_set()):
            break
        batch = batch[: limit - done] if limit is not None else batch
        vectors = embedder.embed_documents([paper.text for paper in batch])
        with engine.begin() as conn:
            save_vectors(conn, embedder.model, batch, vectors)
        done += len(batch)
        if on_progress:
            on_progress(done, total)
    return done


class VectorIndexError(RuntimeError):
    """The stored vectors do not fit the index (another size): rebuilding it repairs it."""


@dataclass(frozen=True)
class IndexUpdate:
    added: int
    removed: int  # a re-embedded paper counts in both


class VectorIndex:
    """Approximate nearest neighbours among the stored vectors of one model."""

    model: str | None
    dim: int
    coverage: Coverage | None  # how far embedding had come when this generation was saved
    _graph: Index | None
    _keys: np.ndarray  # paper id of each row; -1: replaced or dropped
    _prints: np.ndarray  # text fingerprint of each row
    _arxiv_ids: np.ndarray  # arXiv id of each row (bytes)
    _vectors: np.ndarray  # one float16 row each, memory-mapped from the vectors file
    _mapped: tuple[mmap.mmap, int] | None  # the mapping of the file, and its length
    _saved: Saved | None  # which save of the folder is loaded (None: none)
    _by_key: tuple[np.ndarray, np.ndarray]  # the live rows' sorted paper ids, and their rows
    _by_id: tuple[np.ndarray, np.ndarray]  # the live rows' sorted arXiv ids, and their rows

    def __init__(self, folder: Path | str, *, strict: bool = False, view: bool = False) -> None:
        """The index saved in ``folder``, or an empty one; loading computes nothing. A saved
        index that fails its checks is set aside (this one is then empty), or with ``strict``
        raises :class:`BrokenIndex`. With ``view`` the graph is memory-mapped from its file
        instead of read into RAM (~0.55 GB a million papers), so only the pages searches touch
        are resident; such an index is read-only. A saved graph file is never written again
        (a save writes a new one), so its mapping stays whole."""
        self.folder = Path(folder)
        self._view = view
        self._generation = 0  # of the files saved last
        self._vectors_file = "vectors-1.f16"
        self._clear()
        if strict:
            self.refresh()
        else:
            self._refresh_or_set_aside()

    def __len__(self) -> int:
        return len(self._by_key[0])

    @property
    def saved(self) -> Saved | None:
        """Which save of the folder this is (``None``: nothing saved was loaded)."""
        return self._saved

    def check(self) -> None:
        """Raise :class:`BrokenIndex` if the vectors file has shrunk below the rows mapped
        from it (truncated under this process): reading them would kill it."""
        if self._mapped is None:
            return
        mapping, needed = self._mapped
        if (size := mapping.size()) < needed:  # the file's size now
            problem = f"{self._vectors_file} shrank to {size:,} bytes, {needed:,} in use"
            raise BrokenIndex(problem)

    def refresh(self) -> bool:
        """Load the generation saved since this one (by another process), if there is one;
        empty when the folder has gone. A folder of another format counts as empty: the next
        update rebuilds it. Raises :class:`BrokenIndex` when the saved generation fails its
        checks, or this one's vectors file has shrunk."""
        self.check()
        meta = _saved_meta(self.folder)
        if _saved_key(meta) == self._saved:
            return False
        self._clear()
        if meta is None:
            return True
        try:
            self._load(meta)
        except BrokenIndex:
            newer = _saved_meta(self.folder)
            if _saved_key(newer) == _saved_key(meta):
                raise
            # saved again while this loaded, and the files of the one it read deleted
            self._clear()
            if newer is not None:
                self._load(newer)
        return True

    def _refresh_or_set_aside(self, *, writing: bool = False) -> None:
        """:meth:`refresh`, setting the folder aside if it is broken. ``writing``: a graph
        without a ``meta.json`` naming it counts as broken too, as its files would clash with
        the ones written now (readers may see that while the first generation is saved)."""
        try:
            orphans = [] if not writing else [p.name for p in self.folder.glob("index-*.usearch")]
            if orphans and not (self.folder / META).exists():
                raise BrokenIndex(f"{orphans[0]} but no {META}")
            self.refresh()
        except BrokenIndex as exc:
            set_aside(self.folder, str(exc), MEANWHILE)
            self._clear()

    def update(self, engine: Engine, model: str) -> IndexUpdate:
        """Catch up with the vectors stored under ``model``: add new and re-embedded papers,
        drop withdrawn ones, save if anything changed. Another model means a rebuild."""
        self._writable()
        self._refresh_or_set_aside(writing=True)
        if self.model not in (None, model):
            return self.rebuild(engine, model)
        change = self._sync(engine, model)
        covered = coverage(engine, model)
        if change.added or change.removed or covered != self.coverage:
            self.coverage = covered
            self.save()
        return change

    def rebuild(self, engine: Engine, model: str) -> IndexUpdate:
        """Build the index anew from the store, into new files (which also drops the rows of
        replaced vectors); the old ones are deleted once the new generation is saved. A
        broken folder is set aside first."""
        self._writable()
        self._refresh_or_set_aside(writing=True)
        removed = len(self)
        self._clear()
        self._vectors_file = f"vectors-{self._generation + 1}.f16"
        added = self._sync(engine, model).added
        self.coverage = coverage(engine, model)
        self.save()
        return IndexUpdate(added, removed)

    def _writable(self) -> None:
        if self._view:
            raise RuntimeError(f"the index in {self.folder} was opened to be viewed: read-only")

    def search(
        self, query_vector: np.ndarray, k: int = 10, candidates: int | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` papers nearest to ``query_vector`` as ``(arxiv_id, cosine)``, best first:
        ``candidates`` (default ``20 * k``) from the int8 graph, re-ranked by exact cosine
        (recall@10 against exact search at 138k papers: 0.92 from 40, 0.95 from 100, 0.97
        from 200; ``bench/search_speed.py``)."""
        query = unit_rows(query_vector).reshape(-1)
        if len(query) != self.dim and len(self):
            raise ValueError(f"a {len(query)}-dimensional query for a {self.dim}-dimensional index")
        return self._nearest(query, k, candidates or 20 * k, exclude=-1)

    def similar(
        self, arxiv_id: str, k: int = 10, candidates: int | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` papers nearest to a stored paper (any version of it), never the paper:
        ``candidates`` (default ``4 * (k + 1)``) from the int8 graph, re-ranked by exact
        cosine."""
        _, rows = self._rows_of([arxiv_id])
        if not len(rows):
            raise KeyError(f"{arxiv_id} has no vector in {self.folder}")
        query = self.take(rows[:1])[0]
        wanted = candidates or 4 * (k + 1)
        return self._nearest(query, k, wanted, exclude=int(self._keys[rows[0]]))

    def vectors_of(self, arxiv_ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of these papers (float32, one row each); unknown ids are left
        out."""
        return self.rows(arxiv_ids)[1]

    def rows(self, arxiv_ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """The ids among these that have a vector (in order), and their vectors (float32)."""
        found, rows = self._rows_of(arxiv_ids)
        return found, self.take(rows)

    def cosines(
        self, query_vector: np.ndarray, arxiv_ids: Sequence[str]
    ) -> list[tuple[str, float]]:
        """Exact cosine of ``query_vector`` with each of these papers (unknown ids left out)."""
        found, rows = self._rows_of(arxiv_ids)
        scores = self.take(rows) @ unit_rows(query_vector).reshape(-1)
        return list(zip(found, scores.tolist(), strict=True))

    @property
    def size(self) -> int:
        """How many rows the vectors file holds (live or not): rows are numbered below it."""
        return len(self._keys)

    def positions(self, arxiv_ids: Sequence[str] | np.ndarray) -> np.ndarray:
        """The live row of each of these arXiv ids, as the store writes them (no version);
        -1 for an id without one."""
        sorted_ids, id_rows = self._by_id
        wanted = np.asarray(arxiv_ids, "S")
        if not len(sorted_ids):
            return np.full(len(wanted), -1, np.int64)
        at = np.searchsorted(sorted_ids, wanted).clip(max=len(sorted_ids) - 1)
        return np.where(sorted_ids[at] == wanted, id_rows[at], -1)

    def paper_ids(self, arxiv_ids: Sequence[str]) -> np.ndarray:
        """The store's paper id of each of these arXiv ids (as the store writes them); -1 for
        an id without a live row."""
        rows = self.positions(arxiv_ids)
        return np.where(rows >= 0, self._keys[rows], -1)

    def take(self, rows: np.ndarray) -> np.ndarray:
        """These rows of the memory-mapped vectors as float32 ``(len(rows), dim)``, once the
        file is known to still hold them; only these are read."""
        self.check()
        return self._vectors[rows].astype(np.float32).reshape(len(rows), self.dim)

    def _rows_of(self, arxiv_ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """The given ids that have a live row (in order), and those rows."""
        rows = self.positions([parse_arxiv_id(i).id for i in arxiv_ids])
        hit = rows >= 0
        return [i for i, ok in zip(arxiv_ids, hit, strict=True) if ok], rows[hit]

    def save(self) -> None:
        """Write the graph and the row table as a new generation, commit it by replacing
        ``meta.json``, then delete the files no longer named (vectors are written as added)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        generation = self._generation + 1
        graph, table = f"index-{generation}.usearch", f"rows-{generation}.npz"
        files = {}
        if self._graph is not None:
            self._graph.save(str(self.folder / graph))
            self._save_rows(self.folder / table)
            files = {name: _fingerprint(self.folder / name) for name in (graph, table)}
        meta = {
            "format": FORMAT,
            "model": self.model,
            "dim": self.dim,
            "rows": len(self._keys),
            "generation": generation,
            "vectors": self._vectors_file,
            "coverage": asdict(self.coverage) if self.coverage else None,
            "files": files,
            "id": uuid.uuid4().hex,  # generations restart at 1 in a folder rebuilt anew
        }
        temporary = self.folder / f"{META}.tmp"
        temporary.write_bytes(orjson.dumps(meta))
        os.replace(temporary, self.folder / META)
        self._generation, self._saved = generation, _saved_key(meta)
        named = {graph, table, self._vectors_file}
        for pattern in DERIVED:
            for path in self.folder.glob(pattern):
                if path.name not in named:
                    path.unlink()

    def _sync(self, engine: Engine, model: str) -> IndexUpdate:
        self.model = model
        ids, prints = vector_fingerprints(engine, model)
        live = self._keys >= 0
        stale = np.flatnonzero(live & ~_pairs_in(self._keys, self._prints, ids, prints))
        fresh = ids[~_pairs_in(ids, prints, self._keys[live], self._prints[live])]
        if len(stale):
            assert self._graph is not None
            self._graph.remove(self._keys[stale].astype(np.uint64))
            self._keys[stale] = -1
        added = sum(self._append(batch) for batch in load_vectors(engine, model, fresh))
        self._reindex()
        return IndexUpdate(added, len(stale))

    def _nearest(
        self, query: np.ndarray, k: int, candidates: int, exclude: int
    ) -> list[tuple[str, float]]:
        if self._graph is None or not len(self) or k < 1:
            return []
        keys = self._graph.search(query, max(k, candidates)).keys.astype(np.int64)
        sorted_keys, key_rows = self._by_key  # not empty: len(self) is its length
        # only live rows' keys (also guards against a corrupt graph too big to checksum);
        # looked up, not np.isin'd: that would go through every paper's key each time
        at = np.searchsorted(sorted_keys, keys).clip(max=len(sorted_keys) - 1)
        live = (sorted_keys[at] == keys) & (keys != exclude)
        rows = np.sort(key_rows[at[live]])
        scores = self.take(rows) @ query
        best = np.lexsort((self._keys[rows], -scores))[:k]  # ties: by paper id, as rebuilt
        return [(self._arxiv_ids[rows[i]].decode(), float(scores[i])) for i in best]

    def _append(self, batch: VectorBatch) -> int:
        vectors = batch.vectors
        if self._graph is None:
            self.dim = vectors.shape[1]
            self._graph = Index(ndim=self.dim, metric="cos", dtype="i8")
        if vectors.shape[1] != self.dim:
            raise VectorIndexError(
                f"{self.model} vectors have {vectors.shape[1]} dimensions, the index in "
                f"{self.folder} {self.dim}: rebuild it"
            )
        self._write_vectors(vectors)
        self._graph.add(batch.paper_ids.astype(np.uint64), vectors)
        self._keys = np.concatenate([self._keys, batch.paper_ids])
        self._prints = np.concatenate([self._prints, batch.fingerprints])
        self._arxiv_ids = np.concatenate([self._arxiv_ids, np.array(batch.arxiv_ids, "S")])
        return len(vectors)

    def _write_vectors(self, vectors: np.ndarray) -> None:
        path = self.folder / self._vectors_file
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = len(self._keys)
        with path.open("ab") as file:
            file.truncate(rows * self.dim * STORED.itemsize)  # rows written after the last save
            file.write(vectors.astype(STORED).tobytes())
        self._map_vectors(rows + len(vectors))

    def _map_vectors(self, rows: int) -> None:
        """Memory-map the first ``rows`` of the vectors file, once its size is checked."""
        path = self.folder / self._vectors_file
        needed = rows * self.dim * STORED.itemsize
        try:
            with path.open("rb") as file:
                if (size := os.fstat(file.fileno()).st_size) < needed:
                    raise BrokenIndex(f"{path.name} holds {size:,} bytes, {needed:,} expected")
                mapping = mmap.mmap(file.fileno(), needed, access=mmap.ACCESS_READ)
        except FileNotFoundError:
            raise BrokenIndex(f"{path.name} is missing") from None
        self._vectors = np.frombuffer(mapping, STORED).reshape(rows, self.dim)
        self._mapped = (mapping, needed)

    def _save_rows(self, path: Path) -> None:
        with path.open("wb") as file:
            np.savez(file, keys=self._keys, fingerprints=self._prints, arxiv_ids=self._arxiv_ids)

    def _clear(self) -> None:
        self.model = None
        self.coverage = None
        self.dim = 0
        self._graph = None
        self._keys = np.empty(0, np.int64)
        self._prints = np.empty(0, np.uint64)
        self._arxiv_ids = np.empty(0, "S1")
        self._vectors = np.empty((0, 0), STORED)
        self._mapped = None
        self._saved = None
        self._reindex()

    def _load(self, meta: dict) -> None:
        """Load a saved generation; raises :class:`BrokenIndex` if it fails its checks."""
        try:
            self.model, self.dim, rows = meta["model"], int(meta["dim"]), int(meta["rows"])
            self._generation, self._vectors_file = int(meta["generation"]), meta["vectors"]
            self.coverage = _coverage(meta)
            files = dict(meta.get("files") or {})  # generations saved before 0.3 have none
        except (KeyError, TypeError, ValueError) as exc:
            raise BrokenIndex(f"{META} is incomplete ({exc!r})") from None
        self._saved = _saved_key(meta)
        if not rows:
            return
        budget = CHECKSUM_BUDGET
        for name, (size, checksum) in sorted(files.items(), key=lambda item: item[1][0]):
            path = self.folder / name
            if (found := _size(path)) != size:
                raise BrokenIndex(f"{name} holds {found:,} bytes, {size:,} when saved")
            if checksum is not None and size <= budget and crc32(path) != checksum:
                raise BrokenIndex(f"{name} fails its checksum")
            budget -= min(size, budget)
        self._load_rows(self.folder / f"rows-{self._generation}.npz", rows)
        self._load_graph(self.folder / f"index-{self._generation}.usearch")
        self._map_vectors(rows)
        self._reindex()

    def _load_rows(self, path: Path, rows: int) -> None:
        try:
            with np.load(path, allow_pickle=False) as table:  # checks each array's CRC
                self._keys, self._prints = table["keys"], table["fingerprints"]
                self._arxiv_ids = table["arxiv_ids"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise BrokenIndex(f"{path.name} is unreadable ({exc})") from None
        if not len(self._keys) == len(self._prints) == len(self._arxiv_ids) == rows:
            raise BrokenIndex(f"{path.name} holds {len(self._keys):,} rows, {rows:,} expected")

    def _load_graph(self, path: Path) -> None:
        unreadable = (OSError, ValueError, RuntimeError, TypeError, KeyError)
        try:
            header = Index.metadata(str(path))
            dims = header["dimensions"] if header else None
        except unreadable as exc:
            raise BrokenIndex(f"{path.name} is unreadable ({exc})") from None
        if dims != self.dim:
            raise BrokenIndex(f"{path.name} has {dims} dimensions, {self.dim} expected")
        self._graph = Index(ndim=self.dim, metric="cos", dtype="i8")
        try:
            (self._graph.view if self._view else self._graph.load)(str(path))
        except unreadable as exc:
            raise BrokenIndex(f"{path.name} is unreadable ({exc})") from None

    def _reindex(self) -> None:
        live = np.flatnonzero(self._keys >= 0)
        order = np.argsort(self._keys[live])
        self._by_key = (self._keys[live][order], live[order])
        order = np.argsort(self._arxiv_ids[live])
        self._by_id = (self._arxiv_ids[live][order], live[order])


def saved_coverage(folder: Path) -> Coverage | None:
    """How far embedding had come when the index in ``folder`` was last saved, read without
    loading the index (``None``: no index there, a broken one, or one saved without it)."""
    try:
        meta = _saved_meta(folder)
        return _coverage(meta) if meta is not None else None
    except (BrokenIndex, TypeError, ValueError):
        return None


def saved_generation(folder: Path) -> Saved | None:
    """Which save of the index ``folder`` holds (``None``: none of this format); raises
    :class:`BrokenIndex` if its ``meta.json`` is unreadable."""
    return _saved_key(_saved_meta(folder))


def _saved_meta(folder: Path) -> dict | None:
    try:
        meta = orjson.loads((folder / META).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, orjson.JSONDecodeError) as exc:
        raise BrokenIndex(f"{META} is unreadable ({exc})") from None
    if not isinstance(meta, dict):
        raise BrokenIndex(f"{META} is not an object")
    if meta.get("format") != FORMAT:
        return None
    if not isinstance(meta.get("generation"), int):
        raise BrokenIndex(f"{META} names no generation")
    return meta


def _saved_key(meta: dict | None) -> Saved | None:
    return (meta["generation"], meta.get("id")) if meta is not None else None


def _fingerprint(path: Path) -> tuple[int, int | None]:
    """A saved file's size, and its CRC32 if small enough to be checked when loaded."""
    size = path.stat().st_size
    return size, crc32(path) if size <= CHECKSUM_BUDGET else None


def _size(path: Path) -> int:
    """The file's size in bytes (-1: missing)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


def _coverage(meta: dict) -> Coverage | None:
    covered = meta.get("coverage")  # generations saved before 0.2 have none
    return Coverage.from_json(covered) if covered else None


def _pairs_in(
    keys: np.ndarray, prints: np.ndarray, other_keys: np.ndarray, other_prints: np.ndarray
) -> np.ndarray:
    """Which ``(key, print)`` pairs are among the others' (keys unique on each side)."""
    if not len(other_keys):
        return np.zeros(len(keys), bool)
    order = np.argsort(other_keys)
    at = order[np.searchsorted(other_keys, keys, sorter=order).clip(max=len(order) - 1)]
    return (other_keys[at] == keys) & (other_prints[at] == prints)
