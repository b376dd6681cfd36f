"""Files of precomputed vectors, read in chunks of bounded size: Parquet, ``.npz``, JSON lines.

A reader yields :class:`RawRows`: for up to ``IN_CHUNK`` rows, where they are in the file,
their arXiv ids and their vectors as flat values with a length per row, so that rows of
another length or without a vector are counted before anything is stacked.

Ids are accepted as strings in any form :func:`~paperfeed.arxiv_ids.parse_arxiv_id` reads
(versioned, old style, ``arXiv:`` or URL), and as numbers or numeric strings that went
through a float on their way (``704.0001`` is 0704.0001, ``2501.0001`` is 2501.00010: ids
before 1501 have four digits after the dot, later ones five). Anything else is no id.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import orjson

from paperfeed.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.sources.base import SourceError
from paperfeed.sources.files import LineFile
from paperfeed.store.sql import IN_CHUNK

if TYPE_CHECKING:
    import pyarrow as pa

USUAL_COLUMNS = {
    "id": ("id", "arxiv_id", "ids"),
    "vector": ("vector", "embedding", "vectors", "embeddings"),
}
MODEL_KEYS = (b"model", b"model_name", b"embedding_model")  # Parquet schema metadata
PARQUET_MAGIC = b"PAR1"
_NUMERIC_ID = re.compile(r"^(\d{3,4})\.(\d{1,5})$")


class VectorFileError(ValueError):
    """A file of precomputed vectors that cannot be imported; nothing was written."""


@dataclass
class RawRows:
    """Up to ``IN_CHUNK`` rows of a vector file."""

    positions: np.ndarray  # int64: row (or line) numbers in the file, from 1
    ids: list[str | None]  # arXiv ids without version; None: none readable
    lengths: np.ndarray  # int64: each row's number of values; -1: no vector
    values: np.ndarray  # float32: the values of the rows with a vector, one row after another

    def matrix(self, dim: int) -> np.ndarray:
        """The vectors of the rows that have one, ``(rows, dim)``; all must have ``dim``."""
        lengths = self.lengths[self.lengths >= 0]
        if np.any(lengths != dim):
            raise VectorFileError("the file changed while it was read")
        return self.values.reshape(len(lengths), dim)


class VectorFile(Protocol):
    path: Path
    unit: str  # what a position is called: "row" or "line"
    model: str | None  # the model that made the vectors, if the file says

    def chunks(self) -> Iterator[RawRows]:
        """The file's rows from the first, each time it is called."""
        ...


def open_vector_file(
    path: Path, *, id_column: str | None = None, vector_column: str | None = None
) -> VectorFile:
    """``path`` as a Parquet file (by its ``.parquet`` name or its first bytes), an ``.npz``
    or JSON lines (gzip or not); the columns (keys, arrays) default to the one of
    :data:`USUAL_COLUMNS` the file has."""
    if path.suffix in (".parquet", ".pq") or _starts_with(path, PARQUET_MAGIC):
        return ParquetVectors(path, id_column, vector_column)
    if path.suffix == ".npz":
        return NpzVectors(path, id_column, vector_column)
    return JsonVectors(path, id_column, vector_column)


class ParquetVectors:
    """A Parquet file, read a batch of two columns at a time (pyarrow)."""

    unit = "row"

    def __init__(self, path: Path, id_column: str | None, vector_column: str | None) -> None:
        pa, parquet = _pyarrow()
        self.path = path
        try:
            # pre-buffering (the default) keeps every row group read until the file is
            # closed: 310 MB of a 320 MB file; a buffered stream keeps one page at a time
            self._file = parquet.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
        except (pa.ArrowException, OSError) as exc:
            raise VectorFileError(f"{path}: not a Parquet file ({exc})") from None
        schema = self._file.schema_arrow
        self.id_column = _column(path, "id", id_column, schema.names)
        self.vector_column = _column(path, "vector", vector_column, schema.names)
        kind = schema.field(self.vector_column).type
        if not (_is_list(pa, kind) and pa.types.is_floating(kind.value_type)):
            problem = f"column {self.vector_column!r} is {kind}, not a list of floats"
            raise VectorFileError(f"{path}: {problem}")
        metadata = schema.metadata or {}
        named = [metadata[key].decode() for key in MODEL_KEYS if key in metadata]
        self.model = named[0] if named else None

    def chunks(self) -> Iterator[RawRows]:
        pa, _ = _pyarrow()
        columns = [self.id_column, self.vector_column]
        start = 1
        batches = self._file.iter_batches(batch_size=IN_CHUNK, columns=columns)
        try:
            for batch in batches:
                yield self._rows(batch, start)
                start += batch.num_rows
        except (pa.ArrowException, OSError) as exc:
            problem = f"unreadable after row {start - 1} ({exc})"
            raise VectorFileError(f"{self.path}: {problem}") from None

    def _rows(self, batch: pa.RecordBatch, start: int) -> RawRows:
        import pyarrow.compute as pc

        vectors = batch.column(self.vector_column)
        lengths = pc.list_value_length(vectors).fill_null(-1).to_numpy()
        flat = pc.list_flatten(vectors).to_numpy(zero_copy_only=False)  # a null value: NaN
        return RawRows(
            np.arange(start, start + batch.num_rows),
            [arxiv_id(value) for value in batch.column(self.id_column).to_pylist()],
            lengths.astype(np.int64),
            _float32(flat),
        )


