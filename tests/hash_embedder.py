"""A deterministic stand-in for an embedding model, for index and search mechanics tests."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from paperfeed.index.dense import VectorIndex, embed_pending
from paperfeed.index.lexical import LexicalIndex
from paperfeed.index.live import LiveVectors
from paperfeed.ranking.search import Searcher, Tuning


class HashEmbedder:
    """Bag-of-words vectors from hashed words: texts sharing words are near. The ``fail_on``-th
    call raises, as a crash would."""

    model = "hash-words"
    dim = 64

    def __init__(self, fail_on: int | None = None) -> None:
        self.fail_on = fail_on
        self.calls = 0
        self.texts: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("embedder crashed")
        self.texts += texts
        return np.stack([self.embed_query(text) for text in texts])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self.embed_query(text) for text in texts])

    def embed_query(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, np.float32)
        for word in re.findall(r"[a-z]+", text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=2).digest()
            vector[digest[0] % self.dim] += 1 if digest[1] % 2 else -1
        if not vector.any():  # no words ("0", "∑"): a model's vector is never zero either
            vector[0] = 1
        return vector / np.linalg.norm(vector)


def indexed_searcher(engine: Engine, folder: Path, tuning: Tuning | None = None) -> Searcher:
    """A searcher over the store's papers, indexed in ``folder`` (words, and hash vectors)
    as ``paperfeed index`` would; indexes already there are brought up to date."""
    embedder = HashEmbedder()
    lexical = LexicalIndex.open(folder / "lexical")
    lexical.update(engine)
    embed_pending(engine, embedder)
    VectorIndex(folder / "dense").update(engine, embedder.model)
    return Searcher(engine, lexical, LiveVectors(folder / "dense"), embedder, tuning or Tuning())
