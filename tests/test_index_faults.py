"""A broken index never takes the site down: corrupt, missing or truncated index files found on
a (re)start or under a running server are set aside, the site serves from the store, the admin
reads one line, and ``paperfeed index --rebuild`` recovers."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

import paperfeed
from conftest import free_port, wait_for
from hash_embedder import HashEmbedder
from memory_source import MemorySource
from paperfeed.cli import cli
from paperfeed.index.dense import VectorIndex
from paperfeed.index.embedders import EMBEDDERS
from paperfeed.ingest.pipeline import ingest
from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.store.database import open_store
from paperfeed.web.app import create_app
from paperfeed.web.security import LIMITER
from paperfeed.worker import Worker
from web_app import NEWEST, card_ids, records

TESTS = Path(__file__).parent
SEARCH = "/search?q=graph+networks"
PAGES = (
    SEARCH,
    "/search?q=graph+networks&mode=dense",
    "/papers/2503.00001",
    "/api/papers/search?q=graph",
)
WORDS_GONE = "Search by words is being rebuilt"
MEANING_GONE = "papers are found by their words"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A home whose store holds the web tests' papers, indexed by words and (hash) meaning
    by the worker, as a running site's would be."""
    monkeypatch.setitem(EMBEDDERS, "hash-words", lambda settings: HashEmbedder())
    monkeypatch.setenv("PAPERFEED_EMBEDDING_BACKEND", "hash-words")
    settings = Settings(home=tmp_path / "home", embedding_backend="hash-words")
    services = Services.from_settings(settings)
    ingest(services.engine, MemorySource(records()), today=NEWEST)
    assert Worker(services, threading.Event()).round().saved
    services.engine.dispose()
    return settings


def restarted(settings: Settings) -> TestClient:
    """The site as a new process serves it: new services over the same home."""
    LIMITER.storage.reset()
    return TestClient(create_app(Services.from_settings(settings)), raise_server_exceptions=False)


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def biggest(folder: Path, pattern: str) -> Path:
    return max(folder.glob(pattern), key=lambda path: path.stat().st_size)


