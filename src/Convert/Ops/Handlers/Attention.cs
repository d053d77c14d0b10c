using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Attention: PyTorch 2.x's scaled_dot_product_attention and the fused eval-mode fast paths of nn.MultiheadAttention
// and nn.TransformerEncoder(Layer) (_native_multi_head_attention, _transformer_encoder_layer_fwd,
// _nested_tensor_from_mask, to_padded_tensor).

/// <summary>
/// <c>scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, *, scale, enable_gqa)</c>, which
/// PyTorch 2.x traces for <c>F.scaled_dot_product_attention</c>: softmax(q·scale·kᵀ + bias)·v on [..., L, E] queries and
/// [..., S, E] keys, in plain ONNX ops at every opset (MatMul, Mul, Where/Add, Softmax, MatMul). scale defaults to
/// 1/√E. A bool attn_mask marks the positions to keep (False → −inf), a float one is added; either broadcasts to
/// [..., L, S]. is_causal keeps key j for query i when j ≤ i (the top-left aligned tril PyTorch uses when L ≠ S).
/// enable_gqa repeats each key/value head for its group of query heads (dim −3), as repeat_interleave does.
/// dropout_p is not applied: the exported graph is for inference, where the model passes 0. With
/// <see cref="OpContext.FusedAttention"/> the cases ONNX Runtime's fused kernel computes exactly become one
/// <c>com.microsoft.MultiHeadAttention</c> (<see cref="FusedAttention"/>).
/// </summary>
[AtenOp("aten::scaled_dot_product_attention")]
internal static class ScaledDotProductAttention
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (query, key, value) = (a.Tensor(0), a.Tensor(1), a.Tensor(2));
        var type = query.Type.ElementType;
        var rank = query.Type.Rank;
        if (rank < 2 || key.Type.Rank != rank || value.Type.Rank != rank)
            throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} expects q, k and v of one rank ≥ 2, got {query.Type}, {key.Type}, {value.Type}");
        if (a.Bool(7, "enable_gqa", false) && rank >= 3)
            (key, value) = (RepeatHeads(c, key, query), RepeatHeads(c, value, query));
        var scale = a.Get(6, "scale") is null ? (double?)null : a.Float(6, "scale");
        var causal = a.Bool(5, "is_causal", false);
        var mask = a.OptionalTensor(3, "attn_mask");
        if (c.FusedAttention && FusedAttention.TryLower(c, query, key, value, mask, causal, scale) is { } fused) return fused;

        var scaled = c.Op("Mul", [query, ScaleFactor(c, query, scale)], query.Type);
        var keysT = Permute.Lower(c, key, [.. Enumerable.Range(0, rank - 2).Select(i => (long)i), rank - 1, rank - 2]);
        var (qs, ks, vs) = (query.Type.Shape!, key.Type.Shape!, value.Type.Shape!);
        var batchDims = Shapes.Broadcast(qs.Take(rank - 2).ToArray(), ks.Take(rank - 2).ToArray()) ?? [];
        var scores = c.Op("MatMul", [scaled, keysT], query.Type.WithShape([.. batchDims, qs[^2], ks[^2]]));

        if (causal)
        {
            var keep = Triu.KeepMask(c, c.DimSize(query, rank - 2), c.DimSize(key, rank - 2), 0, upper: false);
            scores = c.Op("Where", [keep, scores, c.Scalar(double.NegativeInfinity, type)], scores.Type);
        }
        if (mask is not null)
        {
            var masked = scores.Type.WithShape(Shapes.Broadcast(scores.Type.Shape, mask.Type.Shape));
            scores = mask.Type.ElementType == DataType.Bool
                ? c.Op("Where", [mask, scores, c.Scalar(double.NegativeInfinity, type)], masked)
                : c.Op("Add", [scores, c.Cast(mask, type)], masked);
        }
        var weights = c.Op("Softmax", [scores], scores.Type, ("axis", -1));
        var outputBatch = weights.Type.Shape!.Take(weights.Type.Rank - 2);
        return c.Op("MatMul", [weights, value], query.Type.WithShape([.. outputBatch, qs[^2], vs[^1]]));
    }

    /// <summary>The given scale, else 1/√E from the query's last dim (a graph value when that dim is dynamic).</summary>
    private static Value ScaleFactor(OpContext c, Value query, double? scale)
    {
        if (scale is { } given) return c.Scalar(given, query.Type.ElementType);
        if (query.Type.Shape![^1].Value is { } embed) return c.Scalar(1 / Math.Sqrt(embed), query.Type.ElementType);
        var size = c.Cast(c.DimSize(query, query.Type.Rank - 1), query.Type.ElementType);
        return c.Op("Reciprocal", [c.Op("Sqrt", [size], size.Type)], size.Type);
    }

    /// <summary>
    /// enable_gqa: [..., Hkv, S, E] → [..., H, S, E] with each head repeated H/Hkv times in place (head h of the query
    /// reads head h / (H/Hkv)), by Unsqueeze, Expand and Reshape. H, Hkv and E must be static.
    /// </summary>
    private static Value RepeatHeads(OpContext c, Value x, Value query)
    {
        var rank = x.Type.Rank;
        var (shape, qs) = (x.Type.Shape!, query.Type.Shape!);
        if (qs[rank - 3].Value is not { } heads || shape[rank - 3].Value is not { } kvHeads || shape[^1].Value is not { } embed)
            throw c.Error(DiagnosticCode.UnsupportedOpVariant, $"{c.OpName} with enable_gqa needs static head counts and head size, got {query.Type} and {x.Type}");
        if (heads == kvHeads) return x;
        if (heads % kvHeads != 0)
            throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} with enable_gqa: {heads} query heads are not a multiple of {kvHeads} key/value heads");
        var grouped = c.Unsqueeze(x, [rank - 2]);
        var repeats = Enumerable.Repeat(1L, rank + 1).ToArray();
        repeats[rank - 2] = heads / kvHeads;
        var groupedShape = grouped.Type.Shape!.Select((d, i) => i == rank - 2 ? (Dim)(heads / kvHeads) : d).ToArray();
        var expanded = c.Op("Expand", [grouped, c.ConstInt64(repeats)], x.Type.WithShape(groupedShape));
        long[] target = [.. Enumerable.Repeat(0L, rank - 3), heads, -1, embed];
        return c.Op("Reshape", [expanded, c.ConstInt64(target)],
            x.Type.WithShape(shape.Select((d, i) => i == rank - 3 ? (Dim)heads : d).ToArray()));
    }
}

