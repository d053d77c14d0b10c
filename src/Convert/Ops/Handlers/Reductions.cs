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
        var x = a.Tensor(0);
        var rank = x.Type.Rank;
        var allAxes = a.Count <= 1 || a.Get(1) is null || a.Get(1) is List<object?> { Count: 0 };
        var axes = allAxes ? Enumerable.Range(0, rank).Select(i => (long)i).ToArray()
            : (a.Get(1) is long single ? [single] : a.Ints(1, "dim")).Select(d => (long)Shapes.NormalizeAxis(d, rank)).Distinct().Order().ToArray();
        var keep = !allAxes && a.Bool(2, "keepdim", false);
        var shape = x.Type.Shape!.Select((d, i) => axes.Contains(i) ? (keep ? Dim.Of(1) : (Dim?)null) : d)
                                 .Where(d => d is not null).Select(d => d!.Value).ToArray();
        var type = x.Type.WithShape(shape);
        return axesAsInput
            ? c.Op(onnxOp, [x, c.ConstInt64(axes)], type, ("keepdims", keep ? 1 : 0))
            : c.Op(onnxOp, [x], type, ("axes", axes), ("keepdims", keep ? 1 : 0));
    }
}
