"""Importing precomputed vectors from Parquet, .npz and JSON lines: checked, counted, all or
nothing for a file of the wrong model or size, by the store function and `paperfeed index`."""

from __future__ import annotations

import gzip
import sqlite3
import sys
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from conftest import SAMPLE
from memory_source import MemorySource, paper
from paperfeed.cli import cli
from paperfeed.ingest.pipeline import ingest
from paperfeed.store.schema import embeddings
from paperfeed.store.vector_files import VectorFileError
from paperfeed.store.vectors import count_to_embed, import_vectors, load_vectors, same_model

STORE = ["2501.00001", "2501.00002", "2501.00003", "hep-th/9901001", "0704.0010"]


@pytest.fixture
def store(engine: Engine) -> Engine:
    """A store of the papers in STORE."""
    ingest(engine, MemorySource([paper(i) for i in STORE]), batch_size=100)
    return engine


def stored(engine: Engine, model: str = "m") -> dict[str, np.ndarray]:
    return {
        arxiv_id: vector
        for batch in load_vectors(engine, model)
        for arxiv_id, vector in zip(batch.arxiv_ids, batch.vectors, strict=True)
    }


def stored_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(embeddings)).scalar_one()


def unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=-1, keepdims=True)


def write_parquet(
    path: Path,
    ids: list,
    vectors: list | np.ndarray,
    *,
    kind: pa.DataType | None = None,
    names: tuple[str, str] = ("id", "embedding"),
    model: str | None = None,
) -> Path:
    rows = [None if v is None else list(map(float, v)) for v in vectors]
    table = pa.table({names[0]: ids, names[1]: pa.array(rows, kind or pa.list_(pa.float32()))})
    if model is not None:
        table = table.replace_schema_metadata({"model": model})
    pq.write_table(table, path)
    return path


def write_vectors(path: Path, ids: list[str], vectors: np.ndarray) -> Path:
    """``ids`` and ``vectors`` in the format ``path``'s name says."""
    if path.suffix == ".parquet":
        return write_parquet(path, ids, vectors)
    if path.suffix == ".npz":
        np.savez(path, ids=np.array(ids), vectors=vectors)
        return path
    lines = [
        orjson.dumps({"id": i, "vector": v.tolist()}) for i, v in zip(ids, vectors, strict=True)
    ]
    path.write_bytes(gzip.compress(b"\n".join(lines)))
    return path


@pytest.mark.parametrize("name", ["vectors.parquet", "vectors.npz", "vectors.jsonl.gz"])
def test_vectors_are_imported_and_unknown_ids_counted(
    store: Engine, tmp_path: Path, name: str
) -> None:
    vectors = np.arange(1, 25, dtype=np.float32).reshape(3, 8)
    path = write_vectors(tmp_path / name, ["2501.00002v2", "2412.99999", "2501.00003"], vectors)
    report = import_vectors(store, "m", path, made_by="m")
    assert (report.imported, report.unknown.count, report.unknown.examples) == (
        2,
        1,
        ["2412.99999"],
    )
    found = stored(store)
    assert list(found) == ["2501.00002", "2501.00003"]
    assert np.allclose(np.stack(list(found.values())), unit(vectors[[0, 2]]), atol=1e-3)
    assert count_to_embed(store, "m") == 3  # imported vectors are current


@pytest.mark.parametrize(
    "kind",
    [
        pa.list_(pa.float32()),
        pa.large_list(pa.float64()),
        pa.list_(pa.float32(), 4),
        pa.list_(pa.float16(), 4),
    ],
    ids=str,
)
def test_parquet_vectors_of_any_list_type_are_read(
    store: Engine, tmp_path: Path, kind: pa.DataType
) -> None:
    vectors = np.array([[1, 0, 0, 0], [0, 2, 0, 0]], np.float32)
    path = write_parquet(tmp_path / "v.parquet", ["2501.00001", "2501.00002"], vectors, kind=kind)
    assert import_vectors(store, "m", path).imported == 2
    assert np.allclose(np.stack(list(stored(store).values())), unit(vectors), atol=1e-3)


def test_columns_are_named_or_found_among_the_usual_names(store: Engine, tmp_path: Path) -> None:
    path = write_parquet(
        tmp_path / "v.parquet", ["2501.00001"], [[1, 2, 3]], names=("paper", "emb_minilm")
    )
    with pytest.raises(VectorFileError, match=r"which column holds the ids\? It has none of id"):
        import_vectors(store, "m", path)
    report = import_vectors(store, "m", path, id_column="paper", vector_column="emb_minilm")
    assert report.imported == 1
    with pytest.raises(VectorFileError, match=r"no column 'vector' \(columns: paper, emb_minilm\)"):
        import_vectors(store, "m", path, id_column="paper", vector_column="vector")


def test_two_usual_vector_columns_are_ambiguous(store: Engine, tmp_path: Path) -> None:
    table = pa.table({"id": ["2501.00001"], "vector": [[1.0, 2.0]], "embedding": [[3.0, 4.0]]})
    pq.write_table(table, tmp_path / "v.parquet")
    with pytest.raises(VectorFileError, match="It has both vector and embedding"):
        import_vectors(store, "m", tmp_path / "v.parquet")
    assert import_vectors(store, "m", tmp_path / "v.parquet", vector_column="vector").imported


