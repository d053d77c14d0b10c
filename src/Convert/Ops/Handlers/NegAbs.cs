namespace ModelForge.Convert.Ops.Handlers;

/// <summary><c>neg(x)</c> / <c>-x</c> → Neg (the dtype stays, integers included).</summary>
[AtenOp("aten::neg", "aten::neg_")]
internal static class Neg
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => c.Op("Neg", [a.Tensor(0)], a.Tensor(0).Type);
}

/// <summary><c>abs(x)</c> → Abs (the dtype stays, integers included).</summary>
[AtenOp("aten::abs", "aten::abs_")]
internal static class Abs
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => c.Op("Abs", [a.Tensor(0)], a.Tensor(0).Type);
}
