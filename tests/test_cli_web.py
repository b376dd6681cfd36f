"""``paperfeed demo``, ``paperfeed serve`` and ``paperfeed admin`` as a user runs them."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner, Result
from fastapi import FastAPI
from lxml import etree

from conftest import SAMPLE, free_port, wait_for
from paperfeed.cli import cli
from paperfeed.cli.context import AppContext
from paperfeed.settings import Settings
from paperfeed.sources.http import PoliteClient
from paperfeed.store.accounts import authenticate, find_user, user_for_token
from paperfeed.store.database import open_store
from paperfeed.store.queries import get_paper
from paperfeed.store.vectors import coverage
from protocol import PATH, Reply, body, recorded, recorded_transport, unreachable

FEED = "arxiv_rss/rss_all_archives_2024-11-28.xml.gz"
EMPTY_FEED = "arxiv_rss/rss_empty_test_archive_2024-11-28.xml"
ANNOUNCED = 24  # the demo's feed: the first cs.CL announcements of the recorded day
LOAD_A_FILE = "paperfeed ingest jsonl FILE (or paperfeed ingest kaggle FILE)"


def invoke(*args: str, **options: Any) -> Result:
    return CliRunner().invoke(cli, list(args), **options)


def one_category(category: str, limit: int) -> Reply:
    """The recorded day's feed as one category's feed: its first ``limit`` items only."""
    root = etree.fromstring(body(FEED))
    channel = root.find("channel")
    kept = 0
    for item in channel.findall("item"):
        if kept < limit and category in [c.text for c in item.findall("category")]:
            kept += 1
        else:
            channel.remove(item)
    return Reply(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def arxiv_answers(monkeypatch: pytest.MonkeyPatch, path: str, answer: Reply | Exception) -> None:
    client = PoliteClient(delay=0, transport=recorded_transport([({PATH: path}, answer)]))
    monkeypatch.setattr(AppContext, "http", lambda self: client)


def ingest_twenty(tmp_path: Path) -> list[dict[str, Any]]:
    """The first 20 papers of the sample file, imported; returns them."""
    lines = SAMPLE.read_text().splitlines()[:20]
    twenty = tmp_path / "twenty.jsonl"
    twenty.write_text("\n".join(lines) + "\n")
    assert invoke("ingest", "jsonl", str(twenty)).exit_code == 0
    return [json.loads(line) for line in lines]


def test_demo_imports_indexes_and_says_what_is_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    arxiv_answers(monkeypatch, "/rss/cs.CL", one_category("cs.CL", ANNOUNCED))
    result = invoke("demo", "--categories", "cs.CL", "--no-serve")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"{ANNOUNCED} new, 0 updated, 0 unchanged, 0 rejected" in lines[0]
    assert lines[1:3] == [
        f"announced: {ANNOUNCED} new",
        f"lexical index: {ANNOUNCED} papers (re)indexed, {ANNOUNCED} in all",
    ]
    assert re.fullmatch(
        rf"dense index \(all-MiniLM-L6-v2\): {ANNOUNCED} papers embedded in \d+ s "
        rf"\([\d.]+/s\), {ANNOUNCED} added, {ANNOUNCED} in all",
        lines[3],
    )
    assert lines[4:] == [f"{ANNOUNCED} papers are ready: `paperfeed serve` shows them."]
    found = json.loads(invoke("search", "language models", "--json", "--limit", "3").stdout)
    assert len(found) == 3


def test_demo_without_arxiv_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    arxiv_answers(monkeypatch, "/rss/cs.CL+cs.LG+cs.CV+cs.AI", unreachable())
    result = invoke("demo", "--no-serve")
    assert result.exit_code == 1
    assert result.output == (
        "Error: arXiv cannot be reached (rss.arxiv.org: [Errno -2] Name or service not known). "
        f"Load papers from a file instead: {LOAD_A_FILE}, then paperfeed index and "
        "paperfeed serve.\n"
    )


@pytest.fixture
def serving(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What ``uvicorn.run`` was asked to serve (it is not run)."""
    monkeypatch.setenv("PAPERFEED_DATABASE_URL", Settings().database)  # undone after the test
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.update(options, app=app))
    return served


