"""The map at scale: the layout fitted with the topics, ``/api/map``'s answer at 50,000
papers, and the time Chromium takes to draw it.

    python bench/map.py [--json] [--sample 40000] [--store PATH] [--runs 3]

On a copy of the 138,132-paper scale store (``~/.cache/paperfeed-bench/scale-indexes-x1``,
built by ``bench/search_speed.py``), migrated to this checkout's schema: a refit as
``paperfeed topics --rebuild`` runs it (now with the 2-D layout: a second UMAP on the
clustering's neighbour graph, the papers outside the sample placed by their nearest sampled
ones), timed; placing 1,000 papers embedded since (their topics and places); then the app is
served by uvicorn and ``/api/map?weeks=520`` (the newest 50,000 papers) is measured: JSON and
gzipped bytes, time to make it and to serve it kept; and Debian's Chromium (Playwright) opens
``/map`` ``--runs`` times: first render is the time from navigation to the ``data-ready``
attribute ``map.js`` sets after its first frame (fetch, parse and draw included), and one
redraw after a zoom.

Recorded 2026-12-03, 2 cores shared with five other jobs (load ~3-5), sample 40,000 of 138,132
real all-MiniLM-L6-v2 vectors: refit with the layout 247 s (``bench/topics.py`` recorded
122-196 s without it, in busier runs), placing new papers 1.2 s per 1,000 (reading the 10,000
landmarks' vectors is most of it); 50,000 points of 279 topics: 1.45 MB of JSON, 463 KB
gzipped, made in 0.72 s and served kept in 0.03 s; first render 0.44-0.52 s, a zoom's redraw
57-67 ms (Playwright's round trip included).

The refit and placing are timed by ``bench/topics.py``'s ``measure`` on the same copy (its
keys: ``fit_seconds``, ``assign_seconds_per_1000``).

The budget (issue 17) at 50,000 points: first render within 1 s, a redraw within 100 ms, the
payload within 1 MB gzipped: met in every run above.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from playwright.sync_api import sync_playwright
from topics import measure

from paperfeed.index.topics import Params
from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.store.database import open_store
from paperfeed.web.app import create_app

STORE = Path.home() / ".cache" / "paperfeed-bench" / "scale-indexes-x1" / "store.db"
CHROMIUM = "/usr/bin/chromium"
MAP = "/api/map?weeks=520"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="Print JSON.")
    parser.add_argument("--sample", type=int, default=Params().sample, help="Papers clustered.")
    parser.add_argument("--store", type=Path, default=STORE, help="An embedded store to copy.")
    parser.add_argument("--runs", type=int, default=3, help="Page loads in Chromium.")
    args = parser.parse_args()
    if not args.store.exists():
        sys.exit(f"{args.store} is missing: run bench/search_speed.py first to build it")
    with tempfile.TemporaryDirectory(prefix="map-bench-") as workdir:
        copy = Path(workdir) / "store.db"
        shutil.copyfile(args.store, copy)
        engine = open_store(f"sqlite:///{copy}")
        figures = measure(engine, Params(sample=args.sample))  # the refit and placing, as topics.py
        services = Services.from_settings(Settings(home=Path(workdir) / "home"), engine=engine)
        figures |= serve(services, args.runs)
    figures["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version[:6]}"
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        print(f"{key:30} {value}")


def serve(services: Services, runs: int) -> dict[str, Any]:
    config = uvicorn.Config(create_app(services), port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        return {**payload(url), **render(url, runs)}
    finally:
        server.should_exit = True


def payload(url: str) -> dict[str, Any]:
    timings = []
    for _ in range(2):  # made, then kept
        started = time.perf_counter()
        answer = httpx.get(url + MAP, headers={"Accept-Encoding": "gzip"}, timeout=600)
        timings.append(time.perf_counter() - started)
    data = answer.json()
    return {
        "map_points": data["count"],
        "map_topics": len(data["topics"]),
        "payload_json_bytes": len(json.dumps(data, separators=(",", ":"))),
        "payload_gzip_bytes": int(answer.headers["content-length"]),
        "payload_made_seconds": round(timings[0], 2),
        "payload_kept_seconds": round(timings[1], 3),
    }


def render(url: str, runs: int) -> dict[str, Any]:
    firsts, redraws = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless"])
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            started = time.perf_counter()
            page.goto(f"{url}/map?weeks=520")
            page.wait_for_selector("#map[data-ready]", timeout=120_000)
            firsts.append(time.perf_counter() - started)
            view = page.get_attribute("#map", "data-view")
            page.mouse.move(640, 500)
            started = time.perf_counter()
            page.mouse.wheel(0, -200)
            page.wait_for_function(f"document.getElementById('map').dataset.view !== '{view}'")
            redraws.append(time.perf_counter() - started)
            page.close()
        browser.close()
    return {
        "first_render_seconds": [round(s, 2) for s in firsts],
        "zoom_redraw_seconds": [round(s, 3) for s in redraws],
    }


if __name__ == "__main__":
    main()
