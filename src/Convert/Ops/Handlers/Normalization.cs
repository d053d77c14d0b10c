using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Normalisation layers: batch_norm, layer_norm (and native_layer_norm), group_norm, instance_norm, and weight normalisation (_weight_norm).

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
        var mean = a.OptionalTensor(3);
        var variance = a.OptionalTensor(4);
        if (a.Bool(5, "training") || mean is null || variance is null)
            throw c.Error(DiagnosticCode.UnsupportedConstruct,
                "batch_norm in training mode (batch statistics) cannot be exported for inference",
                "call model.eval() before torch.jit.trace / torch.jit.script");
        return Lower(c, a.Tensor(0), a.OptionalTensor(1), a.OptionalTensor(2), mean, variance, a.Float(7, "eps"));
    }

    /// <summary>Normalises dim 1 of <paramref name="input"/> with running statistics; no affine parameters are ones and zeros.</summary>
    public static Value Lower(OpContext c, Value input, Value? weight, Value? bias, Value mean, Value variance, double eps)
    {
        var (channels, type) = (mean.Type.StaticShape(), mean.Type.ElementType);
        var scale = weight ?? c.Filled(type, channels, 1, "ones");
        var shift = bias ?? c.Filled(type, channels, 0, "zeros");
        return c.Op("BatchNormalization", [input, scale, shift, mean, variance], input.Type, ("epsilon", eps));
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
    private static object? V13(OpContext c, OpArgs a) => SpelledOut(c, a).Normalized;

    [Opset(17)]
    private static object? V17(OpContext c, OpArgs a) => LayerNormalization(c, a, withStatistics: false)[0];

    /// <summary>The opset 13 form: the normalised tensor, and the mean and √(var + eps) it was computed with (keepdims).</summary>
    internal static (Value Normalized, Value Mean, Value Deviation) SpelledOut(OpContext c, OpArgs a)
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
        return (normalized, mean, deviation);
    }

    /// <summary>One LayerNormalization node (opset 17): the normalised tensor, and its Mean and InvStdDev outputs when asked for.</summary>
    internal static IReadOnlyList<Value> LayerNormalization(OpContext c, OpArgs a, bool withStatistics)
    {
        var x = a.Tensor(0);
        var normalizedShape = a.Ints(1, "normalized_shape");
        var normalizedRank = normalizedShape.Length;
        var weight = a.OptionalTensor(2, "weight") ?? c.Filled(x.Type.ElementType, normalizedShape, 1, "ones");
        Value?[] inputs = a.OptionalTensor(3, "bias") is { } bias ? [x, weight, bias] : [x, weight];
        var reducedType = x.Type.WithShape(x.Type.Shape!.Select((d, i) => i >= x.Type.Rank - normalizedRank ? Dim.Of(1) : d).ToArray());
        TensorType[] outputs = withStatistics ? [x.Type, reducedType, reducedType] : [x.Type];
        return c.OpMulti("LayerNormalization", inputs, outputs, ("axis", -normalizedRank), ("epsilon", a.Float(4, "eps", 1e-5)));
    }
}

/// <summary>
/// <c>native_layer_norm(x, normalized_shape, weight, bias, eps)</c> → (layer_norm's output, mean, 1/√(var + eps)), the
/// statistics keeping the normalised dims as 1: LayerNormalization's Mean and InvStdDev outputs from opset 17.
/// </summary>
[AtenOp("aten::native_layer_norm")]
internal static class NativeLayerNorm
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (normalized, mean, deviation) = LayerNorm.SpelledOut(c, a);
        return new TupleValue([normalized, mean, c.Op("Reciprocal", [deviation], deviation.Type)]);
    }

    [Opset(17)]
    private static object? V17(OpContext c, OpArgs a) => new TupleValue([.. LayerNorm.LayerNormalization(c, a, withStatistics: true)]);
}

