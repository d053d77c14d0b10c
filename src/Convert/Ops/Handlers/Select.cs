using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary><c>select(x, dim, index)</c> (what <c>x[-1]</c> traces to) → Gather with a 0-d index, which drops the dim; negative indices count from the end in both.</summary>
[AtenOp("aten::select")]
internal static class Select
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim"), x.Type.Rank);
        var index = a.Get(2, "index") is DynamicInt dynamic ? dynamic.Scalar : c.ScalarInt64(a.Int(2, "index"));
        return c.Op("Gather", [x, index], x.Type.WithShape(x.Type.Shape!.Where((_, i) => i != axis).ToArray()), ("axis", axis));
    }
}
