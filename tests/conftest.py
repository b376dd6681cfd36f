"""Fixtures: a fresh store per test, on SQLite and on a real PostgreSQL server.

PostgreSQL tests use ``PAPERFEED_TEST_POSTGRES_URL`` (``.ci/run`` installs and starts a
server and sets it); each test gets its own schema. Without the variable they are skipped
locally, and fail in CI, where a server must be there.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from paperfeed.store import accounts
from paperfeed.store.database import create_store_engine, normalise_url, open_store
from smtp_server import smtp_server  # noqa: F401 - a fixture for every test module
from web_app import CHEAP_HASHER, WebApp, build_shared

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ARXIV = SHARED / "arxiv"
SAMPLE = ARXIV / "arxiv_sample_mixed_200.jsonl"


def wait_for(condition: Callable[[], object], timeout: float = 20.0, every: float = 0.05) -> None:
    """Until ``condition()`` holds, looked at ``every`` seconds; fails the test after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


POSTGRES_URL = os.environ.get("PAPERFEED_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder of exported ONNX models for the whole run (an export takes seconds)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model_cache: Path) -> None:
    """No test sees the developer's configuration or data directory."""
    for name in list(os.environ):
        if name.startswith("PAPERFEED_") and name != "PAPERFEED_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("PAPERFEED_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PAPERFEED_MODEL_CACHE", str(model_cache))
    monkeypatch.setenv("PAPERFEED_SYNC", "false")  # no worker reaches out unless a test asks
    monkeypatch.setenv("PAPERFEED_WEBHOOK_ALLOW_PRIVATE", "true")  # receivers run on 127.0.0.1


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty store: a SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail(
                "CI must run the store tests on PostgreSQL: set PAPERFEED_TEST_POSTGRES_URL"
            )
        pytest.skip("no PostgreSQL server (set PAPERFEED_TEST_POSTGRES_URL)")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    """An open, migrated store."""
    engine = open_store(store_url)
    yield engine
    engine.dispose()


@pytest.fixture
def blank_engine(store_url: str) -> Iterator[Engine]:
    """An engine on an empty database, before any migration."""
    engine = create_store_engine(store_url)
    yield engine
    engine.dispose()


@pytest.fixture
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fast password hasher: the web tests sign up and in hundreds of times."""
    monkeypatch.setattr(accounts, "HASHER", CHEAP_HASHER)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> WebApp:
    """One web app for a module's tests that only read: built once for the module."""
    return build_shared(tmp_path_factory.mktemp("site"))