@pytest.mark.parametrize(
    ("raw", "arxiv_id"),
    [
        ("2501.00001v3", "2501.00001"),
        ("arXiv:2501.00002", "2501.00002"),
        ("hep-th/9901001v2", "hep-th/9901001"),
        (704.001, "0704.0010"),  # 0704.0010 read as a float and back
        ("704.001", "0704.0010"),
        (2501.0003, "2501.00030"),  # five digits after the dot since 1501
    ],
)
def test_ids_with_versions_old_style_or_lost_to_floats_are_found(
    engine: Engine, tmp_path: Path, raw: object, arxiv_id: str
) -> None:
    ingest(engine, MemorySource([paper(arxiv_id)]), batch_size=10)
    path = write_parquet(tmp_path / "v.parquet", [raw], [[1, 2]], kind=pa.list_(pa.float64()))
    assert import_vectors(engine, "m", path).imported == 1
    assert list(stored(engine)) == [arxiv_id]


def test_rows_without_an_id_or_a_usable_vector_are_skipped_and_counted(
    store: Engine, tmp_path: Path
) -> None:
    ids = ["2501.00001", "not an id", None, "2501.00002", "2501.00003", "0704.0010"]
    vectors = [[1, 2], [1, 2], [1, 2], None, [float("nan"), 1], [0, 0]]
    report = import_vectors(store, "m", write_parquet(tmp_path / "v.parquet", ids, vectors))
    assert report.imported == 1
    assert {reason: (t.count, t.examples) for reason, t in report.skipped.items()} == {
        "without an arXiv id": (2, ["2", "3"]),
        "without a vector": (1, ["4"]),
        "with NaN or infinite values": (1, ["5"]),
        "of zeros only": (1, ["6"]),
    }
    assert str(report) == (
        "1 vector imported; 2 rows without an arXiv id skipped (rows 2, 3); "
        "1 row without a vector skipped (row 4); 1 row with NaN or infinite values skipped "
        "(row 5); 1 row of zeros only skipped (row 6)"
    )
    assert list(stored(store)) == ["2501.00001"]


def test_vectors_of_other_dimensions_are_counted_and_nothing_is_written(
    store: Engine, tmp_path: Path
) -> None:
    first = write_parquet(tmp_path / "a.parquet", ["2501.00001"], [[1] * 4])
    import_vectors(store, "m", first)
    ids = ["2501.00002", "2501.00003", "hep-th/9901001", "0704.0010", "2412.99999"]
    wrong = write_parquet(tmp_path / "b.parquet", ids, [[1] * 4, [1] * 6, [1] * 4, [1] * 6, [1]])
    message = (
        r"b.parquet: 2 rows have 6 dimensions \(rows 2, 4\); 1 row has 1 dimension \(row 5\), "
        r"expected 4 like the vectors stored under m; nothing was imported"
    )
    with pytest.raises(VectorFileError, match=message):
        import_vectors(store, "m", wrong)
    ragged = tmp_path / "c.jsonl"
    ragged.write_text(
        '{"id": "2501.00003", "vector": [1, 2, 3]}\n{"id": "2501.00002", "vector": [1]}\n'
    )
    with pytest.raises(
        VectorFileError, match=r"1 line has 1 dimension \(line 2\), expected 3 like line 1"
    ):
        import_vectors(store, "n", ragged)
    assert list(stored(store)) == ["2501.00001"]
    assert stored_count(store) == 1


@pytest.mark.parametrize(
    ("configured", "claimed", "same"),
    [
        ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", True),
        ("sentence-transformers/all-minilm-l6-v2", "all-MiniLM-L6-v2", True),
        ("BAAI/bge-small-en-v1.5", "other/bge-small-en-v1.5", False),
        ("all-MiniLM-L6-v2", "all-mpnet-base-v2", False),
    ],
)
def test_model_names_match_with_or_without_their_organisation(
    configured: str, claimed: str, same: bool
) -> None:
    assert same_model(configured, claimed) is same


def test_vectors_of_another_model_are_refused_and_nothing_is_written(
    store: Engine, tmp_path: Path
) -> None:
    path = write_parquet(tmp_path / "v.parquet", ["2501.00001"], [[1, 2]])
    with pytest.raises(VectorFileError, match="vectors of mxbai cannot be stored as m, the conf"):
        import_vectors(store, "m", path, made_by="mxbai")
    labelled = write_parquet(tmp_path / "w.parquet", ["2501.00001"], [[1, 2]], model="mxbai")
    with pytest.raises(VectorFileError, match="its metadata says its vectors are of mxbai, not m"):
        import_vectors(store, "m", labelled, made_by="m")
    assert stored_count(store) == 0
    assert import_vectors(store, "mxbai", labelled, made_by="org/mxbai").imported == 1


