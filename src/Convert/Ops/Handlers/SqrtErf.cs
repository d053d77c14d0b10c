using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary><c>sqrt(x)</c> → Sqrt; an integer or bool tensor gives float32, as in torch (hand-written LayerNorm).</summary>
[AtenOp("aten::sqrt", "aten::sqrt_")]
internal static class Sqrt
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => FloatUnary.Lower(c, "Sqrt", a.Tensor(0));
}

/// <summary><c>erf(x)</c> → Erf; an integer or bool tensor gives float32, as in torch (hand-written exact GELU).</summary>
[AtenOp("aten::erf", "aten::erf_")]
internal static class Erf
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => FloatUnary.Lower(c, "Erf", a.Tensor(0));
}

internal static class FloatUnary
{
    public static Value Lower(OpContext c, string onnxOp, Value input)
    {
        var x = input.Type.ElementType.IsFloatingPoint() ? input : c.Cast(input, DataType.Float32);
        return c.Op(onnxOp, [x], x.Type);
    }
}
