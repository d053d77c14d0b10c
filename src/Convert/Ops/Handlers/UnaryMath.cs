using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

// Unary math: pointwise functions of one tensor. Those that are one ONNX node are declared with [Elementwise]
// (see OpRegistry.cs); the rest (logarithms to other bases, rsqrt, rounding, frac, square) are a few nodes each.
// Torch computes the transcendental ones in float32 for an integer or bool tensor, so they take IntegersToFloat.

/// <summary><c>neg(x)</c> / <c>-x</c> → Neg (the dtype stays, integers included).</summary>
[AtenOp("aten::neg", "aten::neg_"), Elementwise("Neg")]
internal static class Neg;

/// <summary><c>abs(x)</c> → Abs (the dtype stays, integers included).</summary>
[AtenOp("aten::abs", "aten::abs_"), Elementwise("Abs")]
internal static class Abs;

/// <summary><c>exp(x)</c> → Exp; an integer or bool tensor gives float32, as in torch.</summary>
[AtenOp("aten::exp", "aten::exp_"), Elementwise("Exp", IntegersToFloat = true)]
internal static class Exp;

/// <summary><c>sqrt(x)</c> → Sqrt; an integer or bool tensor gives float32, as in torch (hand-written LayerNorm).</summary>
[AtenOp("aten::sqrt", "aten::sqrt_"), Elementwise("Sqrt", IntegersToFloat = true)]
internal static class Sqrt;

/// <summary><c>erf(x)</c> → Erf; an integer or bool tensor gives float32, as in torch (hand-written exact GELU).</summary>
[AtenOp("aten::erf", "aten::erf_"), Elementwise("Erf", IntegersToFloat = true)]
internal static class Erf;

[AtenOp("aten::sin", "aten::sin_"), Elementwise("Sin", IntegersToFloat = true)]
internal static class Sin;

[AtenOp("aten::cos", "aten::cos_"), Elementwise("Cos", IntegersToFloat = true)]
internal static class Cos;

[AtenOp("aten::tan", "aten::tan_"), Elementwise("Tan", IntegersToFloat = true)]
internal static class Tan;

[AtenOp("aten::asin", "aten::asin_", "aten::arcsin", "aten::arcsin_"), Elementwise("Asin", IntegersToFloat = true)]
internal static class Asin;

[AtenOp("aten::acos", "aten::acos_", "aten::arccos", "aten::arccos_"), Elementwise("Acos", IntegersToFloat = true)]
internal static class Acos;

[AtenOp("aten::atan", "aten::atan_", "aten::arctan", "aten::arctan_"), Elementwise("Atan", IntegersToFloat = true)]
internal static class Atan;

[AtenOp("aten::sinh", "aten::sinh_"), Elementwise("Sinh", IntegersToFloat = true)]
internal static class Sinh;

[AtenOp("aten::cosh", "aten::cosh_"), Elementwise("Cosh", IntegersToFloat = true)]
internal static class Cosh;

[AtenOp("aten::asinh", "aten::asinh_", "aten::arcsinh", "aten::arcsinh_"), Elementwise("Asinh", IntegersToFloat = true)]
internal static class Asinh;

[AtenOp("aten::acosh", "aten::acosh_", "aten::arccosh", "aten::arccosh_"), Elementwise("Acosh", IntegersToFloat = true)]
internal static class Acosh;

[AtenOp("aten::atanh", "aten::atanh_", "aten::arctanh", "aten::arctanh_"), Elementwise("Atanh", IntegersToFloat = true)]
internal static class Atanh;

/// <summary><c>reciprocal(x)</c> (also what <c>2 / x</c> traces to, before a mul) → Reciprocal.</summary>
[AtenOp("aten::reciprocal", "aten::reciprocal_"), Elementwise("Reciprocal", IntegersToFloat = true)]
internal static class Reciprocal;

/// <summary><c>log(x)</c>, <c>log2(x)</c>, <c>log10(x)</c> → Log, divided by ln 2 or ln 10 for the other bases.</summary>
[AtenOp("aten::log", "aten::log_", "aten::log2", "aten::log2_", "aten::log10", "aten::log10_")]
internal static class Log
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = c.ToFloat(a.Tensor(0));
        var log = c.Op("Log", [x], x.Type);
        var baseLog = c.OpName.TrimEnd('_') switch { "aten::log2" => Math.Log(2), "aten::log10" => Math.Log(10), _ => 1 };
        return baseLog == 1 ? log : c.Op("Div", [log, c.Scalar(baseLog, x.Type.ElementType)], x.Type);
    }
}

