using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>layer_norm(x, normalized_shape, weight, bias, eps, cudnn_enable)</c>: LayerNormalization from opset 17;
/// before that spelled out as (x − mean)/√(var + eps)·weight + bias over the trailing dims.
/// </summary>
[AtenOp("aten::layer_norm")]
internal static class LayerNorm
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var rank = x.Type.Rank;
        var axes = Enumerable.Range(rank - a.Ints(1, "normalized_shape").Length, a.Ints(1).Length).Select(i => (long)i).ToArray();
        var reducedType = x.Type.WithShape(x.Type.Shape!.Select((d, i) => axes.Contains(i) ? Dim.Of(1) : d).ToArray());
        var mean = c.Op("ReduceMean", [x], reducedType, ("axes", axes), ("keepdims", 1));
        var centered = c.Op("Sub", [x, mean], x.Type);
        var variance = c.Op("ReduceMean", [c.Op("Mul", [centered, centered], x.Type)], reducedType, ("axes", axes), ("keepdims", 1));
        var deviation = c.Op("Sqrt", [c.Op("Add", [variance, c.Scalar(a.Float(4, "eps", 1e-5), x.Type.ElementType)], reducedType)], reducedType);
        var normalized = c.Op("Div", [centered, deviation], x.Type);
        if (a.OptionalTensor(2, "weight") is { } weight) normalized = c.Op("Mul", [normalized, weight], x.Type);
        if (a.OptionalTensor(3, "bias") is { } bias) normalized = c.Op("Add", [normalized, bias], x.Type);
        return normalized;
    }

    [Opset(17)]
    private static object? V17(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var normalizedRank = a.Ints(1, "normalized_shape").Length;
        var weight = a.OptionalTensor(2, "weight") ?? Ones(c, x, normalizedRank);
        Value?[] inputs = a.OptionalTensor(3, "bias") is { } bias ? [x, weight, bias] : [x, weight];
        return c.Op("LayerNormalization", inputs, x.Type, ("axis", -normalizedRank), ("epsilon", a.Float(4, "eps", 1e-5)));
    }

    private static Value Ones(OpContext c, Value x, int normalizedRank)
    {
        var shape = x.Type.StaticShape()[^normalizedRank..];
        var count = shape.Aggregate(1L, (p, d) => p * d);
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(Enumerable.Repeat(1f, (int)count).ToArray().AsSpan()).ToArray();
        return c.Constant(DataType.Float32, shape, bytes, "ones");
    }
}

/// <summary><c>softmax(x, dim, dtype)</c>: opset 13's Softmax normalizes along one axis, as torch does.</summary>
[AtenOp("aten::softmax", "aten::_softmax")]
internal static class Softmax
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Softmaxes.Lower(c, a, "Softmax");
}

[AtenOp("aten::log_softmax", "aten::_log_softmax")]
internal static class LogSoftmax
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Softmaxes.Lower(c, a, "LogSoftmax");
}

internal static class Softmaxes
{
    public static Value Lower(OpContext c, OpArgs a, string onnxOp)
    {
        var x = a.Tensor(0);
        if (a.Get(2, "dtype") is long scalarType && DataTypes.FromTorchScalarType(scalarType) is { } to) x = c.Cast(x, to);
        return c.Op(onnxOp, [x], x.Type, ("axis", Shapes.NormalizeAxis(a.Int(1, "dim"), x.Type.Rank)));
    }
}
