"""The process's one vector index: reloaded when a newer generation is saved, never under a
caller that holds the old one."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine

import paperfeed.index.live
from hash_embedder import HashEmbedder
from memory_source import MemorySource, paper
from paperfeed.index.dense import VectorIndex, embed_pending
from paperfeed.index.live import LiveVectors
from paperfeed.ingest.pipeline import ingest


def save_generation(engine: Engine, folder: Path, *arxiv_ids: str) -> None:
    """Store these papers, embed them and save the index, as `paperfeed index` would."""
    ingest(engine, MemorySource([paper(key, title=f"Paper {key}") for key in arxiv_ids]))
    embed_pending(engine, HashEmbedder())
    VectorIndex(folder).update(engine, HashEmbedder.model)


@pytest.fixture
def folder(engine: Engine, tmp_path: Path) -> Path:
    save_generation(engine, tmp_path / "dense", "2501.00001", "2501.00002")
    return tmp_path / "dense"


def test_the_same_index_until_a_new_generation_is_saved(
    engine: Engine, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paperfeed.index.live, "RECHECK", 0.0)
    live = LiveVectors(folder)
    held = live.current()
    assert live.current() is held
    save_generation(engine, folder, "2501.00003")
    newer = live.current()
    assert newer is not held
    assert (len(held), len(newer)) == (2, 3)
    assert held.similar("2501.00001", 5)  # the old generation still answers its holder


def test_the_disk_is_looked_at_once_per_interval(
    engine: Engine, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paperfeed.index.live, "RECHECK", 3600.0)
    live = LiveVectors(folder)
    held = live.current()
    save_generation(engine, folder, "2501.00003")
    assert live.current() is held  # a search a moment later does not touch the disk
    monkeypatch.setattr(paperfeed.index.live, "RECHECK", 0.0)
    assert len(live.current()) == 3


def test_an_empty_folder_is_an_empty_index(tmp_path: Path) -> None:
    live = LiveVectors(tmp_path / "nothing")
    assert len(live.current()) == 0
    assert live.current().search(HashEmbedder().embed_query("graphs"), 5) == []


def test_a_newer_generation_that_fails_its_checks_is_not_swapped_in(
    engine: Engine, folder: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(paperfeed.index.live, "RECHECK", 0.0)
    live = LiveVectors(folder)
    held = live.current()
    save_generation(engine, folder, "2501.00003")
    os.truncate(folder / "index-2.usearch", 100)  # e.g. a disk that filled up as it was copied
    with caplog.at_level(logging.ERROR, logger="paperfeed.index"):
        assert all(live.current() is held for _ in range(5))
    [line] = [record.getMessage() for record in caplog.records]  # told once
    assert "index-2.usearch holds 100 bytes" in line
    assert "searches keep the one loaded before" in line and "paperfeed index --rebuild" in line
    assert held.similar("2501.00001", 5)  # the one in memory still answers

    save_generation(engine, folder, "2501.00004")  # the writer sets the folder aside, rebuilds
    assert len(live.current()) == 4
