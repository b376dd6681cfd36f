"""The first sync of a fresh instance: how long it takes, what it imports, and trending after it.

    python bench/sync.py [--runs 3] [--json]

A fresh instance (empty store, default settings: the RSS feeds of ``sync_categories`` and
Hugging Face's daily papers of today and yesterday) runs the syncs that are due, as the
worker's round does (``paperfeed.ingest.sync.due`` and ``sources``, each imported by
``ingest``), over recorded responses from ``../shared/data/protocol`` served by an
``httpx.MockTransport``: arXiv's RSS feed of all archives of 2024-11-28 (1,504 items) for the
categories' feed, and Hugging Face's daily papers of 2026-09-04 (3 entries) for each day. No
network, so the figures are the import's own time: parsing, validation, merging and the
store's writes. Then the same syncs again (a re-run changes nothing) and trending's count.
Each run starts from a new store; the figures are the median run's (by the first sync's
time).
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from recommend import machine

from paperfeed.ingest import sync
from paperfeed.ingest.pipeline import ingest
from paperfeed.ranking.trending import trending_cards
from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.sources.http import PoliteClient

PROTOCOL = Path(__file__).resolve().parents[2] / "shared" / "data" / "protocol"
FEED = PROTOCOL / "arxiv_rss" / "rss_all_archives_2024-11-28.xml.gz"
DAILY = PROTOCOL / "hf_daily_papers" / "daily_papers_2026-09-04_3entries.json"


def recorded() -> httpx.MockTransport:
    """arXiv's feed for any ``/rss/…`` path, Hugging Face's list for ``/api/daily_papers``."""
    feed, daily = gzip.decompress(FEED.read_bytes()), DAILY.read_bytes()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/rss/"):
            return httpx.Response(200, content=feed, headers={"Content-Type": "text/xml"})
        if request.url.path == "/api/daily_papers":
            return httpx.Response(200, content=daily, headers={"Content-Type": "application/json"})
        return httpx.Response(404)

    return httpx.MockTransport(answer)


def first_sync(home: Path) -> dict[str, Any]:
    """One fresh instance's first sync, then the same again; times in seconds."""
    transport = recorded()
    settings = Settings(home=home, sync=True)
    services = Services.from_settings(
        settings, http=lambda: PoliteClient(delay=0, retries=0, transport=transport)
    )
    engine, now = services.engine, datetime.now(UTC)
    figures: dict[str, Any] = {"kinds": {}}
    started = time.perf_counter()
    for kind in sync.due(engine, settings, now):
        began, new = time.perf_counter(), 0
        for source in sync.sources(kind, settings, services.http(), now):
            new += ingest(engine, source, batch_size=settings.batch_size, now=now).new
        figures["kinds"][kind] = {"seconds": time.perf_counter() - began, "papers": new}
    figures["seconds"] = time.perf_counter() - started
    figures["papers"] = sum(kind["papers"] for kind in figures["kinds"].values())
    figures["trending"] = len(trending_cards(engine, "now"))
    figures["due_after"] = sync.due(engine, settings, now)
    began, again = time.perf_counter(), 0
    for kind in sync.KINDS:
        for source in sync.sources(kind, settings, services.http(), now):
            again += ingest(engine, source, batch_size=settings.batch_size, now=now).new
    figures["rerun_seconds"], figures["rerun_new"] = time.perf_counter() - began, again
    engine.dispose()
    return figures


def text(figures: dict[str, Any]) -> str:
    lines = [f"machine: {figures['machine']}", f"runs: {figures['runs']} (median shown)"]
    for kind, found in figures["kinds"].items():
        lines.append(f"  {kind:<9} {found['seconds']:6.2f} s  {found['papers']:,} new papers")
    lines += [
        f"first sync: {figures['seconds']:.2f} s, {figures['papers']:,} papers imported",
        f"trending after it: {figures['trending']} papers",
        f"due right after: {figures['due_after'] or 'nothing'}",
        f"the same syncs again: {figures['rerun_seconds']:.2f} s, {figures['rerun_new']} new",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh instances synced")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    started_on = machine()
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as home:
            runs.append(first_sync(Path(home)))
    figures = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
    figures |= {"machine": started_on, "runs": args.runs}
    print(json.dumps(figures) if args.json else text(figures))


if __name__ == "__main__":
    main()
