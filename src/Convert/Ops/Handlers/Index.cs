using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>index(x, indices)</c>: advanced indexing with integer tensors (<c>table[idx]</c>, <c>x[:, idx]</c>, <c>x[i, j]</c>).
/// One index tensor → Gather on its dim; several → the indexed dims moved to the front, the index tensors broadcast
/// and stacked, GatherND, and the result dims put where torch puts them (at the first indexed dim when the indexed
/// dims are adjacent, else in front). Boolean masks are refused: their result shape depends on the data.
/// </summary>
[AtenOp("aten::index")]
internal static class Index
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        IReadOnlyList<object?> list = a.Get(1, "indices") switch
        {
            List<object?> l => l,
            TupleValue t => t.Items,
            var other => throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} expects a list of index tensors, got {Interpreter.DescribeValue(other)}"),
        };
        var entries = list.Select((index, dim) => (Index: index, Dim: dim)).Where(e => e.Index is not null)
            .Select(e => (Index: e.Index as Value ?? throw c.Error(DiagnosticCode.InvalidOpArguments,
                $"{c.OpName} expects tensors or None as indices, got {Interpreter.DescribeValue(e.Index)}"), e.Dim)).ToList();
        if (entries.Any(e => e.Index.Type.ElementType is DataType.Bool or DataType.UInt8))
            throw c.Error(DiagnosticCode.UnsupportedConstruct, "indexing with a boolean mask gives a result whose shape depends on the data",
                "use torch.where or masked_fill, which keep the shape");
        var indices = entries.Select(e => c.Cast(e.Index, DataType.Int64)).ToList();
        var dims = entries.Select(e => e.Dim).ToArray();
        var shape = x.Type.Shape!;
        if (indices.Count == 1)
        {
            var gathered = shape.Take(dims[0]).Concat(indices[0].Type.Shape!).Concat(shape.Skip(dims[0] + 1)).ToArray();
            return c.Op("Gather", [x, indices[0]], x.Type.WithShape(gathered), ("axis", dims[0]));
        }
        var rest = Enumerable.Range(0, shape.Count).Where(i => !dims.Contains(i)).ToArray();
        var front = dims.Concat(rest).Select(i => (long)i).ToArray();
        var moved = front.Select((p, i) => p == i).All(same => same) ? x : Permute.Lower(c, x, front);
        var broadcast = Shapes.Broadcast(indices.Select(i => i.Type.Shape))!;
        var target = broadcast.All(d => d.IsStatic)
            ? c.ConstInt64(broadcast.Select(d => d.Value!.Value).ToArray())
            : c.Op("Shape", [indices.Aggregate((l, r) => c.Op("Add", [l, r], l.Type.WithShape(Shapes.Broadcast(l.Type.Shape, r.Type.Shape))))],
                   TensorType.Of(DataType.Int64, broadcast.Count));
        var stacked = c.Op("Concat", indices.Select(i => c.Unsqueeze(c.Op("Expand", [i, target], i.Type.WithShape(broadcast)), [-1])).ToArray(),
            TensorType.Of(DataType.Int64, [.. broadcast, Dim.Of(indices.Count)]), ("axis", -1));
        var result = c.Op("GatherND", [moved, stacked], x.Type.WithShape([.. broadcast, .. rest.Select(i => shape[i])]));
        var first = dims[0];
        var adjacent = dims.Select((d, i) => d == first + i).All(same => same);
        if (!adjacent || first == 0) return result;
        // torch keeps the dims before the first indexed one in front of the broadcast index dims.
        var n = broadcast.Count;
        var perm = Enumerable.Range(n, first).Concat(Enumerable.Range(0, n)).Concat(Enumerable.Range(n + first, rest.Length - first)).Select(i => (long)i).ToArray();
        return Permute.Lower(c, result, perm);
    }
}