class NpzVectors:
    """An ``.npz`` of an array of ids and a 2-d array of vectors, loaded whole."""

    unit = "row"
    model: str | None = None

    def __init__(self, path: Path, id_column: str | None, vector_column: str | None) -> None:
        self.path = path
        try:
            with np.load(path, allow_pickle=False) as data:
                id_name = _column(path, "id", id_column, data.files)
                vector_name = _column(path, "vector", vector_column, data.files)
                self._ids, self._vectors = data[id_name], data[vector_name]
        except (OSError, ValueError) as exc:
            raise VectorFileError(f"{path}: not an .npz of ids and vectors ({exc})") from None
        if self._vectors.ndim != 2 or len(self._ids) != len(self._vectors):
            problem = f"{len(self._ids)} ids but vectors of shape {self._vectors.shape}"
            raise VectorFileError(f"{path}: {problem}")
        if self._ids.dtype.kind == "S":
            self._ids = self._ids.astype(str)

    def chunks(self) -> Iterator[RawRows]:
        dim = self._vectors.shape[1]
        for start in range(0, len(self._ids), IN_CHUNK):
            ids = self._ids[start : start + IN_CHUNK].tolist()
            yield RawRows(
                np.arange(start + 1, start + 1 + len(ids)),
                [arxiv_id(value) for value in ids],
                np.full(len(ids), dim, np.int64),
                _float32(self._vectors[start : start + IN_CHUNK].ravel()),
            )


class JsonVectors:
    """JSON lines of objects with an id and a vector (a list of numbers, or null)."""

    unit = "line"
    model: str | None = None

    def __init__(self, path: Path, id_key: str | None, vector_key: str | None) -> None:
        self.path = path
        try:
            number, first = LineFile(path).first_object()
        except SourceError as exc:
            raise VectorFileError(str(exc)) from None
        if not isinstance(first, dict):
            raise VectorFileError(f"{path}:{number}: not an object of an id and a vector")
        self.id_key = _column(path, "id", id_key, list(first))
        self.vector_key = _column(path, "vector", vector_key, list(first))

    def chunks(self) -> Iterator[RawRows]:
        rows: list[tuple[int, str | None, np.ndarray | None]] = []
        try:
            for number, line in LineFile(self.path).lines():
                if line.strip():
                    rows.append((number, *self._parse(number, line)))
                if len(rows) == IN_CHUNK:
                    yield _stacked(rows)
                    rows = []
        except SourceError as exc:
            raise VectorFileError(str(exc)) from None
        if rows:
            yield _stacked(rows)

    def _parse(self, number: int, line: bytes) -> tuple[str | None, np.ndarray | None]:
        try:
            record = orjson.loads(line)
            vector = record[self.vector_key]
            if vector is not None:
                vector = np.asarray(vector, np.float32)
                if vector.ndim != 1:
                    raise ValueError(f"{self.vector_key!r} is not a list of numbers")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            keys = f"{{{self.id_key}, {self.vector_key}}}"
            raise VectorFileError(f"{self.path}:{number}: not a {keys} record ({exc})") from None
        return arxiv_id(record.get(self.id_key)), vector


def _column(path: Path, what: str, given: str | None, names: Sequence[str]) -> str:
    """The column ``given``, else the one of the usual names of the ``what`` the file has."""
    if given is not None:
        if given not in names:
            raise VectorFileError(f"{path}: no column {given!r} (columns: {', '.join(names)})")
        return given
    usual = USUAL_COLUMNS[what]
    found = [name for name in usual if name in names]
    if len(found) != 1:
        which = f"both {' and '.join(found)}" if found else f"none of {', '.join(usual)}"
        problem = f"which column holds the {what}s? It has {which} (columns: {', '.join(names)})"
        raise VectorFileError(f"{path}: {problem}; name it")
    return found[0]


def arxiv_id(value: Any) -> str | None:
    """The versionless arXiv id ``value`` names, or None (see the module's docstring)."""
    if isinstance(value, float) and math.isfinite(value):
        value = repr(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    if numeric := _NUMERIC_ID.match(value):
        month, number = numeric.group(1).zfill(4), numeric.group(2)
        value = f"{month}.{number.ljust(4 if month < '1501' else 5, '0')}"
    try:
        return parse_arxiv_id(value).id
    except InvalidArxivId:
        return None


def _stacked(rows: list[tuple[int, str | None, np.ndarray | None]]) -> RawRows:
    vectors = [vector for _, _, vector in rows if vector is not None]
    return RawRows(
        np.array([number for number, _, _ in rows], np.int64),
        [arxiv_id for _, arxiv_id, _ in rows],
        np.array([-1 if vector is None else len(vector) for _, _, vector in rows], np.int64),
        np.concatenate(vectors) if vectors else np.empty(0, np.float32),
    )


def _float32(values: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # a value too big for float32 becomes inf, then counted
        return values.astype(np.float32, copy=False)


def _is_list(pa: Any, kind: Any) -> bool:
    types = pa.types
    return bool(types.is_list(kind) or types.is_large_list(kind) or types.is_fixed_size_list(kind))


def _starts_with(path: Path, magic: bytes) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(len(magic)) == magic
    except OSError:
        return False


def _pyarrow() -> tuple[Any, Any]:
    """pyarrow and pyarrow.parquet, an optional extra (~55 MB): imported when a file needs it."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise VectorFileError(
            "reading Parquet needs pyarrow: pip install 'paperfeed[parquet]'"
        ) from None
    return pyarrow, pyarrow.parquet
