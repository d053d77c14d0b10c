using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Unary math: pointwise functions of one tensor. Those that are one ONNX node are declared with [Elementwise]
// (see OpRegistry.cs); the rest (logarithms to other bases, exp2, erfc, sinc, logit, rsqrt, rounding, frac, square,
// nan_to_num, degree conversions, bucketize) are a few nodes each.
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

[AtenOp("aten::asin", "aten::asin_"), Elementwise("Asin", IntegersToFloat = true)]
internal static class Asin;

[AtenOp("aten::acos", "aten::acos_"), Elementwise("Acos", IntegersToFloat = true)]
internal static class Acos;

[AtenOp("aten::atan", "aten::atan_"), Elementwise("Atan", IntegersToFloat = true)]
internal static class Atan;

[AtenOp("aten::sinh", "aten::sinh_"), Elementwise("Sinh", IntegersToFloat = true)]
internal static class Sinh;

[AtenOp("aten::cosh", "aten::cosh_"), Elementwise("Cosh", IntegersToFloat = true)]
internal static class Cosh;

[AtenOp("aten::asinh", "aten::asinh_"), Elementwise("Asinh", IntegersToFloat = true)]
internal static class Asinh;

[AtenOp("aten::acosh", "aten::acosh_"), Elementwise("Acosh", IntegersToFloat = true)]
internal static class Acosh;

[AtenOp("aten::atanh", "aten::atanh_"), Elementwise("Atanh", IntegersToFloat = true)]
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

/// <summary><c>sign(x)</c> and <c>sgn(x)</c> (the same for real tensors) → Sign; a bool tensor is its own sign (torch keeps bool).</summary>
[AtenOp("aten::sign", "aten::sign_", "aten::sgn", "aten::sgn_")]
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
/// or round(x/10^−d)·10^−d for negative d), <c>trunc</c> (ONNX has no Trunc: floor(|x|)·sign(x)) and
/// <c>frac(x) = x − trunc(x)</c>. An integer tensor is already whole: floor, ceil, round and trunc give it back.
/// </summary>
[AtenOp("aten::floor", "aten::floor_", "aten::ceil", "aten::ceil_", "aten::round", "aten::round_", "aten::trunc", "aten::trunc_",
        "aten::frac", "aten::frac_")]
internal static class Rounding
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var name = c.OpName.TrimEnd('_');
        if (a.Get(0) is RunTimeFloat f) return OfPythonFloat(c, name, f.Scalar);
        var x = a.Tensor(0);
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

    /// <summary>
    /// <c>math.floor</c>, <c>math.ceil</c> and <c>math.trunc</c> of a Python float give an int (TorchScript saves them as
    /// <c>torch.floor(f)</c>, …, the float overloads), <c>round(f)</c> a float.
    /// </summary>
    private static object OfPythonFloat(OpContext c, string name, Value f) => name switch
    {
        "aten::floor" => new DynamicInt(c.Cast(c.Op("Floor", [f], f.Type), DataType.Int64)),
        "aten::ceil" => new DynamicInt(c.Cast(c.Op("Ceil", [f], f.Type), DataType.Int64)),
        "aten::trunc" => new DynamicInt(c.Cast(f, DataType.Int64)),
        "aten::round" => new RunTimeFloat(c.Op("Round", [f], f.Type)),
        _ => throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} of a Python float is not an op TorchScript has"),
    };

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

/// <summary>
/// <c>exp2(x) = 2^x</c> → Pow, <c>erfc(x) = 1 − erf(x)</c>, <c>sinc(x) = sin(πx)/(πx)</c> (1 at 0), and <c>deg2rad</c>/<c>rad2deg</c>
/// (a product with π/180 or 180/π, as torch computes them). Integer inputs give float32.
/// </summary>
[AtenOp("aten::exp2", "aten::exp2_", "aten::erfc", "aten::erfc_", "aten::sinc", "aten::sinc_", "aten::deg2rad", "aten::deg2rad_",
        "aten::rad2deg", "aten::rad2deg_")]
