"""Faults: `paperfeed index` killed with SIGKILL while it embeds or writes an index generation,
then run again, leaves the store and the indexes a run that was never killed leaves; a
`paperfeed digest run` killed while the server accepts a message sends that one again with the
same Message-ID, and every other once.

Kills elsewhere are tested where their code is: an import (tests/test_cli.py), the background
worker stopped mid-batch (tests/test_worker.py), digest runs killed between messages and
deliveries losing their mail server (tests/test_digest.py, tests/test_digest_outbox.py). A store
going away under a running command is not made here: a SQLite file cannot be taken from a
process that has it open (and tests run as root, past file modes), and the PostgreSQL server
is shared; to the store it is what a kill is, its open transaction lost."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import SAMPLE, wait_for
from paperfeed.digest.outbox import LEASE
from paperfeed.index.dense import VectorIndex
from paperfeed.index.lexical import LexicalIndex
from paperfeed.index.query import parse_query
from paperfeed.ingest.pipeline import ingest
from paperfeed.settings import Settings
from paperfeed.sources.jsonl import jsonl_source
from paperfeed.store.database import open_store
from paperfeed.store.schema import embeddings, outbox, papers
from paperfeed.store.subscriptions import subscribe
from smtp_server import SmtpServer
from web_app import build

PAPERS = 40
BATCH = 4  # papers per model call: a committed batch (2 calls) is 8 papers

# Runs the CLI with an audit hook that kills the process with SIGKILL just before the file
# operation (an audit event and a file name pattern) it is told: a crash at that exact step.
KILLED_AT = """
import fnmatch, os, signal, sys
event, pattern = sys.argv[1:3]

def kill_at(name, args):
    if name == event and fnmatch.fnmatch(str(args[name == "os.rename"]), pattern):
        os.kill(os.getpid(), signal.SIGKILL)

sys.addaudithook(kill_at)
from paperfeed.cli import main
sys.argv = ["paperfeed", *sys.argv[3:]]
main()
"""


def paperfeed(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "paperfeed", *args]
    return subprocess.run(command, env=environment(home), capture_output=True, text=True)


def environment(home: Path) -> dict[str, str]:
    return {**os.environ, "PAPERFEED_HOME": str(home), "PAPERFEED_EMBEDDING_BATCH_SIZE": str(BATCH)}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose store holds the sample's first papers, not yet indexed."""
    home = tmp_path_factory.mktemp("ingested") / "home"
    file = home.parent / "papers.jsonl"
    file.write_text("\n".join(SAMPLE.read_text().splitlines()[:PAPERS]) + "\n")
    engine = open_store(Settings(home=home).database)
    ingest(engine, jsonl_source([file]))
    engine.dispose()
    return home


@pytest.fixture(scope="module")
def indexed(ingested: Path) -> Path:
    """The same home after one `paperfeed index` that was never interrupted."""
    home = ingested.parent / "indexed"
    shutil.copytree(ingested, home)
    done = paperfeed(home, "index")
    assert f"{PAPERS} papers embedded" in done.stdout, done.stderr
    return home


def copy(home: Path, to: Path) -> Path:
    shutil.copytree(home, to)
    return to


def state(home: Path) -> dict[str, Any]:
    """What a user of this home gets: papers, stored vectors, and both indexes' answers."""
    settings = Settings(home=home)
    engine = open_store(settings.database)
    with engine.connect() as conn:
        stored = conn.execute(
            select(papers.c.arxiv_id, embeddings.c.model, embeddings.c.text_hash)
            .join(embeddings)
            .order_by(papers.c.arxiv_id)
        ).all()
        ids = conn.scalars(select(papers.c.arxiv_id).order_by(papers.c.arxiv_id)).all()
    engine.dispose()
    lexical = LexicalIndex.open(settings.index_dir / "lexical")
    words = lexical.search(parse_query("learning"), limit=PAPERS)
    vectors = VectorIndex(settings.index_dir / "dense")
    indexed = vectors.rows(ids)[0]
    return {
        "papers": ids,
        "vectors stored": stored,
        "words indexed": lexical.count(),
        # ties come in segment order, which tantivy's writer threads choose
        "found by words": sorted((-round(hit.score, 4), hit.arxiv_id) for hit in words),
        "vectors indexed": len(vectors),
        "indexed ids": indexed,
        # how many, not which: the HNSW graph is built by several threads, so two builds of the
        # same vectors may find slightly different approximate neighbours
        "similar": [len(vectors.similar(arxiv_id, k=3)) for arxiv_id in indexed[:5]],
    }


