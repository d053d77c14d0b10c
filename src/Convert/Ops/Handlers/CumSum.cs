using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>cumsum(x, dim, dtype)</c> → CumSum. As in torch, integer and bool inputs sum in int64 unless <c>dtype</c> says
/// otherwise.
/// </summary>
[AtenOp("aten::cumsum")]
internal static class CumSum
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var type = a.Get(2, "dtype") is long scalarType && DataTypes.FromTorchScalarType(scalarType) is { } requested ? requested
            : x.Type.ElementType.IsFloatingPoint() ? x.Type.ElementType : DataType.Int64;
        var operand = c.Cast(x, type);
        return c.Op("CumSum", [operand, c.ScalarInt64(Shapes.NormalizeAxis(a.Int(1, "dim"), x.Type.Rank))], operand.Type);
    }
}