/// <summary><c>log1p(x) = log(1 + x)</c> and <c>expm1(x) = exp(x) − 1</c>: ONNX has neither, so Log/Exp with the 1 spelled out.</summary>
[AtenOp("aten::log1p", "aten::log1p_", "aten::expm1", "aten::expm1_")]
internal static class Log1pExpm1
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = c.ToFloat(a.Tensor(0));
        var one = c.Scalar(1, x.Type.ElementType);
        return c.OpName.StartsWith("aten::log1p", StringComparison.Ordinal)
            ? c.Op("Log", [c.Op("Add", [x, one], x.Type)], x.Type)
            : c.Op("Sub", [c.Op("Exp", [x], x.Type), one], x.Type);
    }
}

/// <summary><c>rsqrt(x) = 1/√x</c> → Reciprocal(Sqrt) (RMSNorm).</summary>
[AtenOp("aten::rsqrt", "aten::rsqrt_")]
internal static class Rsqrt
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = c.ToFloat(a.Tensor(0));
        return c.Op("Reciprocal", [c.Op("Sqrt", [x], x.Type)], x.Type);
    }
}

/// <summary><c>sign(x)</c> → Sign; a bool tensor is its own sign (torch keeps bool).</summary>
[AtenOp("aten::sign", "aten::sign_")]
internal static class Sign
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        return x.Type.ElementType == DataType.Bool ? x : c.Op("Sign", [x], x.Type);
    }
}

/// <summary>
/// <c>floor</c>, <c>ceil</c>, <c>round</c> (half to even, as ONNX Round; <c>decimals</c> as torch computes it: round(x·10^d)/10^d,
/// or round(x/10^−d)·10^−d for negative d), <c>trunc</c>/<c>fix</c> (ONNX has no Trunc: floor(|x|)·sign(x)) and
/// <c>frac(x) = x − trunc(x)</c>. An integer tensor is already whole: floor, ceil, round and trunc give it back.
/// </summary>
[AtenOp("aten::floor", "aten::floor_", "aten::ceil", "aten::ceil_", "aten::round", "aten::round_", "aten::trunc", "aten::trunc_",
        "aten::fix", "aten::fix_", "aten::frac", "aten::frac_")]
internal static class Rounding
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var name = c.OpName.TrimEnd('_');
        if (!x.Type.ElementType.IsFloatingPoint() && name != "aten::frac") return x;
        return name switch
        {
            "aten::floor" => c.Op("Floor", [x], x.Type),
            "aten::ceil" => c.Op("Ceil", [x], x.Type),
            "aten::round" => Round(c, x, a.Int(1, "decimals", 0)),
            "aten::frac" => c.Op("Sub", [x, Trunc(c, x)], x.Type),
            _ => Trunc(c, x),
        };
    }

    /// <summary>Rounds toward zero (also <c>div(rounding_mode="trunc")</c> of floats).</summary>
    public static Value Trunc(OpContext c, Value x) =>
        c.Op("Mul", [c.Op("Floor", [c.Op("Abs", [x], x.Type)], x.Type), c.Op("Sign", [x], x.Type)], x.Type);

    private static Value Round(OpContext c, Value x, long decimals)
    {
        if (decimals == 0) return c.Op("Round", [x], x.Type);
        var scale = c.Scalar(Math.Pow(10, Math.Abs(decimals)), x.Type.ElementType);
        var (into, back) = decimals > 0 ? ("Mul", "Div") : ("Div", "Mul");
        return c.Op(back, [c.Op("Round", [c.Op(into, [x, scale], x.Type)], x.Type), scale], x.Type);
    }
}

/// <summary><c>square(x) = x·x</c>; a bool tensor squares to int64, as torch's pow(x, 2).</summary>
[AtenOp("aten::square", "aten::square_")]
internal static class Square
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0).Type.ElementType == DataType.Bool ? c.Cast(a.Tensor(0), DataType.Int64) : a.Tensor(0);
        return c.Op("Mul", [x, x], x.Type);
    }
}