def test_importing_again_gives_the_same_store(store: Engine, tmp_path: Path) -> None:
    vectors = np.random.default_rng(0).normal(size=(5, 8))
    path = write_parquet(tmp_path / "v.parquet", STORE, vectors)
    import_vectors(store, "m", path)
    first = stored(store)
    assert import_vectors(store, "m", path).imported == 5
    again = stored(store)
    assert list(again) == list(first)
    assert all(np.array_equal(first[i], again[i]) for i in first)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PAR1 but not really", r"v.parquet: not a Parquet file"),
        (b'{"id": "2501.00001", "vector": [1]}\n', r"v.parquet: not a Parquet file"),
    ],
)
def test_a_file_that_is_not_parquet_is_refused(
    store: Engine, tmp_path: Path, content: bytes, message: str
) -> None:
    (tmp_path / "v.parquet").write_bytes(content)
    with pytest.raises(VectorFileError, match=message):
        import_vectors(store, "m", tmp_path / "v.parquet")


def test_a_parquet_column_that_is_not_vectors_is_refused(store: Engine, tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": ["2501.00001"], "vector": ["text"]}), tmp_path / "v.parquet")
    with pytest.raises(VectorFileError, match="column 'vector' is string, not a list of floats"):
        import_vectors(store, "m", tmp_path / "v.parquet")


def test_without_pyarrow_the_error_says_what_to_install(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_parquet(tmp_path / "v.parquet", ["2501.00001"], [[1, 2]])
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(VectorFileError, match=r"pip install 'paperfeed\[parquet\]'"):
        import_vectors(store, "m", path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"id": "2501.00001"}\n', r"bad.jsonl: which column holds the vectors\? It has none"),
        (
            b'{"id": "2501.00001", "vector": [[1, 2]]}\n',
            r"bad.jsonl:1: not a \{id, vector\} record",
        ),
        (b"not json\n", r"bad.jsonl:1: not JSON lines"),
    ],
)
def test_malformed_json_lines_are_refused(
    engine: Engine, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(VectorFileError, match=message):
        import_vectors(engine, "m", path)


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def cli_store(tmp_path: Path) -> list[str]:
    """The first ten papers of the sample, ingested by `paperfeed ingest`; their ids."""
    ten = SAMPLE.read_text().splitlines()[:10]
    (tmp_path / "ten.jsonl").write_text("\n".join(ten) + "\n")
    invoke("ingest", "jsonl", str(tmp_path / "ten.jsonl"))
    return [orjson.loads(line)["id"] for line in ten]


def cli_stored(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "home" / "paperfeed.db") as conn:
        return conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]


def test_index_imports_a_parquet_file_and_says_what_it_skipped(
    tmp_path: Path, cli_store: list[str]
) -> None:
    ids = [f"{i}v1" for i in cli_store[:6]] + ["2412.99999", "nonsense"]
    vectors = np.random.default_rng(1).normal(size=(8, 16)).astype(np.float32)
    path = write_parquet(tmp_path / "v.parquet", ids, vectors, names=("arxiv", "emb"))
    result = invoke(
        "index",
        "--import-vectors",
        str(path),
        "--model",
        "sentence-transformers/all-MiniLM-L6-v2",
        "--id-column",
        "arxiv",
        "--vector-column",
        "emb",
    )
    assert result.exit_code == 0, result.output
    assert (
        "v.parquet: 6 vectors imported; 1 id of papers not in the store skipped (2412.99999); "
        "1 row without an arXiv id skipped (row 8)"
    ) in result.output
    assert "dense index (all-MiniLM-L6-v2): 6 papers embedded, 6 added, 6 in all" in result.output
    assert cli_stored(tmp_path) == 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Error: --import-vectors needs --model NAME"),
        (
            ["--model", "mixedbread-ai/mxbai-embed-large-v1"],
            "Error: vectors of mixedbread-ai/mxbai-embed-large-v1 cannot be stored as "
            "all-MiniLM-L6-v2, the configured embedding model (set "
            "PAPERFEED_EMBEDDING_MODEL=mixedbread-ai/mxbai-embed-large-v1 to use them); "
            "nothing was imported",
        ),
    ],
)
def test_index_refuses_vectors_of_an_unnamed_or_other_model(
    tmp_path: Path, cli_store: list[str], args: list[str], message: str
) -> None:
    path = write_parquet(tmp_path / "v.parquet", cli_store[:2], [[1, 2], [3, 4]])
    result = invoke("index", "--import-vectors", str(path), *args)
    assert result.exit_code != 0
    assert message in result.output
    assert cli_stored(tmp_path) == 0


def test_index_refuses_a_file_of_mixed_dimensions_with_counts(
    tmp_path: Path, cli_store: list[str]
) -> None:
    path = write_parquet(tmp_path / "v.parquet", cli_store[:3], [[1, 2], [3, 4, 5], [6, 7]])
    result = invoke("index", "--import-vectors", str(path), "--model", "all-MiniLM-L6-v2")
    assert result.exit_code == 1
    assert result.output.endswith(
        "v.parquet: 1 row has 3 dimensions (row 2), expected 2 like row 1; nothing was imported\n"
    )
    assert cli_stored(tmp_path) == 0
