using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

// Softmax family: normalisation along one dim to probabilities (softmax, log_softmax and their _ forms).

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
