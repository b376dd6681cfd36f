"""Similar papers: co-list precision@20 on the dev lists, per signal and fused; latency.

    python bench/similar.py [--json] [--newest 20000] [--no-latency]

Co-list precision@20 (``../shared/data/README.md``): for each (paper, list) row of
``seed_lists_dev.jsonl`` (2 lists, 155 rows), the share of the paper's 20 nearest papers
(never itself) on the same list, in a corpus of the 437 seed papers and the ``--newest``
papers of the dw-dengwei daily feed (20,000 by the metric's definition). Baselines, computed
here on the same corpus: tf-idf cosine (scikit-learn), BM25 with the whole title and abstract
as the query (k1 1.2, b 0.75, written out below over scikit-learn's tokens) and exact
all-MiniLM-L6-v2 cosine over the stored vectors. Then each signal of
:mod:`paperfeed.ranking.similar` alone and fused, through the code ``Searcher.similar`` runs.

Tuning: the seed papers carry no authors, categories or libraries, so only the weight of the
words signal (meaning's is 1) and the number of distinctive words are tuned, on these two
lists; there are no held-out lists here (the issue's author keeps them), so the tuned figure
is optimistic. As a check, the weight tuned on one list alone is reported on the other.
Authors, categories and co-saves get weights set by hand: a shared author or a co-save is
strong evidence (0.3, as words), a shared category weak (0.1).

Figures (2 cores shared with other work, corpus of 437 + 3,000 newest papers as 20,000 took
too long to embed here; default 20,000): tf-idf 0.266, BM25 0.229, MiniLM 0.204; meaning
0.204, words (100 words, re-ranking meaning's pool) 0.226; fused 0.219 at 50 words and
0.233-0.238 at 100 words with words weight 1.5-3.0 (2.0 chosen: 0.236); tuned on list A alone
and scored on B 0.180, on B alone and scored on A 0.273. tantivy's MoreLikeThis query found
half the list mates of these words (0.045 against 0.078 at 25-30 words, 20,000 papers).
``Searcher.similar`` at 138,132 papers: p50 30.9 ms, p99 63.5 ms (goal 10 ms: not met; the
100-word BM25 over the pool is ~17 ms of it).

Issue 19, second round (py-spy and per-stage thread CPU time over 100 papers at 138k; the
machine at load 6 on 2 cores, so wall times were meaningless): of ~28 ms CPU, the words query
13.8 (its tantivy search ~10: a union of 200 term clauses restricted to the pool refills
4,096-document windows around every pool paper, so it scores nearly all the postings of the
paper's words, common ones most), meaning's graph search 3.9, SQL (own categories, co-authors,
co-saves, the pool's categories) 6.2, cosines 0.9, cards ~3. Leaving out words found in more
than a share of the papers makes the query cheap (10% -> 6.2 ms, 2% -> 4.3) but costs
precision on the 437 + 3,000 corpus: fused 0.236 -> 0.226 (20%), 0.202 (10%), 0.202-0.207
(5%, 2%), so it was not adopted (tests/test_similar.py keeps such words counting). Scoring
the pool in Python needs its words: tantivy's analyzer (stemming) costs ~30 ms for 200
abstracts, so that needs a forward index (not built). Adopted: meaning's neighbours from
2 x depth graph candidates, not 4 x: 2.7 ms rather than 4.2, 99.8% of the same pool.

At full size (2026-12-03, ``python bench/similar.py --json`` on 437 + 20,000 papers, all 20,437
embedded; 2 cores at load 4.4-4.7, shared with another engineer's and the lead's tests):
tf-idf 0.134, BM25 0.121, MiniLM 0.117; meaning 0.117, words 0.109 (50 words) and 0.126 (100);
fused at 100 words 0.127 (weight 0.5), 0.129 (1.0), 0.131 (1.5, best), 0.130 (2.0, shipped),
0.130 (3.0), 0.126 (5.0); at 50 words at most 0.123. Per list, meaning alone A 0.137, B 0.091;
weight 2.0 A 0.154, B 0.099. Check: tuned on A alone (3.0, 100 words) scores 0.098 on B,
tuned on B alone (1.5) 0.155 on A, both above meaning alone. Every figure is lower than at
3,000 (more papers compete for the 20 places) and the goal of 0.20 is not met on these lists;
the shipped fusion still adds +0.013 to MiniLM, beats BM25 and sits 0.004 under tf-idf. The
best words weight moves from 2.0 to 1.5 but by 0.001 (3 list mates over 155 rows), and the
cross-list tunings disagree (3.0 and 1.5), so 2.0 stays.
``Searcher.similar`` at 138,132 papers (300 papers): p50 18.3 ms, p99 28.6 ms at load 1.1;
p50 61.3 ms, p99 153.6 ms in the full run above at load 4.4 (goal 10 ms: still not met).

Third round (issue 18's paper page, 2026-12-03): similar papers are now computed ahead and
kept in the store (``ranking/similar.py``), so a page reads one row. Of ~19.5 ms CPU a
computation at 138k (100 papers, process time): the words query 10.6 (its distinctive terms
only 0.5, so keeping them would not pay; tantivy's search is the cost), SQL 5.6, the graph 1.9,
cosines 0.8. Each (word, field) clause of the words query costs a seek into every 4,096-paper
window around the pool, so the words now ask the abstract, and the title only for the words of
the paper's own title (~110 clauses, not 200): same command, same store, 2 cores at load 5-9
shared with others: fused 0.132 at words weight 2.0 (0.133 at 1.5 and 3.0; was 0.130), words
alone 0.126 (unchanged), cross-list checks 0.101 (tuned on A, 3.0) and 0.155 (on B, 1.5).
Abstracts alone scored higher here (fused 0.140 at 2.0, words 0.135, checks 0.107 and 0.165)
but lost the title's evidence on the tests' small store (a paper sharing one rare abstract word
outranked two sharing the title's words), so they were not adopted. Latency (``latency()``,
200 papers; wall times at load 5-9 are inflated): first visits, computed and written, p50 117
ms, p99 184 ms; read from the store again p50 10.9 ms, p99 25.8 ms. In CPU time (process
time, 200 papers, load 12): computed p50 23.4 ms, p99 43.0 ms; kept p50 1.1 ms, p99 2.6 ms
(wall 2.2 / 20.1 ms). Pages read the kept ones: issue 19's p50 <= 10 ms holds for what is
served; a first computation does not meet it.

Latency: ``Searcher.similar`` (all signals, cards) over random papers of the 138,132-paper
store of ``bench/search_speed.py`` (its workdir and helpers; 10,000 real vectors, the others
noisy copies), built there if missing: first visits (computed and written), then kept ones.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import orjson
import platformdirs
from beir import paper_id
from corpus import index_corpus, percentiles, time_ms
from search_speed import REAL, build_store
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sqlalchemy import delete, select

from paperfeed.index.lexical import LexicalIndex
from paperfeed.index.live import LiveVectors
from paperfeed.ranking.search import Searcher
from paperfeed.ranking.similar import SimilarTuning, fuse, signals
from paperfeed.settings import Settings
from paperfeed.sources.jsonl import jsonl_source
from paperfeed.store.schema import papers, similar_papers
from paperfeed.store.vectors import load_vectors, unit_rows

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FEED = "arxiv/arxiv_dailyfeed_dw-dengwei_2025-03_2026-07.jsonl.gz"
NEWEST = 20_000
K = 20
SIGNALS = ("meaning", "words", "authors", "categories", "cosaves")
TERMS = (50, 100)  # distinctive words tried
WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0)  # words weights tried (meaning's is 1)


def corpus_rows(data: Path, newest: int = NEWEST) -> tuple[list[dict], dict[str, str]]:
    """The metric's corpus in paperfeed's JSON-lines schema: every seed paper (under an
    arXiv-style id) and the ``newest`` papers of the daily feed; and seed id -> that id."""
    seeds = [orjson.loads(line) for line in (data / "seed_papers.jsonl").open("rb")]
    ids = {seed["id"]: paper_id(i) for i, seed in enumerate(seeds)}
    rows = [
        {"id": ids[s["id"]], "title": s["title"], "abstract": s["abstract"], "source": "seed"}
        for s in seeds
    ]
    with gzip.open(data / FEED, "rb") as lines:
        feed = [orjson.loads(line) for line in lines]
    feed.sort(key=lambda row: (row["feed_date"], row["id"]), reverse=True)
    return rows + feed[:newest], ids


def build(data: Path, workdir: Path, settings: Settings, newest: int = NEWEST):
    """The corpus's store and indexes in ``workdir`` (reused when already there)."""
    rows, _ = corpus_rows(data, newest)
    path = workdir / "corpus.jsonl"
    if not path.exists():
        path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return index_corpus(workdir, jsonl_source([path]), settings)


