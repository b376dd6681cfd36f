"""The ``onnx`` embedding backend: a sentence-transformers model run by ONNX Runtime.

The model is exported once into a folder of ``model.onnx``, ``tokenizer.json`` and
``export.json``: the packaged all-MiniLM-L6-v2 from the weights that come with paperfeed
(:mod:`paperfeed.index.packaged`, no torch: the default install has none), any other model
from its own weights through torch and sentence-transformers (``paperfeed[torch]``), needed for
that step only. The packaged export's vectors match the ``local`` backend's (mean cosine
0.9994, 0.999 at worst; an export through torch: > 0.9999), so both store vectors under the
same model name. A query embeds in ~4 ms on 2 CPU cores instead of ~12 ms. An int8 copy of the
export (:func:`quantize_model`) embeds documents twice as fast, at cosine ~0.994.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NotRequired, TypedDict, cast

import numpy as np
from filelock import FileLock

from paperfeed.index import packaged
from paperfeed.index.embedding import is_packaged, load_sentence_transformer
from paperfeed.store.vectors import unit_rows

if TYPE_CHECKING:
    import onnxruntime
    import torch
    from tokenizers import Tokenizer

POOLINGS = ("mean", "cls")
EXPORT = "export.json"
TOKENIZER = "tokenizer.json"
MODEL = "model.onnx"  # float32, as exported
INT8 = "model-int8.onnx"  # made from MODEL by quantize_model
OPSET = 17


class Export(TypedDict):
    """``export.json``: what running an exported model takes besides the graph."""

    model: str
    dim: int
    pooling: str  # one of POOLINGS
    inputs: list[str]  # the graph's inputs, as the tokenizer names them
    max_length: int  # tokens; longer texts are cut
    prompts: dict[str, str]  # put before the texts of a kind ("query", "document")
    # the transformer's shape, for quantize_model's fusions (0: not known; missing: exported
    # by an older version)
    attention_heads: NotRequired[int]
    hidden_size: NotRequired[int]
    fused: NotRequired[bool]  # of ONNX Runtime's fused operators already: quantized as it is


class OnnxEmbedder:
    """``model`` exported to ``folder / <model slug>`` on first use, then run there.

    With ``int8_documents``, documents run through an int8 copy of the model (made once by
    :func:`quantize_model`), queries through the float32 one: both kinds of vector share one
    index, and a query costs the same either way.
    """

    def __init__(
        self,
        model: str,
        folder: Path | str,
        *,
        batch_size: int = 32,
        threads: int | None = None,
        int8_documents: bool = False,
    ) -> None:
        self.model = model
        self.folder = Path(folder) / re.sub(r"[^A-Za-z0-9._-]+", "--", model)
        self.batch_size = batch_size
        self.threads = threads or min(os.cpu_count() or 1, 4)
        self.int8_documents = int8_documents
        self._export: tuple[Tokenizer, Export] | None = None
        self._sessions: dict[str, onnxruntime.InferenceSession] = {}
        # web requests run in threads: the first ones at once must load one model, not several
        self._loading = threading.RLock()

    @property
    def dim(self) -> int:
        return self._load()[1]["dim"]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, "document")

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text], "query")[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, "query")

    def _embed(self, texts: Sequence[str], kind: Literal["query", "document"]) -> np.ndarray:
        """``texts`` with the model's prompt for ``kind`` (if any), in batches."""
        prompt = self._load()[1]["prompts"].get(kind, "")
        if not texts:
            return np.empty((0, self.dim), np.float32)
        session = self._session(INT8 if kind == "document" and self.int8_documents else MODEL)
        # batches of similar lengths pad little
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        step = self.batch_size
        batches = [order[i : i + step] for i in range(0, len(order), step)]
        vectors = np.concatenate(
            [self._run(session, [prompt + texts[i] for i in b]) for b in batches]
        )
        return vectors[np.argsort(order)]

    def _run(self, session: onnxruntime.InferenceSession, texts: list[str]) -> np.ndarray:
        tokenizer, export = self._load()
        encodings = tokenizer.encode_batch(texts)
        mask = np.array([e.attention_mask for e in encodings], np.int64)
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], np.int64),
            "attention_mask": mask,
        }
        if "token_type_ids" in export["inputs"]:
            feeds["token_type_ids"] = np.array([e.type_ids for e in encodings], np.int64)
        hidden = session.run(None, feeds)[0]
        if export["pooling"] == "cls":
            return unit_rows(hidden[:, 0])
        weights = mask[..., None].astype(np.float32)
        return unit_rows((hidden * weights).sum(1) / weights.sum(1).clip(min=1.0))

    def _load(self) -> tuple[Tokenizer, Export]:
        """The tokenizer and ``export.json`` of the export (made first if missing)."""
        with self._loading:
            return self._load_export()

    def _load_export(self) -> tuple[Tokenizer, Export]:
        if self._export is None:
            from tokenizers import Tokenizer

            if not (self.folder / EXPORT).exists():
                self._prepare(int8=False)
            export: Export = json.loads((self.folder / EXPORT).read_text())
            tokenizer = Tokenizer.from_file(str(self.folder / TOKENIZER))
            tokenizer.enable_truncation(export["max_length"])
            tokenizer.enable_padding()
            self._export = (tokenizer, export)
        return self._export

    def _session(self, file: str) -> onnxruntime.InferenceSession:
        """A session of the export's graph ``file`` (:data:`MODEL` or :data:`INT8`)."""
        with self._loading:
            if file not in self._sessions:
                import onnxruntime

                if file == INT8:
                    self._prepare(int8=True)
                    self._export = None  # it may have been exported anew
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = self.threads
                # idle threads would spin after each call, starving whatever runs next (a web
                # request, the next digest) of the cores
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                self._sessions[file] = onnxruntime.InferenceSession(
                    str(self.folder / file), options, providers=["CPUExecutionProvider"]
                )
            return self._sessions[file]

    def _prepare(self, *, int8: bool) -> None:
        """Export the model if need be (again if the export predates int8 and ``int8`` is
        wanted) and make its int8 copy if ``int8``, one process at a time: Ray workers on one
        machine start together, and one replacing the export another is loading would break
        that one."""
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(self.folder.parent / f".{self.folder.name}.lock"):
            path = self.folder / EXPORT
            export = json.loads(path.read_text()) if path.exists() else None
            if export is None or (int8 and "attention_heads" not in export):
                export_model(self.model, self.folder)
                export = json.loads(path.read_text())
            if int8:
                quantize_model(self.folder, export)


