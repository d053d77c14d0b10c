using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Indexing: ops that pick elements by position (select, slice, narrow, flip, rot90, diagonal, unfold, index, index_select,
// gather, take, take_along_dim, nonzero, embedding (also with max_norm), embedding_bag, one_hot, as_strided) or write them
// (index_put_, index_fill/index_add, scatter and its reductions), and the write-back of in-place ops on the views they record.

/// <summary>
/// <c>select(x, dim, index)</c> (what <c>x[:, 0]</c> or <c>x[-1]</c> traces to) → Gather with a 0-d index, which drops
/// the dim; negative indices count from the end, and the index may be a run-time int. The result records the view it is
/// (<see cref="Value.View"/>) for in-place writes: a range where the position is known, else the run-time index.
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
        if (dynamic is not null)
        {
            var index = c.Cast(dynamic, DataType.Int64);
            var picked = c.Op("Gather", [x, index], type, ("axis", axis));
            picked.View = new StridedView(x, axis, index, End: null, Step: 1);
            return picked;
        }
        var i = a.Int(2, "index");
        var size = x.Type.Shape![axis].Value;
        if (size is { } n && i < 0) i += n;
        var position = c.ScalarInt64(i);
        var result = c.Op("Gather", [x, position], type, ("axis", axis));
        // x[-1] of a dim known only at run time: the position is known only then.
        result.View = i >= 0 ? new RangeView(x, axis, i, i + 1, Squeezed: true) : new StridedView(x, axis, position, End: null, Step: 1);
        return result;
    }
}

/// <summary>
/// <c>slice(x, dim, start, end, step)</c> (what <c>x[:, a:b:s]</c> traces to) → Slice. Bounds may be None, huge
/// (<c>9223372036854775807</c> for "to the end"), negative or run-time ints, and clamp as in Python; a whole-dim slice
/// is the input itself. Every slice records the view it is (<see cref="Value.View"/>), so an in-place op on it writes
/// back into <c>x</c>: a range where the bounds are known, else the bounds and step as run-time values.
/// </summary>
[AtenOp("aten::slice")]
internal static class Slice
{
    private const long End = long.MaxValue;

    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        return Lower(c, x, Shapes.NormalizeAxis(a.Int(1, "dim", 0), x.Type.Rank), Bound(a.Get(2, "start"), 0L), Bound(a.Get(3, "end"), End),
            a.Int(4, "step", 1));
    }

    /// <summary><c>x[start:end:step]</c> along <paramref name="axis"/>, bounds static longs or <see cref="DynamicInt"/>s, with its view recorded.</summary>
    public static Value Lower(OpContext c, Value x, int axis, object start, object end, long step)
    {
        var size = x.Type.Shape![axis].Value;
        if (size is { } n && start is long s && end is long e)
        {
            var (from, to) = (Clamp(s, n), Clamp(e, n));
            if (from == 0 && to == n && step == 1) return x;
            var result = Static(c, x, axis, from, to, step);
            result.View = new RangeView(x, axis, from, to, Squeezed: false, step);
            return result;
        }
        if (start is 0L && end is End && step == 1) return x;
        // A dim known only at run time (MViT v2's tokens, `x[:, :, 1:, :] += q[:, :, 1:, :]`): non-negative static
        // bounds still say which part a view covers, so an in-place op on it writes back.
        if (start is long first and >= 0 && end is long last and >= 0 && step == 1)
        {
            var view = Static(c, x, axis, first, last);
            view.View = new RangeView(x, axis, first, last, Squeezed: false);
            return view;
        }
        var shape = x.Type.Shape!.Select((d, i) => i == axis ? Shapes.Unknown() : d).ToArray();
        var sliced = c.Op("Slice", [x, c.ShapeTensor([start]), c.ShapeTensor([end]), c.ConstInt64([axis]), c.ConstInt64([step])],
            x.Type.WithShape(shape));
        sliced.View = new StridedView(x, axis, Scalar(c, start), Scalar(c, end), step);
        return sliced;
    }

    private static Value Scalar(OpContext c, object bound) =>
        bound is long l ? c.ScalarInt64(l) : c.Cast(((DynamicInt)bound).Scalar, DataType.Int64);

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
/// mask) changes <c>m</c>. Slices and selects record their views themselves; <see cref="Record"/> gives the results of
/// the other ops that return views in torch theirs. The interpreter calls <see cref="WriteBack"/> for each level of
/// <see cref="Value.View"/>, and refuses an in-place op on an <see cref="OpaqueView"/> rather than lose its change.
/// </summary>
internal static class Views
{
    /// <summary>The aten ops whose result shares its first argument's storage in torch, besides slice, select and narrow.</summary>
    private static readonly HashSet<string> ViewOps =
    [
        "aten::transpose", "aten::swapaxes", "aten::swapdims", "aten::permute", "aten::numpy_T", "aten::t", "aten::movedim",
        "aten::moveaxis", "aten::view", "aten::view_as", "aten::unsqueeze", "aten::squeeze", "aten::reshape", "aten::reshape_as",
        "aten::_reshape_alias", "aten::_reshape_from_tensor", "aten::flatten", "aten::unflatten", "aten::expand",
        "aten::expand_as", "aten::broadcast_to", "aten::diagonal", "aten::unfold", "aten::as_strided", "aten::chunk",
        "aten::split", "aten::split_with_sizes", "aten::unsafe_chunk", "aten::unsafe_split", "aten::unsafe_split_with_sizes",
        "aten::tensor_split", "aten::hsplit", "aten::vsplit", "aten::dsplit", "aten::unbind",
    ];

    /// <summary>Ops that return a view, or a copy when the input's strides do not allow one: a view only of a tensor that is no view itself.</summary>
    private static readonly HashSet<string> ViewOrCopyOps =
        ["aten::reshape", "aten::reshape_as", "aten::_reshape_from_tensor", "aten::flatten", "aten::unflatten"];

    /// <summary>In-place ops that change only the view's own shape (<c>x.unsqueeze_(0)</c>), not the elements it shares.</summary>
    public static bool ChangesOnlyTheView(string op) => op is "aten::transpose_" or "aten::t_" or "aten::unsqueeze_" or "aten::squeeze_";

    /// <summary>
    /// Records on each tensor <paramref name="op"/> returned (one, or a list of pieces) the view of <paramref name="args"/>[0]
    /// it is: permuted or reshaped where its node says how, opaque otherwise. A result that is the input itself, or
    /// already has its view, is left as it is.
    /// </summary>
    public static void Record(string op, IReadOnlyList<object?> args, object? result, SourceLocation location)
    {
        if (!ViewOps.Contains(op) || args is not [Value x, ..]) return;
        IEnumerable<object?> pieces = result is List<object?> list ? list : [result];
        foreach (var piece in pieces)
            if (piece is Value v && !ReferenceEquals(v, x) && v.View is null)
                v.View = Of(op, x, v, location);
    }

