using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Shape ops: ops that change a tensor's shape or dim order but not its elements, and the shape queries
// (flatten, view/reshape/_reshape_from_tensor, transpose/permute/t/numpy_T, unsqueeze/squeeze, expand, size, numel,
// _shape_as_tensor).

/// <summary>
/// <c>flatten(x, start_dim, end_dim)</c> → Reshape: dims before start are copied (0), the range merges into −1.
/// <c>flatten(x, 1)</c>, the classifier-head case, is ONNX Flatten instead: what torch.onnx.export writes, so
/// ONNX Runtime ends up with the same graph for both (checked by bench/OrtLatency).
/// </summary>
[AtenOp("aten::flatten")]
internal static class Flatten
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var shape = x.Type.Shape!;
        var rank = shape.Count;
        if (rank == 0) return Reshape.To(c, x, [1L]);
        var start = Shapes.NormalizeAxis(a.Int(1, "start_dim", 0), rank);
        var end = Shapes.NormalizeAxis(a.Int(2, "end_dim", -1), rank);
        if (start == end) return x;
        if (start == 1 && end == rank - 1)
            return c.Op("Flatten", [x], x.Type.WithShape([shape[0], Shapes.Product(shape.Skip(1))]), ("axis", 1));
        var trailing = shape.Skip(end + 1).ToArray();
        if (trailing.Any(d => !d.IsStatic))
            throw c.Error(DiagnosticCode.StaticValueRequired, "flatten with dynamic dims after end_dim is not supported yet");
        var target = Enumerable.Repeat((object)0L, start).Append(-1L).Concat(trailing.Select(d => (object)d.Value!.Value)).ToArray();
        var outputShape = shape.Take(start).Append(Shapes.Product(shape.Skip(start).Take(end - start + 1))).Concat(trailing).ToArray();
        return c.Op("Reshape", [x, c.ConstInt64(target.Cast<long>().ToArray())], x.Type.WithShape(outputShape));
    }
}

/// <summary>
/// <c>view(x, size)</c> / <c>reshape(x, shape)</c>. Sizes may be run-time ints (<c>x.size(0)</c> of a dynamic
/// batch): those are concatenated into the shape tensor.
/// </summary>
[AtenOp("aten::view", "aten::reshape", "aten::_reshape_alias")]
internal static class Reshape
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => To(c, a.Tensor(0), a.SymInts(1));

    public static Value To(OpContext c, Value x, IReadOnlyList<object> sizes)
    {
        var outputShape = InferShape(x.Type.Shape, sizes);
        return c.Op("Reshape", [x, c.ShapeTensor(sizes)], x.Type.WithShape(outputShape));
    }

    private static Dim[] InferShape(IReadOnlyList<Dim>? input, IReadOnlyList<object> sizes)
    {
        var dims = sizes.Select(s => s switch
        {
            long l and >= 0 => Dim.Of(l),
            DynamicInt d => d.Scalar.SizeOf ?? Shapes.Unknown(),
            _ => Dim.Named("-1"),
        }).ToArray();
        var inferred = Array.FindIndex(dims, d => d.Symbol == "-1");
        if (inferred < 0) return dims;
        dims[inferred] = input is null ? Shapes.Unknown() : Quotient(input, dims.Where((_, i) => i != inferred).ToList());
        return dims;
    }

    /// <summary>
    /// The size a −1 stands for: the input's element count over the other target dims. Named dims that
    /// appear on both sides (the batch, passed through x.size(0)) cancel, so a dynamic batch stays exact.
    /// </summary>
    private static Dim Quotient(IReadOnlyList<Dim> input, List<Dim> others)
    {
        var numerator = input.ToList();
        foreach (var named in others.Where(d => d.Symbol is { } s && s != Shapes.UnknownSymbol).ToList())
        {
            var match = numerator.FindIndex(d => d.Symbol == named.Symbol);
            if (match < 0) continue;
            numerator.RemoveAt(match);
            others.Remove(named);
        }
        var total = Shapes.Product(numerator);
        var known = Shapes.Product(others);
        if (total.IsStatic && known.IsStatic && known.Value != 0) return Dim.Of(total.Value!.Value / known.Value!.Value);
        // [batch, C, H, W] → [-1, C·H·W]: the batch survives whole.
        var symbolic = numerator.Where(d => !d.IsStatic).ToList();
        return symbolic.Count == 1 && known.IsStatic && Shapes.Product(numerator.Where(d => d.IsStatic)) == known ? symbolic[0] : Shapes.Unknown();
    }
}

