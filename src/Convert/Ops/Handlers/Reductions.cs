using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>mean(x, dim, keepdim, dtype)</c> and <c>mean(x)</c> → ReduceMean. Opset 18 moved the axes from an
/// attribute to an input.
/// </summary>
[AtenOp("aten::mean")]
internal static class Mean
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Reduction.Lower(c, a, "ReduceMean", axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Reduction.Lower(c, a, "ReduceMean", axesAsInput: true);
}

[AtenOp("aten::sum")]
internal static class Sum
{
    // ReduceSum took its axes as an input already in opset 13.
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Reduction.Lower(c, a, "ReduceSum", axesAsInput: true);
}

internal static class Reduction
{
    public static Value Lower(OpContext c, OpArgs a, string onnxOp, bool axesAsInput)
    {
        var reducesAll = IsAllAxes(a.Get(1, "dim"));
        return Reduce(c, a.Tensor(0), Axes(a, 1, a.Tensor(0).Type.Rank), keep: !reducesAll && a.Bool(2, "keepdim", false), onnxOp, axesAsInput);
    }

    /// <summary>True when a <c>dim</c> argument (None or an empty list) means every axis.</summary>
    public static bool IsAllAxes(object? dim) => dim is null or List<object?> { Count: 0 };

    /// <summary>The sorted, normalized axes of the <c>dim</c> argument at <paramref name="index"/> (an int, a list, or all).</summary>
    public static long[] Axes(OpArgs a, int index, int rank)
    {
        if (IsAllAxes(a.Get(index, "dim"))) return Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        var dims = a.Get(index, "dim") is long single ? [single] : a.Ints(index, "dim");
        return dims.Select(d => (long)Shapes.NormalizeAxis(d, rank)).Distinct().Order().ToArray();
    }

    /// <summary>One ONNX Reduce* node over <paramref name="axes"/>; before opset 18 most take the axes as an attribute.</summary>
    public static Value Reduce(OpContext c, Value x, long[] axes, bool keep, string onnxOp, bool axesAsInput)
    {
        var shape = x.Type.Shape!.Select((d, i) => axes.Contains(i) ? (keep ? Dim.Of(1) : (Dim?)null) : d)
                                 .Where(d => d is not null).Select(d => d!.Value).ToArray();
        var type = x.Type.WithShape(shape);
        return axesAsInput
            ? c.Op(onnxOp, [x, c.ConstInt64(axes)], type, ("keepdims", keep ? 1 : 0))
            : c.Op(onnxOp, [x], type, ("axes", axes), ("keepdims", keep ? 1 : 0));
    }
}