/// <summary>
/// The opt-in lowering of scaled_dot_product_attention to ONNX Runtime's <c>com.microsoft.MultiHeadAttention</c>
/// (CPU kernel; measured 1.1–1.5× faster than the plain ops at 128–512 tokens, BENCHMARKS.md). Only where the fused op
/// computes what PyTorch does, else null and the caller writes the plain ops: float32 q, k, v of shape
/// [B, H, L, E], [B, H, S, E], [B, H, S, E] with static H and E and no broadcasting between them (grouped-query heads
/// already repeated); is_causal only when L and S are the same dim (MultiHeadAttention's causal mask is aligned
/// bottom-right, PyTorch's top-left: they agree when L = S) and without a mask; a bool or float mask broadcastable to
/// [B, H, L, S] becomes <c>attention_bias</c> (bool: 0 kept, −inf masked, as the plain Where gives), expanded over L
/// and S where it is 1 there. The heads are merged ([B, L, H·E]) for the op and split again after it; ONNX Runtime's
/// transpose optimiser cancels those against the model's own head Reshape/Transpose.
/// </summary>
internal static class FusedAttention
{
    public static Value? TryLower(OpContext c, Value query, Value key, Value value, Value? mask, bool causal, double? scale)
    {
        if (new[] { query, key, value }.Any(x => x.Type.ElementType != DataType.Float32 || x.Type.Rank != 4)) return null;
        var (qs, ks, vs) = (query.Type.Shape!, key.Type.Shape!, value.Type.Shape!);
        if (qs[1].Value is not { } heads || qs[3].Value is not { } headSize) return null;
        if (!Same(qs[0], ks[0]) || !Same(qs[0], vs[0]) || ks[1] != qs[1] || vs[1] != qs[1] || ks[3] != qs[3] || vs[3] != qs[3] || !Same(ks[2], vs[2]))
            return null;
        if (causal && (mask is not null || !Same(qs[2], ks[2]))) return null;
        Value? bias = null;
        if (mask is not null && (bias = AttentionBias(c, mask, query, key)) is null) return null;

        var hidden = heads * headSize;
        Value Merge(Value x) => c.Op("Reshape", [Permute.Lower(c, x, [0, 2, 1, 3]), c.ConstInt64([0, 0, hidden])],
            x.Type.WithShape([x.Type.Shape![0], x.Type.Shape[2], hidden]));
        Value?[] inputs = bias is null ? [Merge(query), Merge(key), Merge(value)] : [Merge(query), Merge(key), Merge(value), null, null, bias];
        var attended = c.MicrosoftOp("MultiHeadAttention", inputs, query.Type.WithShape([qs[0], qs[2], hidden]),
            ("num_heads", heads), ("scale", scale ?? 1 / Math.Sqrt(headSize)), ("unidirectional", causal ? 1L : 0L));
        var split = c.Op("Reshape", [attended, c.ConstInt64([0, 0, heads, headSize])], query.Type.WithShape([qs[0], qs[2], heads, headSize]));
        return Permute.Lower(c, split, [0, 2, 1, 3]);
    }

