"""One set of services: built in one place, one vector index shared by every reader."""

from __future__ import annotations

import ast
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

import paperfeed.index.live
from hash_embedder import HashEmbedder, indexed_searcher
from memory_source import MemorySource, paper
from paperfeed.index.dense import VectorIndex, embed_pending
from paperfeed.ingest.pipeline import ingest
from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.store.accounts import create_user
from paperfeed.store.activity import set_saved

SOURCE = Path(paperfeed.index.live.__file__).parents[1]
# what only services.py builds: the store, the indexes, models, recommender, mail, HTTP, keys
BUILT_ONCE = {
    "open_store",
    "Searcher",
    "LiveVectors",
    "make_embedder",
    "Recommender",
    "Mailer",
    "Links",
    "PoliteClient",
    "secret_key",
    "LexicalIndex.open",
    "SmtpConfig.from_url",
}
DAY = date(2026, 3, 2)


def constructions(path: Path) -> list[str]:
    """The BUILT_ONCE names called in a module, as ``file:line name``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        if isinstance(func, ast.Attribute):
            owner = func.value.id if isinstance(func.value, ast.Name) else ""
            name = f"{owner}.{func.attr}"
        if name in BUILT_ONCE:
            found.append(f"{path.relative_to(SOURCE)}:{node.lineno} {name}")
    return found


def test_only_services_builds_the_shared_objects() -> None:
    modules = [path for path in SOURCE.rglob("*.py") if path.name != "services.py"]
    assert [hit for path in modules for hit in constructions(path)] == []
    assert constructions(SOURCE / "services.py")  # the scan does see constructions


@pytest.fixture
def services(engine: Engine, tmp_path: Path) -> Services:
    records = [
        paper("2603.00001", title="Graph networks", abstract="Graph nodes.", announced=DAY),
        paper("2603.00002", title="Protein folding", abstract="Amino acids.", announced=DAY),
    ]
    ingest(engine, MemorySource(records))
    settings = Settings(home=tmp_path / "home")
    return Services.from_settings(
        settings, engine=engine, searcher=indexed_searcher(engine, tmp_path / "index")
    )


def test_search_and_recommendations_read_one_vector_index(
    services: Services, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[Path] = []

    class CountedIndex(VectorIndex):
        def __init__(self, folder: Path | str, **options: bool) -> None:
            loads.append(Path(folder))
            super().__init__(folder, **options)

    monkeypatch.setattr(paperfeed.index.live, "VectorIndex", CountedIndex)
    monkeypatch.setattr(paperfeed.index.live, "RECHECK", 0.0)
    user = create_user(engine, "ada@example.org", "correct horse battery")
    set_saved(engine, user["id"], "2603.00001", True)
    assert services.recommender is not None
    assert services.recommender.vectors is services.vectors

    # another process embeds a new paper and saves a new generation of the index
    new = paper("2603.00003", title="Graph pooling", abstract="Graph nodes pooled.", announced=DAY)
    ingest(engine, MemorySource([new]))
    embed_pending(engine, HashEmbedder())
    VectorIndex(tmp_path / "index" / "dense").update(engine, HashEmbedder.model)

    found = services.searcher.search("graph pooling", mode="dense", limit=1).hits
    recommended = services.recommender.recommend(user["id"])
    assert [hit.arxiv_id for hit in found] == ["2603.00003"]
    assert "2603.00003" in [item.arxiv_id for item in recommended]
    assert len(loads) == 1  # one reload, shared by search and recommendations


def test_parts_are_built_on_first_use_and_once(tmp_path: Path) -> None:
    services = Services.from_settings(Settings(home=tmp_path / "home"))
    assert "searcher" not in vars(services)  # opening the store loads no index or model
    assert services.lexical.count() == 0
    assert "searcher" not in vars(services)  # `paperfeed index` loads no vector index
    assert services.searcher is services.searcher
    assert services.recommender is services.recommender
    assert services.mailer.links.base == "http://127.0.0.1:8000"
    assert services.secret_key == Services.from_settings(services.settings).secret_key


def test_threads_asking_at_once_get_one_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[object] = []

    def slow_embedder(settings: Settings) -> object:
        time.sleep(0.05)  # long enough for every thread to ask before the first is done
        built.append(object())
        return built[-1]

    monkeypatch.setattr("paperfeed.services.make_embedder", slow_embedder)
    services = Services.from_settings(Settings(home=tmp_path / "home"))
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: services.embedder, range(8)))
    assert len(built) == 1
    assert all(part is built[0] for part in got)