def truncate_half(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def garble(path: Path) -> None:
    """Overwrite bytes in the middle of the file, its size unchanged."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = b"\xa5" * 16
    path.write_bytes(bytes(data))


def edit_meta(path: Path, **changes: object) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


# (index folder, what is done to it, what visitors read meanwhile)
CORRUPTIONS: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "words segment truncated": (
        "lexical",
        lambda f: truncate_half(biggest(f, "*.store")),
        WORDS_GONE,
    ),
    "words segment garbled": ("lexical", lambda f: garble(biggest(f, "*.idx")), WORDS_GONE),
    "words meta.json deleted": ("lexical", lambda f: (f / "meta.json").unlink(), WORDS_GONE),
    "words meta.json garbage": ("lexical", lambda f: (f / "meta.json").write_text("{"), WORDS_GONE),
    "vectors truncated": ("dense", lambda f: truncate_half(biggest(f, "vectors-*")), MEANING_GONE),
    "graph garbled": ("dense", lambda f: garble(biggest(f, "index-*")), MEANING_GONE),
    "row table garbled": ("dense", lambda f: garble(biggest(f, "rows-*")), MEANING_GONE),
    "vectors meta.json garbage": (
        "dense",
        lambda f: (f / "meta.json").write_text("x"),
        MEANING_GONE,
    ),
    "wrong dimensions": ("dense", lambda f: edit_meta(f / "meta.json", dim=32), MEANING_GONE),
}


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_a_corrupt_index_is_set_aside_the_site_serves_and_rebuild_recovers(
    settings: Settings, corruption: str, caplog: pytest.LogCaptureFixture
) -> None:
    name, corrupt, meanwhile = CORRUPTIONS[corruption]
    folder = settings.index_dir / name
    corrupt(folder)

    with caplog.at_level(logging.INFO):
        client = restarted(settings)
        pages = {url: client.get(url) for url in PAGES}
    assert {url: page.status_code for url, page in pages.items()} == dict.fromkeys(PAGES, 200)
    assert meanwhile in pages[SEARCH].text
    assert card_ids(pages[SEARCH].text)  # found by the index that is left
    [line] = errors(caplog)  # the admin is told once, in one line
    assert f"{folder} is broken (" in line
    assert "set aside as" in line and "paperfeed index --rebuild" in line
    [kept] = settings.index_dir.glob(f"{name}.broken-*")
    assert any(kept.iterdir())  # set aside, not deleted

    result = CliRunner().invoke(cli, ["index", "--rebuild"])
    assert result.exit_code == 0, result.output
    page = restarted(settings).get(SEARCH).text
    assert meanwhile not in page
    assert "2503.00001" in card_ids(page)


@pytest.mark.parametrize("state", ["deleted", "a file", "emptied"])
def test_index_rebuild_recovers_whatever_state_the_folders_are_in(
    settings: Settings, state: str
) -> None:
    for folder in (settings.index_dir / "lexical", settings.index_dir / "dense"):
        for path in folder.iterdir():
            if state == "emptied":
                path.write_bytes(b"")
            else:
                path.unlink()
        if state == "a file":
            folder.rmdir()
            folder.write_text("not a folder")
    result = CliRunner().invoke(cli, ["index", "--rebuild"])
    assert result.exit_code == 0, result.output
    assert "17 in all" in result.output  # both indexes
    page = restarted(settings).get("/search?q=graph+networks&mode=dense").text
    assert MEANING_GONE not in page
    assert "2503.00001" in card_ids(page)


def test_vector_files_without_meta_json_are_set_aside_by_the_next_index_run(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    dense = settings.index_dir / "dense"
    (dense / "meta.json").unlink()
    page = restarted(settings).get(SEARCH).text
    assert MEANING_GONE in page  # readers see no index (a first one may be being saved)
    with caplog.at_level(logging.ERROR):
        result = CliRunner().invoke(cli, ["index"])
    assert result.exit_code == 0, result.output
    [line] = errors(caplog)
    assert "index-1.usearch but no meta.json" in line
    page = restarted(settings).get(SEARCH).text
    assert MEANING_GONE not in page


def test_without_an_index_folder_searches_say_so_and_the_log_says_what_to_run(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    for folder in settings.index_dir.iterdir():
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    settings.index_dir.rmdir()

    with caplog.at_level(logging.INFO):
        client = restarted(settings)
        pages = [client.get(SEARCH) for _ in range(2)]
        cli_search = CliRunner().invoke(cli, ["search", "graph networks"])
    assert [page.status_code for page in pages] == [200, 200]
    assert "Search is being rebuilt and finds nothing for now" in pages[0].text
    assert "note: Search is being rebuilt" in cli_search.output
    lines = errors(caplog)
    assert len(lines) == 2  # once for the site's process, once for the command's
    assert all("holds no papers while the store has some" in line for line in lines)
    assert all("`paperfeed index`" in line for line in lines)

    assert CliRunner().invoke(cli, ["index"]).exit_code == 0
    page = restarted(settings).get(SEARCH).text
    assert "being rebuilt" not in page
    assert "2503.00001" in card_ids(page)


# A server in its own process: reading a truncated memory-mapped file kills it with SIGBUS
SERVER = """
import sys
from hash_embedder import HashEmbedder
from paperfeed.index.embedders import EMBEDDERS
EMBEDDERS["hash-words"] = lambda settings: HashEmbedder()
import uvicorn
from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.web.app import create_app
settings = Settings(home=sys.argv[1], embedding_backend="hash-words")
app = create_app(Services.from_settings(settings))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen, Path]]:
    """The site served by uvicorn in a child process: its URL, the process, its stderr."""
    port, log = free_port(), tmp_path / "server.log"
    source = Path(paperfeed.__file__).parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(source), str(TESTS)])}
    with log.open("w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(settings.home), str(port)], env=env, stderr=stderr
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: child.poll() is not None or _answers(url), timeout=60)
        yield url, child, log
    finally:
        child.terminate()
        child.wait(10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/papers", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_a_vector_file_truncated_under_a_running_server_is_never_read(
    settings: Settings, server: tuple[str, subprocess.Popen, Path]
) -> None:
    url, child, log = server
    dense = f"{url}/search?q=graph+networks&mode=dense"
    before = httpx.get(dense, timeout=10)
    assert before.status_code == 200 and MEANING_GONE not in before.text
    folder = settings.index_dir / "dense"
    os.truncate(biggest(folder, "vectors-*.f16"), 0)  # under the server's memory map

    after = [httpx.get(address, timeout=10) for address in (dense, f"{url}/papers/2503.00001")]
    assert child.poll() is None, f"the server died: exit {child.returncode}"
    assert [page.status_code for page in after] == [200, 200]
    assert MEANING_GONE in after[0].text
    assert "2503.00001" in card_ids(after[0].text)  # by its words

    # the worker (or `paperfeed index`) saves a generation: rebuilt from the store, swapped in
    engine = open_store(settings.database)
    VectorIndex(folder).update(engine, HashEmbedder.model)
    engine.dispose()
    wait_for(lambda: MEANING_GONE not in httpx.get(dense, timeout=10).text, timeout=10)
    child.terminate()
    child.wait(10)
    told = [line for line in log.read_text().splitlines() if "set aside as" in line]
    assert len(told) == 1
    assert "shrank to 0 bytes" in told[0] and "paperfeed index --rebuild" in told[0]
