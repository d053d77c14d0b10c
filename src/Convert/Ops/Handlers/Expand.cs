using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>expand(x, size)</c> → Expand, a −1 entry keeping x's dim (ONNX Expand broadcasts, so −1 becomes 1);
/// <c>expand_as(x, other)</c> → Expand to other's shape.
/// </summary>
[AtenOp("aten::expand", "aten::expand_as")]
internal static class Expand
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        if (c.OpName == "aten::expand_as")
        {
            var other = a.Tensor(1);
            var target = c.ShapeOf(other);
            return c.Op("Expand", [x, target], x.Type.WithShape(other.Type.Shape));
        }
        var sizes = a.SymInts(1, "size");
        var lead = sizes.Count - x.Type.Rank;
        var shape = sizes.Select((s, i) => s switch
        {
            -1L => x.Type.Shape![i - lead],
            long l => Dim.Of(l),
            DynamicInt d => d.Scalar.SizeOf ?? Shapes.Unknown(),
            _ => Shapes.Unknown(),
        }).ToArray();
        var broadcastSizes = sizes.Select(s => s is -1L ? (object)1L : s).ToArray();
        return c.Op("Expand", [x, c.ShapeTensor(broadcastSizes)], x.Type.WithShape(shape));
    }
}