[AtenOp("aten::transpose", "aten::transpose_", "aten::swapaxes", "aten::swapdims")]
internal static class Transpose
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var rank = x.Type.Rank;
        var perm = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        var (d0, d1) = (Shapes.NormalizeAxis(a.Int(1), rank), Shapes.NormalizeAxis(a.Int(2), rank));
        (perm[d0], perm[d1]) = (perm[d1], perm[d0]);
        return Permute.Lower(c, x, perm);
    }
}

[AtenOp("aten::permute")]
internal static class Permute
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        return Lower(c, x, a.Ints(1, "dims").Select(d => (long)Shapes.NormalizeAxis(d, x.Type.Rank)).ToArray());
    }

    public static Value Lower(OpContext c, Value x, long[] perm) =>
        c.Op("Transpose", [x], x.Type.WithShape(perm.Select(p => x.Type.Shape![(int)p]).ToArray()), ("perm", perm));

    /// <summary>The permutation that undoes <paramref name="perm"/>.</summary>
    public static long[] Inverse(long[] perm)
    {
        var inverse = new long[perm.Length];
        for (var i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
        return inverse;
    }
}

/// <summary><c>numpy_T(x)</c> (<c>x.T</c>): reverses the order of all dims → Transpose.</summary>
[AtenOp("aten::numpy_T")]
internal static class ReverseDims
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        return Permute.Lower(c, x, Enumerable.Range(0, x.Type.Rank).Reverse().Select(i => (long)i).ToArray());
    }
}

/// <summary><c>t(x)</c>: transposes a 2-D tensor (a 0-D or 1-D one is returned as is).</summary>
[AtenOp("aten::t", "aten::t_")]
internal static class TransposeMatrix
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        return x.Type.Rank < 2 ? x : Permute.Lower(c, x, [1, 0]);
    }
}

[AtenOp("aten::unsqueeze", "aten::unsqueeze_")]
internal static class Unsqueeze
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => c.Unsqueeze(a.Tensor(0), [a.Int(1, "dim")]);
}

/// <summary><c>squeeze(x)</c> drops every static size-1 dim; <c>squeeze(x, dim)</c> drops that dim if it is 1.</summary>
[AtenOp("aten::squeeze", "aten::squeeze_")]
internal static class Squeeze
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var shape = x.Type.Shape!;
        var axes = a.IsNone(1, "dim")
            ? Enumerable.Range(0, shape.Count).Where(i => shape[i].Value == 1).Select(i => (long)i).ToArray()
            : new[] { (long)Shapes.NormalizeAxis(a.Int(1, "dim"), shape.Count) }.Where(i => shape[(int)i].Value == 1).ToArray();
        if (axes.Length == 0) return x;
        var outputShape = shape.Where((_, i) => !axes.Contains(i)).ToArray();
        return c.Op("Squeeze", [x, c.ConstInt64(axes)], x.Type.WithShape(outputShape));
    }
}

/// <summary>
/// <c>expand(x, size)</c> and <c>broadcast_to(x, size)</c> → Expand, a −1 entry keeping x's dim (ONNX Expand broadcasts,
/// so −1 becomes 1); <c>expand_as(x, other)</c> → Expand to other's shape.
/// </summary>
[AtenOp("aten::expand", "aten::expand_as", "aten::broadcast_to")]
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

