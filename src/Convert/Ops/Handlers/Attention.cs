using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

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