    private static ViewOf Of(string op, Value x, Value result, SourceLocation location)
    {
        var node = result.Producer;
        var fromX = node is not null && ReferenceEquals(node.Inputs.FirstOrDefault(), x);
        if (fromX && node!.OpType == "Transpose") return new PermutedView(x, (long[])node.Attributes["perm"].Value);
        if (fromX && node!.OpType is "Reshape" or "Flatten" or "Squeeze" or "Unsqueeze")
            return !ViewOrCopyOps.Contains(op) || x.View is null or ReshapedView ? new ReshapedView(x)
                : new OpaqueView(x, op, $"it reshapes a {Kind(x.View)} tensor, which torch copies or views depending on its strides", location);
        return new OpaqueView(x, op, op switch
        {
            "aten::expand" or "aten::expand_as" or "aten::broadcast_to" => "its elements repeat those of the tensor it expands",
            "aten::diagonal" or "aten::unfold" or "aten::as_strided" => "its elements are scattered over the tensor it views",
            _ when op.Contains("split") || op.Contains("chunk") => "its position in the tensor it splits is known only at run time",
            _ => "the converted graph does not keep where its elements lie in the tensor it views",
        }, location);
    }

    /// <summary>
    /// Whether torch lays <paramref name="x"/> out contiguously (so <c>contiguous()</c> returns it, not a copy): a computed
    /// tensor is; a slice or select is when its base is and every dim before its axis has size 1 (a step-1 slice); a
    /// transpose is when it keeps the order of the dims that are not 1; a reshape is when its base is. A dim known only at
    /// run time counts as not 1 (torch decides per call: <c>x[:, 1:]</c> of a batch of one is contiguous).
    /// </summary>
    public static bool IsContiguous(Value x) => x.View switch
    {
        null => true,
        RangeView range => range.Step == 1 && OnesBefore(range.Base, range.Axis) && IsContiguous(range.Base),
        StridedView strided => strided.Step == 1 && OnesBefore(strided.Base, strided.Axis) && IsContiguous(strided.Base),
        PermutedView permuted => KeepsOrder(permuted) && IsContiguous(permuted.Base),
        ReshapedView reshaped => IsContiguous(reshaped.Base),
        _ => false,
    };

    private static bool OnesBefore(Value x, int axis) => x.Type.Shape is { } shape && shape.Take(axis).All(d => d.Value == 1);

    private static bool KeepsOrder(PermutedView view) =>
        view.Base.Type.Shape is { } shape &&
        view.Perm.Where(axis => shape[(int)axis].Value != 1).Zip(view.Perm.Where(axis => shape[(int)axis].Value != 1).Skip(1)).All(p => p.First < p.Second);

    /// <summary>What <paramref name="view"/> makes of its base, for messages: "slice", "transposed", …</summary>
    public static string Kind(ViewOf view) => view switch
    {
        RangeView or StridedView => "slice",
        PermutedView => "transposed",
        ReshapedView => "reshaped",
        OpaqueView { Op: "aten::expand" or "aten::expand_as" or "aten::broadcast_to" } => "expanded",
        OpaqueView opaque => $"{opaque.Op} view",
        _ => view.GetType().Name,
    };

    /// <summary>The base tensor (<paramref name="view"/>'s Base as it is now) with the viewed elements replaced by <paramref name="update"/>.</summary>
    public static Value WriteBack(OpContext c, ViewOf view, Value update)
    {
        var source = view.Base;
        update = c.Cast(update, source.Type.ElementType);
        return view switch
        {
            RangeView { Step: 1 } range => Concat(c, range, update),
            RangeView range => Scatter(c, source, range.Axis, update,
                c.ConstInt64([.. Enumerable.Range(0, (int)Math.Max(0, (range.End - range.Start + range.Step - 1) / range.Step)).Select(k => range.Start + k * range.Step)])),
            StridedView strided => Scatter(c, strided, update),
            PermutedView permuted => Permute.Lower(c, update, Permute.Inverse(permuted.Perm)),
            ReshapedView => c.Op("Reshape", [update, c.ShapeOf(source)], source.Type),
            OpaqueView opaque => throw c.Error(DiagnosticCode.InPlaceOnUnwritableView,
                $"{c.OpName} changes in place the result of {opaque.Op} at {opaque.Location.File}({opaque.Location.Line})" +
                (opaque.Location.PythonSource is { } python ? $" (`{python.Trim()}`)" : "") +
                $", a view of a {source.Type} tensor whose change ModelForge cannot write back: {opaque.Reason}; in torch the change reaches that tensor too",
                $"compute the new values out of place and build the tensor from them (torch.cat, torch.where, index_put), or " +
                $"call .clone() on the result of {opaque.Op} where the tensor it views must not change"),
            _ => throw new ArgumentException($"view {view.GetType().Name}"),
        };
    }

    /// <summary>
    /// <paramref name="view"/> taken from its Base as it is now, in place of <paramref name="stale"/> (the view taken
    /// before): the other direction of <see cref="WriteBack"/>, for a view read after its base changed in place.
    /// </summary>
    public static Value Retake(OpContext c, ViewOf view, Value stale)
    {
        var (source, type) = (view.Base, stale.Type);
        return view switch
        {
            RangeView range => range.Squeezed
                ? c.Op("Gather", [source, c.ScalarInt64(range.Start)], type, ("axis", range.Axis))
                : c.Op("Slice", [source, c.ConstInt64([range.Start]), c.ConstInt64([range.End]), c.ConstInt64([range.Axis]), c.ConstInt64([range.Step])], type),
            StridedView { End: null } strided => c.Op("Gather", [source, strided.Start], type, ("axis", strided.Axis)),
            StridedView strided => c.Op("Slice", [source, c.Unsqueeze(strided.Start, [0]), c.Unsqueeze(strided.End!, [0]),
                c.ConstInt64([strided.Axis]), c.ConstInt64([strided.Step])], type),
            PermutedView permuted => c.Op("Transpose", [source], type, ("perm", permuted.Perm)),
            ReshapedView => c.Op("Reshape", [source, c.ShapeOf(stale)], type),
            OpaqueView opaque => throw c.Error(DiagnosticCode.InPlaceOnUnwritableView,
                $"the result of {opaque.Op} at {opaque.Location.File}({opaque.Location.Line})" +
                (opaque.Location.PythonSource is { } python ? $" (`{python.Trim()}`)" : "") +
                $" is read after the {source.Type} tensor it views changed in place; in torch it shows the change, and ModelForge " +
                $"cannot take that view again: {opaque.Reason}",
                $"call .clone() on the result of {opaque.Op} if it must keep the old values, or compute it after the change"),
            _ => throw new ArgumentException($"view {view.GetType().Name}"),
        };
    }