/// <summary>
/// <c>size(x, dim)</c>: a plain int when the dim is static (so shape code folds away), a run-time int otherwise;
/// <c>size(x)</c>: the list of all dims.
/// </summary>
[AtenOp("aten::size")]
internal static class Size
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var shape = x.Type.Shape ?? throw c.Error(DiagnosticCode.StaticValueRequired, "size() of a tensor of unknown rank");
        object Dim(int i) => shape[i].Value is { } v ? v : new DynamicInt(c.DimSize(x, i));
        if (a.IsNone(1, "dim")) return Enumerable.Range(0, shape.Count).Select(i => (object?)Dim(i)).ToList();
        return Dim(Shapes.NormalizeAxis(a.Int(1, "dim"), shape.Count));
    }
}

/// <summary>
/// <c>numel(x)</c>: an int at conversion time when every dim is static (Swin V2's <c>qkv_bias.numel() // 3</c>), else
/// ReduceProd of the shape as a run-time int.
/// </summary>
[AtenOp("aten::numel")]
internal static class Numel
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        if (x.Type.IsFullyStatic) return x.Type.StaticShape().Aggregate(1L, (product, d) => product * d);
        var shape = c.Op("Shape", [x], TensorType.Of(DataType.Int64, x.Type.Rank));
        return new DynamicInt(c.Op("ReduceProd", [shape], TensorType.Scalar(DataType.Int64), ("keepdims", 0)));
    }
}

/// <summary>
/// <c>_reshape_from_tensor(x, shape)</c>: reshape to the sizes a 1-D int64 tensor holds (what traced shape code built
/// with <c>_shape_as_tensor</c> passes) → Reshape; the result's dims are known where the shape is a constant.
/// </summary>
[AtenOp("aten::_reshape_from_tensor")]
internal static class ReshapeFromTensor
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (x, shape) = (a.Tensor(0), a.Tensor(1, "shape"));
        if (c.TryGetConstantInt64s(shape, out var sizes)) return Reshape.To(c, x, sizes.Cast<object>().ToList());
        var rank = shape.Type.Shape is [{ Value: { } length }] ? length
            : throw c.Error(DiagnosticCode.StaticValueRequired, "_reshape_from_tensor with a shape tensor of unknown length");
        return c.Op("Reshape", [x, shape], x.Type.WithShape(Enumerable.Range(0, (int)rank).Select(_ => Shapes.Unknown()).ToArray()));
    }
}

/// <summary><c>_shape_as_tensor(x)</c>: the shape as a 1-D int64 tensor (a constant when static, else a Shape node).</summary>
[AtenOp("aten::_shape_as_tensor")]
internal static class ShapeAsTensor
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => c.ShapeOf(a.Tensor(0));
}

/// <summary>
/// <c>view_as(x, other)</c> / <c>reshape_as(x, other)</c> → Reshape to other's shape (a constant when it is static,
/// else other's Shape).
/// </summary>
[AtenOp("aten::view_as", "aten::reshape_as")]
internal static class ReshapeAs
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (x, other) = (a.Tensor(0), a.Tensor(1));
        return c.Op("Reshape", [x, c.ShapeOf(other)], x.Type.WithShape(other.Type.Shape));
    }
}

/// <summary>
/// <c>unflatten(x, dim, sizes)</c> → Reshape: the other dims are kept (run-time sizes for dynamic ones), dim is
/// replaced by sizes (which may hold one −1).
/// </summary>
[AtenOp("aten::unflatten")]
internal static class Unflatten
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim"), x.Type.Rank);
        var dims = c.Sizes(x);
        return Reshape.To(c, x, [.. dims.Take(axis), .. a.Ints(2, "sizes").Cast<object>(), .. dims.Skip(axis + 1)]);
    }
}

/// <summary>
/// <c>movedim(x, source, destination)</c> (ints or int lists) → Transpose: the moved dims land at their destinations,
/// the others keep their order in the remaining places, as in torch.
/// </summary>
[AtenOp("aten::movedim", "aten::moveaxis")]
internal static class Movedim
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var rank = x.Type.Rank;
        var source = a.Ints(1, "source", expand: 1).Select(d => (long)Shapes.NormalizeAxis(d, rank)).ToArray();
        var destination = a.Ints(2, "destination", expand: 1).Select(d => Shapes.NormalizeAxis(d, rank)).ToArray();
        var perm = new long[rank];
        Array.Fill(perm, -1);
        for (var i = 0; i < source.Length; i++) perm[destination[i]] = source[i];
        using var rest = Enumerable.Range(0, rank).Select(d => (long)d).Where(d => !source.Contains(d)).GetEnumerator();
        for (var i = 0; i < rank; i++)
            if (perm[i] < 0 && rest.MoveNext()) perm[i] = rest.Current;
        return Permute.Lower(c, x, perm);
    }
}

