using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Arithmetic: pointwise ops of two operands (tensors or Python scalars) with torch's type promotion, through
// Binary.Lower (add, sub, rsub, mul, div, floor_divide, remainder, fmod, pow, float_power, maximum, minimum, fmax, fmin,
// atan2, hypot, copysign, xlogy, logaddexp, lerp, addcmul, addcdiv), and the bit shifts << and >>.

/// <summary>Shared lowering of binary elementwise arithmetic with torch's type promotion and scalar operands.</summary>
internal static class Binary
{
    /// <summary>
    /// <c>left op right</c>, where either side may be a Python scalar. Int64 constants (sizes, channel counts
    /// in traced shape code) are folded at conversion time so they stay static.
    /// </summary>
    public static object Lower(OpContext c, string onnxOp, object? left, object? right, Func<long, long, long>? fold = null)
    {
        if (fold is not null && AsConstInt(c, left) is { } l && AsConstInt(c, right) is { } r)
        {
            var folded = Fold(c, fold, l, r);
            return left is Value || right is Value ? c.ScalarInt64(folded) : folded;
        }
        var type = ResultType(left, right);
        var a = c.Cast(c.AsTensor(left, type), type);
        var b = c.Cast(c.AsTensor(right, type), type);
        return c.Op(onnxOp, [a, b], TensorType.Of(type).WithShape(Shapes.Broadcast(a.Type.Shape, b.Type.Shape)));
    }

    /// <summary>
    /// An integer division or remainder by zero raises in torch for every input, so the model cannot run: refused
    /// here rather than folded (long.MinValue / -1 overflows the same way).
    /// </summary>
    private static long Fold(OpContext c, Func<long, long, long> fold, long l, long r)
    {
        try
        {
            return fold(l, r);
        }
        catch (ArithmeticException)
        {
            throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} of the int64 constants {l} and {r} has no int64 result",
                r == 0 ? "torch raises ZeroDivisionError for an integer division by zero; the model cannot run as saved"
                       : "the quotient does not fit in int64; check the constants in the model's code");
        }
    }

    private static long? AsConstInt(OpContext c, object? operand) => operand switch
    {
        long l => l,
        Value v when v.Type.ElementType == DataType.Int64 && c.TryGetConstantInt64(v, out var x) && v.Type.Shape is { Count: 0 } => x,
        _ => null,
    };

    /// <summary>
    /// Torch promotion, simplified to what models do: a tensor's type wins over a Python scalar's unless the
    /// scalar is a float and the tensor an integer; between tensors, floating point beats integer, 0-d
    /// tensors defer to ranked ones of the same kind, and of two ranked ones of the same kind the wider wins
    /// (float16 with bfloat16 is float32).
    /// </summary>
    public static DataType ResultType(object? left, object? right)
    {
        static (DataType Type, int Priority) Kind(object? o) => o switch
        {
            Value v => (v.Type.ElementType, v.Type.Shape is { Count: 0 } ? 2 : 3),
            DynamicInt => (DataType.Int64, 2),
            double or RunTimeFloat => (DataType.Float32, 1),
            long or bool => (DataType.Int64, 0),
            _ => (DataType.Float32, 0),
        };
        var (lt, lp) = Kind(left);
        var (rt, rp) = Kind(right);
        if (lt.IsFloatingPoint() != rt.IsFloatingPoint()) return lt.IsFloatingPoint() ? lt : rt;
        if (lp != rp || lt == rt) return lp >= rp ? lt : rt;
        if (lt == DataType.Bool || rt == DataType.Bool) return lt == DataType.Bool ? rt : lt;
        if (lt.SizeInBytes() != rt.SizeInBytes()) return lt.SizeInBytes() > rt.SizeInBytes() ? lt : rt;
        return lt.IsFloatingPoint() ? DataType.Float32 : DataType.Int16; // float16 with bfloat16, int8 with uint8
    }

    /// <summary><c>other·alpha</c> for add/sub's alpha argument (no node when alpha is 1).</summary>
    public static object? Scaled(OpContext c, object? other, OpArgs a)
    {
        var alpha = a.Get(2, "alpha");
        if (alpha is null or 1L or 1.0) return other;
        return Lower(c, "Mul", other, alpha, (x, y) => x * y);
    }
}