    /// <summary>Concat(before, update, after) along the range's axis.</summary>
    private static Value Concat(OpContext c, RangeView view, Value update)
    {
        var (source, axis) = (view.Base, view.Axis);
        if (view.Squeezed) update = c.Unsqueeze(update, [axis]);
        var pieces = new List<Value>();
        if (view.Start > 0) pieces.Add(Slice.Static(c, source, axis, 0, view.Start));
        pieces.Add(update);
        if (source.Type.Shape![axis].Value is not { } size || view.End < size) pieces.Add(Slice.Static(c, source, axis, view.End, long.MaxValue));
        return pieces.Count == 1 ? update : c.Op("Concat", pieces, source.Type, ("axis", axis));
    }

    /// <summary>
    /// A view at run-time positions: Range(start, end, step) of the bounds normalized as Slice does (negative ones count
    /// from the end, then clamped to [0, size]), or the one position of a select.
    /// </summary>
    private static Value Scatter(OpContext c, StridedView view, Value update)
    {
        var (source, axis) = (view.Base, view.Axis);
        var scalar = TensorType.Scalar(DataType.Int64);
        var size = source.Type.Shape![axis].Value is { } n ? c.ScalarInt64(n) : c.DimSize(source, axis);
        var first = Position(c, view.Start, size);
        Value last;
        if (view.End is { } end) last = Position(c, end, size);
        else
        {
            update = c.Unsqueeze(update, [axis]);
            last = c.Op("Add", [first, c.ScalarInt64(1)], scalar);
        }
        return Scatter(c, source, axis, update, c.Op("Range", [first, last, c.ScalarInt64(view.Step)], TensorType.Of(DataType.Int64, Shapes.Unknown())));
    }

    /// <summary>ScatterElements of <paramref name="update"/> into <paramref name="source"/> at <paramref name="positions"/> (1-D) along <paramref name="axis"/>.</summary>
    private static Value Scatter(OpContext c, Value source, int axis, Value update, Value positions)
    {
        var alongAxis = Enumerable.Range(0, source.Type.Rank).Select(i => i == axis ? -1L : 1L).ToArray();
        var indexType = TensorType.Of(DataType.Int64).WithShape(update.Type.Shape);
        var indices = c.Op("Expand", [c.Op("Reshape", [positions, c.ConstInt64(alongAxis)], TensorType.Of(DataType.Int64, source.Type.Rank)),
            c.ShapeOf(update)], indexType);
        return c.Op("ScatterElements", [source, indices, update], source.Type, ("axis", axis));
    }

    /// <summary>A slice bound as a position in [0, size]: size added to a negative one, then clamped.</summary>
    private static Value Position(OpContext c, Value bound, Value size)
    {
        var scalar = TensorType.Scalar(DataType.Int64);
        Value Add() => c.Op("Add", [bound, size], scalar);
        // A static bound needs one side of the clamp only (and long.MaxValue, "to the end", must not meet an Add).
        if (c.TryGetConstantInt64(bound, out var known))
            return known >= 0 ? c.Op("Min", [bound, size], scalar) : c.Op("Max", [Add(), c.ScalarInt64(0)], scalar);
        var negative = c.Op("Less", [bound, c.ScalarInt64(0)], TensorType.Scalar(DataType.Bool));
        var fromEnd = c.Op("Where", [negative, Add(), bound], scalar);
        return c.Op("Max", [c.Op("Min", [fromEnd, size], scalar), c.ScalarInt64(0)], scalar);
    }
}

/// <summary>
/// <c>index(x, indices)</c>: advanced indexing with integer tensors (<c>table[idx]</c>, <c>x[:, idx]</c>, <c>x[i, j]</c>).
/// One index tensor → Gather on its dim; several → GatherND on the <see cref="AdvancedIndex"/> layout, with the result dims
/// put where torch puts them. One boolean mask selects elements (<see cref="Masked"/>): the result's size depends on the data.
/// </summary>
[AtenOp("aten::index")]
internal static class Index
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var entries = AdvancedIndex.Entries(c, a.Get(1, "indices"));
        if (entries is [{ Index.Type.ElementType: DataType.Bool or DataType.UInt8 } mask] && Masked(c, x, c.Cast(mask.Index, DataType.Bool), mask.Dim) is { } selected)
            return selected;
        if (entries.Any(e => e.Index.Type.ElementType is DataType.Bool or DataType.UInt8))
            throw c.Error(DiagnosticCode.UnsupportedConstruct, "indexing with a boolean mask together with other indices, or a mask over dims after the first, is not supported",
                "index with the mask alone (x[mask], x[:, mask1d]) or use torch.where or masked_fill, which keep the shape");
        if (entries.Count == 1)
        {
            var (index, dim) = (c.Cast(entries[0].Index, DataType.Int64), entries[0].Dim);
            var shape = x.Type.Shape!;
            var gathered = shape.Take(dim).Concat(index.Type.Shape!).Concat(shape.Skip(dim + 1)).ToArray();
            return c.Op("Gather", [x, index], x.Type.WithShape(gathered), ("axis", dim));
        }
        var layout = AdvancedIndex.Of(c, x, entries);
        var result = c.Op("GatherND", [layout.Moved, layout.Stacked], layout.Moved.Type.WithShape(layout.ResultShape));
        return layout.TorchOrder is { } perm ? Permute.Lower(c, result, perm) : result;
    }

    /// <summary>
    /// <c>x[mask]</c>: the elements (rows) where the mask over dims dim.. holds, in row-major order, as one dim of run-time
    /// size (a detector's <c>boxes[scores &gt; threshold]</c>). A 1-D mask → Compress on its dim; a mask over several leading
    /// dims → GatherND of its NonZero positions. Null for a multi-dim mask that does not start at dim 0.
    /// </summary>
    private static Value? Masked(OpContext c, Value x, Value mask, int dim)
    {
        var (shape, maskRank) = (x.Type.Shape!, mask.Type.Rank);
        Dim[] resultShape = [.. shape.Take(dim), Shapes.Unknown(), .. shape.Skip(dim + maskRank)];
        if (maskRank == 1)
            return c.Op("Compress", [x, mask], x.Type.WithShape(resultShape), ("axis", dim));
        if (dim != 0) return null;
        return c.Op("GatherND", [x, Permute.Lower(c, NonZero.Positions(c, mask), [1, 0])], x.Type.WithShape(resultShape));
    }
}