def left_over(home: Path) -> set[str]:
    """Files of the vector index that its committed generation does not name."""
    folder = home / "index" / "dense"
    meta = json.loads((folder / "meta.json").read_text())
    generation = meta["generation"]
    named = {"meta.json", f"index-{generation}.usearch", f"rows-{generation}.npz", meta["vectors"]}
    return {path.name for path in folder.iterdir()} - named


def test_index_killed_while_embedding_then_run_again_embeds_the_rest_once(
    ingested: Path, indexed: Path, tmp_path: Path
) -> None:
    home = copy(ingested, tmp_path / "home")
    engine = open_store(Settings(home=home).database)

    def embedded() -> int:
        with engine.connect() as conn:
            return len(conn.execute(select(embeddings.c.paper_id)).all())

    command = [sys.executable, "-m", "paperfeed", "index"]
    run = subprocess.Popen(command, env=environment(home), stderr=subprocess.DEVNULL)
    wait_for(lambda: embedded() > 0 or run.poll() is not None, timeout=120, every=0.005)
    run.send_signal(signal.SIGKILL)
    run.wait()
    done = embedded()
    assert done % (2 * BATCH) == 0 and 0 < done < PAPERS  # whole batches, none half-written
    engine.dispose()

    again = paperfeed(home, "index")
    assert f"{PAPERS - done} papers embedded" in again.stdout, again.stderr
    assert state(home) == state(indexed)


@pytest.mark.parametrize(
    ("event", "pattern"),
    [
        ("open", "*/lexical/paperfeed.json.tmp"),  # words committed, their watermark not
        ("os.rename", "*/dense/meta.json"),  # a generation written, not committed
        ("os.remove", "*/index-1.usearch"),  # committed, the last one not yet deleted
    ],
)
def test_rebuild_killed_at_each_step_then_run_again_gives_the_same_indexes(
    indexed: Path, tmp_path: Path, event: str, pattern: str
) -> None:
    home = copy(indexed, tmp_path / "home")
    command = [sys.executable, "-c", KILLED_AT, event, pattern, "index", "--rebuild"]
    killed = subprocess.run(command, env=environment(home), capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert state(home) == state(indexed)  # the last generation still serves, or the new one

    again = paperfeed(home, "index", "--rebuild")
    assert "0 papers embedded" in again.stdout, again.stderr
    assert state(home) == state(indexed)
    assert left_over(home) == set()


def kill_once_accepted(server: SmtpServer, process: subprocess.Popen, messages: int) -> None:
    """SIGKILL ``process`` as the server keeps its ``messages``-th message, before the 250
    reaches it: the one moment at-least-once delivery sends a message twice."""
    keep = server.recorder.handle_DATA

    async def handle_data(smtp: Any, session: Any, envelope: Any) -> str:
        reply = await keep(smtp, session, envelope)
        if len(server.received) == messages:
            process.send_signal(signal.SIGKILL)
            process.wait()
        return reply

    server.recorder.handle_DATA = handle_data  # type: ignore[method-assign]


def test_digest_run_killed_with_a_message_in_flight_sends_it_again_with_the_same_id(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    web = build(tmp_path, smtp_url=smtp_server.url)
    readers = [f"reader{n}@example.org" for n in range(6)]
    for reader in readers:
        subscribe(web.engine, reader, confirmed=True)
    monday = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)  # the store's newest day

    def digest_run(now: datetime) -> subprocess.Popen:
        command = [sys.executable, "-m", "paperfeed", "digest", "run", "--now", now.isoformat()]
        env = os.environ | {
            "PAPERFEED_HOME": str(web.settings.home),
            "PAPERFEED_DATABASE_URL": web.settings.database,
            "PAPERFEED_SMTP_URL": smtp_server.url,
        }
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)

    killed = digest_run(monday)
    kill_once_accepted(smtp_server, killed, messages=3)
    assert killed.wait(60) == -signal.SIGKILL
    in_flight = smtp_server.received[2]
    assert len(smtp_server.received) == 3

    after_lease = monday + LEASE + timedelta(minutes=1)  # the killed run's claim has expired
    assert digest_run(after_lease).wait(60) == 0
    assert smtp_server.copies() == {r: 2 if r in in_flight.recipients else 1 for r in readers}
    again = [m.message for m in smtp_server.received if m.recipients == in_flight.recipients]
    assert [m["Message-ID"] for m in again] == [in_flight.message["Message-ID"]] * 2
    with web.engine.connect() as conn:
        assert set(conn.scalars(select(outbox.c.status))) == {"sent"}
