using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>remainder(a, b)</c> (Python's <c>%</c>: the sign of the divisor). Integers → Mod(fmod=0), exact; floats →
/// a − floor(a / b)·b, torch's own formula.
/// </summary>
[AtenOp("aten::remainder", "aten::remainder_")]
internal static class Remainder
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var type = Binary.ResultType(a.Get(0), a.Get(1));
        if (!type.IsFloatingPoint())
            return Binary.Lower(c, "Mod", a.Get(0), a.Get(1), (x, y) => ((x % y) + y) % y);
        var (x, y) = (c.Cast(c.AsTensor(a.Get(0), type), type), c.Cast(c.AsTensor(a.Get(1), type), type));
        var quotient = c.Op("Floor", [c.Op("Div", [x, y], x.Type.WithShape(Shapes.Broadcast(x.Type.Shape, y.Type.Shape)))],
            x.Type.WithShape(Shapes.Broadcast(x.Type.Shape, y.Type.Shape)));
        return c.Op("Sub", [x, c.Op("Mul", [quotient, y], quotient.Type)], quotient.Type);
    }
}