NO_MAIL = (
    "No mail server is set (PAPERFEED_SMTP_URL): subscription confirmations and digests wait "
    "in the outbox until one is."
)
WORKER_STARTED = (
    "Background worker started: new papers are indexed by words and meaning as they arrive."
)


def test_demo_on_a_day_without_announcements_and_an_empty_store(
    monkeypatch: pytest.MonkeyPatch, serving: dict[str, Any]
) -> None:
    arxiv_answers(monkeypatch, "/rss/cs.CL+cs.LG", recorded(EMPTY_FEED))
    result = invoke("demo", "--categories", "cs.CL,cs.LG", "--no-embed", "--port", "8765")
    assert result.exit_code == 0, result.output
    assert result.output.endswith(
        "no announcements on 2024-11-28 (a weekend or holiday: nothing to do).\n"
        "lexical index: 0 papers (re)indexed, 0 in all\n"
        "paperfeed is serving 0 papers at http://127.0.0.1:8765/papers\n"
        f"The store is empty: load papers from a file with {LOAD_A_FILE}, then paperfeed "
        "index and paperfeed serve.\n"
        f"{NO_MAIL}\n{WORKER_STARTED}\n"
    )
    assert isinstance(serving["app"], FastAPI)  # one process: the command's own services
    assert serving["port"] == 8765


def test_demo_on_a_day_without_announcements_serves_the_store(
    monkeypatch: pytest.MonkeyPatch, serving: dict[str, Any], tmp_path: Path
) -> None:
    ingest_twenty(tmp_path)
    arxiv_answers(monkeypatch, "/rss/cs.AI", recorded(EMPTY_FEED))
    result = invoke("demo", "--categories", "cs.AI", "--no-embed")
    assert result.exit_code == 0, result.output
    assert result.output.endswith(
        "(a weekend or holiday: nothing to do).\n"
        "lexical index: 20 papers (re)indexed, 20 in all\n"
        "paperfeed is serving 20 papers at http://127.0.0.1:8000/papers\n"
        f"{NO_MAIL}\n{WORKER_STARTED}\n"  # the demo embeds in the background, and what is submitted
    )
    assert invoke("demo", "--categories", " ").exit_code == 2


def test_serve_with_several_workers_has_each_build_its_app(
    serving: dict[str, Any], tmp_path: Path
) -> None:
    ingest_twenty(tmp_path)
    result = invoke("serve", "--workers", "2")
    assert result.exit_code == 0, result.output
    assert serving["app"] == "paperfeed.web.app:app_from_environment"
    assert (serving["factory"], serving["workers"]) == (True, 2)


def test_admin_create_asks_for_a_hidden_password_then_promotes(tmp_path: Path) -> None:
    created = invoke("admin", "create", "Ada@Example.org", input="correct horse\ncorrect horse\n")
    assert created.exit_code == 0, created.output
    assert "correct horse" not in created.output
    assert created.output.endswith("ada@example.org is an admin (new account).\n")
    engine = open_store(Settings().database)
    assert authenticate(engine, "ada@example.org", "correct horse")["is_admin"]
    again = invoke("admin", "create", "ada@example.org")  # no password asked this time
    assert again.output == "ada@example.org is an admin (existing account).\n"
    short = invoke("admin", "create", "bob@example.org", "--password", "short")
    assert short.exit_code == 1
    assert short.output == "Error: the password needs at least 8 characters\n"
    assert find_user(engine, "bob@example.org") is None


