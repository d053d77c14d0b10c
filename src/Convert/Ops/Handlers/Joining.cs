using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Joining and splitting: ops that concatenate, stack, repeat, broadcast or split along dims (cat, hstack/vstack/dstack,
// atleast_Nd, broadcast_tensors, stack, chunk/split/unsafe_split_with_sizes, tensor_split/hsplit/vsplit/dsplit, unbind,
// repeat/tile, repeat_interleave, meshgrid, pad/_pad_circular, roll).

[AtenOp("aten::cat", "aten::concat", "aten::concatenate")]
internal static class Cat
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        // torch.cat skips 1-D empty tensors whatever the others' rank, a legacy rule torchaudio's Emformer relies on
        // (its memory is torch.empty(0) in a configuration without one).
        var given = a.Tensors(0);
        var tensors = given.Where(t => t.Type.Shape is not [{ Value: 0 }]).ToList() is { Count: > 0 } kept ? kept : [given[0]];
        return Lower(c, tensors, Shapes.NormalizeAxis(a.Int(1, "dim", 0), tensors[0].Type.Rank));
    }

    public static Value Lower(OpContext c, IReadOnlyList<Value> tensors, int axis)
    {
        var shape = tensors[0].Type.Shape!.ToArray();
        shape[axis] = tensors.All(t => t.Type.Shape![axis].IsStatic)
            ? Dim.Of(tensors.Sum(t => t.Type.Shape![axis].Value!.Value)) : Shapes.Unknown();
        return tensors.Count == 1 ? tensors[0] : c.Op("Concat", tensors, tensors[0].Type.WithShape(shape), ("axis", axis));
    }
}

/// <summary>
/// <c>hstack</c>, <c>vstack</c>/<c>row_stack</c> and <c>dstack</c> → Concat along dim 1 (dim 0 for 1-D tensors), 0 and 2,
/// after lifting each tensor to at least 1, 2 and 3 dims as torch.atleast_Nd does: [n] → [1, n] or [1, n, 1], [h, w] → [h, w, 1].
/// </summary>
[AtenOp("aten::hstack", "aten::vstack", "aten::row_stack", "aten::dstack")]
internal static class StackAlongDim
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var minimumRank = c.OpName switch { "aten::hstack" => 1, "aten::dstack" => 3, _ => 2 };
        var tensors = a.Tensors(0).Select(t => AtLeast(c, t, minimumRank)).ToList();
        var axis = c.OpName switch { "aten::hstack" => tensors[0].Type.Rank == 1 ? 0 : 1, "aten::dstack" => 2, _ => 0 };
        return Cat.Lower(c, tensors, axis);
    }

    /// <summary><paramref name="t"/> with at least <paramref name="rank"/> dims, lifted as torch.atleast_1d/2d/3d does.</summary>
    public static Value AtLeast(OpContext c, Value t, int rank)
    {
        long[] axes = (t.Type.Rank, rank) switch
        {
            (0, _) => Enumerable.Range(0, rank).Select(i => (long)i).ToArray(),
            (1, 2) => [0],
            (1, 3) => [0, 2],
            (2, 3) => [2],
            _ => [],
        };
        return axes.Length == 0 ? t : c.Unsqueeze(t, axes);
    }
}

/// <summary>
/// <c>chunk(x, chunks, dim)</c> → Split into ⌈size/chunks⌉-sized pieces (the last may be smaller), and
/// <c>split(x, split_size_or_sizes, dim)</c>. Returns a list of tensors.
/// chunk along a dim known only at run time (RAFT chunks the batch of both images' features in two) gives
/// <c>chunks</c> pieces, their sizes computed in the graph: exactly PyTorch's pieces whenever PyTorch returns
/// <c>chunks</c> of them, as the traced code's unpacking of the list requires.
/// </summary>
[AtenOp("aten::chunk", "aten::split", "aten::split_with_sizes", "aten::unsafe_chunk", "aten::unsafe_split",
    "aten::unsafe_split_with_sizes")]
