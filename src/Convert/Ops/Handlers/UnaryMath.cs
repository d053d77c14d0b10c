using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

// Unary math: pointwise functions of one tensor (neg, abs, exp, sqrt, erf).

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

/// <summary><c>exp(x)</c> → Exp; an integer or bool tensor gives float32, as in torch.</summary>
[AtenOp("aten::exp")]
internal static class Exp
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var input = a.Tensor(0);
        var x = input.Type.ElementType.IsFloatingPoint() ? input : c.Cast(input, DataType.Float32);
        return c.Op("Exp", [x], x.Type);
    }
}

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