/// <summary>
/// <c>index_put_(x, indices, values, accumulate)</c> (what <c>x[:, idx] = v</c> traces to) and <c>index_put</c>. Integer
/// indices → ScatterND on the <see cref="AdvancedIndex"/> layout, values broadcast to what <c>x[indices]</c> would be
/// (torch's layout, then moved), and the dims moved back; accumulate adds (ScatterND's add reduction, from opset 16).
/// One boolean mask over x's leading dims with a single value (<c>x[x &lt; 0] = 0</c>) → Where, at every opset.
/// </summary>
[AtenOp("aten::index_put_", "aten::index_put")]
internal static class IndexPut
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, accumulateAllowed: false);

    [Opset(16)]
    private static object? V16(OpContext c, OpArgs a) => Lower(c, a, accumulateAllowed: true);

    private static Value Lower(OpContext c, OpArgs a, bool accumulateAllowed)
    {
        var x = a.Tensor(0);
        var entries = AdvancedIndex.Entries(c, a.Get(1, "indices"));
        var values = c.Cast(c.AsTensor(a.Get(2, "values"), x.Type.ElementType), x.Type.ElementType);
        var accumulate = a.Bool(3, "accumulate", false);
        if (entries is [{ Index.Type.ElementType: DataType.Bool or DataType.UInt8 } mask])
            return Masked(c, x, c.Cast(mask.Index, DataType.Bool), values, accumulate);
        if (accumulate && !accumulateAllowed) throw c.NeedsOpset(16, "accumulate=True");

        var layout = AdvancedIndex.Of(c, x, entries);
        var resultType = layout.Moved.Type.WithShape(layout.ResultShape);
        var movedShape = resultType.IsFullyStatic ? c.ConstInt64(resultType.StaticShape())
            : c.Op("Shape", [c.Op("GatherND", [layout.Moved, layout.Stacked], resultType)], TensorType.Of(DataType.Int64, resultType.Rank));
        Value updates;
        if (layout.TorchOrder is { } perm)
        {
            // values broadcast against x[indices] as torch lays it out, then moved to the GatherND layout.
            var inverse = Permute.Inverse(perm);
            var torchShape = c.Op("Gather", [movedShape, c.ConstInt64(perm)], movedShape.Type, ("axis", 0));
            var torchType = resultType.WithShape(perm.Select(p => layout.ResultShape[(int)p]).ToArray());
            updates = Permute.Lower(c, c.Op("Expand", [values, torchShape], torchType), inverse);
        }
        else updates = c.Op("Expand", [values, movedShape], resultType);
        var scattered = accumulate
            ? c.Op("ScatterND", [layout.Moved, layout.Stacked, updates], layout.Moved.Type, ("reduction", "add"))
            : c.Op("ScatterND", [layout.Moved, layout.Stacked, updates], layout.Moved.Type);
        return layout.Front.Select((p, i) => p == i).All(same => same) ? scattered : Permute.Lower(c, scattered, Permute.Inverse(layout.Front));
    }

    private static Value Masked(OpContext c, Value x, Value mask, Value values, bool accumulate)
    {
        if (values.Type.Shape is not { } shape || shape.Any(d => d.Value != 1))
            throw c.Error(DiagnosticCode.UnsupportedConstruct, $"{c.OpName} with a boolean mask and values {values.Type} depends on how many elements the mask selects",
                "assign a single value, or use torch.where");
        var scalar = shape.Count == 0 ? values : c.Op("Reshape", [values, c.ConstInt64([])], values.Type.WithShape([]));
        var trailing = x.Type.Rank - mask.Type.Rank;
        var condition = trailing == 0 ? mask : c.Unsqueeze(mask, Enumerable.Range(mask.Type.Rank, trailing).Select(i => (long)i).ToArray());
        var replacement = accumulate ? c.Op("Add", [x, scalar], x.Type) : scalar;
        return c.Op("Where", [condition, replacement, x], x.Type);
    }
}

/// <summary>
/// The layout advanced indexing with several integer tensors works in: the indexed dims of x moved to the front
/// (<see cref="Front"/>, <see cref="Moved"/>), the index tensors broadcast and stacked on a last axis (<see cref="Stacked"/>),
/// so that GatherND/ScatterND address [*broadcast, *rest] (<see cref="ResultShape"/>). torch puts the broadcast dims at the
/// first indexed dim when the indexed dims are adjacent, else in front; <see cref="TorchOrder"/> is the Transpose from this
/// layout to torch's, null when they agree.
/// </summary>
internal sealed record AdvancedIndex(Value Moved, Value Stacked, long[] Front, IReadOnlyList<Dim> ResultShape, long[]? TorchOrder)
{
    /// <summary>The non-None entries of an indices list with the dim each indexes.</summary>
    public static List<(Value Index, int Dim)> Entries(OpContext c, object? indices)
    {
        IReadOnlyList<object?> list = indices switch
        {
            List<object?> l => l,
            TupleValue t => t.Items,
            var other => throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} expects a list of index tensors, got {Interpreter.DescribeValue(other)}"),
        };
        return list.Select((index, dim) => (Index: index, Dim: dim)).Where(e => e.Index is not null)
            .Select(e => (e.Index as Value ?? throw c.Error(DiagnosticCode.InvalidOpArguments,
                $"{c.OpName} expects tensors or None as indices, got {Interpreter.DescribeValue(e.Index)}"), e.Dim)).ToList();
    }

    public static AdvancedIndex Of(OpContext c, Value x, List<(Value Index, int Dim)> entries)
    {
        var indices = entries.Select(e => c.Cast(e.Index, DataType.Int64)).ToList();
        var dims = entries.Select(e => e.Dim).ToArray();
        var shape = x.Type.Shape!;
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
        var first = dims[0];
        var adjacent = dims.Select((d, i) => d == first + i).All(same => same);
        long[]? torchOrder = null;
        if (adjacent && first > 0)
        {
            // torch keeps the dims before the first indexed one in front of the broadcast index dims.
            var n = broadcast.Count;
            torchOrder = Enumerable.Range(n, first).Concat(Enumerable.Range(0, n)).Concat(Enumerable.Range(n + first, rest.Length - first)).Select(i => (long)i).ToArray();
        }
        return new AdvancedIndex(moved, stacked, front, [.. broadcast, .. rest.Select(i => shape[i])], torchOrder);
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

/// <summary>
/// <c>one_hot(indices, num_classes)</c> with a constant num_classes → OneHot with values [0, 1] (int64, as torch):
/// indices [*] give [*, num_classes]. num_classes = −1 (max index + 1) depends on the data, so it is refused.
/// </summary>
[AtenOp("aten::one_hot")]
internal static class OneHot
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var indices = a.Tensor(0);
        var classes = a.Int(1, "num_classes", -1);
        if (classes < 0)
            throw c.Error(DiagnosticCode.StaticValueRequired, "one_hot without num_classes: the number of classes would depend on the data",
                "pass num_classes to F.one_hot");
        var shape = indices.Type.Shape!.Append(Dim.Of(classes)).ToArray();
        return c.Op("OneHot", [indices, c.ConstInt64([classes]), c.ConstInt64([0, 1])], TensorType.Of(DataType.Int64, shape), ("axis", -1));
    }
}