[AtenOp("aten::add", "aten::add_")]
internal static class Add
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) =>
        Binary.Lower(c, "Add", a.Get(0), Binary.Scaled(c, a.Get(1), a), (x, y) => x + y);
}

[AtenOp("aten::sub", "aten::sub_")]
internal static class Sub
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) =>
        Binary.Lower(c, "Sub", a.Get(0), Binary.Scaled(c, a.Get(1), a), (x, y) => x - y);
}

/// <summary><c>rsub(x, other, alpha) = other − alpha·x</c>.</summary>
[AtenOp("aten::rsub")]
internal static class Rsub
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) =>
        Binary.Lower(c, "Sub", a.Get(1), Binary.Scaled(c, a.Get(0), a), (x, y) => x - y);
}

[AtenOp("aten::mul", "aten::mul_")]
internal static class Mul
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Binary.Lower(c, "Mul", a.Get(0), a.Get(1), (x, y) => x * y);
}

/// <summary>
/// True division promotes integers to float (torch semantics); <c>rounding_mode="floor"|"trunc"</c> as in
/// <c>torch.div(a, b, rounding_mode=…)</c>.
/// </summary>
[AtenOp("aten::div", "aten::div_")]
internal static class Div
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var mode = a.Get(2, "rounding_mode") as string;
        if (mode == "floor") return FloorDivide.Lower(c, a.Get(0), a.Get(1));
        if (mode == "trunc" && !Binary.ResultType(a.Get(0), a.Get(1)).IsFloatingPoint())
            return Binary.Lower(c, "Div", a.Get(0), a.Get(1), (x, y) => x / y);
        var left = a.Get(0) is Value l && !l.Type.ElementType.IsFloatingPoint() ? c.Cast(l, DataType.Float32) : a.Get(0);
        var right = a.Get(1) is Value r && !r.Type.ElementType.IsFloatingPoint() ? c.Cast(r, DataType.Float32) : a.Get(1);
        if (left is long ll && right is long rl) { left = (double)ll; right = (double)rl; }
        var quotient = Binary.Lower(c, "Div", left, right is long rl2 ? (double)rl2 : right);
        return mode == "trunc" && quotient is Value q ? Rounding.Trunc(c, q) : quotient;
    }
}

/// <summary>
/// <c>floor_divide</c>: floor of the quotient (PyTorch ≥ 1.13). ONNX Div on integers truncates, so negative
/// quotients with a remainder are corrected by one.
/// </summary>
[AtenOp("aten::floor_divide", "aten::floor_divide_", "aten::floordiv")]
internal static class FloorDivide
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a.Get(0), a.Get(1));

    public static object Lower(OpContext c, object? left, object? right)
    {
        var quotient = Binary.Lower(c, "Div", left, right, FloorDiv);
        if (quotient is not Value q || q.IsInitializer) return quotient; // folded at conversion time
        if (q.Type.ElementType.IsFloatingPoint()) return c.Op("Floor", [q], q.Type);
        var type = q.Type.ElementType;
        var a = c.Cast(c.AsTensor(left, type), type);
        var b = c.Cast(c.AsTensor(right, type), type);
        var boolType = q.Type.WithElementType(DataType.Bool);
        var zero = c.Scalar(0, type);
        var remainder = c.Op("Sub", [a, c.Op("Mul", [q, b], q.Type)], q.Type);
        var inexact = c.Op("Not", [c.Op("Equal", [remainder, zero], boolType)], boolType);
        var signsDiffer = c.Op("Xor", [c.Op("Less", [a, zero], a.Type.WithElementType(DataType.Bool)),
                                       c.Op("Less", [b, zero], b.Type.WithElementType(DataType.Bool))], boolType);
        var correction = c.Cast(c.Op("And", [inexact, signsDiffer], boolType), type);
        return c.Op("Sub", [q, correction], q.Type);
    }

    private static long FloorDiv(long x, long y)
    {
        var q = x / y;
        return (x % y != 0) && ((x < 0) ^ (y < 0)) ? q - 1 : q;
    }
}

