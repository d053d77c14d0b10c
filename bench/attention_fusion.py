"""Two ONNX models of the same causal multi-head attention, for bench/OrtLatency: the plain ops ModelForge emits for
aten::scaled_dot_product_attention (Mul, MatMul, Where on a Range-built causal mask, Softmax, MatMul, plus the head
Reshape/Transpose around it) and ONNX Runtime's fused com.microsoft MultiHeadAttention (unidirectional).
Inputs q, k, v: float32 [batch, seq, heads*head_dim]; output the same shape.

Usage: /usr/bin/python3 bench/attention_fusion.py OUT_DIR HEADS HEAD_DIM   (writes plain.onnx and fused.onnx)
"""

import math
import os
import sys

import onnx
from onnx import TensorProto, helper

out_dir, heads, head_dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
embed = heads * head_dim
io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", "seq", embed]) for n in ("q", "k", "v")]
output = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", "seq", embed])


def const(name, values, dtype=TensorProto.INT64, dims=None):
    return helper.make_tensor(name, dtype, [len(values)] if dims is None else dims, values)


def save(name, nodes, initializers, opsets):
    graph = helper.make_graph(nodes, name, io, [output], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
    model.ir_version = 8
    onnx.save(model, os.path.join(out_dir, f"{name}.onnx"))


N = helper.make_node
plain = [
    N("Reshape", ["q", "heads_shape"], ["q4"]), N("Transpose", ["q4"], ["qh"], perm=[0, 2, 1, 3]),
    N("Reshape", ["k", "heads_shape"], ["k4"]), N("Transpose", ["k4"], ["khT"], perm=[0, 2, 3, 1]),
    N("Reshape", ["v", "heads_shape"], ["v4"]), N("Transpose", ["v4"], ["vh"], perm=[0, 2, 1, 3]),
    N("Mul", ["qh", "scale"], ["qs"]), N("MatMul", ["qs", "khT"], ["scores"]),
    # The causal keep-mask: col - row <= 0 from two Ranges over the sequence length (Triu.KeepMask).
    N("Shape", ["q"], ["q_shape"]), N("Gather", ["q_shape", "one"], ["seq_len"], axis=0),
    N("Range", ["zero", "seq_len", "one"], ["positions"]),
    N("Unsqueeze", ["positions", "axis1"], ["rows"]), N("Unsqueeze", ["positions", "axis0"], ["cols"]),
    N("Sub", ["cols", "rows"], ["offset"]), N("LessOrEqual", ["offset", "zero"], ["keep"]),
    N("Where", ["keep", "scores", "minus_inf"], ["masked"]), N("Softmax", ["masked"], ["weights"], axis=-1),
    N("MatMul", ["weights", "vh"], ["context"]), N("Transpose", ["context"], ["context_t"], perm=[0, 2, 1, 3]),
    N("Reshape", ["context_t", "merged_shape"], ["out"]),
]
save("plain", plain, [
    const("heads_shape", [0, 0, heads, head_dim]), const("merged_shape", [0, 0, embed]),
    const("axis0", [0]), const("axis1", [1]), const("zero", [0], dims=[]), const("one", [1], dims=[]),
    const("scale", [1 / math.sqrt(head_dim)], TensorProto.FLOAT, dims=[]),
    const("minus_inf", [float("-inf")], TensorProto.FLOAT, dims=[]),
], [("", 17)])
save("fused", [N("MultiHeadAttention", ["q", "k", "v"], ["out"], domain="com.microsoft", num_heads=heads, unidirectional=1)],
     [], [("", 17), ("com.microsoft", 1)])
