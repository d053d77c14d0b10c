using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>var(x, dim, unbiased, keepdim)</c>, <c>var(x, dim, correction=k, keepdim)</c> and <c>var(x, unbiased)</c> →
/// <c>ReduceMean((x − ReduceMean(x))²)</c> over the dims, times n/(n − correction) when the correction is not 0 (n static).
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
        var keep = !wholeTensor && a.Bool(3, "keepdim", false);

        Value Mean(Value input, bool keepDims) => Reduction.Reduce(c, input, axes, keepDims, "ReduceMean", axesAsInput);

        var deviation = c.Op("Sub", [x, Mean(x, keepDims: true)], x.Type);
        var variance = Mean(c.Op("Mul", [deviation, deviation], x.Type), keep);
        if (correction == 0) return variance;
        var reduced = axes.Select(i => x.Type.Shape![(int)i]).ToArray();
        if (reduced.Any(d => !d.IsStatic))
            throw c.Error(Core.Diagnostics.DiagnosticCode.UnsupportedConstruct,
                $"var with correction {correction} over a dim whose size is only known at run time",
                "use unbiased=False (correction=0), or make the reduced dims static");
        var n = reduced.Aggregate(1L, (p, d) => p * d.Value!.Value);
        return c.Op("Mul", [variance, c.Scalar((double)n / (n - correction), x.Type.ElementType)], variance.Type);
    }
}
