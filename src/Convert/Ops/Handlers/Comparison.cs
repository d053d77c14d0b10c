using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Comparison and logic: ops whose result is a bool tensor (eq, ne, gt, lt, ge, le, logical_not, bitwise_not).

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