internal static class Chunk
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(2, "dim", 0), x.Type.Rank);
        var chunk = c.OpName.EndsWith("chunk", StringComparison.Ordinal);
        if (chunk && x.Type.Shape![axis].Value is null) return DynamicChunks(c, x, axis, a.Int(1, "chunks"));
        if (!chunk && a.Get(1) is List<object?> { Count: 1 })
            return new List<object?> { x };  // one piece is the whole dim, whatever its size (a detector's per-image split of one image)
        if (!chunk && a.Get(1) is List<object?> && a.SymInts(1) is var listed && (x.Type.Shape![axis].Value is null || listed.Any(s => s is DynamicInt)))
            return RunTimeSplit(c, x, axis, listed);
        var size = StaticSize(c, x, axis);
        long[] sizes;
        if (chunk)
        {
            var piece = (size + a.Int(1, "chunks") - 1) / a.Int(1, "chunks");
            sizes = Pieces(size, piece);
        }
        else sizes = a.Get(1) is long piece ? Pieces(size, piece) : a.Ints(1);
        return Split(c, x, axis, sizes);
    }

    /// <summary>Split into pieces of <paramref name="sizes"/> along <paramref name="axis"/>: a list of tensors, each recording the range of x it views.</summary>
    public static List<object?> Split(OpContext c, Value x, int axis, long[] sizes)
    {
        var types = sizes.Select(s => x.Type.WithShape(x.Type.Shape!.Select((d, i) => i == axis ? Dim.Of(s) : d).ToArray())).ToArray();
        var pieces = c.OpMulti("Split", [x, c.ConstInt64(sizes)], types, ("axis", axis));
        var start = 0L;
        for (var i = 0; i < pieces.Count; start += sizes[i++])
            pieces[i].View = new RangeView(x, axis, start, start + sizes[i], Squeezed: false);
        return pieces.Cast<object?>().ToList();
    }

    /// <summary>
    /// <c>split(x, sizes)</c> where a size or the dim is known only at run time (a detector's RPN splits its scores by the
    /// anchors of each feature level, H·W·A of an image of dynamic size): one piece per size, each viewing its range of x.
    /// </summary>
    private static List<object?> RunTimeSplit(OpContext c, Value x, int axis, IReadOnlyList<object> sizes)
    {
        var types = sizes.Select(s => x.Type.WithShape(x.Type.Shape!.Select((d, i) => i != axis ? d : s is long l ? Dim.Of(l) : Shapes.Unknown()).ToArray())).ToArray();
        var pieces = c.OpMulti("Split", [x, c.ShapeTensor(sizes)], types, ("axis", axis));
        var start = c.ScalarInt64(0);
        for (var i = 0; i < pieces.Count; i++)
        {
            var end = c.Op("Add", [start, sizes[i] is long l ? c.ScalarInt64(l) : ((DynamicInt)sizes[i]).Scalar], TensorType.Scalar(DataType.Int64));
            pieces[i].View = new StridedView(x, axis, start, end, 1);
            start = end;
        }
        return pieces.Cast<object?>().ToList();
    }

    /// <summary>
    /// <paramref name="chunks"/> pieces of a dim of run-time size n: piece i has min(p, max(0, n − i·p)) elements,
    /// p = ⌈n/chunks⌉.
    /// </summary>
    private static List<object?> DynamicChunks(OpContext c, Value x, int axis, long chunks)
    {
        var sizeType = TensorType.Of(DataType.Int64, 1);
        var n = c.Unsqueeze(c.DimSize(x, axis), [0]);
        var piece = c.Op("Div", [c.Op("Add", [n, c.ConstInt64([chunks - 1])], sizeType), c.ConstInt64([chunks])], sizeType);
        var starts = c.Op("Mul", [piece, c.ConstInt64([.. Enumerable.Range(0, (int)chunks).Select(i => (long)i)])], TensorType.Of(DataType.Int64, chunks));
        var rest = c.Op("Max", [c.Op("Sub", [n, starts], starts.Type), c.ConstInt64([0])], starts.Type);
        var sizes = c.Op("Min", [rest, piece], starts.Type);
        var pieceType = x.Type.WithShape(x.Type.Shape!.Select((d, i) => i == axis ? Shapes.Unknown() : d).ToArray());
        return c.OpMulti("Split", [x, sizes], Enumerable.Repeat(pieceType, (int)chunks).ToArray(), ("axis", axis)).Cast<object?>().ToList();
    }

    /// <summary>The size of the dim to split, which must be known: it decides how many tensors come out.</summary>
    public static long StaticSize(OpContext c, Value x, int axis) =>
        x.Type.Shape![axis].Value ?? throw c.Error(DiagnosticCode.StaticValueRequired,
            $"{c.OpName} along dim {axis} of {x.Type}, whose size is not known at conversion time, is not supported", "give that dim a fixed size in --input");

    private static long[] Pieces(long size, long piece)
    {
        var sizes = new List<long>();
        for (var start = 0L; start < size; start += piece) sizes.Add(Math.Min(piece, size - start));
        return [.. sizes];
    }
}