/// <summary>
/// <c>remainder(a, b)</c> (Python's <c>%</c>: the sign of the divisor). Integers → Mod (fmod=0 has exactly that
/// meaning), folded when both sides are constants; floats → a − floor(a/b)·b (ONNX Mod needs fmod=1 for floats).
/// </summary>
[AtenOp("aten::remainder", "aten::remainder_")]
internal static class Remainder
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (left, right) = (a.Get(0), a.Get(1));
        var type = Binary.ResultType(left, right);
        if (!type.IsFloatingPoint()) return Binary.Lower(c, "Mod", left, right, (x, y) => (x % y + y) % y);
        var x = c.Cast(c.AsTensor(left, type), type);
        var y = c.Cast(c.AsTensor(right, type), type);
        var quotient = (Value)Binary.Lower(c, "Div", x, y);
        var floored = c.Op("Floor", [quotient], quotient.Type);
        return c.Op("Sub", [x, c.Op("Mul", [floored, y], quotient.Type)], quotient.Type);
    }
}

/// <summary>
/// <c>pow(x, exponent)</c> for tensor/tensor, tensor/scalar and scalar/tensor → Pow in the promoted type (an integer
/// tensor to a float power is float, as in torch); integer constants fold.
/// </summary>
[AtenOp("aten::pow", "aten::pow_")]
internal static class Pow
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) =>
        Binary.Lower(c, "Pow", a.Get(0), a.Get(1), (x, y) => y >= 0 ? checked((long)Math.Pow(x, y)) : throw new ArgumentException("negative integer power"));
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
/// <c>atan2(y, x)</c>, the angle of (x, y) in (−π, π]: ONNX has no Atan2, so atan(y/x) moved by ±π (the sign of y)
/// where x is negative. Integer inputs give float32, as in torch.
/// </summary>
[AtenOp("aten::atan2", "aten::atan2_")]
internal static class Atan2
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (y, x, resultType) = Promoted.Operands(c, a.Get(0), a.Get(1), toFloat: true);
        var type = resultType.ElementType;
        var atan = c.Op("Atan", [c.Op("Div", [y, x], resultType)], resultType);
        var zero = c.Scalar(0, type);
        var halfTurn = c.Op("Where", [c.Op("Less", [y, zero], y.Type.WithElementType(DataType.Bool)), c.Scalar(-Math.PI, type), c.Scalar(Math.PI, type)], y.Type);
        var shift = c.Op("Where", [c.Op("Less", [x, zero], x.Type.WithElementType(DataType.Bool)), halfTurn, zero], resultType);
        return c.Op("Add", [atan, shift], resultType);
    }
}

/// <summary>
/// <c>lerp(start, end, weight)</c> with a scalar or tensor weight, computed as torch's CPU kernel does for accuracy
/// at both ends: start + w·(end − start) where |w| &lt; ½, else end − (end − start)·(1 − w).
/// </summary>
[AtenOp("aten::lerp", "aten::lerp_")]
internal static class Lerp
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var type = Binary.ResultType(a.Tensor(0), a.Tensor(1));
        var start = c.Cast(a.Tensor(0), type);
        var end = c.Cast(a.Tensor(1), type);
        var difference = (Value)Binary.Lower(c, "Sub", end, start);
        Value FromStart(object weight) => (Value)Binary.Lower(c, "Add", start, Binary.Lower(c, "Mul", weight, difference));
        Value FromEnd(object complement) => (Value)Binary.Lower(c, "Sub", end, Binary.Lower(c, "Mul", difference, complement));
        if (a.Get(2, "weight") is not Value weight)
        {
            var w = a.Float(2, "weight");
            return Math.Abs(w) < 0.5 ? FromStart(w) : FromEnd(1 - w);
        }
        weight = c.Cast(weight, type);
        var small = c.Op("Less", [c.Op("Abs", [weight], weight.Type), c.Scalar(0.5, type)], weight.Type.WithElementType(DataType.Bool));
        var near = FromStart(weight);
        var far = FromEnd(c.Op("Sub", [c.Scalar(1, type), weight], weight.Type));
        return c.Op("Where", [small, near, far], near.Type.WithShape(Shapes.Broadcast(small.Type.Shape, near.Type.Shape)));
    }
}

