using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary><c>masked_fill(x, mask, value)</c> → Where(mask, value, x); the value is a number or a 0-d tensor, cast to x's type.</summary>
[AtenOp("aten::masked_fill", "aten::masked_fill_")]
internal static class MaskedFill
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (x, mask) = (a.Tensor(0), a.Tensor(1));
        var value = c.Cast(c.AsTensor(a.Get(2, "value"), x.Type.ElementType), x.Type.ElementType);
        var condition = c.Cast(mask, DataType.Bool);
        return c.Op("Where", [condition, value, x], x.Type.WithShape(Shapes.Broadcast(x.Type.Shape, mask.Type.Shape)));
    }
}