/// <summary>
/// <c>pad(x, pad, mode, value)</c> (F.pad; <c>pad</c> lists (begin, end) pairs from the last dim backwards),
/// <c>constant_pad_nd(x, pad, value)</c>, <c>_pad_circular(x, pad)</c> and <c>reflection_pad{1,2,3}d</c>/<c>replication_pad{1,2,3}d(x, padding)</c>.
/// constant/reflect/replicate → Pad (mode constant/reflect/edge); circular → Concat(x[-before:], x, x[:after]) per dim.
/// All-zero padding is the input itself (Swin pads to whole windows).
/// </summary>
[AtenOp("aten::pad", "aten::constant_pad_nd", "aten::reflection_pad1d", "aten::reflection_pad2d", "aten::reflection_pad3d",
        "aten::replication_pad1d", "aten::replication_pad2d", "aten::replication_pad3d", "aten::_pad_circular")]
internal static class Pad
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var pad = a.SymInts(1, "pad");
        var constantNd = c.OpName == "aten::constant_pad_nd";
        var mode = c.OpName switch
        {
            "aten::pad" => a.Get(2, "mode") as string ?? "constant",
            "aten::_pad_circular" => "circular",
            _ when c.OpName.StartsWith("aten::reflection_pad", StringComparison.Ordinal) => "reflect",
            _ when c.OpName.StartsWith("aten::replication_pad", StringComparison.Ordinal) => "replicate",
            _ => "constant",
        };
        var value = constantNd ? a.Get(2, "value") : a.Get(3, "value");
        if (pad.All(p => p is 0L)) return x;
        var rank = x.Type.Rank;
        var begins = Enumerable.Repeat((object)0L, rank).ToArray();
        var ends = Enumerable.Repeat((object)0L, rank).ToArray();
        for (var i = 0; i < pad.Count / 2; i++) (begins[rank - 1 - i], ends[rank - 1 - i]) = (pad[2 * i], pad[2 * i + 1]);
        if (mode == "circular") return Circular(c, x, begins, ends);
        var shape = x.Type.Shape!.Select((d, i) => (d.Value, begins[i], ends[i]) switch
        {
            (_, 0L, 0L) => d,
            ({ } size, long b, long e) => Dim.Of(size + b + e),
            _ => Shapes.Unknown(),
        }).ToArray();
        var onnxMode = mode switch
        {
            "constant" => "constant",
            "reflect" => "reflect",
            "replicate" => "edge",
            _ => throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} mode '{mode}' is not supported"),
        };
        var pads = c.ShapeTensor([.. begins, .. ends]);
        Value?[] inputs = onnxMode == "constant" ? [x, pads, c.Scalar(value is long l ? l : value as double? ?? 0, x.Type.ElementType)] : [x, pads];
        return c.Op("Pad", inputs, x.Type.WithShape(shape), ("mode", onnxMode));
    }

    private static Value Circular(OpContext c, Value x, object[] begins, object[] ends)
    {
        for (var axis = 0; axis < begins.Length; axis++)
        {
            if (begins[axis] is not long before || ends[axis] is not long after)
                throw c.Error(DiagnosticCode.StaticValueRequired, "circular padding by a size known only at run time is not supported");
            if (before == 0 && after == 0) continue;
            var pieces = new List<Value>();
            if (before > 0) pieces.Add(Slice.Static(c, x, axis, -before, long.MaxValue));
            pieces.Add(x);
            if (after > 0) pieces.Add(Slice.Static(c, x, axis, 0, after));
            var shape = x.Type.Shape!.ToArray();
            shape[axis] = shape[axis].Value is { } size ? Dim.Of(size + before + after) : Shapes.Unknown();
            x = c.Op("Concat", pieces, x.Type.WithShape(shape), ("axis", axis));
        }
        return x;
    }
}

