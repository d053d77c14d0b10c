using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary><c>topk(x, k, dim=-1, largest=True, sorted=True)</c> → TopK; returns (values, int64 indices).</summary>
[AtenOp("aten::topk")]
internal static class TopK
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(2, "dim", -1), x.Type.Rank);
        object k = a.Get(1, "k") is DynamicInt dk ? dk : a.Int(1, "k");
        var shape = x.Type.Shape!.Select((d, i) => i == axis ? (k is long kl ? Dim.Of(kl) : Shapes.Unknown()) : d).ToArray();
        var outputs = c.OpMulti("TopK", [x, c.ShapeTensor([k])], [x.Type.WithShape(shape), TensorType.Of(DataType.Int64, shape)],
            ("axis", axis), ("largest", a.Bool(3, "largest", true) ? 1 : 0), ("sorted", a.Bool(4, "sorted", true) ? 1 : 0));
        return new TupleValue([outputs[0], outputs[1]]);
    }
}