    /// <summary>Two dims known to be equal: the same size, or the same named symbol.</summary>
    private static bool Same(Dim a, Dim b) => a == b && (a.IsStatic || a.Symbol != Shapes.UnknownSymbol);

    /// <summary>The mask as MultiHeadAttention's float32 attention_bias [B or 1, H or 1, L, S]; null when it does not broadcast so.</summary>
    private static Value? AttentionBias(OpContext c, Value mask, Value query, Value key)
    {
        if (mask.Type.Rank > 4 || !mask.Type.ElementType.IsFloatingPoint() && mask.Type.ElementType != DataType.Bool) return null;
        if (mask.Type.Rank < 4) mask = c.Unsqueeze(mask, [.. Enumerable.Range(0, 4 - mask.Type.Rank).Select(i => (long)i)]);
        var (ms, qs, ks) = (mask.Type.Shape!, query.Type.Shape!, key.Type.Shape!);
        bool Fits(Dim d, Dim full) => d.Value == 1 || Same(d, full);
        if (!Fits(ms[0], qs[0]) || !Fits(ms[1], qs[1]) || !Fits(ms[2], qs[2]) || !Fits(ms[3], ks[2])) return null;
        var bias = mask.Type.ElementType == DataType.Bool
            ? c.Op("Where", [mask, c.Scalar(0, DataType.Float32), c.Scalar(double.NegativeInfinity, DataType.Float32)], mask.Type.WithElementType(DataType.Float32))
            : c.Cast(mask, DataType.Float32);
        if (Same(ms[2], qs[2]) && Same(ms[3], ks[2])) return bias;
        object Length(Value x) => x.Type.Shape![2].Value is { } n ? n : new DynamicInt(c.DimSize(x, 2));
        return c.Op("Expand", [bias, c.ShapeTensor([1L, 1L, Length(query), Length(key)])], bias.Type.WithShape([ms[0], ms[1], qs[2], ks[2]]));
    }
}

