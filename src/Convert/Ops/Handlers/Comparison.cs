using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Comparison and logic: ops whose result is a bool tensor (eq, ne, gt, lt, ge, le, logical_not/and/or/xor, bitwise ops
// on bool masks, isnan, isinf, isposinf, isneginf, isfinite, signbit).

/// <summary>
/// Elementwise comparisons <c>eq, ne, gt, lt, ge, le</c> (tensor or scalar right side) → Equal, Greater, Less,
/// GreaterOrEqual, LessOrEqual (ne = Not(Equal)) on the promoted type; the result is bool.
/// </summary>
[AtenOp("aten::eq", "aten::ne", "aten::gt", "aten::lt", "aten::ge", "aten::le")]
internal static class Comparison
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var name = c.OpName["aten::".Length..];
        var onnxOp = name switch { "eq" or "ne" => "Equal", "gt" => "Greater", "lt" => "Less", "ge" => "GreaterOrEqual", _ => "LessOrEqual" };
        var compared = (Value)Binary.Lower(c, onnxOp, a.Get(0), a.Get(1));
        compared.Type = compared.Type.WithElementType(DataType.Bool);
        return name == "ne" ? c.Op("Not", [compared], compared.Type) : compared;
    }
}

/// <summary><c>logical_not(x)</c> (any dtype, nonzero is true) and <c>bitwise_not(x)</c> of a bool tensor (<c>~mask</c>) → Not.</summary>
[AtenOp("aten::logical_not", "aten::bitwise_not")]
internal static class LogicalNot
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        if (c.OpName == "aten::bitwise_not" && x.Type.ElementType != DataType.Bool)
            throw c.Error(DiagnosticCode.UnsupportedOpVariant, $"aten::bitwise_not of a {x.Type} tensor is not supported (only bool masks)");
        var boolType = x.Type.WithElementType(DataType.Bool);
        return x.Type.ElementType == DataType.Bool
            ? c.Op("Not", [x], boolType)
            : c.Op("Equal", [x, c.Scalar(0, x.Type.ElementType)], boolType);
    }
}

/// <summary>
/// <c>logical_and/or/xor(x, y)</c> of any dtypes (nonzero is true) and the bitwise forms of bool masks (<c>m &amp; n</c>,
/// <c>m | n</c>, <c>m ^ n</c>, <c>bitwise_and</c>, …) → And, Or, Xor on bool. Bitwise ops of integers are refused: ONNX
/// has BitwiseAnd only from opset 18.
/// </summary>
[AtenOp("aten::logical_and", "aten::logical_and_", "aten::logical_or", "aten::logical_or_", "aten::logical_xor", "aten::logical_xor_",
        "aten::__and__", "aten::__iand__", "aten::bitwise_and", "aten::bitwise_and_",
        "aten::__or__", "aten::__ior__", "aten::bitwise_or", "aten::bitwise_or_",
        "aten::__xor__", "aten::__ixor__", "aten::bitwise_xor", "aten::bitwise_xor_")]
internal static class LogicalBinary
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var name = c.OpName["aten::".Length..].Trim('_');
        var operands = new[] { a.Get(0), a.Get(1) }.Select(o => c.AsTensor(o, DataType.Bool)).ToArray();
        if (!name.StartsWith("logical", StringComparison.Ordinal) && operands.FirstOrDefault(o => o.Type.ElementType != DataType.Bool) is { } integer)
            throw c.Error(DiagnosticCode.UnsupportedOpVariant, $"{c.OpName} of a {integer.Type} tensor is not supported (only bool masks)");
        var onnxOp = name[(name.IndexOf('_') + 1)..] switch { "and" or "iand" => "And", "or" or "ior" => "Or", _ => "Xor" };
        var type = TensorType.Of(DataType.Bool).WithShape(Shapes.Broadcast(operands[0].Type.Shape, operands[1].Type.Shape));
        return c.Op(onnxOp, [c.Cast(operands[0], DataType.Bool), c.Cast(operands[1], DataType.Bool)], type);
    }
}

/// <summary>
/// <c>isnan</c>, <c>isinf</c>, <c>isposinf</c>, <c>isneginf</c> → IsNaN, IsInf (both signs or one); <c>isfinite</c> is neither;
/// <c>signbit(x)</c> is x &lt; 0 (so false for −0.0, where torch reads the sign bit). An integer tensor goes through float32.
/// </summary>
[AtenOp("aten::isnan", "aten::isinf", "aten::isposinf", "aten::isneginf", "aten::isfinite", "aten::signbit")]
internal static class FloatClass
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = c.ToFloat(a.Tensor(0));
        var boolType = x.Type.WithElementType(DataType.Bool);
        return c.OpName switch
        {
            "aten::isnan" => c.Op("IsNaN", [x], boolType),
            "aten::isinf" => c.Op("IsInf", [x], boolType),
            "aten::isposinf" => c.Op("IsInf", [x], boolType, ("detect_negative", 0L)),
            "aten::isneginf" => c.Op("IsInf", [x], boolType, ("detect_positive", 0L)),
            "aten::signbit" => c.Op("Less", [x, c.Scalar(0, x.Type.ElementType)], boolType),
            _ => c.Op("Not", [c.Op("Or", [c.Op("IsNaN", [x], boolType), c.Op("IsInf", [x], boolType)], boolType)], boolType),
        };
    }
}
