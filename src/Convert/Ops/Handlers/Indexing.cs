using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Indexing: ops that pick elements by position (select, slice, index, embedding) and the write-back of
// in-place ops on the views they record.

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

/// <summary>
/// <c>slice(x, dim, start, end, step)</c> (what <c>x[:, a:b:s]</c> traces to) → Slice. Bounds may be None, huge
/// (<c>9223372036854775807</c> for "to the end"), negative or run-time ints, and clamp as in Python; a whole-dim slice
/// is the input itself. Static unit-step slices record the view they are (<see cref="Value.View"/>), so
/// an in-place op on them writes back into <c>x</c>.
/// </summary>
[AtenOp("aten::slice")]
internal static class Slice
{
    private const long End = long.MaxValue;

    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim", 0), x.Type.Rank);
        var step = a.Int(4, "step", 1);
        var start = Bound(a.Get(2, "start"), 0L);
        var end = Bound(a.Get(3, "end"), End);
        var size = x.Type.Shape![axis].Value;
        if (size is { } n && start is long s && end is long e)
        {
            var (from, to) = (Clamp(s, n), Clamp(e, n));
            if (from == 0 && to == n && step == 1) return x;
            var result = Static(c, x, axis, from, to, step);
            if (step == 1) result.View = new ViewOf(x, axis, from, to, Squeezed: false);
            return result;
        }
        if (start is 0L && end is End && step == 1) return x;
        var shape = x.Type.Shape!.Select((d, i) => i == axis ? Shapes.Unknown() : d).ToArray();
        return c.Op("Slice", [x, c.ShapeTensor([start]), c.ShapeTensor([end]), c.ConstInt64([axis]), c.ConstInt64([step])],
            x.Type.WithShape(shape));
    }

    /// <summary>A bound as a static long or a <see cref="DynamicInt"/>; None is <paramref name="none"/>.</summary>
    private static object Bound(object? bound, long none) => bound switch
    {
        null => none,
        long l => l,
        DynamicInt d => d,
        Value v => new DynamicInt(v),
        _ => throw new ArgumentException($"slice bound {Interpreter.DescribeValue(bound)}"),
    };

    private static long Clamp(long bound, long size) => Math.Clamp(bound < 0 ? bound + size : bound, 0, size);

    /// <summary><c>x[from:to:step]</c> along <paramref name="axis"/> with static bounds (negative ones count from the end, as in Python).</summary>
    public static Value Static(OpContext c, Value x, int axis, long from, long to, long step = 1)
    {
        var shape = x.Type.Shape!.ToArray();
        shape[axis] = shape[axis].Value is { } n && Clamp(from, n) is var f && Clamp(to, n) is var t
            ? Dim.Of(t > f ? (t - f + step - 1) / step : 0)
            : Shapes.Unknown();
        return c.Op("Slice", [x, c.ConstInt64([from]), c.ConstInt64([to]), c.ConstInt64([axis]), c.ConstInt64([step])], x.Type.WithShape(shape));
    }
}

/// <summary>
/// Writing an in-place result back into the tensor a view came from: <c>m[0:4, 2:4].fill_(1)</c> (Swin's shifted-window
/// mask) changes <c>m</c>. The interpreter calls <see cref="WriteBack"/> for each level of <see cref="Value.View"/>.
/// </summary>
internal static class Views
{
    /// <summary>The base tensor with the viewed range replaced by <paramref name="update"/>: Concat(before, update, after).</summary>
    public static Value WriteBack(OpContext c, ViewOf view, Value update)
    {
        var (source, axis) = (view.Base, view.Axis);
        if (view.Squeezed) update = c.Unsqueeze(update, [axis]);
        update = c.Cast(update, source.Type.ElementType);
        var pieces = new List<Value>();
        if (view.Start > 0) pieces.Add(Slice.Static(c, source, axis, 0, view.Start));
        pieces.Add(update);
        if (source.Type.Shape![axis].Value is not { } size || view.End < size) pieces.Add(Slice.Static(c, source, axis, view.End, long.MaxValue));
        return pieces.Count == 1 ? update : c.Op("Concat", pieces, source.Type, ("axis", axis));
    }
}

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

/// <summary>
/// <c>embedding(weight, indices, padding_idx, scale_grad_by_freq, sparse)</c> → Gather along the rows of the
/// weight: indices [*] give [*, embedding_dim]. padding_idx and the gradient flags only matter in training.
/// </summary>
[AtenOp("aten::embedding")]
internal static class Embedding
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (weight, indices) = (a.Tensor(0), a.Tensor(1));
        var shape = indices.Type.Shape!.Append(weight.Type.Shape![1]).ToArray();
        return c.Op("Gather", [weight, indices], weight.Type.WithShape(shape), ("axis", 0));
    }
}
