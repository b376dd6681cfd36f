"""The command line as a user runs it: help, exit codes, one-line errors, reports."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from conftest import ARXIV, SAMPLE
from paperfeed.cli import cli
from paperfeed.cli.context import AppContext
from paperfeed.sources.http import PoliteClient
from protocol import PATH, recorded, recorded_transport

MATH = ARXIV / "arxiv_math_dailyfeed_LeeMath-lzu_2025-11_2026-08.jsonl.gz"
COMMANDS = [
    [],
    ["ingest"],
    ["ingest", "jsonl"],
    ["ingest", "kaggle"],
    ["ingest", "oai"],
    ["ingest", "arxiv-api"],
    ["ingest", "rss"],
    ["ingest", "hf-daily"],
    ["sync"],
    ["stats"],
    ["show"],
]
# what a command loads when it runs, never for its help or a typo
HEAVY = frozenset(
    {"sqlalchemy", "numpy", "fastapi", "tantivy", "torch", "onnxruntime", "pylatexenc"}
)


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "paperfeed")
def test_every_command_has_help(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Usage: " in result.output


def loaded_by(*args: str) -> subprocess.CompletedProcess[str]:
    """``paperfeed ARGS`` in a fresh interpreter, which prints on its last line the heavy
    modules it had loaded when it exited."""
    report = f"print(sorted({HEAVY!r} & sys.modules.keys()), file=sys.stderr)"
    code = f"import atexit, sys; atexit.register(lambda: {report}); from paperfeed.cli import main"
    return subprocess.run(
        [sys.executable, "-c", f"{code}; main()", *args], capture_output=True, text=True
    )


def test_help_lists_the_commands_without_loading_store_indexes_or_models() -> None:
    shown = loaded_by("--help")
    assert (shown.returncode, shown.stderr.splitlines()[-1]) == (0, "[]")
    listed = re.findall(r"^  (\S+)  ", shown.stdout.split("Commands:")[1], re.MULTILINE)
    assert listed == sorted(cli.list_commands(click.Context(cli)))


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["search", "--help"], 0, "--mode [hybrid|lexical|dense]"),
        (["ingest", "rss", "--help"], 0, "Usage: paperfeed ingest rss"),
        (["serach"], 2, "No such command 'serach'. Did you mean 'search'?"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_command_help_and_typos_load_no_store_indexes_or_models(
    args: list[str], code: int, says: str
) -> None:
    answered = loaded_by(*args)
    assert (answered.returncode, answered.stderr.splitlines()[-1]) == (code, "[]")
    assert says in answered.stdout + answered.stderr


def test_a_bad_setting_is_one_clear_error_and_help_still_shows() -> None:
    env = {"PAPERFEED_BATCH_SIZE": "many"}
    result = CliRunner().invoke(cli, ["stats"], env=env)
    assert result.exit_code == 1
    assert result.output.startswith("Error: bad configuration: 1 validation error")
    assert "batch_size" in result.output
    assert CliRunner().invoke(cli, ["stats", "--help"], env=env).exit_code == 0


def test_ingest_then_stats_and_show() -> None:
    result = invoke("ingest", "jsonl", str(SAMPLE))
    assert result.exit_code == 0
    assert "200 new, 0 updated, 0 unchanged, 0 rejected" in result.output
    stats = json.loads(invoke("stats", "--json").output)
    assert (stats["papers"], stats["recent_runs"][0]["status"]) == (200, "completed")
    shown = invoke("show", "https://arxiv.org/abs/2503.11731v1")
    assert shown.exit_code == 0
    assert shown.output.startswith("2503.11731  Industrial-Grade Sensor Simulation")


def test_importing_again_reports_nothing_new() -> None:
    invoke("ingest", "jsonl", str(SAMPLE))
    result = invoke("ingest", "jsonl", str(SAMPLE))
    assert "0 new, 0 updated, 200 unchanged, 0 rejected" in result.output


def test_the_database_is_chosen_by_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    result = CliRunner().invoke(
        cli, ["ingest", "jsonl", str(SAMPLE)], env={"PAPERFEED_DATABASE_URL": url}
    )
    assert result.exit_code == 0
    with sqlite3.connect(tmp_path / "elsewhere.db") as conn:
        assert conn.execute("SELECT count(*) FROM papers").fetchone() == (200,)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "2501.99999"], "2501.99999 is not in the store; fetch it with: paperfeed ingest"),
        (["show", "nonsense"], "not an arXiv id: 'nonsense'"),
        (["ingest", "arxiv-api"], "give either --ids or --query"),
        (["ingest", "hf-daily"], "give either FILE or --date"),
    ],
)
def test_failures_exit_non_zero_with_one_clear_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_broken_file_is_one_error_line_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("this is not json\n")
    result = CliRunner().invoke(cli, ["ingest", "jsonl", str(bad)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {bad}:1: not JSON lines (")
    assert result.output.count("\n") == 1


def _dump(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT arxiv_id, version, title, abstract, authors, categories, announced,"
            " comments, first_seen, last_seen FROM papers ORDER BY arxiv_id"
        ).fetchall()


def _checkpoint_line(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            row = conn.execute("SELECT checkpoint FROM ingest_runs").fetchone()
    except sqlite3.Error:
        return 0
    return json.loads(row[0])["line"] if row and row[0] else 0


def test_sigkill_half_way_then_rerun_gives_the_same_store(tmp_path: Path) -> None:
    env = {**os.environ, "PAPERFEED_BATCH_SIZE": "25"}
    command = [sys.executable, "-m", "paperfeed", "ingest", "jsonl", str(SAMPLE), str(MATH)]
    killed, reference = tmp_path / "killed.db", tmp_path / "reference.db"
    process = subprocess.Popen(
        command,
        env=env | {"PAPERFEED_DATABASE_URL": f"sqlite:///{killed}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while _checkpoint_line(killed) < 500 and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 0 < len(_dump(killed)) < 2_687
    rerun = subprocess.run(
        command,
        env=env | {"PAPERFEED_DATABASE_URL": f"sqlite:///{killed}"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "resuming run #1; the whole run: 2,687 records" in rerun.stdout
    subprocess.run(
        command,
        env=env | {"PAPERFEED_DATABASE_URL": f"sqlite:///{reference}"},
        capture_output=True,
        check=True,
    )
    assert _dump(killed) == _dump(reference)


def test_index_then_search_and_similar_with_the_packaged_model(tmp_path: Path) -> None:
    twenty = tmp_path / "twenty.jsonl"
    twenty.write_text("\n".join(SAMPLE.read_text().splitlines()[:20]) + "\n")
    invoke("ingest", "jsonl", str(twenty))
    newest = invoke("index", "--embed-limit", "5")
    assert "lexical index: 20 papers (re)indexed, 20 in all" in newest.output
    assert re.search(
        r"dense index \(all-MiniLM-L6-v2\): 5 papers embedded in \d+ s \([\d.]+/s\), "
        r"5 added, 5 in all",
        newest.output,
    )
    assert "15 papers still to embed (papers announced up to 2025-06-03)" in newest.output
    stats = json.loads(invoke("stats", "--json").output)
    assert (stats["embedded"], stats["pending"], stats["oldest_embedded"]) == (5, 15, "2025-06-09")
    indexed = invoke("index")
    assert "15 papers embedded" in indexed.output
    assert "15 added, 20 in all" in indexed.output
    assert "still to embed" not in indexed.output
    first = json.loads(SAMPLE.read_text().splitlines()[0])
    found = json.loads(invoke("search", first["title"], "--json", "--limit", "3").stdout)
    assert found[0]["arxiv_id"] == first["id"]
    similar = invoke("similar", first["id"], "--json")
    assert first["id"] not in [hit["arxiv_id"] for hit in json.loads(similar.stdout)]
    again = invoke("index")
    assert "0 papers embedded, 0 added" in again.output


@pytest.mark.parametrize(
    ("feed", "says"),
    [
        ("arxiv_rss/rss_empty_test_archive_2024-11-28.xml", "no announcements on 2024-11-28"),
        (
            "arxiv_rss/rss_all_archives_2024-11-28.xml.gz",
            "announced: 926 new, 9 cross, 569 replace",
        ),
    ],
)
def test_rss_ingest_says_what_the_day_brought(
    monkeypatch: pytest.MonkeyPatch, feed: str, says: str
) -> None:
    transport = recorded_transport([({PATH: "/rss/cs"}, recorded(feed))])
    client = PoliteClient(delay=0, transport=transport)
    monkeypatch.setattr(AppContext, "http", lambda self: client)
    result = invoke("ingest", "rss", "cs")
    assert result.exit_code == 0
    assert says in result.output
