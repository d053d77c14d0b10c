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
    private static object? V13(OpContext c, OpArgs a) => Reduction.Lower(c, a, "ReduceMean", axesAsInput: false, sumsIntegers: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Reduction.Lower(c, a, "ReduceMean", axesAsInput: true, sumsIntegers: false);
}

[AtenOp("aten::sum")]
internal static class Sum
{
    // ReduceSum took its axes as an input already in opset 13.
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Reduction.Lower(c, a, "ReduceSum", axesAsInput: true, sumsIntegers: true);
}

internal static class Reduction
{
    /// <summary>
    /// <c>op(x, dim, keepdim, *, dtype)</c> and <c>op(x, *, dtype)</c>. keepdim holds for every axis too
    /// (<c>x.sum([], keepdim=True)</c> is all ones in shape); a dtype casts the input first, as torch does; without one,
    /// torch sums bool and integer tensors in int64 (<paramref name="sumsIntegers"/>; ONNX has no bool ReduceSum).
    /// </summary>
    public static Value Lower(OpContext c, OpArgs a, string onnxOp, bool axesAsInput, bool sumsIntegers)
    {
        var x = a.Tensor(0);
        if (a.Get(3, "dtype") is long scalarType && DataTypes.FromTorchScalarType(scalarType) is { } requested) x = c.Cast(x, requested);
        else if (sumsIntegers && !x.Type.ElementType.IsFloatingPoint()) x = c.Cast(x, DataType.Int64);
        return Reduce(c, x, Axes(a, 1, x.Type.Rank), keep: a.Bool(2, "keepdim", false), onnxOp, axesAsInput);
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