/// <summary>
/// <c>flip(x, dims)</c> → one Slice running backwards (start −1, end before the first element, step −1) on each dim;
/// <c>fliplr</c> flips dim 1, <c>flipud</c> dim 0.
/// </summary>
[AtenOp("aten::flip", "aten::fliplr", "aten::flipud")]
internal static class Flip
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        long[] dims = c.OpName switch
        {
            "aten::fliplr" => [1],
            "aten::flipud" => [0],
            _ => a.Ints(1, "dims").Select(d => (long)Shapes.NormalizeAxis(d, x.Type.Rank)).ToArray(),
        };
        return Lower(c, x, dims);
    }

    public static Value Lower(OpContext c, Value x, long[] dims)
    {
        if (dims.Length == 0) return x;
        long[] Each(long value) => Enumerable.Repeat(value, dims.Length).ToArray();
        return c.Op("Slice", [x, c.ConstInt64(Each(-1)), c.ConstInt64(Each(long.MinValue)), c.ConstInt64(dims), c.ConstInt64(Each(-1))], x.Type);
    }
}

/// <summary>
/// <c>rot90(x, k, dims)</c>: k quarter turns from dims[0] towards dims[1], as torch: k ≡ 1 flips dims[1] then swaps the two,
/// k ≡ 2 flips both, k ≡ 3 flips dims[0] then swaps.
/// </summary>
[AtenOp("aten::rot90")]
internal static class Rot90
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var turns = ((a.Int(1, "k", 1) % 4) + 4) % 4;
        var dims = a.Ints(2, "dims").Select(d => (long)Shapes.NormalizeAxis(d, x.Type.Rank)).ToArray();
        var swap = Enumerable.Range(0, x.Type.Rank).Select(i => i == dims[0] ? dims[1] : i == dims[1] ? dims[0] : (long)i).ToArray();
        return turns switch
        {
            1 => Permute.Lower(c, Flip.Lower(c, x, [dims[1]]), swap),
            2 => Flip.Lower(c, x, dims),
            3 => Permute.Lower(c, Flip.Lower(c, x, [dims[0]]), swap),
            _ => x,
        };
    }
}

/// <summary>
/// <c>diagonal(x, offset, dim1, dim2)</c>: the two dims moved last and merged, then Gather of the constant positions
/// i·n2 + i + offset; the diagonal becomes the last dim, as in torch. Both dims must be static.
/// </summary>
[AtenOp("aten::diagonal")]
internal static class Diagonal
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var rank = x.Type.Rank;
        var offset = a.Int(1, "offset", 0);
        var (first, second) = (Shapes.NormalizeAxis(a.Int(2, "dim1", 0), rank), Shapes.NormalizeAxis(a.Int(3, "dim2", 1), rank));
        var (rows, columns) = (Chunk.StaticSize(c, x, first), Chunk.StaticSize(c, x, second));
        var perm = Enumerable.Range(0, rank).Where(i => i != first && i != second).Append(first).Append(second).Select(i => (long)i).ToArray();
        var moved = Permute.Lower(c, x, perm);
        var kept = moved.Type.Shape!.SkipLast(2).ToArray();
        var merged = Reshape.To(c, moved, [.. c.Sizes(moved).SkipLast(2), rows * columns]);
        var (row0, column0) = offset >= 0 ? (0L, offset) : (-offset, 0L);
        var length = Math.Max(0, Math.Min(rows - row0, columns - column0));
        var positions = Enumerable.Range(0, (int)length).Select(i => (row0 + i) * columns + column0 + i).ToArray();
        return c.Op("Gather", [merged, c.ConstInt64(positions)], x.Type.WithShape([.. kept, Dim.Of(length)]), ("axis", rank - 2));
    }
}

/// <summary>
/// <c>narrow(x, dim, start, length)</c> → Slice [start, start + length); a negative start counts from the end (a
/// slice that ends at the end of a dim of unknown size runs to the end). A view, as <see cref="Slice"/>'s.
/// </summary>
[AtenOp("aten::narrow")]
internal static class Narrow
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim"), x.Type.Rank);
        var (start, length) = (a.Int(2, "start"), a.Int(3, "length"));
        if (start < 0 && x.Type.Shape![axis].Value is { } size) start += size;
        var end = start < 0 && start + length == 0 ? long.MaxValue : start + length;
        return Slice.Lower(c, x, axis, start, end, step: 1);
    }
}

/// <summary><c>gather(x, dim, index)</c> → GatherElements: the result has the index's shape.</summary>
[AtenOp("aten::gather")]
internal static class GatherAlongDim
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var index = a.Tensor(2, "index");
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim"), x.Type.Rank);
        return c.Op("GatherElements", [x, index], x.Type.WithShape(index.Type.Shape), ("axis", axis));
    }
}

/// <summary><c>index_select(x, dim, index)</c> → Gather with the 1-D index: dim's size becomes the index's length.</summary>
[AtenOp("aten::index_select")]
internal static class IndexSelect
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim"), x.Type.Rank);
        var index = c.Cast(a.Tensor(2, "index"), DataType.Int64);
        if (index.Type.Rank == 0) index = c.Unsqueeze(index, [0]);
        var shape = x.Type.Shape!.Select((d, i) => i == axis ? index.Type.Shape![0] : d).ToArray();
        return c.Op("Gather", [x, index], x.Type.WithShape(shape), ("axis", axis));
    }
}

/// <summary><c>take(x, index)</c> → Gather from the flattened x: the result has the index's shape (negative indices count from the end).</summary>
[AtenOp("aten::take")]
internal static class Take
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => FromFlat(c, a.Tensor(0), c.Cast(a.Tensor(1, "index"), DataType.Int64));

    public static Value FromFlat(OpContext c, Value x, Value index) =>
        c.Op("Gather", [Flatten(c, x), index], x.Type.WithShape(index.Type.Shape), ("axis", 0));

    public static Value Flatten(OpContext c, Value x) =>
        c.Op("Reshape", [x, c.ConstInt64([-1])], x.Type.WithShape([Shapes.Product(x.Type.Shape!)]));
}

/// <summary>
/// <c>take_along_dim(x, indices, dim)</c> → GatherElements, after broadcasting x and indices against each other in every
/// dim but dim (Expand to the other's shape with dim set to 1). Without dim: Gather from the flattened x.
/// </summary>
[AtenOp("aten::take_along_dim")]
internal static class TakeAlongDim
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (x, indices) = (a.Tensor(0), a.Tensor(1, "indices"));
        if (a.IsNone(2, "dim")) return Take.FromFlat(c, x, Take.Flatten(c, indices));
        if (x.Type.Rank != indices.Type.Rank)
            throw c.Error(DiagnosticCode.ShapeMismatch, $"{c.OpName} needs x and indices of the same rank, got {x.Type} and {indices.Type}");
        var axis = Shapes.NormalizeAxis(a.Int(2, "dim"), x.Type.Rank);
        var broadX = BroadcastOffAxis(c, x, indices, axis);
        var broadIndices = BroadcastOffAxis(c, indices, x, axis);
        return c.Op("GatherElements", [broadX, broadIndices], x.Type.WithShape(broadIndices.Type.Shape), ("axis", axis));
    }

    /// <summary><paramref name="t"/> expanded to <paramref name="other"/>'s dims except along axis (Expand broadcasts both ways, so 1 keeps t's).</summary>
    private static Value BroadcastOffAxis(OpContext c, Value t, Value other, int axis)
    {
        var (mine, theirs) = (t.Type.Shape!, other.Type.Shape!);
        if (Enumerable.Range(0, mine.Count).All(i => i == axis || mine[i] == theirs[i] || theirs[i].Value == 1)) return t;
        var target = c.Sizes(other);
        target[axis] = 1L;
        var shape = mine.Select((d, i) => i == axis || theirs[i].Value == 1 ? d : theirs[i]).ToArray();
        return c.Op("Expand", [t, c.ShapeTensor(target)], t.Type.WithShape(shape));
    }
}

