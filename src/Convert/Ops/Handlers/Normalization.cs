using System.Runtime.InteropServices;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Normalisation layers: batch_norm, layer_norm.

/// <summary>
/// <c>aten::batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled)</c>
/// in eval mode → BatchNormalization. Without affine parameters the scale is ones and the bias zeros.
/// </summary>
[AtenOp("aten::batch_norm")]
internal static class BatchNorm
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var input = a.Tensor(0);
        var mean = a.OptionalTensor(3);
        var variance = a.OptionalTensor(4);
        if (a.Bool(5, "training") || mean is null || variance is null)
            throw c.Error(DiagnosticCode.UnsupportedConstruct,
                "batch_norm in training mode (batch statistics) cannot be exported for inference",
                "call model.eval() before torch.jit.trace / torch.jit.script");
        var channels = mean.Type.StaticShape()[0];
        var type = mean.Type.ElementType;
        var scale = a.OptionalTensor(1) ?? Filled(c, channels, 1f, type, "ones");
        var bias = a.OptionalTensor(2) ?? Filled(c, channels, 0f, type, "zeros");
        return c.Op("BatchNormalization", [input, scale, bias, mean, variance], input.Type, ("epsilon", a.Float(7, "eps")));
    }

    private static Value Filled(OpContext c, long count, float value, DataType type, string name)
    {
        var floats = Enumerable.Repeat(value, (int)count).ToArray();
        var bytes = type == DataType.Float32 ? MemoryMarshal.AsBytes(floats.AsSpan()).ToArray()
            : throw c.Error(DiagnosticCode.UnsupportedDtype, $"batch_norm without affine parameters in {type.Name()} is not supported yet");
        return c.Constant(type, [count], bytes, name);
    }
}

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
