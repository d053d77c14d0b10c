using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary><c>eq(a, b)</c> → Equal on the promoted type (bool result, broadcast).</summary>
[AtenOp("aten::eq")]
internal static class Eq
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a.Get(0), a.Get(1));

    public static Value Lower(OpContext c, object? left, object? right)
    {
        var type = Binary.ResultType(left, right);
        var x = c.Cast(c.AsTensor(left, type), type);
        var y = c.Cast(c.AsTensor(right, type), type);
        return c.Op("Equal", [x, y], TensorType.Of(DataType.Bool).WithShape(Shapes.Broadcast(x.Type.Shape, y.Type.Shape)));
    }
}

/// <summary><c>ne(a, b)</c> → Not(Equal).</summary>
[AtenOp("aten::ne")]
internal static class Ne
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var equal = Eq.Lower(c, a.Get(0), a.Get(1));
        return c.Op("Not", [equal], equal.Type);
    }
}