/// <summary>
/// <c>scatter(x, dim, index, src)</c> and <c>scatter(x, dim, index, value)</c> → ScatterElements (a value is expanded to
/// the index's shape; a src larger than the index is cut to it, as torch reads only that part). The
/// <c>reduce='add'|'multiply'</c> forms need ScatterElements' reduction, from opset 16.
/// </summary>
[AtenOp("aten::scatter", "aten::scatter_")]
internal static class Scatter
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) =>
        a.IsNone(4, "reduce") ? Elements(c, a, null) : throw c.NeedsOpset(16, $"reduce='{a.String(4, "reduce")}'");

    [Opset(16)]
    private static object? V16(OpContext c, OpArgs a) => Elements(c, a, a.Get(4, "reduce") switch
    {
        null => null,
        "add" => "add",
        "multiply" => "mul",
        var other => throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} reduce={Interpreter.DescribeValue(other)} is not 'add' or 'multiply'"),
    });

    /// <summary>ScatterElements of the call's (x, dim, index, src or value), with <paramref name="reduction"/> when not null.</summary>
    public static Value Elements(OpContext c, OpArgs a, string? reduction)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim"), x.Type.Rank);
        var index = a.Tensor(2, "index");
        var updates = a.Get(3) is Value src ? CutTo(c, c.Cast(src, x.Type.ElementType), index)
            : c.Op("Expand", [c.AsTensor(a.Get(3, "value"), x.Type.ElementType), c.ShapeOf(index)], x.Type.WithShape(index.Type.Shape));
        return reduction is null
            ? c.Op("ScatterElements", [x, index, updates], x.Type, ("axis", axis))
            : c.Op("ScatterElements", [x, index, updates], x.Type, ("axis", axis), ("reduction", reduction));
    }

    /// <summary>src cut to the index's shape (torch lets src be larger); along a dynamic dim of the index, at run time.</summary>
    private static Value CutTo(OpContext c, Value src, Value index)
    {
        for (var i = 0; i < src.Type.Rank; i++)
        {
            var size = index.Type.Shape![i];
            if (src.Type.Shape![i] == size) continue;
            src = size.Value is { } known ? Slice.Static(c, src, i, 0, known)
                : c.Op("Slice", [src, c.ConstInt64([0]), c.Unsqueeze(c.DimSize(index, i), [0]), c.ConstInt64([i])],
                    src.Type.WithShape(src.Type.Shape.Select((d, k) => k == i ? size : d).ToArray()));
        }
        return src;
    }
}

/// <summary>
/// <c>scatter_add(x, dim, index, src)</c> and <c>scatter_reduce(x, dim, index, src, reduce, include_self=True)</c> →
/// ScatterElements with a reduction: sum and prod from opset 16, amax and amin from opset 18 (below, the opset 13
/// method only names the opset the call's reduction needs). ONNX has no mean reduction and always includes x's own values.
/// </summary>
[AtenOp("aten::scatter_add", "aten::scatter_add_", "aten::scatter_reduce", "aten::scatter_reduce_")]
internal static class ScatterReduce
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var reduce = Reduce(c, a);
        throw c.NeedsOpset(reduce is "amax" or "amin" ? 18 : 16, $"reduce='{reduce}'");
    }

    [Opset(16)]
    private static object? V16(OpContext c, OpArgs a) => Lower(c, a, maxAndMin: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, maxAndMin: true);

    private static Value Lower(OpContext c, OpArgs a, bool maxAndMin)
    {
        var reduce = Reduce(c, a);
        if (c.OpName.StartsWith("aten::scatter_reduce", StringComparison.Ordinal) && !a.Bool(5, "include_self", true))
            throw c.Error(DiagnosticCode.UnsupportedConstruct, $"{c.OpName} with include_self=False has no ONNX equivalent",
                "scatter into a tensor filled with the reduction's identity instead");
        var reduction = reduce switch
        {
            "sum" => "add",
            "prod" => "mul",
            "amax" or "amin" when !maxAndMin => throw c.NeedsOpset(18, $"reduce='{reduce}'"),
            "amax" => "max",
            "amin" => "min",
            _ => throw c.Error(DiagnosticCode.UnsupportedConstruct, $"{c.OpName} with reduce='{reduce}' has no ONNX equivalent"),
        };
        return Scatter.Elements(c, a, reduction);
    }

    private static string Reduce(OpContext c, OpArgs a) => c.OpName.StartsWith("aten::scatter_add", StringComparison.Ordinal) ? "sum" : a.String(4, "reduce");
}

/// <summary>
/// <c>index_fill(x, dim, index, value)</c> → ScatterElements of the value at every position whose coordinate along dim is in
/// the index (the index expanded over the other dims of x).
/// </summary>
[AtenOp("aten::index_fill", "aten::index_fill_")]
internal static class IndexFill
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim"), x.Type.Rank);
        var index = AlongDim.Expand(c, a.Tensor(2, "index"), axis, x);
        var value = c.Cast(c.AsTensor(a.Get(3, "value"), x.Type.ElementType), x.Type.ElementType);
        var updates = c.Op("Expand", [value, c.ShapeOf(index)], x.Type.WithShape(index.Type.Shape));
        return c.Op("ScatterElements", [x, index, updates], x.Type, ("axis", axis));
    }
}

/// <summary>
/// <c>index_copy(x, dim, index, source)</c>: source slice i replaces position index[i] along dim → ScatterElements, the index
/// expanded to the source's shape.
/// </summary>
[AtenOp("aten::index_copy", "aten::index_copy_")]
internal static class IndexCopy
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim"), x.Type.Rank);
        var source = c.Cast(a.Tensor(3, "source"), x.Type.ElementType);
        return c.Op("ScatterElements", [x, AlongDim.Expand(c, a.Tensor(2, "index"), axis, source), source], x.Type, ("axis", axis));
    }
}