def export_model(model: str, folder: Path) -> None:
    """Export ``model`` to ``folder``: the packaged all-MiniLM-L6-v2 from the weights that
    come with paperfeed (no torch), any other sentence-transformers model through torch.
    Written beside it and renamed into place, so a crash leaves no half export."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        export = _unpack(model, staging) if is_packaged(model) else _trace(model, staging)
        (staging / EXPORT).write_text(json.dumps(export, indent=2))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _unpack(model: str, staging: Path) -> Export:
    """The packaged model's graph and tokenizer, written to ``staging``."""
    import onnx

    graph = packaged.bert_graph(packaged.packaged_weights())
    onnx.save(graph, str(staging / MODEL))
    packaged.tokenizer().save(str(staging / TOKENIZER))
    return {
        "model": model,
        "dim": packaged.HIDDEN,
        "pooling": "mean",
        "inputs": packaged.INPUTS,
        "max_length": packaged.MAX_LENGTH,
        "prompts": {},
        "attention_heads": packaged.HEADS,
        "hidden_size": packaged.HIDDEN,
        "fused": True,
    }


def _trace(model: str, staging: Path) -> Export:
    """``model``'s graph traced by torch and its tokenizer, written to ``staging``."""
    # eager attention exports as plain operators, which quantize_model's optimizer fuses into
    # ONNX Runtime's Attention kernels (torch's fused attention exports as ops it cannot)
    loaded = load_sentence_transformer(
        model, device="cpu", model_kwargs={"attn_implementation": "eager"}
    )
    import torch  # there, since the model loaded

    pooling = getattr(loaded[1], "pooling_mode", None) if len(loaded) > 1 else None
    if pooling not in POOLINGS:
        raise ValueError(
            f"{model}: pooling {pooling!r} is not supported by the onnx backend "
            f"(only {', '.join(POOLINGS)}); use embedding_backend = 'local'"
        )
    dim, max_length = loaded.get_embedding_dimension(), loaded.max_seq_length
    if dim is None or max_length is None:  # the export would load, then fail on every text
        raise ValueError(
            f"{model}: no fixed vector size or input length, which the onnx backend needs; "
            "use embedding_backend = 'local'"
        )
    # torch types a module's attributes as Tensor | Module; this one is the Hugging Face model
    transformer = cast(torch.nn.Module, loaded[0].auto_model).eval()
    inputs = [n for n in loaded.tokenizer.model_input_names if n != "position_ids"]
    sample = loaded.tokenizer(["an example sentence"], return_tensors="pt")
    # the tracer's warnings are about the model's Python code, nothing a user can act on
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _hidden_states(transformer, inputs),
            tuple(sample[name] for name in inputs),
            str(staging / MODEL),
            input_names=inputs,
            output_names=["hidden"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in [*inputs, "hidden"]},
            opset_version=OPSET,
            dynamo=False,
        )
    loaded.tokenizer.backend_tokenizer.save(str(staging / TOKENIZER))
    return {
        "model": model,
        "dim": dim,
        "pooling": pooling,
        "inputs": inputs,
        "max_length": max_length,
        "prompts": {k: v for k, v in (loaded.prompts or {}).items() if v},
        "attention_heads": getattr(transformer.config, "num_attention_heads", 0),
        "hidden_size": getattr(transformer.config, "hidden_size", 0),
    }


