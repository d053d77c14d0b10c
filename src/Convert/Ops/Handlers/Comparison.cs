using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

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