/// <summary>
/// <c>index_add(x, dim, index, source, alpha=1)</c>: source slice i is added at position index[i] along dim → ScatterElements
/// with the add reduction (opset 16; below, a diagnostic names it), the index expanded to the source's shape.
/// </summary>
[AtenOp("aten::index_add", "aten::index_add_")]
internal static class IndexAdd
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => throw c.NeedsOpset(16, "its add reduction (ScatterElements)");

    [Opset(16)]
    private static object? V16(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim"), x.Type.Rank);
        var source = c.Cast(a.Tensor(3, "source"), x.Type.ElementType);
        var alpha = a.Float(4, "alpha", 1);
        if (alpha != 1) source = c.Op("Mul", [source, c.Scalar(alpha, x.Type.ElementType)], source.Type);
        var index = AlongDim.Expand(c, a.Tensor(2, "index"), axis, source);
        return c.Op("ScatterElements", [x, index, source], x.Type, ("axis", axis), ("reduction", "add"));
    }
}

internal static class AlongDim
{
    /// <summary>
    /// A 1-D index along <paramref name="axis"/> expanded to <paramref name="like"/>'s dims elsewhere (its length stays
    /// along the axis): the index tensor ScatterElements needs for index_fill/index_add.
    /// </summary>
    public static Value Expand(OpContext c, Value index, int axis, Value like)
    {
        index = c.Cast(index, DataType.Int64);
        var rank = like.Type.Rank;
        var alongAxis = Enumerable.Repeat(1L, rank).ToArray();
        alongAxis[axis] = -1;
        var length = index.Type.Shape is [var n] ? n : Dim.Of(1);
        var line = c.Op("Reshape", [index, c.ConstInt64(alongAxis)], index.Type.WithShape(alongAxis.Select(d => d == -1 ? length : Dim.Of(1)).ToArray()));
        var target = c.Sizes(like);
        target[axis] = 1L;
        return c.Op("Expand", [line, c.ShapeTensor(target)], index.Type.WithShape(like.Type.Shape!.Select((d, i) => i == axis ? length : d).ToArray()));
    }
}

/// <summary>
/// <c>unfold(x, dim, size, step)</c> (Tensor.unfold: sliding windows) → Gather with the constant window indices
/// [windows, size] along dim, then the size axis moved last: [..., windows, ..., size]. dim's size must be static.
/// </summary>
[AtenOp("aten::unfold")]
internal static class UnfoldWindows
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(1, "dimension"), x.Type.Rank);
        var (size, step) = (a.Int(2, "size"), a.Int(3, "step"));
        var length = Chunk.StaticSize(c, x, axis);
        var windows = (length - size) / step + 1;
        var indices = Enumerable.Range(0, (int)windows).SelectMany(w => Enumerable.Range(0, (int)size).Select(k => w * step + k)).ToArray();
        var shape = x.Type.Shape!;
        var gathered = c.Op("Gather", [x, c.ConstInt64(indices, [windows, size])],
            x.Type.WithShape([.. shape.Take(axis), Dim.Of(windows), Dim.Of(size), .. shape.Skip(axis + 1)]), ("axis", axis));
        var rank = gathered.Type.Rank;
        var perm = Enumerable.Range(0, rank).Where(i => i != axis + 1).Append(axis + 1).Select(i => (long)i).ToArray();
        return Permute.Lower(c, gathered, perm);
    }
}

/// <summary>
/// <c>nonzero(x)</c> / <c>argwhere(x)</c> → NonZero, which gives [rank, N], transposed to torch's [N, rank];
/// <c>nonzero_numpy(x)</c> (nonzero(as_tuple=True)) → its rows, one [N] tensor per dim. N is known only at run time.
/// </summary>
[AtenOp("aten::nonzero", "aten::argwhere", "aten::nonzero_numpy")]
internal static class NonZero
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        if (c.OpName == "aten::nonzero_numpy") return Rows(c, x);
        return Permute.Lower(c, Positions(c, x), [1, 0]);
    }

    public static Value Positions(OpContext c, Value x) => c.Op("NonZero", [x], TensorType.Of(DataType.Int64, x.Type.Rank, Shapes.Unknown()));

    /// <summary>nonzero(x, as_tuple=True), also <c>where(condition)</c>: one [N] tensor per dim of x.</summary>
    public static List<object?> Rows(OpContext c, Value x) =>
        Chunk.Split(c, Positions(c, x), 0, Enumerable.Repeat(1L, x.Type.Rank).ToArray())
            .Select(row => (object?)c.Op("Squeeze", [(Value)row!, c.ConstInt64([0])], TensorType.Of(DataType.Int64, Shapes.Unknown()))).ToList();
}

/// <summary>
/// <c>embedding_renorm_(weight, indices, max_norm, norm_type)</c> (nn.Embedding with max_norm, before its lookup): the
/// rows the indices name whose norm exceeds max_norm are scaled by max_norm / (norm + 1e-7), in place, as torch does;
/// the other rows stay. A ScatterElements of ones marks the looked-up rows.
/// </summary>
[AtenOp("aten::embedding_renorm_", "aten::embedding_renorm")]
internal static class EmbeddingRenorm
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static Value Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        var weight = a.Tensor(0);
        var type = weight.Type.ElementType;
        var rows = c.Unsqueeze(Take.Flatten(c, c.Cast(a.Tensor(1, "indices"), DataType.Int64)), [1]);
        var maxNorm = c.Scalar(a.Float(2, "max_norm"), type);
        var norm = Norm.Of(c, weight, a.Float(3, "norm_type"), [1], keep: true, axesAsInput);
        var ones = c.Op("Expand", [c.Scalar(1, type), c.ShapeOf(rows)], rows.Type.WithElementType(type));
        var lookedUp = c.Op("ScatterElements", [c.Filled(type, [weight.Type.StaticShape()[0], 1], 0, "looked_up"), rows, ones], norm.Type, ("axis", 0));
        var boolType = norm.Type.WithElementType(DataType.Bool);
        var renormed = c.Op("And", [c.Cast(lookedUp, DataType.Bool), c.Op("Greater", [norm, maxNorm], boolType)], boolType);
        var scale = c.Op("Div", [maxNorm, c.Op("Add", [norm, c.Scalar(1e-7, type)], norm.Type)], norm.Type);
        return c.Op("Where", [renormed, c.Op("Mul", [weight, scale], weight.Type), weight], weight.Type);
    }
}

