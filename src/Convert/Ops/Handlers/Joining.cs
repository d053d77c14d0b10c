using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Joining and splitting: ops that concatenate or split along dims (cat, chunk/split, pad, roll).

[AtenOp("aten::cat", "aten::concat", "aten::concatenate")]
internal static class Cat
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var tensors = a.Tensors(0);
        var rank = tensors[0].Type.Rank;
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim", 0), rank);
        var shape = tensors[0].Type.Shape!.ToArray();
        shape[axis] = Shapes.Product([]) is var _ && tensors.All(t => t.Type.Shape![axis].IsStatic)
            ? Dim.Of(tensors.Sum(t => t.Type.Shape![axis].Value!.Value)) : Shapes.Unknown();
        return tensors.Count == 1 ? tensors[0] : c.Op("Concat", tensors, tensors[0].Type.WithShape(shape), ("axis", axis));
    }
}

/// <summary>
/// <c>chunk(x, chunks, dim)</c> → Split into ⌈size/chunks⌉-sized pieces (the last may be smaller), and
/// <c>split(x, split_size_or_sizes, dim)</c>. Returns a list of tensors.
/// </summary>
[AtenOp("aten::chunk", "aten::split", "aten::split_with_sizes", "aten::unsafe_chunk", "aten::unsafe_split")]
internal static class Chunk
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(2, "dim", 0), x.Type.Rank);
        var size = x.Type.Shape![axis].Value ?? throw c.Error(DiagnosticCode.StaticValueRequired,
            $"{c.OpName} along dim {axis} of {x.Type}, whose size is not known at conversion time, is not supported", "give that dim a fixed size in --input");
        long[] sizes;
        if (c.OpName.EndsWith("chunk", StringComparison.Ordinal))
        {
            var piece = (size + a.Int(1, "chunks") - 1) / a.Int(1, "chunks");
            sizes = Pieces(size, piece);
        }
        else sizes = a.Get(1) is long piece ? Pieces(size, piece) : a.Ints(1);
        var types = sizes.Select(s => x.Type.WithShape(x.Type.Shape!.Select((d, i) => i == axis ? Dim.Of(s) : d).ToArray())).ToArray();
        return c.OpMulti("Split", [x, c.ConstInt64(sizes)], types, ("axis", axis)).Cast<object?>().ToList();
    }

    private static long[] Pieces(long size, long piece)
    {
        var sizes = new List<long>();
        for (var start = 0L; start < size; start += piece) sizes.Add(Math.Min(piece, size - start));
        return [.. sizes];
    }
}

/// <summary>
/// <c>pad(x, pad, mode, value)</c> (F.pad; <c>pad</c> lists (begin, end) pairs from the last dim backwards) and
/// <c>constant_pad_nd(x, pad, value)</c>. constant/reflect/replicate → Pad (mode constant/reflect/edge); circular →
/// Concat(x[-before:], x, x[:after]) per dim. All-zero padding is the input itself (Swin pads to whole windows).
/// </summary>
[AtenOp("aten::pad", "aten::constant_pad_nd")]
internal static class Pad
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var pad = a.SymInts(1, "pad");
        var constantNd = c.OpName == "aten::constant_pad_nd";
        var mode = constantNd ? "constant" : a.Get(2, "mode") as string ?? "constant";
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
