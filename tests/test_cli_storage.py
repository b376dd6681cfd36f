"""A full disk, a read-only store and a database that cannot be reached end `ingest`, `index`
and `serve` with one line that says what to do, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conftest import SAMPLE, free_port
from paperfeed.cli import cli

KEPT = "then run the command again: the work committed so far is kept."


def one_line(result: Result) -> str:
    """The error line of a command that failed, checked to be all it printed."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    [line] = result.output.strip().splitlines()
    return line


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """PAPERFEED_HOME on a 2 MB tmpfs: a disk that fills up for real (ENOSPC). Mounting it
    needs root with CAP_SYS_ADMIN (CI's container has it); elsewhere the test is skipped."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    monkeypatch.setenv("PAPERFEED_HOME", str(disk / "home"))
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def fill(disk: Path) -> None:
    """Write a file until the disk is full."""
    descriptor = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(descriptor, bytes(1 << 16)):
            pass
    except OSError as exc:
        assert exc.strerror == "No space left on device"
    finally:
        os.close(descriptor)


def test_a_full_disk_is_one_line_for_ingest_index_and_serve(small_disk: Path) -> None:
    assert CliRunner().invoke(cli, ["ingest", "jsonl", str(SAMPLE)]).exit_code == 0
    fill(small_disk)

    ingest = one_line(CliRunner().invoke(cli, ["ingest", "jsonl", str(SAMPLE)]))
    assert ingest == (
        f"Error: the store cannot be written: database or disk is full. Free some space on its "
        f"disk, {KEPT}"
    )
    index = one_line(CliRunner().invoke(cli, ["index", "--no-embed"]))
    lexical = small_disk / "home" / "index" / "lexical"
    assert (
        index == f"Error: cannot write {lexical}: No space left on device. Free some space, {KEPT}"
    )
    assert not list(lexical.parent.glob("*.broken-*"))  # a full disk is no broken index

    serve = subprocess.run(  # a process of its own: were it to start, it would serve on
        [sys.executable, "-m", "paperfeed", "serve", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert serve.returncode == 1
    assert "Traceback" not in serve.stderr
    assert serve.stderr.strip().splitlines()[-1] == (
        f"Error: cannot write: No space left on device. Free some space, {KEPT}"
    )


def test_a_read_only_store_is_one_line(tmp_path: Path) -> None:
    """``mode=ro`` opens the store as a read-only file or mount does: SQLite refuses writes
    (as root, taking the write bit off a file would not stop them)."""
    store = tmp_path / "store.db"
    ingested = CliRunner().invoke(
        cli, ["--database", f"sqlite:///{store}", "ingest", "jsonl", str(SAMPLE)]
    )
    assert ingested.exit_code == 0
    read_only = f"sqlite:///file:{store}?mode=ro&uri=true"
    result = CliRunner().invoke(cli, ["--database", read_only, "ingest", "jsonl", str(SAMPLE)])
    assert one_line(result) == (
        f"Error: the store cannot be written: attempt to write a readonly database. Make it "
        f"writable, {KEPT}"
    )


@pytest.mark.parametrize("command", [["ingest", "jsonl", str(SAMPLE)], ["index"], ["serve"]])
def test_an_unreachable_postgresql_is_one_line(command: list[str]) -> None:
    url = f"postgresql://paperfeed:secret@127.0.0.1:{free_port()}/paperfeed"
    line = one_line(CliRunner().invoke(cli, ["--database", url, *command]))
    assert line.startswith("Error: cannot open the store 'postgresql://paperfeed:***@127.0.0.1:")
    assert "Connection refused" in line and "secret" not in line