/// <summary>
/// Two operands promoted as torch does (<see cref="Binary.ResultType"/>), integers to float32 when
/// <paramref name="toFloat"/> (for functions torch computes in floating point); also the broadcast result type.
/// </summary>
internal static class Promoted
{
    public static (Value Left, Value Right, TensorType Type) Operands(OpContext c, object? left, object? right, bool toFloat)
    {
        var promoted = Binary.ResultType(left, right);
        var type = toFloat && !promoted.IsFloatingPoint() ? DataType.Float32 : promoted;
        var l = c.Cast(c.AsTensor(left, type), type);
        var r = c.Cast(c.AsTensor(right, type), type);
        return (l, r, TensorType.Of(type).WithShape(Shapes.Broadcast(l.Type.Shape, r.Type.Shape)));
    }
}

/// <summary>
/// <c>fmod(x, other)</c>: the remainder of truncated division (the sign of the dividend, C's fmod) → Mod with fmod=1,
/// for floats and integers.
/// </summary>
[AtenOp("aten::fmod", "aten::fmod_")]
internal static class Fmod
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (x, y, type) = Promoted.Operands(c, a.Get(0), a.Get(1), toFloat: false);
        return c.Op("Mod", [x, y], type, ("fmod", 1L));
    }
}

/// <summary>
/// Float-valued functions of two operands (integers give float32): <c>hypot(x, y) = √(x² + y²)</c>;
/// <c>copysign(x, y)</c>: |x| with y's sign (y &lt; 0; −0.0 counts as positive here); <c>xlogy(x, y) = x·log(y)</c>, 0 where
/// x is 0 unless y is NaN; <c>logaddexp(x, y) = max + log(1 + exp(−|x − y|))</c>, torch's stable form (two equal
/// infinities give NaN here, the infinity in torch).
/// </summary>
[AtenOp("aten::hypot", "aten::hypot_", "aten::copysign", "aten::copysign_", "aten::xlogy", "aten::xlogy_", "aten::logaddexp")]
internal static class FloatBinary
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (x, y, type) = Promoted.Operands(c, a.Get(0), a.Get(1), toFloat: true);
        var boolType = type.WithElementType(DataType.Bool);
        var zero = c.Scalar(0, type.ElementType);
        switch (c.OpName.TrimEnd('_'))
        {
            case "aten::hypot":
                var sum = c.Op("Add", [c.Op("Mul", [x, x], x.Type), c.Op("Mul", [y, y], y.Type)], type);
                return c.Op("Sqrt", [sum], type);
            case "aten::copysign":
                var magnitude = c.Op("Abs", [x], x.Type);
                var negative = c.Op("Less", [y, zero], y.Type.WithElementType(DataType.Bool));
                return c.Op("Where", [negative, c.Op("Neg", [magnitude], x.Type), magnitude], type);
            case "aten::xlogy":
                var product = c.Op("Mul", [x, c.Op("Log", [y], y.Type)], type);
                var xZero = c.Op("Equal", [x, zero], x.Type.WithElementType(DataType.Bool));
                var keepsNaN = c.Op("IsNaN", [y], y.Type.WithElementType(DataType.Bool));
                return c.Op("Where", [c.Op("And", [xZero, c.Op("Not", [keepsNaN], keepsNaN.Type)], boolType), zero, product], type);
            default:
                var gap = c.Op("Neg", [c.Op("Abs", [c.Op("Sub", [x, y], type)], type)], type);
                var correction = c.Op("Log", [c.Op("Add", [c.Op("Exp", [gap], type), c.Scalar(1, type.ElementType)], type)], type);
                return c.Op("Add", [c.Op("Max", [x, y], type), correction], type);
        }
    }
}

