"""A small web app for the web tests: a store with a few announcement days of papers (one of
them hostile: HTML and LaTeX in its title and abstract), an organisation and upvotes, indexed
with :class:`HashEmbedder` (no model), and an arXiv client on recorded responses.

``build(tmp_path)`` gives a :class:`WebApp` over a copy of a store made once per run
(``build_shared`` for a module-scoped fixture, ``build(tmp_path, engine=...)`` to fill a given
store, e.g. PostgreSQL); ``browser()`` a ``TestClient`` with its own cookies (one per user);
``sign_up``/``form_token`` drive the pages as a browser would. Patch ``CHEAP_HASHER`` in for
argon2 to keep signing in fast.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from lxml import html
from sqlalchemy import Engine

from hash_embedder import indexed_searcher
from memory_source import MemorySource, paper
from paperfeed.ingest.pipeline import ingest
from paperfeed.ranking.search import Searcher, Tuning
from paperfeed.records import Organisation, PaperRecord
from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.sources.http import PoliteClient
from paperfeed.store.database import open_store
from paperfeed.web.app import create_app
from paperfeed.web.security import LIMITER
from protocol import Route, recorded_transport

MONDAY, TUESDAY, WEDNESDAY = date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 5)
THURSDAY = date(2025, 3, 6)  # a "holiday": nothing announced
FRIDAY, SATURDAY, NEXT_MONDAY = date(2025, 3, 7), date(2025, 3, 8), date(2025, 3, 10)
NEWEST = NEXT_MONDAY
DEEP = Organisation("deepthought", "Deep Thought Lab")

HOSTILE = "2503.06666"
SCRIPT = "<script>alert(1)</script>"
HOSTILE_TITLE = f"{SCRIPT} Robust $\\alpha$-divergence training <b>now</b>"
HOSTILE_ABSTRACT = (
    f"We bound the $\\alpha$-divergence by $\\beta^2$ {SCRIPT} and "
    '<img src=x onerror="alert(2)"> attention layers for robust transformers.'
)
HOSTILE_AUTHOR = "Mallory <i>Evil</i>"
ALPHA, BETA = "\N{GREEK SMALL LETTER ALPHA}", "\N{GREEK SMALL LETTER BETA}"
HOSTILE_TITLE_SHOWN = f"{SCRIPT} Robust {ALPHA}-divergence training <b>now</b>"  # as text

# id: (title, abstract, day, HF upvotes)
PAPERS: dict[str, tuple[str, str, date, int | None]] = {
    "2503.00001": (
        "Graph neural networks at scale",
        "Message passing between graph nodes on billions of edges.",
        MONDAY,
        3,
    ),
    "2503.00002": (
        "Graph attention networks revisited",
        "Attention over graph neighbours, with sparse kernels.",
        MONDAY,
        None,
    ),
    "2503.00003": (
        "Protein folding with diffusion",
        "Predicting protein structure from amino acid sequences.",
        MONDAY,
        1,
    ),
    "2503.00101": (
        "Galaxy clusters and weak lensing",
        "Dark matter maps from weak gravitational lensing surveys.",
        TUESDAY,
        None,
    ),
    "2503.00102": (
        "Surface codes for logical qubits",
        "Quantum error correction of logical qubits with surface codes.",
        TUESDAY,
        7,
    ),
    "2503.00103": (
        "Sparse attention for long documents",
        "Sparse attention patterns let transformers read long documents.",
        TUESDAY,
        None,
    ),
    "2503.00201": (
        "Reinforcement learning from human feedback",
        "Reward models trained on human preferences align language models.",
        WEDNESDAY,
        12,
    ),
    "2503.00202": (
        "Tokenizers for code",
        "Byte pair encoding tuned for source code.",
        WEDNESDAY,
        None,
    ),
    "2503.00203": (
        "Climate model emulators",
        "Neural emulators of climate models run a thousand times faster.",
        WEDNESDAY,
        None,
    ),
    "2503.00301": (
        "Speculative decoding survey",
        "Draft models propose tokens that a large model verifies.",
        FRIDAY,
        2,
    ),
    "2503.00302": (
        "Mixture of experts routing",
        "Load balancing of expert routing in sparse mixture of experts models.",
        FRIDAY,
        None,
    ),
    "2503.00303": (
        "Bayesian optimisation of chemistry",
        "Gaussian processes choose the next molecule to synthesise.",
        FRIDAY,
        None,
    ),
    "2503.00401": (
        "Vision transformers without patches",
        "Pixels as tokens for vision transformers.",
        NEXT_MONDAY,
        None,
    ),
    "2503.00402": (
        "Retrieval augmented generation benchmarks",
        "Benchmarks for retrieval augmented generation over scientific papers.",
        NEXT_MONDAY,
        None,
    ),
    "2503.00403": (
        "Diffusion models for audio",
        "Score based diffusion generates speech and music.",
        NEXT_MONDAY,
        5,
    ),
    "2503.00404": (
        "Graph transformers for molecules",
        "Graph transformers predict molecular properties.",
        NEXT_MONDAY,
        None,
    ),
    HOSTILE: (HOSTILE_TITLE, HOSTILE_ABSTRACT, NEXT_MONDAY, None),
}
ORGANISED = {"2503.00001", "2503.00201", "2503.00403"}  # Deep Thought Lab's papers
GITHUB = "https://github.com/deepthought/gnn-scale"
# argon2 with the least work: the defaults take ~0.1-0.3 s a hash, and tests sign in a lot
# (use: monkeypatch.setattr(paperfeed.store.accounts, "HASHER", CHEAP_HASHER))
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def records() -> list[PaperRecord]:
    """The store's papers as records."""
    found = []
    for arxiv_id, (title, abstract, day, upvotes) in PAPERS.items():
        authors = ["Ada Lovelace", "Alan Turing"]
        if arxiv_id == HOSTILE:
            authors = [HOSTILE_AUTHOR, "Ada Lovelace"]
        found.append(
            paper(
                arxiv_id,
                title=title,
                abstract=abstract,
                authors=authors,
                categories=["quant-ph"] if arxiv_id == "2503.00102" else ["cs.LG"],
                announced=day,
                upvotes=upvotes,
                organisation=DEEP if arxiv_id in ORGANISED else None,
                links=[GITHUB] if arxiv_id == "2503.00001" else [],
            )
        )
    return found