/// <summary>
/// <c>instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled)</c>:
/// each sample's channels normalised over their own spatial dims → InstanceNormalization (no affine: ones and zeros).
/// With running statistics in eval (<c>track_running_stats=True</c>) it is batch norm with those statistics.
/// </summary>
[AtenOp("aten::instance_norm")]
internal static class InstanceNorm
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var eps = a.Float(7, "eps");
        if (!a.Bool(5, "use_input_stats") && a.OptionalTensor(3) is { } mean && a.OptionalTensor(4) is { } variance)
            return BatchNorm.Lower(c, x, a.OptionalTensor(1), a.OptionalTensor(2), mean, variance, eps);
        var channels = x.Type.Shape![1].Value ?? throw c.Error(DiagnosticCode.StaticValueRequired,
            $"{c.OpName} of {x.Type}, whose channel count (dim 1) is not known at conversion time, is not supported", "give dim 1 a fixed size in --input");
        return Normalize(c, x, channels, a.OptionalTensor(1), a.OptionalTensor(2), eps);
    }

    /// <summary>InstanceNormalization over the dims after 1 of <paramref name="x"/>, with <paramref name="channels"/> in dim 1.</summary>
    public static Value Normalize(OpContext c, Value x, long channels, Value? weight, Value? bias, double eps)
    {
        var type = x.Type.ElementType;
        return c.Op("InstanceNormalization", [x, weight ?? c.Filled(type, [channels], 1, "ones"), bias ?? c.Filled(type, [channels], 0, "zeros")],
            x.Type, ("epsilon", eps));
    }
}

/// <summary>
/// <c>group_norm(input, num_groups, weight, bias, eps, cudnn_enabled)</c>: the channels split into groups, each
/// sample's group normalised over its channels and spatial dims. Reshaped to [N, groups, −1], instance-normalised,
/// reshaped back, then the per-channel weight and bias. (ONNX GroupNormalization, opset 18, took per-group scales
/// until opset 21 made them per-channel, so it is not used.)
/// </summary>
[AtenOp("aten::group_norm")]
internal static class GroupNorm
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var groups = a.Int(1, "num_groups");
        var grouped = c.Op("Reshape", [x, c.ConstInt64([0, groups, -1])], x.Type.WithShape([x.Type.Shape![0], Dim.Of(groups), Shapes.Unknown()]));
        var normalized = InstanceNorm.Normalize(c, grouped, groups, null, null, a.Float(4, "eps", 1e-5));
        var result = c.Op("Reshape", [normalized, c.ShapeOf(x)], x.Type);
        var perChannel = Enumerable.Range(1, x.Type.Rank - 2).Select(i => (long)i).ToArray();
        if (a.OptionalTensor(2, "weight") is { } weight) result = c.Op("Mul", [result, c.Unsqueeze(weight, perChannel)], x.Type);
        if (a.OptionalTensor(3, "bias") is { } bias) result = c.Op("Add", [result, c.Unsqueeze(bias, perChannel)], x.Type);
        return result;
    }
}

/// <summary>
/// <c>_weight_norm(v, g, dim)</c> (nn.utils.weight_norm): the weight g·v/‖v‖, the 2-norm over every dim of v but
/// <c>dim</c> (over all of them for dim −1, weight_norm(dim=None)). Axes an input from opset 18.
/// </summary>
[AtenOp("aten::_weight_norm")]
internal static class WeightNorm
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static Value Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        var (v, g) = (a.Tensor(0), a.Tensor(1));
        var dim = a.Int(2, "dim", 0);
        var axes = Reduction.AllAxes(v.Type.Rank).Where(i => dim == -1 || i != Shapes.NormalizeAxis(dim, v.Type.Rank)).ToArray();
        var norm = Norm.Of(c, v, 2, axes, keep: true, axesAsInput);
        return c.Op("Mul", [v, c.Op("Div", [g, norm], norm.Type.WithShape(Shapes.Broadcast(g.Type.Shape, norm.Type.Shape)))], v.Type);
    }
}