def test_admin_token_prints_a_token_that_signs_in_as_the_user() -> None:
    assert (
        invoke("admin", "create", "ada@example.org", "--password", "correct horse").exit_code == 0
    )
    made = invoke("admin", "token", "Ada@example.org", "--name", "agent")
    assert made.exit_code == 0, made.output
    token = made.output.strip()
    assert user_for_token(open_store(Settings().database), token)["email"] == "ada@example.org"
    missing = invoke("admin", "token", "bob@example.org")
    assert (missing.exit_code, missing.output) == (
        1,
        "Error: there is no account for bob@example.org\n",
    )


def test_admin_hide_and_show_a_paper(tmp_path: Path) -> None:
    arxiv_id = ingest_twenty(tmp_path)[0]["id"]
    engine = open_store(Settings().database)
    hidden = invoke("admin", "hide", f"https://arxiv.org/abs/{arxiv_id}v1")
    assert (hidden.exit_code, hidden.output) == (0, f"{arxiv_id} is hidden.\n")
    assert get_paper(engine, arxiv_id)["hidden"]
    shown = invoke("admin", "hide", arxiv_id, "--show")
    assert (shown.exit_code, shown.output) == (0, f"{arxiv_id} is shown.\n")
    assert not get_paper(engine, arxiv_id)["hidden"]
    unknown = invoke("admin", "hide", "2501.99999")
    assert (unknown.exit_code, unknown.output) == (1, "Error: 2501.99999 is not in the store\n")
    assert invoke("admin", "hide", "nonsense").exit_code == 2


def test_serve_fails_in_one_line_when_the_store_cannot_be_opened() -> None:
    url = "postgresql://nobody:secret@127.0.0.1:1/nothing"
    result = invoke("serve", env={"PAPERFEED_DATABASE_URL": url})
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: cannot open the store 'postgresql://nobody:***@127.0.0.1:1/nothing': "
    )
    assert result.output.count("\n") == 1


def test_serve_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    ingest_twenty(tmp_path)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = invoke("serve", "--port", str(port))
    assert (result.exit_code, result.output) == (
        1,
        f"Error: 127.0.0.1:{port} is in use (is paperfeed already serving there?): stop that "
        "server, or serve on another port with --port\n",
    )


def test_serve_runs_the_site_until_stopped(tmp_path: Path) -> None:
    ingest_twenty(tmp_path)
    port = free_port()
    command = [sys.executable, "-m", "paperfeed", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        status, deadline = None, time.monotonic() + 60
        while status != 200 and server.poll() is None and time.monotonic() < deadline:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/papers", timeout=5).status_code
            except httpx.TransportError:
                time.sleep(0.2)
    finally:
        server.terminate()
        stdout, stderr = server.communicate(timeout=30)
    assert status == 200, stderr
    url = f"http://127.0.0.1:{port}/papers"
    assert stdout.splitlines()[0] == f"paperfeed is serving 20 papers at {url}"
    assert "No mail server is set (PAPERFEED_SMTP_URL)" in stdout.splitlines()[1]
    assert "20 papers are not embedded" in stdout  # the admin learns what waits, and how


def test_serve_with_a_worker_embeds_and_both_stop_within_5_s_of_sigterm(tmp_path: Path) -> None:
    ingest_twenty(tmp_path)
    port = free_port()
    command = [sys.executable, "-m", "paperfeed", "serve", "--worker", "--port", str(port)]
    server = subprocess.Popen(
        command, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    settings = Settings()
    engine = open_store(settings.database)
    try:

        def embedded_or_exited() -> bool:
            done = not coverage(engine, settings.embedding_model).pending
            return done or server.poll() is not None

        wait_for(embedded_or_exited, timeout=120)
        assert server.poll() is None
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        [worker] = [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        server.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        server.wait(10)
        assert time.monotonic() - sent < 5
    finally:
        server.kill()
        stdout, _ = server.communicate(timeout=30)
    assert "Background worker started" in stdout
    assert not Path(f"/proc/{worker}").exists()