internal static class ScaledTranscendental
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = c.ToFloat(a.Tensor(0));
        var type = x.Type.ElementType;
        switch (c.OpName.TrimEnd('_'))
        {
            case "aten::exp2":
                return c.Op("Pow", [c.Scalar(2, type), x], x.Type);
            case "aten::erfc":
                return c.Op("Sub", [c.Scalar(1, type), c.Op("Erf", [x], x.Type)], x.Type);
            case "aten::sinc":
                var product = c.Op("Mul", [x, c.Scalar(Math.PI, type)], x.Type);
                var sinc = c.Op("Div", [c.Op("Sin", [product], x.Type), product], x.Type);
                var zero = c.Op("Equal", [x, c.Scalar(0, type)], x.Type.WithElementType(DataType.Bool));
                return c.Op("Where", [zero, c.Scalar(1, type), sinc], x.Type);
            case "aten::deg2rad":
                return c.Op("Mul", [x, c.Scalar(Math.PI / 180, type)], x.Type);
            default:
                return c.Op("Mul", [x, c.Scalar(180 / Math.PI, type)], x.Type);
        }
    }
}

/// <summary><c>logit(x, eps=None) = log(x/(1 − x))</c>, x first clamped to [eps, 1 − eps] when eps is given.</summary>
[AtenOp("aten::logit", "aten::logit_")]
internal static class Logit
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = c.ToFloat(a.Tensor(0));
        var type = x.Type.ElementType;
        if (a.Get(1, "eps") is not null)
        {
            var eps = a.Float(1, "eps");
            x = c.Op("Clip", [x, c.Scalar(eps, type), c.Scalar(1 - eps, type)], x.Type);
        }
        var odds = c.Op("Div", [x, c.Op("Sub", [c.Scalar(1, type), x], x.Type)], x.Type);
        return c.Op("Log", [odds], x.Type);
    }
}

/// <summary>
/// <c>nan_to_num(x, nan=0, posinf=None, neginf=None)</c>: NaN, +inf and −inf replaced (an infinity by the dtype's
/// largest or lowest finite value unless given) → IsNaN/IsInf and Where. An integer tensor has none of them.
/// </summary>
[AtenOp("aten::nan_to_num", "aten::nan_to_num_")]
internal static class NanToNum
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var type = x.Type.ElementType;
        if (!type.IsFloatingPoint()) return x;
        var largest = type switch
        {
            DataType.Float64 => double.MaxValue,
            DataType.Float16 => (double)Half.MaxValue,
            DataType.BFloat16 => 3.3895313892515355e38, // (2 − 2^−7)·2^127
            _ => float.MaxValue,
        };
        var boolType = x.Type.WithElementType(DataType.Bool);
        Value Replace(Value input, Value found, int index, string name, double fallback) =>
            c.Op("Where", [found, c.Scalar(a.Float(index, name, fallback), type), input], x.Type);
        var result = Replace(x, c.Op("IsNaN", [x], boolType), 1, "nan", 0);
        result = Replace(result, c.Op("IsInf", [x], boolType, ("detect_negative", 0L)), 2, "posinf", largest);
        return Replace(result, c.Op("IsInf", [x], boolType, ("detect_positive", 0L)), 3, "neginf", -largest);
    }
}

/// <summary>
/// <c>bucketize(x, boundaries, out_int32, right)</c>: for each element the number of (sorted) boundaries below it
/// (right=False: boundary &lt; x; right=True: boundary ≤ x), i.e. the index of its bucket → compare x, unsqueezed,
/// with every boundary and ReduceSum the hits over that last axis. int64, or int32 with out_int32.
/// </summary>
[AtenOp("aten::bucketize")]
internal static class Bucketize
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (x, boundaries) = (a.Tensor(0), a.Tensor(1, "boundaries"));
        if (boundaries.Type.Rank != 1)
            throw c.Error(Core.Diagnostics.DiagnosticCode.UnsupportedOpVariant, $"bucketize with {boundaries.Type.Rank}-d boundaries is not supported",
                "pass 1-D boundaries");
        var column = c.Unsqueeze(x, [-1]);
        var shape = column.Type.Shape!.Take(x.Type.Rank).Append(boundaries.Type.Shape![0]).ToArray();
        var below = c.Op(a.Bool(3, "right", false) ? "LessOrEqual" : "Less", [boundaries, column], TensorType.Of(DataType.Bool, shape));
        var counts = c.Op("ReduceSum", [c.Cast(below, DataType.Int64), c.ConstInt64([-1])], x.Type.WithElementType(DataType.Int64), ("keepdims", 0));
        return a.Bool(2, "out_int32", false) ? c.Cast(counts, DataType.Int32) : counts;
    }
}
