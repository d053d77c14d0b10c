using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>select(x, dim, index)</c> (what <c>x[:, 0]</c> or <c>x[-1]</c> traces to) → Gather with a 0-d index, which drops
/// the dim; negative indices count from the end, and the index may be a run-time int. A static index into a static dim
/// records the view (<see cref="Value.View"/>) for in-place writes.
/// </summary>
[AtenOp("aten::select")]
internal static class Select
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim"), x.Type.Rank);
        var shape = x.Type.Shape!.Where((_, i) => i != axis).ToArray();
        var type = x.Type.WithShape(shape);
        var dynamic = a.Get(2, "index") switch
        {
            DynamicInt d => d.Scalar,
            Value v when !c.TryGetConstantInt64(v, out _) => v,
            _ => null,
        };
        if (dynamic is not null) return c.Op("Gather", [x, c.Cast(dynamic, DataType.Int64)], type, ("axis", axis));
        var i = a.Int(2, "index");
        var size = x.Type.Shape![axis].Value;
        if (size is { } n && i < 0) i += n;
        var result = c.Op("Gather", [x, c.ScalarInt64(i)], type, ("axis", axis));
        if (size is not null) result.View = new ViewOf(x, axis, i, i + 1, Squeezed: true);
        return result;
    }
}
