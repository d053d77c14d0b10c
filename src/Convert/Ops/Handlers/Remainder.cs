using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

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