@dataclass
class WebApp:
    app: FastAPI
    engine: Engine
    settings: Settings
    searcher: Searcher
    services: Services

    def browser(self) -> TestClient:
        """A client with its own cookie jar; server errors come back as responses."""
        return TestClient(self.app, raise_server_exceptions=False)


def build(
    tmp_path: Path,
    *,
    engine: Engine | None = None,
    routes: Sequence[Route] = (),
    transport: httpx.BaseTransport | None = None,
    **settings: Any,
) -> WebApp:
    """The app over a fresh, indexed store in ``tmp_path`` (or over ``engine``, an empty
    store, filled here: for tests run on each database); arXiv answers from ``routes``
    (recorded responses) or ``transport``. ``settings`` override :class:`Settings` fields.
    The rate limiter's memory is emptied: each app starts with every allowance."""
    LIMITER.storage.reset()
    folder = tmp_path / "web"
    if engine is None:
        shutil.copytree(_template(), folder)
        engine = open_store(f"sqlite:///{folder / 'store.db'}")
    else:
        ingest(engine, MemorySource(records()), today=NEWEST)
    searcher = indexed_searcher(engine, folder, Tuning(depth=20))
    url = engine.url.render_as_string(hide_password=False)
    config = Settings(home=tmp_path / "home", database_url=url, request_delay=0, **settings)
    arxiv = transport or recorded_transport(routes)
    services = Services.from_settings(
        config,
        engine=engine,
        searcher=searcher,
        http=lambda: PoliteClient(delay=0, retries=0, transport=arxiv),
    )
    return WebApp(create_app(services), engine, config, searcher, services)


@contextmanager
def clean_home(folder: Path) -> Iterator[pytest.MonkeyPatch]:
    """No ``PAPERFEED_`` setting of the developer's, and the home in ``folder``, for a
    module-scoped fixture: those are made before conftest's ``clean_environment``."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("PAPERFEED_")]:
            patch.delenv(name)
        patch.setenv("PAPERFEED_HOME", str(folder / "home"))
        yield patch


def build_shared(folder: Path, routes: Sequence[Route] = ()) -> WebApp:
    """:func:`build` for a module-scoped fixture (an app the tests only read from)."""
    with clean_home(folder):
        return build(folder, routes=routes)


@cache
def _template() -> Path:
    """The store and its indexes, made once per test run and copied for each app (migrating
    and indexing take longer than a test)."""
    folder = Path(tempfile.mkdtemp(prefix="paperfeed-web-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    engine = open_store(f"sqlite:///{folder / 'store.db'}")
    ingest(engine, MemorySource(records()), today=NEWEST)
    indexed_searcher(engine, folder)
    engine.dispose()  # SQLite folds its write-ahead log into the file: one file to copy
    return folder


def form_token(page: str) -> str:
    """The CSRF token of the page's first form (its hidden ``csrf_token`` input)."""
    values = html.fromstring(page).xpath("//input[@name='csrf_token']/@value")
    assert values, "the page has no form with a CSRF token"
    return values[0]


def sign_up(
    client: TestClient, email: str = "ada@example.org", password: str = "correct horse"
) -> str:
    """Sign up through the form (signed in afterwards); returns the session's CSRF token."""
    token = form_token(client.get("/signup").text)
    response = client.post(
        "/signup",
        data={
            "email": email,
            "password": password,
            "name": email.split("@")[0],
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return form_token(client.get("/papers").text)


def card_ids(page: str) -> list[str]:
    """The arXiv ids of the paper cards on a page, in order."""
    return [
        str(i)
        for i in html.fromstring(page).xpath("//article[@class='card']//span[@class='id']/text()")
    ]


def upvotes_shown(page: str, arxiv_id: str) -> int:
    """The upvote count a page shows on the paper's vote button."""
    counts = html.fromstring(page).xpath(
        f"//form[@data-paper='{arxiv_id}']//span[@class='count']/text()"
    )
    assert counts, f"no vote button for {arxiv_id}"
    return int(counts[0])