/// <summary><c>fmax(x, y)</c> / <c>fmin(x, y)</c>: Max/Min where a NaN loses to the other operand (NaN only when both are).</summary>
[AtenOp("aten::fmax", "aten::fmin")]
internal static class FmaxFmin
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (x, y, type) = Promoted.Operands(c, a.Get(0), a.Get(1), toFloat: false);
        var extreme = c.Op(c.OpName == "aten::fmax" ? "Max" : "Min", [x, y], type);
        if (!type.ElementType.IsFloatingPoint()) return extreme;
        var yOrExtreme = c.Op("Where", [c.Op("IsNaN", [x], x.Type.WithElementType(DataType.Bool)), y, extreme], type);
        return c.Op("Where", [c.Op("IsNaN", [y], y.Type.WithElementType(DataType.Bool)), x, yOrExtreme], type);
    }
}

/// <summary>
/// <c>addcmul(x, t1, t2, value=1) = x + value·t1·t2</c> and <c>addcdiv(x, t1, t2, value=1) = x + value·t1/t2</c>, in
/// torch's order of operations.
/// </summary>
[AtenOp("aten::addcmul", "aten::addcmul_", "aten::addcdiv", "aten::addcdiv_")]
internal static class AddcmulAddcdiv
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var value = a.Get(3, "value") ?? 1L;
        var scaled = value is 1L or 1.0 ? a.Get(1) : Binary.Lower(c, "Mul", value, a.Get(1));
        var combined = Binary.Lower(c, c.OpName.StartsWith("aten::addcmul", StringComparison.Ordinal) ? "Mul" : "Div", scaled, a.Get(2));
        return Binary.Lower(c, "Add", a.Get(0), combined);
    }
}

/// <summary><c>float_power(x, exponent)</c>: Pow in float64 whatever the operands' types, as torch.</summary>
[AtenOp("aten::float_power", "aten::float_power_")]
internal static class FloatPower
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = c.Cast(c.AsTensor(a.Get(0), DataType.Float64), DataType.Float64);
        var exponent = c.Cast(c.AsTensor(a.Get(1), DataType.Float64), DataType.Float64);
        return c.Op("Pow", [x, exponent], TensorType.Of(DataType.Float64).WithShape(Shapes.Broadcast(x.Type.Shape, exponent.Type.Shape)));
    }
}

/// <summary>
/// <c>x &lt;&lt; n</c> and <c>x &gt;&gt; n</c> (<c>__lshift__</c>/<c>__rshift__</c>) of integer tensors by an int or a tensor.
/// uint8 → BitShift (wrapping like torch); the signed types, which BitShift does not take, multiply by 2ⁿ (Pow in int64)
/// or take the floor of the quotient by 2ⁿ (an arithmetic shift rounds towards −∞).
/// </summary>
[AtenOp("aten::__lshift__", "aten::__rshift__")]
internal static class BitShift
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var type = Binary.ResultType(x, a.Get(1));
        var left = c.OpName == "aten::__lshift__";
        if (type.IsFloatingPoint() || type == DataType.Bool)
            throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} of {x.Type} by {Interpreter.DescribeValue(a.Get(1))}: torch shifts integer tensors only");
        var direction = ("direction", (AttributeValue)(left ? "LEFT" : "RIGHT"));
        if (type == DataType.UInt8)
        {
            var (value, amount) = (c.Cast(x, type), c.Cast(c.AsTensor(a.Get(1), type), type));
            return c.Op("BitShift", [value, amount], value.Type.WithShape(Shapes.Broadcast(value.Type.Shape, amount.Type.Shape)), direction);
        }
        var count = c.Cast(c.AsTensor(a.Get(1), DataType.Int64), DataType.Int64);
        var power = c.Cast(c.Op("Pow", [c.ScalarInt64(2), count], count.Type), type);
        return left ? Binary.Lower(c, "Mul", c.Cast(x, type), power) : FloorDivide.Lower(c, c.Cast(x, type), power);
    }
}