/// <summary>
/// <c>_native_multi_head_attention(q, k, v, embed_dim, num_heads, qkv_weight, qkv_bias, proj_weight, proj_bias, mask,
/// need_weights, average_attn_weights, mask_type)</c>: the eval-mode fast path of <c>nn.MultiheadAttention</c> (batch
/// first, [B, L, E]) that torch.onnx.export 1.13 cannot export. Lowered to the plain graph: the in-projection (one
/// MatMul when q, k and v are the same tensor, else the weight split in three), heads by Reshape/Transpose,
/// softmax(q·kᵀ/√d (+ mask))·v, heads merged, the out-projection. A bool mask marks positions to ignore (−inf);
/// mask_type 1 is a key-padding mask [B, S]. Returns (output, weights); weights are the head-averaged (or per-head)
/// attention when need_weights, else an empty tensor.
/// </summary>
[AtenOp("aten::_native_multi_head_attention")]
internal static class NativeMultiHeadAttention
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (query, key, value) = (a.Tensor(0), a.Tensor(1), a.Tensor(2));
        if (query.Type.Rank != 3)
            throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} expects batch-first [B, L, E] inputs, got {query.Type}");
        var embed = a.Int(3, "embed_dim");
        var heads = a.Int(4, "num_head");
        var headDim = embed / heads;
        var (weight, bias) = (a.Tensor(5, "qkv_weight"), a.Tensor(6, "qkv_bias"));
        var type = query.Type.ElementType;

        Value q, k, v;
        if (ReferenceEquals(query, key) && ReferenceEquals(key, value))
        {
            var qkv = Linear.Lower(c, query, weight, bias);
            var parts = c.OpMulti("Split", [qkv, c.ConstInt64([embed, embed, embed])],
                Enumerable.Repeat(query.Type, 3).ToArray(), ("axis", -1));
            (q, k, v) = (parts[0], parts[1], parts[2]);
        }
        else
        {
            var weights = c.OpMulti("Split", [weight, c.ConstInt64([embed, embed, embed])],
                Enumerable.Repeat(weight.Type.WithShape([embed, embed]), 3).ToArray(), ("axis", 0));
            var biases = c.OpMulti("Split", [bias, c.ConstInt64([embed, embed, embed])],
                Enumerable.Repeat(bias.Type.WithShape([embed]), 3).ToArray(), ("axis", 0));
            (q, k, v) = (Linear.Lower(c, query, weights[0], biases[0]), Linear.Lower(c, key, weights[1], biases[1]),
                         Linear.Lower(c, value, weights[2], biases[2]));
        }

        // [B, L, E] → [B, H, L, d]; keys → [B, H, d, S].
        Value Heads(Value x, long[] perm)
        {
            var split = c.Op("Reshape", [x, c.ConstInt64([0, 0, heads, headDim])],
                x.Type.WithShape([x.Type.Shape![0], x.Type.Shape[1], heads, headDim]));
            return Permute.Lower(c, split, perm);
        }
        var scaled = c.Op("Mul", [q, c.Scalar(1 / Math.Sqrt(headDim), type)], q.Type);
        var (qh, kh, vh) = (Heads(scaled, [0, 2, 1, 3]), Heads(k, [0, 2, 3, 1]), Heads(v, [0, 2, 1, 3]));
        var scores = c.Op("MatMul", [qh, kh], qh.Type.WithShape([qh.Type.Shape![0], heads, qh.Type.Shape[2], kh.Type.Shape![3]]));
        if (a.OptionalTensor(9, "mask") is { } mask) scores = ApplyMask(c, scores, mask, a.Get(12, "mask_type") as long?);
        var attention = c.Op("Softmax", [scores], scores.Type, ("axis", -1));
        var context = c.Op("MatMul", [attention, vh], qh.Type);
        var merged = c.Op("Reshape", [Permute.Lower(c, context, [0, 2, 1, 3]), c.ConstInt64([0, 0, embed])], query.Type);
        var output = Linear.Lower(c, merged, a.Tensor(7, "proj_weight"), a.OptionalTensor(8, "proj_bias"));

        Value weightsOut;
        if (!a.Bool(10, "need_weights", true)) weightsOut = c.Constant(type, [0], [], "no_weights");
        else if (!a.Bool(11, "average_attn_weights", true)) weightsOut = attention;
        else
        {
            var shape = scores.Type.Shape!.Where((_, i) => i != 1).ToArray();
            var sum = c.Op("ReduceSum", [attention, c.ConstInt64([1])], scores.Type.WithShape(shape), ("keepdims", 0));
            weightsOut = c.Op("Mul", [sum, c.Scalar(1.0 / heads, type)], sum.Type);
        }
        return new TupleValue([output, weightsOut]);
    }

    /// <summary>
    /// Applies an attention mask to the scores [B, H, L, S]: a bool mask marks positions to ignore (−inf), a float mask
    /// is added. mask_type 1 is a key-padding mask [B, S], applied to every head and query as [B, 1, 1, S]; an attention
    /// mask [L, S] broadcasts as it is. Shared with <see cref="TransformerEncoderLayer"/>.
    /// </summary>
    internal static Value ApplyMask(OpContext c, Value scores, Value mask, long? maskType)
    {
        if (maskType == 1 && mask.Type.Rank == 2) mask = c.Unsqueeze(mask, [1, 2]);
        var type = scores.Type.ElementType;
        if (mask.Type.ElementType == DataType.Bool)
            return c.Op("Where", [mask, c.Scalar(double.NegativeInfinity, type), scores], scores.Type);
        return c.Op("Add", [scores, c.Cast(mask, type)], scores.Type);
    }
}

