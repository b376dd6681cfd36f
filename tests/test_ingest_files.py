"""Importing JSON-lines and Kaggle files: bad input stops cleanly, bad records are rejected."""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from conftest import ARXIV, SAMPLE
from paperfeed.ingest.pipeline import ingest
from paperfeed.sources.base import SourceError
from paperfeed.sources.jsonl import jsonl_source
from paperfeed.sources.kaggle import kaggle_source
from paperfeed.store.queries import get_paper
from paperfeed.store.schema import ingest_runs, papers

KAGGLE_RAW = ARXIV / "arxiv_kaggle_oai_snapshot_first200.raw.jsonl.gz"
KAGGLE_NORMALISED = ARXIV / "arxiv_kaggle_oai_snapshot_first200.jsonl.gz"


def count(engine: Engine, table=papers) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def sample_lines(n: int) -> list[str]:
    return SAMPLE.read_text().splitlines()[:n]


def test_the_mixed_sample_gives_one_paper_per_line(engine: Engine) -> None:
    report = ingest(engine, jsonl_source([SAMPLE]))
    assert (report.new, report.updated, report.rejected, count(engine)) == (200, 0, 0, 200)
    assert get_paper(engine, "2503.11731")["title"].startswith("Industrial-Grade Sensor")


def test_gzip_and_plain_files_import_the_same(engine: Engine, tmp_path: Path) -> None:
    compressed = tmp_path / "sample.jsonl.gz"
    compressed.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    ingest(engine, jsonl_source([SAMPLE]))
    again = ingest(engine, jsonl_source([compressed]))
    assert (again.new, again.updated, again.unchanged) == (0, 0, 200)


def test_daily_feed_dates_become_announcement_and_seen_dates(engine: Engine) -> None:
    ingest(engine, jsonl_source([SAMPLE]))
    paper = get_paper(engine, "2503.11731")
    assert (paper["announced"].isoformat(), paper["first_seen"].isoformat()) == (
        "2025-03-18",
        "2025-03-18",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x1f\x8b\x08\x00garbage", "corrupt gzip data"),
        (b"id,title,abstract\n1,a,b\n", "not JSON lines"),
        (b"", "empty file"),
        (b'{"paper": 1}\n', "not paperfeed JSON lines (missing ['abstract', 'id', 'title']"),
        (b"[1, 2]\n", "a JSON list, not an object"),
    ],
)
def test_malformed_input_stops_before_any_write(
    engine: Engine, tmp_path: Path, content: bytes, message: str
) -> None:
    ingest(engine, jsonl_source([SAMPLE]))
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(content)
    with pytest.raises(SourceError, match=re.escape(message)):
        ingest(engine, jsonl_source([SAMPLE, bad]))
    assert count(engine) == 200
    assert count(engine, ingest_runs) == 1


def test_a_truncated_gzip_file_is_refused_before_any_write(engine: Engine, tmp_path: Path) -> None:
    data = gzip.compress(SAMPLE.read_bytes())
    truncated = tmp_path / "truncated.jsonl.gz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"truncated.jsonl.gz: corrupt gzip data"):
        ingest(engine, jsonl_source([truncated]))
    assert count(engine) == 0


def test_a_kaggle_file_given_as_jsonl_says_which_command_to_use(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="use `paperfeed ingest kaggle`"):
        jsonl_source([KAGGLE_RAW]).check()


def test_bad_lines_are_rejected_with_line_numbers_and_the_rest_imported(
    engine: Engine, tmp_path: Path
) -> None:
    lines = sample_lines(3)
    content = [lines[0], "{broken", "", lines[1], "42", lines[2]]
    file = write_lines(tmp_path / "mixed.jsonl", content)
    report = ingest(engine, jsonl_source([file]))
    assert (report.new, report.rejected) == (3, 2)
    assert [loc for loc, _ in report.rejections] == ["mixed.jsonl:2", "mixed.jsonl:5"]
    assert report.rejections[1][1] == "a JSON int, not an object"


def test_kaggle_snapshot_rows_match_the_normalised_sample(engine: Engine) -> None:
    report = ingest(engine, kaggle_source([KAGGLE_RAW]))
    assert (report.new, report.rejected) == (200, 0)
    with gzip.open(KAGGLE_NORMALISED, "rt") as fh:
        expected = [json.loads(line) for line in fh]
    for row in expected[:50]:
        paper = get_paper(engine, row["id"])
        assert paper["authors"] == row["authors"], row["id"]
        assert paper["published"] == datetime.fromisoformat(row["published"]).astimezone(UTC)
        assert (paper["doi"], paper["categories"]) == (row["doi"], row["categories"])


def test_kaggle_version_history_gives_version_and_dates(engine: Engine) -> None:
    ingest(engine, kaggle_source([KAGGLE_RAW]))
    paper = get_paper(engine, "0704.0001")
    assert (paper["version"], paper["authors"][0], paper["journal_ref"]) == (
        2,
        "C. Balázs",
        "Phys.Rev.D76:013009,2007",
    )
    assert paper["updated"] == datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC)


def test_an_interrupted_run_resumes_after_its_last_committed_batch(
    engine: Engine, tmp_path: Path
) -> None:
    file = write_lines(tmp_path / "ten.jsonl", sample_lines(10))
    source = jsonl_source([file])
    with pytest.raises(KeyboardInterrupt):
        ingest(engine, _interrupting(source, after=4), batch_size=2)
    assert count(engine) == 4
    resumed = ingest(engine, jsonl_source([file]), batch_size=2)
    assert (resumed.resumed, resumed.new, resumed.unchanged) == (True, 10, 0)
    assert count(engine) == 10


def _interrupting(source, after: int):
    """``source`` whose reading stops with Ctrl-C after ``after`` items."""
    original = source.read

    def read(checkpoint):
        for number, item in enumerate(original(checkpoint), 1):
            if number > after:
                raise KeyboardInterrupt
            yield item

    source.read = read
    return source