def dev_lists(data: Path, ids: dict[str, str]) -> list[tuple[str, set[str]]]:
    """Each (paper, list) row of the dev lists: the paper's corpus id and its list's ids."""
    rows = [orjson.loads(line) for line in (data / "benchmarks/seed_lists_dev.jsonl").open("rb")]
    members: dict[str, set[str]] = {}
    for row in rows:
        members.setdefault(row["list"], set()).add(ids[row["id"]])
    return [(ids[row["id"]], members[row["list"]]) for row in rows]


def precision(neighbours, rows: list[tuple[str, set[str]]]) -> float:
    """Co-list precision@K: the mean share of each paper's K nearest (never itself) that its
    list holds; ``neighbours(id)`` gives the ranked ids."""
    total = 0.0
    for paper, members in rows:
        nearest = [key for key in neighbours(paper) if key != paper][:K]
        total += len(members.intersection(nearest)) / K
    return total / len(rows)


def tfidf_neighbours(
    rows: list[dict], wanted: set[str]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The wanted papers' nearest by tf-idf cosine and by BM25 (their title and abstract's
    distinct words as the query), over the whole corpus."""
    texts = [f"{row['title']} {row['abstract']}" for row in rows]
    counts = CountVectorizer().fit_transform(texts).tocsr().astype(np.float32)
    tfidf = TfidfTransformer().fit_transform(counts)
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log(1 + (len(rows) - df + 0.5) / (df + 0.5)).astype(np.float32)  # Lucene's
    lengths = np.asarray(counts.sum(1)).ravel()
    k1, b = 1.2, 0.75
    bm25 = counts.copy()
    norm = k1 * (1 - b + b * lengths / lengths.mean())
    bm25.data = bm25.data * (k1 + 1) / (bm25.data + np.repeat(norm, np.diff(bm25.indptr)))
    bm25 = bm25.multiply(idf).tocsr()
    at = [i for i, row in enumerate(rows) if row["id"] in wanted]
    ids = np.array([row["id"] for row in rows])
    return _top(tfidf[at] @ tfidf.T, ids, at), _top((counts[at] > 0) @ bm25.T, ids, at)


def _top(scores, ids: np.ndarray, at: list[int]) -> dict[str, list[str]]:
    best = np.argsort(-scores.toarray(), axis=1, kind="stable")[:, : K + 1]
    return {ids[row]: list(ids[best[i]]) for i, row in enumerate(at)}


def minilm_neighbours(engine, model: str, wanted: set[str]) -> dict[str, list[str]]:
    """Exact cosine nearest of the wanted papers among every stored vector."""
    ids: list[str] = []
    parts = []
    for batch in load_vectors(engine, model):
        ids += batch.arxiv_ids
        parts.append(batch.vectors)
    matrix, keys = unit_rows(np.concatenate(parts)), np.array(ids)
    rows = [ids.index(key) for key in sorted(wanted)]
    best = np.argsort(-(matrix[rows] @ matrix.T), axis=1, kind="stable")[:, : K + 1]
    return {ids[row]: list(keys[best[i]]) for i, row in enumerate(rows)}


def quality(engine, lexical, embedder, vectors, data: Path, newest: int) -> dict:
    """Co-list precision@20 of the baselines, of each signal alone and of the fusion over a
    grid of words weights and numbers of words; and the cross-list check."""
    rows, ids = corpus_rows(data, newest)
    dev = dev_lists(data, ids)
    wanted = {paper for paper, _ in dev}
    tfidf, bm25 = tfidf_neighbours(rows, wanted)
    minilm = minilm_neighbours(engine, embedder.model, wanted)
    figures = {
        "tf-idf cosine": precision(tfidf.__getitem__, dev),
        "BM25 (title + abstract)": precision(bm25.__getitem__, dev),
        "MiniLM cosine (exact)": precision(minilm.__getitem__, dev),
    }
    grid: dict[tuple[int, float], dict[str, float]] = {}
    for terms in TERMS:
        tuning = SimilarTuning(terms=terms)
        found = {paper: signals(engine, lexical, vectors, paper, tuning) for paper in wanted}
        for name in SIGNALS:
            label = f"signal: {name}" + (f" ({terms} words)" if name == "words" else "")
            if name == "words" or terms == TERMS[0]:
                alone = {paper: _ranked(scored[name]) for paper, scored in found.items()}
                figures[label] = precision(alone.__getitem__, dev)
        for weight in WEIGHTS:
            tuned = replace(tuning, words=weight)
            fused = {p: [n.arxiv_id for n in fuse(s, tuned, K + 1)] for p, s in found.items()}
            grid[terms, weight] = {
                name: precision(fused.__getitem__, [r for r in dev if r[1] is members])
                for name, members in _lists(dev).items()
            } | {"all": precision(fused.__getitem__, dev)}
    best = max(grid, key=lambda key: (grid[key]["all"], -key[1]))
    figures[f"fused (words weight {best[1]}, {best[0]} words)"] = grid[best]["all"]
    cross = {}
    for name in _lists(dev):
        other = next(n for n in _lists(dev) if n != name)
        chosen = max(grid, key=lambda key: (grid[key][name], -key[1]))
        cross[f"tuned on {name}, on {other}"] = (chosen, grid[chosen][other])
    return {"figures": figures, "grid": grid, "cross": cross}


def _ranked(scored) -> list[str]:
    return [key for key, _ in sorted(scored, key=lambda pair: (-pair[1], pair[0]))]


def _lists(dev: list[tuple[str, set[str]]]) -> dict[str, set[str]]:
    """The dev lists by name (A, B, ... in the order first met)."""
    found: list[set[str]] = []
    for _, members in dev:
        if not any(members is seen for seen in found):
            found.append(members)
    return {chr(ord("A") + i): members for i, members in enumerate(found)}


def latency(data: Path, workdir: Path, count: int) -> dict[str, float]:
    """p50/p99 ms of ``Searcher.similar`` (10 papers, cards) over random papers of the
    store of ``bench/search_speed.py``, built there by its ``build_store`` if missing: first
    visits (computed and written to the store, as a visit to a paper the worker has not done
    yet), then the same papers again (read from the store, as pages are)."""
    engine, _ = build_store(data / "arxiv", 1, REAL, workdir, partial(print, file=sys.stderr))
    searcher = Searcher(
        engine, LexicalIndex.open(workdir / "lexical"), LiveVectors(workdir / "dense")
    )
    with engine.begin() as conn:
        conn.execute(delete(similar_papers))  # every paper a first visit
        ids = list(conn.execute(select(papers.c.arxiv_id).order_by(papers.c.id)).scalars())
    sample = random.Random(0).sample(ids, count + 1)
    searcher.similar(sample.pop())  # warm up
    found: dict[str, float] = {"papers": len(ids)}
    for name in ("computed", "kept"):
        figures = percentiles([time_ms(partial(searcher.similar, key, 10))[0] for key in sample])
        found[f"{name}_p50_ms"], found[f"{name}_p99_ms"] = figures["p50"], figures["p99"]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--newest", type=int, default=NEWEST, help="papers of the daily feed")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--speed-workdir", type=Path, help="bench/search_speed.py's workdir")
    parser.add_argument("--queries", type=int, default=300, help="papers timed")
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    cache = Path(platformdirs.user_cache_dir("paperfeed-bench"))
    workdir = args.workdir or cache / f"similar-{args.newest}"
    workdir.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    engine, lexical, embedder, vectors = build(args.data, workdir, settings, args.newest)
    found = quality(engine, lexical, embedder, vectors, args.data, args.newest)
    speed = None
    if not args.no_latency:
        speed = latency(args.data, args.speed_workdir or cache / "speed-x1", args.queries)
    if args.json:
        grid = {
            f"{terms} words, weight {weight}": row for (terms, weight), row in found["grid"].items()
        }
        cross = {
            name: {"terms": key[0], "weight": key[1], "precision": value}
            for name, (key, value) in found["cross"].items()
        }
        print(
            json.dumps(
                {"precision@20": found["figures"], "grid": grid, "cross": cross, "latency": speed}
            )
        )
        return
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"corpus: 437 seed papers + the {args.newest:,} newest of the daily feed; "
        "2 dev lists, 155 rows"
    )
    print(f"{'co-list precision@20':<40} {'':>6}")
    for name, value in found["figures"].items():
        print(f"{name:<40} {value:>6.3f}")
    for name, ((terms, weight), value) in found["cross"].items():
        print(f"check: {name} (words weight {weight}, {terms} words): {value:.3f}")
    if speed:
        print(
            f"Searcher.similar on {speed['papers']:,} papers ({args.queries} of them): "
            f"computed p50 {speed['computed_p50_ms']:.1f} ms, p99 {speed['computed_p99_ms']:.1f}"
            f" ms; kept p50 {speed['kept_p50_ms']:.1f} ms, p99 {speed['kept_p99_ms']:.1f} ms"
        )


if __name__ == "__main__":
    main()