/// <summary>
/// A padded batch standing for PyTorch's nested tensor: the dense [B, S, E] values and which positions are real
/// (<see cref="Valid"/>, bool [B, S]), and each sequence's length (<see cref="Lengths"/>, int64 [B, 1]). Only the
/// ops of nn.TransformerEncoder's fast path take or give one.
/// </summary>
internal sealed record NestedTensor(Value Dense, Value Valid, Value Lengths);

/// <summary>
/// <c>_transformer_encoder_layer_fwd(src, embed_dim, num_heads, qkv_weight, qkv_bias, proj_weight, proj_bias,
/// use_gelu, norm_first, eps, norm1_weight, norm1_bias, norm2_weight, norm2_bias, ffn1_weight, ffn1_bias,
/// ffn2_weight, ffn2_bias, mask, mask_type)</c>: the fused eval-mode nn.TransformerEncoderLayer (batch_first),
/// which torch.onnx.export 1.13 cannot export. Spelled out as self-attention (packed QKV projection, q scaled by
/// 1/√head_dim before QKᵀ, Softmax, output projection) and the feed-forward block with post- or pre-norm
/// residuals. mask_type 1 is a key-padding mask [B, S] (True = ignore that key), 0 an attention mask [S, S]; a bool
/// mask fills −inf, a float one is added. On a <see cref="NestedTensor"/> the padding positions are the mask.
/// </summary>
[AtenOp("aten::_transformer_encoder_layer_fwd")]
internal static class TransformerEncoderLayer
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var nested = a.Get(0) as NestedTensor;
        var src = nested?.Dense ?? a.Tensor(0);
        var heads = a.Int(2, "num_heads");
        var mask = a.OptionalTensor(18, "mask");
        var maskType = a.Get(19, "mask_type") is null ? (long?)null : a.Int(19, "mask_type");
        if (nested is not null)
        {
            if (mask is not null)
                throw c.Error(DiagnosticCode.UnsupportedOpVariant, $"{c.OpName} with both a nested tensor input and a mask is not supported");
            (mask, maskType) = (c.Op("Not", [nested.Valid], nested.Valid.Type), 1);
        }
        if (src.Type.Rank != 3)
            throw c.Error(DiagnosticCode.UnsupportedOpVariant, $"{c.OpName} on a {src.Type} input is not supported (expected [batch, seq, embed])");

        var normFirst = a.Bool(8, "norm_first");
        var eps = a.Float(9, "eps");
        Value Norm(Value x, int weight) => (Value)Aten.Call(c, "aten::layer_norm", x, new List<object?> { a.Int(1, "embed_dim") },
            a.Tensor(weight), a.Tensor(weight + 1), eps, false)!;

        var x = src;
        var attention = SelfAttention(c, normFirst ? Norm(x, 10) : x, heads, a.Tensor(3), a.Tensor(4), a.Tensor(5), a.Tensor(6), mask, maskType);
        x = normFirst ? Add(c, x, attention) : Norm(Add(c, x, attention), 10);
        var hidden = (Value)Aten.Call(c, "aten::linear", normFirst ? Norm(x, 12) : x, a.Tensor(14), a.Tensor(15))!;
        hidden = (Value)(a.Bool(7, "use_gelu") ? Aten.Call(c, "aten::gelu", hidden) : Aten.Call(c, "aten::relu", hidden))!;
        var feedForward = (Value)Aten.Call(c, "aten::linear", hidden, a.Tensor(16), a.Tensor(17))!;
        x = normFirst ? Add(c, x, feedForward) : Norm(Add(c, x, feedForward), 12);
        return nested is null ? x : nested with { Dense = x };
    }

    private static Value Add(OpContext c, Value x, Value y) => c.Op("Add", [x, y], x.Type);

    /// <summary>Multi-head self-attention of x [B, S, E] with a packed in-projection, as PyTorch's fused kernels compute it.</summary>
    private static Value SelfAttention(OpContext c, Value x, long heads, Value qkvWeight, Value qkvBias, Value projWeight, Value projBias,
        Value? mask, long? maskType)
    {
        var shape = x.Type.Shape!;
        var (batch, seq, embed) = (shape[0], shape[1], shape[2].Value!.Value);
        var headDim = embed / heads;
        var qkv = (Value)Aten.Call(c, "aten::linear", x, qkvWeight, qkvBias)!;
        var parts = c.OpMulti("Split", [qkv, c.ConstInt64([embed, embed, embed])], [x.Type, x.Type, x.Type], ("axis", 2));
        var headsType = x.Type.WithShape([batch, seq, heads, headDim]);
        Value SplitHeads(Value v, long[] perm)
        {
            var reshaped = c.Op("Reshape", [v, c.ConstInt64([0, 0, heads, headDim])], headsType);
            return Permute.Lower(c, reshaped, perm);
        }
        var q = SplitHeads(parts[0], [0, 2, 1, 3]);
        q = c.Op("Div", [q, c.Scalar(Math.Sqrt(headDim), q.Type.ElementType)], q.Type);
        var kT = SplitHeads(parts[1], [0, 2, 3, 1]);
        var v = SplitHeads(parts[2], [0, 2, 1, 3]);
        var scoresType = x.Type.WithShape([batch, heads, seq, seq]);
        var scores = c.Op("MatMul", [q, kT], scoresType);
        if (mask is not null) scores = NativeMultiHeadAttention.ApplyMask(c, scores, mask, maskType);
        var weights = c.Op("Softmax", [scores], scoresType, ("axis", 3));
        var context = Permute.Lower(c, c.Op("MatMul", [weights, v], q.Type), [0, 2, 1, 3]);
        var merged = c.Op("Reshape", [context, c.ConstInt64([0, 0, embed])], x.Type);
        return (Value)Aten.Call(c, "aten::linear", merged, projWeight, projBias)!;
    }
}