/// <summary><c>pixel_shuffle(x, r)</c> on [N, C·r², H, W] → DepthToSpace in CRD order (channel-major, as torch) → [N, C, H·r, W·r].</summary>
[AtenOp("aten::pixel_shuffle")]
internal static class PixelShuffle
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = PixelShuffling.Input(c, a);
        var r = a.Int(1, "upscale_factor");
        var s = x.Type.Shape!;
        Dim[] shape = [s[0], s[1].Value is { } ch ? ch / (r * r) : Shapes.Unknown(), Scale(s[2], r), Scale(s[3], r)];
        return c.Op("DepthToSpace", [x], x.Type.WithShape(shape), ("blocksize", r), ("mode", "CRD"));
    }

    private static Dim Scale(Dim d, long r) => d.Value is { } v ? Dim.Of(v * r) : Shapes.Unknown();
}

/// <summary>
/// <c>pixel_unshuffle(x, r)</c>: [N, C, H·r, W·r] → [N, C·r², H, W] with channel c·r² + i·r + j, which ONNX SpaceToDepth
/// (block-major) does not give: Reshape to [N, C, H, r, W, r], Transpose to [N, C, r, r, H, W], Reshape.
/// </summary>
[AtenOp("aten::pixel_unshuffle")]
internal static class PixelUnshuffle
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = PixelShuffling.Input(c, a);
        var r = a.Int(1, "downscale_factor");
        if (x.Type.Shape!.Skip(1).Any(d => !d.IsStatic))
            throw c.Error(DiagnosticCode.StaticValueRequired, $"{c.OpName} needs static channel and spatial sizes, got {x.Type}",
                "give those dims fixed sizes in --input");
        var (n, ch, h, w) = (c.Sizes(x)[0], x.Type.Shape![1].Value!.Value, x.Type.Shape[2].Value!.Value / r, x.Type.Shape[3].Value!.Value / r);
        var blocks = Reshape.To(c, x, [n, ch, h, r, w, r]);
        var moved = Permute.Lower(c, blocks, [0, 1, 3, 5, 2, 4]);
        return Reshape.To(c, moved, [n, ch * r * r, h, w]);
    }
}

/// <summary>
/// <c>channel_shuffle(x, groups)</c> (nn.ChannelShuffle) on [N, C, *]: Reshape to [N, g, C/g, *], swap the two group dims,
/// Reshape back (ShuffleNet's shuffle as one op).
/// </summary>
[AtenOp("aten::channel_shuffle", "aten::native_channel_shuffle")]
internal static class ChannelShuffle
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var groups = a.Int(1, "groups");
        var channels = x.Type.Shape![1].Value ?? throw c.Error(DiagnosticCode.StaticValueRequired,
            $"{c.OpName} needs a static channel dim, got {x.Type}", "give the channel dim a fixed size in --input");
        var sizes = c.Sizes(x);
        var grouped = Reshape.To(c, x, [sizes[0], groups, channels / groups, .. sizes.Skip(2)]);
        var perm = Enumerable.Range(0, grouped.Type.Rank).Select(i => (long)(i switch { 1 => 2, 2 => 1, _ => i })).ToArray();
        return Reshape.To(c, Permute.Lower(c, grouped, perm), sizes);
    }
}

internal static class PixelShuffling
{
    /// <summary>The 4-D input of pixel_shuffle/pixel_unshuffle (torch also takes extra leading batch dims; ONNX's ops do not).</summary>
    public static Value Input(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        return x.Type.Rank == 4 ? x : throw c.Error(DiagnosticCode.UnsupportedConstruct,
            $"{c.OpName} is supported on 4-D [N, C, H, W] tensors, got {x.Type}", "reshape to 4-D before the call");
    }
}
