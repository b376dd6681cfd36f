"""The background worker: words, then embeddings in queue order, then the vector index; it
stops promptly and a killed one loses nothing. And the digest schedule it runs."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from conftest import SAMPLE, wait_for
from hash_embedder import HashEmbedder
from memory_source import MemorySource, paper
from paperfeed.index.embedders import EMBEDDERS
from paperfeed.index.live import RECHECK
from paperfeed.ingest.pipeline import ingest
from paperfeed.records import PaperRecord
from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.store.accounts import create_user
from paperfeed.store.activity import record_submission
from paperfeed.store.database import open_store
from paperfeed.store.vectors import coverage
from paperfeed.worker import RoundReport, Worker, start_digest_schedule


def test_a_failing_digest_run_is_logged_and_the_schedule_stops_when_asked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = Services.from_settings(Settings(home=tmp_path / "home", digest_minutes=1))
    tried = threading.Event()

    def broken(*args: object) -> None:
        tried.set()
        raise ConnectionError("the mail server went away")

    monkeypatch.setattr(services, "run_digests", broken)
    stop = threading.Event()
    with caplog.at_level(logging.ERROR, logger="paperfeed.worker"):
        thread = start_digest_schedule(services, stop)
        assert tried.wait(10)
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert "digest run failed; trying again in 1 min" in caplog.text
    assert "the mail server went away" in caplog.text


class CountedStop(threading.Event):
    """A stop event that records how long the worker waits, and is set after ``waits``."""

    def __init__(self, waits: int) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.limit = waits

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0)
        if len(self.waits) >= self.limit:
            self.set()
        return self.is_set()


def test_rounds_that_keep_failing_wait_longer_and_log_one_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = Services.from_settings(Settings(home=tmp_path / "home"))
    outcomes = iter([RuntimeError("model missing")] * 11 + [RoundReport(), RuntimeError("x")])

    def round_(self: Worker) -> RoundReport:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(Worker, "round", round_)
    stop = CountedStop(waits=13)
    with caplog.at_level(logging.INFO, logger="paperfeed.worker"):
        Worker(services, stop, poll=5).run()
    assert stop.waits == [5, 10, 20, 40, 80, 160, 300, 300, 300, 300, 300, 5, 5]
    assert caplog.text.count("Traceback") == 2  # the first failure of each run of them
    assert "worker round failed again (11 in a row): model missing; trying again in 300 s" in (
        caplog.text
    )
    assert "worker round succeeded after 11 failed" in caplog.text
    assert "worker round failed; trying again in 5 s" in caplog.text  # counting anew


@pytest.fixture
def hash_backend(monkeypatch: pytest.MonkeyPatch) -> str:
    """The fake embedder as a backend, registered as a plugin would be (for this test only)."""
    monkeypatch.setitem(EMBEDDERS, "hash-words", lambda settings: HashEmbedder())
    return "hash-words"


def dated(arxiv_id: str, day: int, title: str) -> PaperRecord:
    return paper(
        arxiv_id, title=title, abstract=f"About {title.lower()}.", announced=date(2025, 1, day)
    )


def test_a_round_indexes_words_then_embeds_submitted_then_newest_and_saves_an_index(
    tmp_path: Path, hash_backend: str
) -> None:
    settings = Settings(home=tmp_path / "home", embedding_backend=hash_backend)
    services = Services.from_settings(settings)
    ingest(services.engine, MemorySource([dated("2501.00001", 6, "Graph networks")]))
    ingest(services.engine, MemorySource([dated("2501.00002", 7, "Protein folding")]))
    ingest(services.engine, MemorySource([dated("2401.00009", 2, "Surface codes")]))
    user = create_user(services.engine, "reader@example.org", "a long passphrase")
    record_submission(services.engine, user["id"], "2401.00009")
    worker = Worker(services, threading.Event())

    assert worker.round() == RoundReport(words=3, embedded=3, keywords=3, saved=True, similar=3)
    embedded = [text.split(".")[0] for text in services.embedder.texts[:3]]  # then phrases
    assert embedded == ["Surface codes", "Protein folding", "Graph networks"]
    time.sleep(RECHECK)  # the web side looks for a new generation once a second
    found = services.searcher.search("quantum surface codes", mode="dense")
    assert (found.hits[0].arxiv_id, found.notes) == ("2401.00009", [])

    assert not worker.round()  # nothing new: nothing done
    ingest(services.engine, MemorySource([dated("2501.00003", 8, "Galaxy clusters")]))
    # a new generation: every paper's similar papers are computed again
    assert worker.round() == RoundReport(words=1, embedded=1, keywords=1, saved=True, similar=4)


def worker_store(tmp_path: Path, count: int) -> dict[str, str]:
    """A store of the sample's first ``count`` papers (not indexed) and the environment of a
    ``paperfeed`` process over it."""
    lines = SAMPLE.read_text().splitlines()[:count]
    papers = tmp_path / "papers.jsonl"
    papers.write_text("\n".join(lines) + "\n")
    env = dict(os.environ) | {"PAPERFEED_EMBEDDING_BATCH_SIZE": "4"}
    subprocess.run(
        [sys.executable, "-m", "paperfeed", "ingest", "jsonl", str(papers)], env=env, check=True
    )
    return env


def test_the_worker_stops_within_5_s_of_sigterm_and_the_next_one_finishes_the_job(
    tmp_path: Path,
) -> None:
    env = worker_store(tmp_path, 60)
    settings = Settings()
    engine = open_store(settings.database)

    def embedded_count() -> int:
        return coverage(engine, settings.embedding_model).embedded

    command = [sys.executable, "-m", "paperfeed", "worker"]
    worker = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: embedded_count() > 0, timeout=120)
        worker.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        worker.wait(10)
        assert time.monotonic() - sent < 5
    finally:
        worker.kill()
    assert worker.returncode == 0
    first = embedded_count()
    assert first < 60 and first % 8 == 0  # whole batches of 2 x 4: none half-written

    again = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: embedded_count() == 60, timeout=120)
    finally:
        again.terminate()
        output = again.communicate(timeout=10)[0].decode()
    assert "worker stopped" in output
    assert coverage(engine, settings.embedding_model).complete
    engine.dispose()


def test_similar_papers_of_an_older_generation_are_served_until_the_worker_recomputes_them(
    tmp_path: Path, hash_backend: str
) -> None:
    settings = Settings(home=tmp_path / "home", embedding_backend=hash_backend)
    services = Services.from_settings(settings)
    ingest(services.engine, MemorySource([dated("2501.00001", 6, "Graph neural networks")]))
    ingest(services.engine, MemorySource([dated("2501.00002", 7, "Protein folding")]))
    worker = Worker(services, threading.Event())
    worker.round()
    time.sleep(RECHECK)
    before = [hit.arxiv_id for hit in services.searcher.similar("2501.00001")]
    assert before == ["2501.00002"]

    ingest(services.engine, MemorySource([dated("2501.00003", 8, "Graph neural networks II")]))
    services.lexical.update(services.engine)  # as a submission is: words at once
    time.sleep(RECHECK)
    # kept from the older generation: the visit does not recompute them
    assert [hit.arxiv_id for hit in services.searcher.similar("2501.00001")] == before

    assert worker.round().similar == 3  # a new generation: all three computed again
    found = [hit.arxiv_id for hit in services.searcher.similar("2501.00001")]
    assert found[0] == "2501.00003"