/// <summary>
/// <c>roll(x, shifts, dims)</c> → per dim Concat(last s entries, the rest) (Swin's cyclic shift). A static dim takes the
/// shift modulo its size; a dynamic one takes it as given (correct while |shift| &lt; size). No dims rolls the
/// flattened tensor and restores the shape.
/// </summary>
[AtenOp("aten::roll")]
internal static class Roll
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var shifts = a.Ints(1, "shifts", expand: 1);
        var dims = a.Get(2, "dims") is null ? [] : a.Ints(2, "dims", expand: 1);
        if (dims.Length == 0)
        {
            var flat = c.Op("Reshape", [x, c.ConstInt64([-1])], x.Type.WithShape([Shapes.Product(x.Type.Shape!)]));
            var rolled = Along(c, flat, 0, shifts[0]);
            var shape = c.ShapeOf(x);
            return c.Op("Reshape", [rolled, shape], x.Type);
        }
        for (var i = 0; i < dims.Length; i++) x = Along(c, x, Shapes.NormalizeAxis(dims[i], x.Type.Rank), shifts[i]);
        return x;
    }

    private static Value Along(OpContext c, Value x, int axis, long shift)
    {
        if (x.Type.Shape![axis].Value is { } size) shift = size == 0 ? 0 : (shift % size + size) % size;
        if (shift == 0) return x;
        // roll by k is x[-k:] followed by x[:-k], for either sign of k.
        var tail = Slice.Static(c, x, axis, -shift, long.MaxValue);
        var head = Slice.Static(c, x, axis, 0, -shift);
        return c.Op("Concat", [tail, head], x.Type, ("axis", axis));
    }
}

/// <summary>
/// <c>tensor_split(x, sections or indices, dim)</c> and <c>hsplit</c>/<c>vsplit</c>/<c>dsplit</c> (dim 1, or 0 for 1-D; 0; 2)
/// → Split. n sections give the first size % n pieces one element more; a list gives the split points.
/// </summary>
[AtenOp("aten::tensor_split", "aten::hsplit", "aten::vsplit", "aten::dsplit")]
internal static class TensorSplit
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = c.OpName switch
        {
            "aten::hsplit" => x.Type.Rank == 1 ? 0 : 1,
            "aten::vsplit" => 0,
            "aten::dsplit" => 2,
            _ => Shapes.NormalizeAxis(a.Int(2, "dim", 0), x.Type.Rank),
        };
        // MViT's `class_token, x = torch.tensor_split(x, indices=(1,), dim=2)` over tokens counted only at run time:
        // non-negative indices are slices whatever the size (the last one to the end).
        if (a.Get(1) is not long && x.Type.Shape![axis].Value is null && a.Ints(1, "indices") is { } cuts && cuts.All(i => i >= 0))
        {
            var starts = cuts.Prepend(0L).ToArray();
            return starts.Select((start, i) => (object?)Slice.Lower(c, x, axis, start, i + 1 < starts.Length ? starts[i + 1] : long.MaxValue, 1)).ToList();
        }
        var size = Chunk.StaticSize(c, x, axis);
        long[] sizes;
        if (a.Get(1) is long sections)
        {
            sizes = Enumerable.Range(0, (int)sections).Select(i => size / sections + (i < size % sections ? 1 : 0)).ToArray();
        }
        else
        {
            var points = a.Ints(1, "indices").Select(p => Math.Clamp(p < 0 ? p + size : p, 0, size)).Prepend(0).Append(size).ToArray();
            sizes = points.Skip(1).Select((end, i) => Math.Max(0, end - points[i])).ToArray();
        }
        return Chunk.Split(c, x, axis, sizes);
    }
}

/// <summary><c>atleast_1d/2d/3d(x)</c>: x with leading (and for 3-D, trailing) dims of 1 added up to that rank.</summary>
[AtenOp("aten::atleast_1d", "aten::atleast_2d", "aten::atleast_3d")]
internal static class AtLeastNd
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => StackAlongDim.AtLeast(c, a.Tensor(0), rank: c.OpName[^2] - '0'); // the N of atleast_Nd
}

/// <summary>
/// <c>broadcast_tensors(tensors)</c> → each tensor Expanded to the common shape: the elementwise Max of the shapes, each
/// padded with leading ones (broadcast dims are equal or 1). Returns a list.
/// </summary>
[AtenOp("aten::broadcast_tensors")]
internal static class BroadcastTensors
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var tensors = a.Tensors(0);
        var shape = Shapes.Broadcast(tensors.Select(t => t.Type.Shape))!;
        var rank = shape.Count;
        Value Padded(Value t) => t.Type.Rank == rank ? c.ShapeOf(t)
            : c.Op("Concat", [c.ConstInt64(Enumerable.Repeat(1L, rank - t.Type.Rank).ToArray()), c.ShapeOf(t)], TensorType.Of(DataType.Int64, rank), ("axis", 0));
        var target = shape.All(d => d.IsStatic) ? c.ConstInt64(shape.Select(d => d.Value!.Value).ToArray())
            : c.Op("Max", tensors.Select(Padded).ToArray(), TensorType.Of(DataType.Int64, rank));
        return tensors.Select(t => (object?)c.Op("Expand", [t, target], t.Type.WithShape(shape))).ToList();
    }
}

