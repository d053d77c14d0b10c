using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

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