/// <summary>
/// <c>_nested_tensor_from_mask(x, mask, mask_check)</c>: nn.TransformerEncoder's fast path packs each sequence's
/// first <c>mask.sum(1)</c> positions into a nested tensor. Here it stays padded (<see cref="NestedTensor"/>), with
/// valid = position &lt; that count, which is what PyTorch keeps whether or not the mask is left-aligned.
/// </summary>
[AtenOp("aten::_nested_tensor_from_mask")]
internal static class NestedTensorFromMask
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (x, mask) = (a.Tensor(0), a.Tensor(1));
        var boolType = mask.Type.WithElementType(DataType.Bool);
        var lengths = c.Op("ReduceSum", [c.Cast(mask, DataType.Int64), c.ConstInt64([1])], TensorType.Of(DataType.Int64, mask.Type.Shape![0], 1),
            ("keepdims", 1));
        var positions = (Value)Aten.Call(c, "aten::arange", SeqLength(c, mask))!;
        var valid = c.Op("Less", [c.Unsqueeze(positions, [0]), lengths], boolType);
        return new NestedTensor(x, valid, lengths);
    }

    private static object SeqLength(OpContext c, Value mask) =>
        mask.Type.Shape![1].Value is { } n ? n : new Interpret.DynamicInt(c.DimSize(mask, 1));
}

