using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

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