/// <summary><c>stack(tensors, dim)</c> → each tensor unsqueezed at dim (counted in the result's rank), then Concat.</summary>
[AtenOp("aten::stack")]
internal static class Stack
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var tensors = a.Tensors(0);
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim", 0), tensors[0].Type.Rank + 1);
        var pieces = tensors.Select(t => c.Unsqueeze(t, [axis])).ToArray();
        var shape = pieces[0].Type.Shape!.Select((d, i) => i == axis ? Dim.Of(tensors.Count) : d).ToArray();
        return c.Op("Concat", pieces, pieces[0].Type.WithShape(shape), ("axis", axis));
    }
}

/// <summary><c>unbind(x, dim)</c> → Split into size-1 pieces, each squeezed: a list of tensors (the dim must be static), each a view of x.</summary>
[AtenOp("aten::unbind")]
internal static class Unbind
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim", 0), x.Type.Rank);
        var count = Chunk.StaticSize(c, x, axis);
        var pieceType = x.Type.WithShape(x.Type.Shape!.Select((d, i) => i == axis ? Dim.Of(1) : d).ToArray());
        var pieces = c.OpMulti("Split", [x, c.ConstInt64(Enumerable.Repeat(1L, (int)count).ToArray())],
            Enumerable.Repeat(pieceType, (int)count).ToArray(), ("axis", axis));
        var squeezedType = x.Type.WithShape(x.Type.Shape!.Where((_, i) => i != axis).ToArray());
        return pieces.Select((p, i) =>
        {
            var piece = c.Op("Squeeze", [p, c.ConstInt64([axis])], squeezedType);
            piece.View = new RangeView(x, axis, i, i + 1, Squeezed: true);
            return (object?)piece;
        }).ToList();
    }
}

/// <summary>
/// <c>repeat(x, repeats)</c> and <c>tile(x, dims)</c> → Tile. More repeats than dims adds leading dims of 1 to x
/// first; fewer (tile only) repeats the leading dims once. Counts may be run-time ints (WavLM's
/// <c>position_bias.unsqueeze(0).repeat(batch, 1, 1, 1)</c>): Tile takes its repeats as a tensor.
/// </summary>
[AtenOp("aten::repeat", "aten::tile")]
internal static class Repeat
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var given = a.SymInts(1, "repeats");
        var rank = Math.Max(given.Count, x.Type.Rank);
        object[] repeats = [.. Enumerable.Repeat((object)1L, rank - given.Count), .. given];
        if (rank > x.Type.Rank) x = c.Unsqueeze(x, Enumerable.Range(0, rank - x.Type.Rank).Select(i => (long)i).ToArray());
        var shape = x.Type.Shape!.Select((d, i) => repeats[i] switch
        {
            1L => d,
            long count => d.Value is { } v ? Dim.Of(v * count) : Shapes.Unknown(),
            DynamicInt count when d.Value == 1 => count.Scalar.SizeOf ?? Shapes.Unknown(),
            _ => Shapes.Unknown(),
        }).ToArray();
        return c.Op("Tile", [x, c.ShapeTensor(repeats)], x.Type.WithShape(shape));
    }
}

