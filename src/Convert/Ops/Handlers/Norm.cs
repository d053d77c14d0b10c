using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>norm(x, p, dim, keepdim[, dtype])</c> (<c>x.norm(p, dim)</c>, <c>F.normalize</c>; traced with every axis listed
/// when dim is omitted): p = 2 → ReduceL2, 1 → ReduceL1, ±inf → ReduceMax/ReduceMin of |x|, 0 → count of non-zeros,
/// any other p → (Σ|x|^p)^(1/p). <c>linalg_vector_norm(x, ord, dim, keepdim, dtype)</c> takes the same arguments.
/// Opset 18 moved the axes of ReduceL1/L2/Max/Min from an attribute to an input.
/// </summary>
[AtenOp("aten::norm", "aten::linalg_vector_norm")]
internal static class Norm
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static Value Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        var input = a.Tensor(0);
        var x = a.Get(4, "dtype") is long scalarType && DataTypes.FromTorchScalarType(scalarType) is { } requested
            ? c.Cast(input, requested) : input;
        // p is a number (the schema's Scalar?); None means 2.
        var p = a.Float(1, c.OpName == "aten::norm" ? "p" : "ord", 2);
        var axes = Reduction.Axes(a, 2, x.Type.Rank);
        var keep = a.Bool(3, "keepdim", false);
        Value Reduce(Value operand, string onnxOp, bool asInput) => Reduction.Reduce(c, operand, axes, keep, onnxOp, asInput);
        Value Magnitude() => c.Op("Abs", [x], x.Type);
        return p switch
        {
            2 => Reduce(x, "ReduceL2", axesAsInput),
            1 => Reduce(x, "ReduceL1", axesAsInput),
            double.PositiveInfinity => Reduce(Magnitude(), "ReduceMax", axesAsInput),
            double.NegativeInfinity => Reduce(Magnitude(), "ReduceMin", axesAsInput),
            // The count of non-zeros: a cast to bool is true for every non-zero (and NaN, which torch counts too).
            // ReduceSum has taken its axes as an input since opset 13.
            0 => Reduce(c.Cast(c.Cast(x, DataType.Bool), x.Type.ElementType), "ReduceSum", asInput: true),
            _ => PowerOf(c, Reduce(PowerOf(c, Magnitude(), p), "ReduceSum", asInput: true), 1 / p),
        };
    }

    private static Value PowerOf(OpContext c, Value x, double exponent) =>
        c.Op("Pow", [x, c.Scalar(exponent, x.Type.ElementType)], x.Type);
}

/// <summary>
/// <c>frobenius_norm(x, dim, keepdim)</c> (<c>x.norm()</c> and <c>x.norm(dim=…)</c> with the default p) → ReduceL2.
/// </summary>
[AtenOp("aten::frobenius_norm")]
internal static class FrobeniusNorm
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static Value Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        var x = a.Tensor(0);
        return Reduction.Reduce(c, x, Reduction.Axes(a, 1, x.Type.Rank), a.Bool(2, "keepdim", false), "ReduceL2", axesAsInput);
    }
}
