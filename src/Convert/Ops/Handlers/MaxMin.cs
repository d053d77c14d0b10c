using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// The three overloads of <c>max</c>/<c>min</c>: over every element (<c>x.max()</c>, a 0-d tensor) → ReduceMax/ReduceMin;
/// along a dim (<c>x.max(dim, keepdim)</c>) → (values, int64 indices) from ReduceMax and ArgMax, which both pick the
/// first of equal values as torch does; against a tensor (<c>torch.max(x, y)</c>) → Max/Min with broadcasting.
/// Opset 18 moved the Reduce axes from an attribute to an input.
/// </summary>
[AtenOp("aten::max", "aten::min")]
internal static class MaxMin
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static object? Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        var isMax = c.OpName == "aten::max";
        var x = a.Tensor(0);
        var second = a.Get(1, "dim") ?? a.Get(1, "other");
        if (second is Value)
            return Binary.Lower(c, isMax ? "Max" : "Min", x, second);
        var reduce = isMax ? "ReduceMax" : "ReduceMin";
        var rank = x.Type.Rank;
        if (second is null)
            return Reduction.Reduce(c, x, Enumerable.Range(0, rank).Select(i => (long)i).ToArray(), keep: false, reduce, axesAsInput);

        var axis = Shapes.NormalizeAxis(a.Int(1, "dim"), rank);
        var keep = a.Bool(2, "keepdim", false);
        var values = Reduction.Reduce(c, x, [axis], keep, reduce, axesAsInput);
        var indices = c.Op(isMax ? "ArgMax" : "ArgMin", [x], TensorType.Of(DataType.Int64, [.. values.Type.Shape!]),
            ("axis", axis), ("keepdims", keep ? 1 : 0));
        return new TupleValue([values, indices]);
    }
}

/// <summary><c>maximum(x, y)</c> / <c>minimum(x, y)</c> → Max/Min with broadcasting and torch's type promotion.</summary>
[AtenOp("aten::maximum", "aten::minimum")]
internal static class MaximumMinimum
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) =>
        Binary.Lower(c, c.OpName == "aten::maximum" ? "Max" : "Min", a.Get(0), a.Get(1));
}

/// <summary>
/// <c>amax(x, dim, keepdim)</c> / <c>amin(...)</c> → ReduceMax/ReduceMin (an empty <c>dim</c> reduces every axis).
/// </summary>
[AtenOp("aten::amax", "aten::amin")]
internal static class AmaxAmin
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static object? Lower(OpContext c, OpArgs a, bool axesAsInput) =>
        Reduction.Lower(c, a, c.OpName == "aten::amax" ? "ReduceMax" : "ReduceMin", axesAsInput, sumsIntegers: false);
}
