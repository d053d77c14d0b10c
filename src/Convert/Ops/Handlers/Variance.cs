using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>var(x, dim, unbiased, keepdim)</c>, <c>var(x, dim, correction=k, keepdim)</c> and <c>var(x, unbiased)</c> →
/// <c>ReduceMean((x − ReduceMean(x))²)</c> over the dims, times n/(n − correction) when the correction is not 0 (n the
/// number of reduced elements: a constant when those dims are static, else computed from the input's shape at run time).
/// These are the ops a hand-written variance lowers to, so LayerNormFusion recognises <c>x.var(-1, unbiased=False)</c>.
/// </summary>
[AtenOp("aten::var")]
internal static class Variance
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static Value Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        var x = a.Tensor(0);
        if (!x.Type.ElementType.IsFloatingPoint())
            throw c.Error(Core.Diagnostics.DiagnosticCode.UnsupportedDtype, $"var of a {x.Type.ElementType.Name()} tensor: torch computes it for floating-point tensors only");
        var rank = x.Type.Rank;
        // var(x, unbiased): the second argument is a bool and every dim is reduced.
        var wholeTensor = a.Get(1) is bool || Reduction.IsAllAxes(a.Get(1, "dim"));
        var axes = wholeTensor ? Enumerable.Range(0, rank).Select(i => (long)i).ToArray() : Reduction.Axes(a, 1, rank);
        var correction = a.Get(1) is bool unbiasedOnly ? (unbiasedOnly ? 1 : 0)
            : a.Get(2, "unbiased") is bool unbiased ? (unbiased ? 1 : 0)
            : a.Int(2, "correction", 1);
        var keep = a.Get(1) is not bool && a.Bool(3, "keepdim", false);

        Value Mean(Value input, bool keepDims) => Reduction.Reduce(c, input, axes, keepDims, "ReduceMean", axesAsInput);

        var deviation = c.Op("Sub", [x, Mean(x, keepDims: true)], x.Type);
        var variance = Mean(c.Op("Mul", [deviation, deviation], x.Type), keep);
        if (correction == 0) return variance;
        var reduced = axes.Select(i => x.Type.Shape![(int)i]).ToArray();
        var scalar = TensorType.Scalar(x.Type.ElementType);
        Value factor;
        if (reduced.All(d => d.IsStatic))
        {
            var n = reduced.Aggregate(1L, (p, d) => p * d.Value!.Value);
            factor = c.Scalar((double)n / (n - correction), x.Type.ElementType);
        }
        else
        {
            var sizes = c.Op("Gather", [c.ShapeOf(x), c.ConstInt64(axes)], TensorType.Of(DataType.Int64, axes.Length), ("axis", 0L));
            var count = c.Cast(c.Op("ReduceProd", [sizes], TensorType.Scalar(DataType.Int64), ("keepdims", 0)), x.Type.ElementType);
            factor = c.Op("Div", [count, c.Op("Sub", [count, c.Scalar(correction, x.Type.ElementType)], scalar)], scalar);
        }
        return c.Op("Mul", [variance, factor], variance.Type);
    }
}
