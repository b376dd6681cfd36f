"""Key phrases computed here: their cost per paper, and how they compare with Hugging Face's.

    python bench/keywords.py [--json] [--papers 300]

A fresh store of the papers of the recorded Hugging Face daily feed
(`protocol/hf_daily_papers`, the only records with Hugging Face's `ai_keywords` in the shared
data: 3 papers; none of the arXiv files carries keywords) and the first --papers of the shared
week sample, indexed by words and embedded with the configured model (default onnx-int8); then
`compute_keywords` as the worker runs it (the papers' stored vectors reused). Printed: papers/s
and CPU ms/paper of embedding and of key phrases, what 2.8M papers would take at that rate, and,
on the Hugging Face papers, the share of Hugging Face's keywords that a local phrase matches
exactly (lowercased, hyphens as spaces, plural s dropped), fuzzily (one's words all within the
other's, or word-set Jaccard >= 0.5), and that occur in the title or abstract at all (the most
any extractive method can match exactly).

Recorded 2026-12-04, all-MiniLM-L6-v2 onnx-int8, 2 cores shared with six other jobs (load
10-15 during the run, so wall-clock rates are several times too low; CPU ms/paper is steadier),
300 week-sample papers + 3:

    embedding     2.2 papers/s   CPU 55.8 ms/paper
    key_phrases   5.8 papers/s   CPU 24.3 ms/paper  (15 phrases embedded per paper)
    2.8M papers: key phrases ~19 CPU-hours (~133 h wall clock at this loaded rate)
    Hugging Face keywords (3 papers, 20 keywords): exact 0.15, fuzzy 0.25, in text 0.90

Three papers are far too few for a firm figure: read it as "some overlap", not a measure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paperfeed.index.dense import embed_pending
from paperfeed.index.keyphrases import EMBEDDED, compute_keywords
from paperfeed.ingest.pipeline import ingest
from paperfeed.records import keywords_of
from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.sources.jsonl import jsonl_source
from paperfeed.store.queries import get_paper

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HF = DATA / "protocol" / "hf_daily_papers" / "daily_papers_2026-09-04_3entries.json"
WEEK = DATA / "arxiv" / "arxiv_week_sample.jsonl"
CORPUS = 2_800_000  # arXiv, roughly


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="Print JSON.")
    parser.add_argument("--papers", type=int, default=300, help="Week-sample papers besides.")
    args = parser.parse_args()
    entries = json.loads(HF.read_text())
    hf = {e["paper"]["id"]: e["paper"]["ai_keywords"] for e in entries}
    rows = [
        {"id": e["paper"]["id"], "title": e["paper"]["title"], "abstract": e["paper"]["summary"]}
        for e in entries
    ]
    with WEEK.open() as lines:
        rows += [json.loads(line) for _, line in zip(range(args.papers), lines, strict=False)]
    with tempfile.TemporaryDirectory() as folder:
        result = run(Path(folder), rows, hf)
    result["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report(result)


def run(folder: Path, rows: list[dict[str, Any]], hf: dict[str, list[str]]) -> dict[str, Any]:
    papers = folder / "papers.jsonl"
    papers.write_text("".join(json.dumps(row) + "\n" for row in rows))
    services = Services.from_settings(Settings(home=folder / "home"))
    engine, embedder = services.engine, services.embedder
    ingest(engine, jsonl_source([papers]))
    services.lexical.update(engine)
    embedder.embed_documents(["warm up"])
    embedded, embedding = timed(lambda: embed_pending(engine, embedder))
    done, phrases = timed(
        lambda: compute_keywords(engine, embedder, services.lexical, embedded_only=True)
    )
    local = {arxiv_id: keywords_of(get_paper(engine, arxiv_id) or {}) for arxiv_id in hf}
    texts = {row["id"]: f"{row['title']} {row['abstract']}" for row in rows if row["id"] in hf}
    return {
        "papers": len(rows),
        "model": embedder.model,
        "embedded_per_paper": EMBEDDED,
        "embedding": rates(embedded, *embedding),
        "key_phrases": rates(done, *phrases),
        "hours_for_2_8M": round(CORPUS / (done / phrases[0]) / 3600, 1),
        "cpu_hours_for_2_8M": round(CORPUS * phrases[1] / done / 3600, 1),
        "hugging_face": overlap(hf, local, texts),
    }


def timed(work: Callable[[], int]) -> tuple[int, tuple[float, float]]:
    """What ``work`` returns, and the wall-clock and CPU seconds it took."""
    wall, cpu = time.perf_counter(), time.process_time()
    done = work()
    return done, (time.perf_counter() - wall, time.process_time() - cpu)


def rates(done: int, wall: float, cpu: float) -> dict[str, float]:
    return {
        "papers": done,
        "papers_per_s": round(done / wall, 1),
        "cpu_ms_per_paper": round(1000 * cpu / done, 1),
    }


def overlap(
    hf: dict[str, list[str]], local: dict[str, list[str]], texts: dict[str, str]
) -> dict[str, Any]:
    """Shares of Hugging Face's keywords matched by a local phrase, and found in the text."""
    exact = fuzzy = in_text = total = 0
    examples = {}
    for arxiv_id, theirs in hf.items():
        ours = [words(phrase) for phrase in local[arxiv_id]]
        text = " ".join(words(texts[arxiv_id]))
        for keyword in theirs:
            mine = words(keyword)
            total += 1
            exact += mine in ours
            fuzzy += any(close(mine, phrase) for phrase in ours)
            in_text += f" {' '.join(mine)} " in f" {text} "
        examples[arxiv_id] = {"hugging_face": theirs, "local": local[arxiv_id]}
    return {
        "papers": len(hf),
        "keywords": total,
        "exact": round(exact / total, 2),
        "fuzzy": round(fuzzy / total, 2),
        "in_text": round(in_text / total, 2),
        "examples": examples,
    }


def words(phrase: str) -> list[str]:
    """Lowercased words, hyphens as spaces, a plural ``s`` dropped."""
    found = re.findall(r"[\w']+", phrase.lower())
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in found]


def close(one: list[str], other: list[str]) -> bool:
    a, b = set(one), set(other)
    return a <= b or b <= a or len(a & b) / len(a | b) >= 0.5


def report(result: dict[str, Any]) -> None:
    print(f"{result['papers']} papers, {result['model']}, {result['machine']}")
    for name in ("embedding", "key_phrases"):
        step = result[name]
        print(
            f"  {name:12} {step['papers_per_s']:6.1f} papers/s  "
            f"CPU {step['cpu_ms_per_paper']:6.1f} ms/paper"
        )
    print(
        f"  2.8M papers: key phrases ~{result['hours_for_2_8M']} h at this rate "
        f"(~{result['cpu_hours_for_2_8M']} CPU-h)"
    )
    hf = result["hugging_face"]
    print(
        f"  Hugging Face keywords ({hf['papers']} papers, {hf['keywords']} keywords): "
        f"exact {hf['exact']}, fuzzy {hf['fuzzy']}, in text {hf['in_text']}"
    )
    for arxiv_id, pair in hf["examples"].items():
        print(f"    {arxiv_id} HF: {pair['hugging_face']}")
        print(f"    {' ' * len(arxiv_id)} us: {pair['local']}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
