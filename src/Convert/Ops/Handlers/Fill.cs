using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>fill_(x, value)</c> / <c>zero_(x)</c>: value (a number or 0-d tensor, cast to x's type) expanded to x's shape. On a
/// slice the interpreter writes the result back into the sliced tensor (see <see cref="Views"/>).
/// </summary>
[AtenOp("aten::fill_", "aten::zero_")]
internal static class Fill
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var type = x.Type.ElementType;
        var value = c.Cast(c.AsTensor(c.OpName == "aten::zero_" ? 0L : a.Get(1, "value"), type), type);
        if (value.Type.Rank > 0) value = c.Op("Reshape", [value, c.ConstInt64([])], value.Type.WithShape([]));
        var shape = c.ShapeOf(x);
        return c.Op("Expand", [value, shape], x.Type);
    }
}