/// <summary>
/// <c>to_padded_tensor(nested, padding, output_size)</c>: padding positions take the padding value. Without
/// output_size the sequence dim is cut to the longest sequence, as PyTorch pads to the longest one; with one (PyTorch
/// 2.x's TransformerEncoder passes <c>src.size()</c>) the result is cut to that size, which may not exceed the padded
/// input.
/// </summary>
[AtenOp("aten::to_padded_tensor")]
internal static class ToPaddedTensor
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        if (a.Get(0) is not NestedTensor nested)
            throw c.Error(DiagnosticCode.UnsupportedOpVariant, $"{c.OpName} expects the nested tensor of nn.TransformerEncoder's fast path");
        var dense = nested.Dense;
        var valid = c.Unsqueeze(nested.Valid, [2]);
        var padded = c.Op("Where", [valid, dense, c.Scalar(a.Float(1, "padding"), dense.Type.ElementType)], dense.Type);
        if (!a.IsNone(2, "output_size"))
        {
            var sizes = a.SymInts(2, "output_size");
            if (sizes.Count != dense.Type.Rank)
                throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName}: output_size has {sizes.Count} dims, the tensor {dense.Type.Rank}");
            var cut = sizes.Select(size => size switch
            {
                long n => (Dim)n,
                DynamicInt { Scalar.SizeOf: { } dim } => dim,
                _ => Shapes.Unknown(),
            }).ToArray();
            return c.Op("Slice", [padded, c.ConstInt64(new long[sizes.Count]), c.ShapeTensor(sizes)], dense.Type.WithShape(cut));
        }
        // ReduceMax with no axes reduces everything in every opset: [B, 1] → [1, 1] → [1].
        var longest = c.Op("ReduceMax", [nested.Lengths], TensorType.Of(DataType.Int64, 1, 1), ("keepdims", 1));
        longest = c.Op("Reshape", [longest, c.ConstInt64([1])], TensorType.Of(DataType.Int64, 1));
        var shape = dense.Type.Shape!.Select((d, i) => i == 1 ? Shapes.Unknown() : d).ToArray();
        return c.Op("Slice", [padded, c.ConstInt64([0]), longest, c.ConstInt64([1])], dense.Type.WithShape(shape));
    }
}

/// <summary>Calls another op's handler at the same opset, for lowerings built from existing ones.</summary>
internal static class Aten
{
    public static object? Call(OpContext c, string op, params object?[] args)
    {
        var handler = OpRegistry.Default.Resolve(op, c.Opset, out _)
            ?? throw new InvalidOperationException($"{op} has no handler at opset {c.Opset}");
        return handler(c, new OpArgs(c, args, new Dictionary<string, object?>()));
    }
}
