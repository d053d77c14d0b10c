using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary><c>masked_fill(x, mask, value)</c> → Where(mask, value, x), the value (a number or a 0-d tensor) cast to x's type.</summary>
[AtenOp("aten::masked_fill", "aten::masked_fill_")]
internal static class MaskedFill
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var mask = c.Cast(a.Tensor(1), DataType.Bool);
        var type = x.Type.ElementType;
        var value = c.Cast(c.AsTensor(a.Get(2, "value"), type), type);
        return c.Op("Where", [mask, value, x], x.Type.WithShape(Shapes.Broadcast(x.Type.Shape, mask.Type.Shape)));
    }
}