def quantize_model(folder: Path, export: Export) -> None:
    """Make ``folder / INT8`` from the export's float32 graph unless there: layers fused for
    ONNX Runtime's CPU kernels, then weights quantized to int8 per output channel, activations
    per batch as it runs (dynamic quantization). Written beside it and renamed into place."""
    if (folder / INT8).exists():
        return
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix=".int8-", dir=folder) as staging:
        fused = folder / MODEL
        if not export.get("fused"):  # the optimizer needs torch and sympy, as exports do
            from onnxruntime.transformers.optimizer import optimize_model

            fused = Path(staging) / "fused.onnx"
            # a model of another kind than BERT's is left as it is where no pattern matches
            optimize_model(
                str(folder / MODEL),
                "bert",
                export["attention_heads"],
                export["hidden_size"],
                opt_level=1,
            ).save_model_to_file(str(fused))
        logging.disable(logging.WARNING)  # advice to its developers, on the root logger
        try:
            quantize_dynamic(
                fused,
                Path(staging) / INT8,
                per_channel=True,  # one scale per tensor loses too much (mean cosine 0.93)
                weight_type=QuantType.QInt8,
                # the optimizer's fused operators carry no types the quantizer could infer
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        finally:
            logging.disable(logging.NOTSET)
        os.replace(Path(staging) / INT8, folder / INT8)


def _hidden_states(transformer: torch.nn.Module, inputs: list[str]) -> torch.nn.Module:
    """``transformer`` as a module of positional tensors (``inputs``) to its last hidden
    state: the signature the ONNX exporter traces."""
    import torch

    class HiddenStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            named = dict(zip(inputs, tensors, strict=True))
            return self.transformer(**named).last_hidden_state

    return HiddenStates()