/// <summary>
/// <c>repeat_interleave(x, repeats, dim)</c>: each slice along dim repeated. An int count → Unsqueeze after dim, Expand,
/// Reshape (no dim: of the flattened x); a constant repeats tensor → Gather with the repeated indices. A repeats tensor
/// known only at run time is refused (the result's size depends on its values).
/// </summary>
[AtenOp("aten::repeat_interleave")]
internal static class RepeatInterleave
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var flattened = a.IsNone(2, "dim");
        if (flattened) x = c.Op("Reshape", [x, c.ConstInt64([-1])], x.Type.WithShape([Shapes.Product(x.Type.Shape!)]));
        var axis = flattened ? 0 : Shapes.NormalizeAxis(a.Int(2, "dim"), x.Type.Rank);
        var counts = a.Get(1, "repeats") switch
        {
            long l => [l],
            Value v when c.TryGetConstantInt64s(v, out var values) => values,
            var other => throw c.Error(DiagnosticCode.StaticValueRequired,
                $"{c.OpName} with repeats {Interpreter.DescribeValue(other)} gives a size that depends on run-time values",
                "pass an int or a constant tensor as repeats"),
        };
        return counts.Length == 1 ? Uniform(c, x, axis, counts[0]) : PerIndex(c, x, axis, counts);
    }

    private static Value Uniform(OpContext c, Value x, int axis, long count)
    {
        var shape = x.Type.Shape!;
        if (shape.Skip(axis + 1).Any(d => !d.IsStatic))
            throw c.Error(DiagnosticCode.StaticValueRequired, $"{c.OpName} with dynamic dims after dim {axis} of {x.Type} is not supported yet",
                "give those dims fixed sizes in --input");
        var spread = c.Unsqueeze(x, [axis + 1]);
        var ones = Enumerable.Repeat(1L, shape.Count + 1).ToArray();
        ones[axis + 1] = count;
        var expanded = c.Op("Expand", [spread, c.ConstInt64(ones)],
            spread.Type.WithShape(spread.Type.Shape!.Select((d, i) => i == axis + 1 ? Dim.Of(count) : d).ToArray()));
        // Dims before axis are copied (0), axis·count is inferred (−1), the static trailing dims are spelled out.
        long[] target = [.. Enumerable.Repeat(0L, axis), -1, .. shape.Skip(axis + 1).Select(d => d.Value!.Value)];
        var outputShape = shape.Select((d, i) => i != axis ? d : d.Value is { } v ? Dim.Of(v * count) : Shapes.Unknown()).ToArray();
        return c.Op("Reshape", [expanded, c.ConstInt64(target)], x.Type.WithShape(outputShape));
    }

    private static Value PerIndex(OpContext c, Value x, int axis, long[] counts)
    {
        if (x.Type.Shape![axis].Value is { } size && size != counts.Length)
            throw c.Error(DiagnosticCode.ShapeMismatch, $"{c.OpName} has {counts.Length} repeats for dim {axis} of {x.Type}");
        var indices = counts.SelectMany((n, i) => Enumerable.Repeat((long)i, (int)n)).ToArray();
        var shape = x.Type.Shape!.Select((d, i) => i == axis ? Dim.Of(indices.Length) : d).ToArray();
        return c.Op("Gather", [x, c.ConstInt64(indices)], x.Type.WithShape(shape), ("axis", axis));
    }
}

/// <summary>
/// <c>meshgrid(tensors, indexing)</c> of 1-D tensors → each reshaped to lie along its own axis and expanded to the grid.
/// "ij" (the default) puts tensor i on axis i; "xy" swaps the first two axes, as numpy. Returns a list.
/// </summary>
[AtenOp("aten::meshgrid")]
internal static class Meshgrid
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var tensors = a.Tensors(0);
        var indexing = a.Get(1, "indexing") as string ?? "ij";
        var axes = Enumerable.Range(0, tensors.Count).ToArray();
        if (indexing == "xy" && axes.Length > 1) (axes[0], axes[1]) = (1, 0);
        else if (indexing != "ij") throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} indexing '{indexing}' is not 'ij' or 'xy'");
        var sizes = new object[tensors.Count];
        for (var i = 0; i < tensors.Count; i++)
            sizes[axes[i]] = tensors[i].Type.Shape is [{ Value: { } n }] ? n : new DynamicInt(c.DimSize(tensors[i], 0));
        var grid = c.ShapeTensor(sizes);
        var gridShape = sizes.Select(s => s is long n ? Dim.Of(n) : ((DynamicInt)s).Scalar.SizeOf ?? Shapes.Unknown()).ToArray();
        return tensors.Select((t, i) =>
        {
            var alongAxis = Enumerable.Repeat(1L, tensors.Count).ToArray();
            alongAxis[axes[i]] = -1;
            var line = c.Op("Reshape", [t, c.ConstInt64(alongAxis)], t.Type.WithShape(alongAxis.Select((n, j) => j == axes[i] ? t.Type.Shape![0] : Dim.Of(1)).ToArray()));
            return (object?)c.Op("Expand", [line, grid], t.Type.WithShape(gridShape));
        }).ToList();
    }
}