/// <summary>
/// <c>embedding_bag(weight, indices, offsets, scale_grad_by_freq, mode, sparse, per_sample_weights, include_last_offset,
/// padding_idx)</c> (nn.EmbeddingBag; F.embedding_bag flattens a 2-D input and makes offsets every row): bag b holds the
/// looked-up rows from offsets[b] up to the next offset, or the end (include_last_offset: the last offset is that end).
/// A [bags, N] membership matrix of the positions turns the bags into one MatMul (sum, rows scaled by the per-sample
/// weights), that divided by the bag sizes (mean), or a ReduceMax over the rows masked by it (max); an empty bag gives
/// zeros in every mode, as torch. Entries equal to padding_idx belong to no bag. The other three results (offset2bag,
/// bag sizes, max indices) serve the backward pass and are not computed.
/// </summary>
[AtenOp("aten::embedding_bag", "aten::_embedding_bag")]
internal static class EmbeddingBag
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static TupleValue Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        var weight = a.Tensor(0);
        var type = weight.Type.ElementType;
        var indices = c.Cast(a.Tensor(1, "indices"), DataType.Int64);
        var offsets = c.Cast(a.Tensor(2, "offsets"), DataType.Int64);
        if (indices.Type.Rank != 1 || offsets.Type.Rank != 1)
            throw c.Error(DiagnosticCode.UnsupportedOpVariant, $"{c.OpName} of {indices.Type} indices with {offsets.Type} offsets: 1-D indices and offsets are lowered",
                "call nn.EmbeddingBag / F.embedding_bag, which flatten a 2-D input");
        var count = indices.Type.Shape![0];
        var total = count.Value is { } n ? c.ScalarInt64(n) : c.DimSize(indices, 0);
        var (starts, ends) = a.Bool(7, "include_last_offset", false)
            ? (Slice.Static(c, offsets, 0, 0, -1), Slice.Static(c, offsets, 0, 1, long.MaxValue))
            : (offsets, c.Op("Concat", [Slice.Static(c, offsets, 0, 1, long.MaxValue), c.Unsqueeze(total, [0])], offsets.Type, ("axis", 0)));
        var positions = c.Unsqueeze(c.Op("Range", [c.ScalarInt64(0), total, c.ScalarInt64(1)], TensorType.Of(DataType.Int64, count)), [0]);
        var membershipType = TensorType.Of(DataType.Bool, starts.Type.Shape![0], count);
        var member = c.Op("And", [c.Op("GreaterOrEqual", [positions, c.Unsqueeze(starts, [1])], membershipType),
                                  c.Op("Less", [positions, c.Unsqueeze(ends, [1])], membershipType)], membershipType);
        if (a.Int(8, "padding_idx", -1) is var padding and >= 0)
            member = c.Op("And", [member, c.Unsqueeze(c.Op("Not", [c.Op("Equal", [indices, c.ScalarInt64(padding)], indices.Type.WithElementType(DataType.Bool))],
                indices.Type.WithElementType(DataType.Bool)), [0])], membershipType);

        var rows = c.Op("Gather", [weight, indices], weight.Type.WithShape([count, weight.Type.Shape![1]]), ("axis", 0));
        if (a.OptionalTensor(6, "per_sample_weights") is { } sampleWeights)
            rows = c.Op("Mul", [rows, c.Unsqueeze(c.Cast(sampleWeights, type), [1])], rows.Type);
        var membership = c.Cast(member, type);
        var outputType = weight.Type.WithShape([starts.Type.Shape[0], weight.Type.Shape[1]]);
        var sizes = Reduction.Reduce(c, membership, [1], keep: true, "ReduceSum", axesAsInput: true);
        var output = a.Int(4, "mode", 0) switch
        {
            0 => c.Op("MatMul", [membership, rows], outputType),
            1 => c.Op("Div", [c.Op("MatMul", [membership, rows], outputType), c.Op("Max", [sizes, c.Scalar(1, type)], sizes.Type)], outputType),
            _ => MaxOfBags(c, member, rows, sizes, outputType, axesAsInput),
        };
        return new TupleValue([output, Regions.BackwardOnly(c), Regions.BackwardOnly(c), Regions.BackwardOnly(c)]);
    }

    private static Value MaxOfBags(OpContext c, Value member, Value rows, Value sizes, TensorType outputType, bool axesAsInput)
    {
        var type = rows.Type.ElementType;
        var masked = c.Op("Where", [c.Unsqueeze(member, [2]), c.Unsqueeze(rows, [0]), c.Scalar(double.NegativeInfinity, type)],
            rows.Type.WithShape([member.Type.Shape![0], .. rows.Type.Shape!]));
        var largest = Reduction.Reduce(c, masked, [1], keep: false, "ReduceMax", axesAsInput);
        var filled = c.Op("Greater", [sizes, c.Scalar(0, type)], sizes.Type.WithElementType(DataType.Bool));
        return c.Op("Where", [filled, largest, c.Scalar(0, type)], outputType);
    }
}

/// <summary>
/// <c>as_strided(x, size, stride, storage_offset)</c>: the elements of x's storage at offset + Σ iₖ·strideₖ. A graph
/// value's storage is its row-major flattening, so → Gather from the flattened x at those positions, built per dim from
/// a Range (dynamic sizes) or a constant. The storage of a slice, a transposed or an expanded tensor (a view in torch,
/// unless made contiguous) is another tensor's, which the lowering does not see: refused, where torch would read
/// other elements than these.
/// </summary>
[AtenOp("aten::as_strided")]
internal static class AsStrided
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        if (x.View is not (null or ReshapedView) || x.Producer?.OpType is "Transpose" or "Expand")
            throw c.Error(DiagnosticCode.UnsupportedOpVariant,
                $"aten::as_strided of a {(x.View is not null ? Views.Kind(x.View) : x.Producer!.OpType == "Transpose" ? "transposed" : "expanded")} tensor {x.Type}: " +
                "in torch its storage is another tensor's, whose layout the converted graph does not keep",
                "call as_strided on the tensor the view was taken from, with the strides adjusted");
        var sizes = a.SymInts(1, "size");
        var strides = a.Ints(2, "stride");
        Value position = c.ScalarInt64(a.Int(3, "storage_offset", 0));
        for (var k = 0; k < sizes.Count; k++)
        {
            var trailing = Enumerable.Repeat(1L, sizes.Count - 1 - k).ToArray();
            var steps = sizes[k] is long size
                ? c.ConstInt64(Enumerable.Range(0, (int)size).Select(i => i * strides[k]).ToArray(), [size, .. trailing])
                : DynamicSteps(c, (DynamicInt)sizes[k], strides[k], trailing);
            position = c.Op("Add", [position, steps], TensorType.Of(DataType.Int64).WithShape(Shapes.Broadcast(position.Type.Shape, steps.Type.Shape)));
        }
        return Take.FromFlat(c, x, position);
    }

    /// <summary>0, stride, 2·stride, … for a dim whose size is known at run time, shaped [size, 1, …] for the dims after it.</summary>
    private static Value DynamicSteps(OpContext c, DynamicInt size, long stride, long[] trailing)
    {
        var dim = size.Scalar.SizeOf ?? Shapes.Unknown();
        var range = c.Op("Range", [c.ScalarInt64(0), size.Scalar, c.ScalarInt64(1)], TensorType.Of(DataType.Int64, dim));
        var steps = c.Op("Mul", [range, c.ScalarInt64(stride)], range.Type);
        return c.Op("Reshape", [steps, c.ConstInt64([-1, .. trailing])], TensorType.Of(DataType.Int64, [dim, .. trailing.Select(Dim.Of)]));
    }
}
