using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Pooling: max_pool (with indices) and max_unpool, avg_pool, adaptive_avg_pool, adaptive_max_pool (1d/2d/3d).

/// <summary>
/// <c>max_pool{1,2,3}d(x, kernel_size, stride, padding, dilation, ceil_mode)</c> and the <c>_with_indices</c> forms
/// (return_indices=True), which also return int64 indices. ONNX MaxPool counts those over the whole [N, C, *spatial]
/// tensor, torch within each plane, so they are taken modulo the plane size (the spatial dims must then be static).
/// </summary>
[AtenOp("aten::max_pool1d", "aten::max_pool2d", "aten::max_pool3d",
        "aten::max_pool1d_with_indices", "aten::max_pool2d_with_indices", "aten::max_pool3d_with_indices")]
internal static class MaxPool
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (x, kernel, stride, padding) = Pooling.Window(a);
        var dilation = a.Ints(4, "dilation", kernel.Length);
        var ceil = a.Bool(5, "ceil_mode", false);
        return Lower(c, x, kernel, stride, padding, dilation, ceil, withIndices: c.OpName.EndsWith("_with_indices", StringComparison.Ordinal));
    }

    /// <summary>MaxPool: the pooled tensor, or with <paramref name="withIndices"/> the (values, indices) tuple torch returns.</summary>
    public static object Lower(OpContext c, Value x, long[] kernel, long[] stride, long[] padding, long[] dilation, bool ceil, bool withIndices)
    {
        var shape = Pooling.OutputShape(x, kernel, stride, padding, dilation, ceil);
        (string, AttributeValue)[] attributes =
        [
            ("ceil_mode", ceil ? 1 : 0), ("dilations", dilation), ("kernel_shape", kernel),
            ("pads", padding.Concat(padding).ToArray()), ("strides", stride),
        ];
        if (!withIndices) return c.Op("MaxPool", [x], x.Type.WithShape(shape), attributes);
        var plane = Shapes.Product(x.Type.Shape!.Skip(2)).Value ?? throw c.Error(DiagnosticCode.StaticValueRequired,
            $"{c.OpName} returns indices within each plane, which needs static spatial sizes, got {x.Type}", "give the spatial dims fixed sizes in --input");
        var outputs = c.OpMulti("MaxPool", [x], [x.Type.WithShape(shape), TensorType.Of(DataType.Int64, shape)], attributes);
        var indices = c.Op("Mod", [outputs[1], c.Scalar(plane, DataType.Int64)], outputs[1].Type);
        return new TupleValue([outputs[0], indices]);
    }
}

/// <summary>
/// <c>adaptive_max_pool{1,2,3}d(x, output_size)</c> → (values, indices) from MaxPool with kernel = stride = input/output,
/// which needs each output size to divide the input size (then torch's windows are exactly those); other sizes are refused.
/// </summary>
[AtenOp("aten::adaptive_max_pool1d", "aten::adaptive_max_pool2d", "aten::adaptive_max_pool3d")]
internal static class AdaptiveMaxPool
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var inputSizes = x.Type.Shape!.Skip(2).Select(d => d.Value ?? throw c.Error(DiagnosticCode.StaticValueRequired,
            $"{c.OpName} needs static spatial sizes, got {x.Type}", "give the spatial dims fixed sizes in --input")).ToArray();
        var outputSizes = a.SymInts(1, "output_size").Select((o, i) => o as long? ?? inputSizes[i]).ToArray();
        if (inputSizes.Zip(outputSizes).Any(p => p.First % p.Second != 0))
            throw c.Error(DiagnosticCode.UnsupportedConstruct,
                $"{c.OpName} to [{string.Join(", ", outputSizes)}] from {x.Type} pools windows of different sizes, which is not supported yet",
                "use output sizes that divide the input sizes");
        var kernel = inputSizes.Zip(outputSizes, (i, o) => i / o).ToArray();
        var ones = Enumerable.Repeat(1L, kernel.Length).ToArray();
        return MaxPool.Lower(c, x, kernel, kernel, new long[kernel.Length], ones, ceil: false, withIndices: true);
    }
}

/// <summary>
/// <c>avg_pool{1,2,3}d(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)</c>.
/// </summary>
[AtenOp("aten::avg_pool1d", "aten::avg_pool2d", "aten::avg_pool3d")]
internal static class AvgPool
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (x, kernel, stride, padding) = Pooling.Window(a);
        var ceil = a.Bool(4, "ceil_mode", false);
        var countIncludePad = a.Bool(5, "count_include_pad", true);
        if (!a.IsNone(6, "divisor_override"))
            throw c.Error(DiagnosticCode.UnsupportedConstruct, "avg_pool with divisor_override has no ONNX equivalent");
        var shape = Pooling.OutputShape(x, kernel, stride, padding, Enumerable.Repeat(1L, kernel.Length).ToArray(), ceil);
        return c.Op("AveragePool", [x], x.Type.WithShape(shape),
            ("ceil_mode", ceil ? 1 : 0), ("count_include_pad", countIncludePad ? 1 : 0), ("kernel_shape", kernel),
            ("pads", padding.Concat(padding).ToArray()), ("strides", stride));
    }
}

/// <summary>
/// <c>adaptive_avg_pool{1,2,3}d(x, output_size)</c>. Output 1 everywhere → GlobalAveragePool; an input size that
/// is a multiple of the output size → AveragePool with kernel = stride = input/output; otherwise PyTorch's
/// windows [⌊i·in/out⌋, ⌈(i+1)·in/out⌉) are built per dim from Slice + ReduceMean + Concat (static sizes only).
/// </summary>
[AtenOp("aten::adaptive_avg_pool1d", "aten::adaptive_avg_pool2d", "aten::adaptive_avg_pool3d")]
internal static class AdaptiveAvgPool
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, reduceMeanAxesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, reduceMeanAxesAsInput: true);

    private static object? Lower(OpContext c, OpArgs a, bool reduceMeanAxesAsInput)
    {
        var x = a.Tensor(0);
        var spatial = x.Type.Rank - 2;
        var inputShape = x.Type.Shape!;
        var outputSize = a.SymInts(1, "output_size").Select((o, i) => o is long l ? l : inputShape[i + 2].Value
            ?? throw c.Error(DiagnosticCode.StaticValueRequired, "adaptive_avg_pool with a None output size needs a static input size")).ToArray();
        var outputShape = inputShape.Take(2).Concat(outputSize.Select(Dim.Of)).ToArray();
        if (outputSize.All(o => o == 1))
            return c.Op("GlobalAveragePool", [x], x.Type.WithShape(outputShape));

        var sizes = inputShape.Skip(2).Select(d => d.Value ?? throw c.Error(DiagnosticCode.StaticValueRequired,
            "adaptive_avg_pool to a size other than 1 needs static spatial input sizes",
            "declare the spatial dims of the input with fixed sizes")).ToArray();
        if (sizes.Zip(outputSize).All(p => p.First % p.Second == 0))
        {
            var kernel = sizes.Zip(outputSize, (i, o) => i / o).ToArray();
            return c.Op("AveragePool", [x], x.Type.WithShape(outputShape),
                ("kernel_shape", kernel), ("strides", kernel));
        }

        var current = x;
        for (var d = 0; d < spatial; d++)
        {
            var axis = d + 2;
            var (inSize, outSize) = (sizes[d], outputSize[d]);
            var pieces = new List<Value>();
            for (var i = 0; i < outSize; i++)
            {
                var start = i * inSize / outSize;
                var end = ((i + 1) * inSize + outSize - 1) / outSize;
                var sliceShape = current.Type.Shape!.Select((dim, k) => k == axis ? Dim.Of(end - start) : dim).ToArray();
                var slice = c.Op("Slice", [current, c.ConstInt64([start]), c.ConstInt64([end]), c.ConstInt64([axis])], current.Type.WithShape(sliceShape));
                var meanShape = sliceShape.Select((dim, k) => k == axis ? Dim.Of(1) : dim).ToArray();
                pieces.Add(reduceMeanAxesAsInput
                    ? c.Op("ReduceMean", [slice, c.ConstInt64([axis])], slice.Type.WithShape(meanShape), ("keepdims", 1))
                    : c.Op("ReduceMean", [slice], slice.Type.WithShape(meanShape), ("axes", new long[] { axis }), ("keepdims", 1)));
            }
            var concatShape = current.Type.Shape!.Select((dim, k) => k == axis ? Dim.Of(outSize) : dim).ToArray();
            current = c.Op("Concat", pieces, current.Type.WithShape(concatShape), ("axis", axis));
        }
        return current;
    }
}

/// <summary>
/// <c>max_unpool2d(x, indices, output_size)</c> / <c>max_unpool3d(…, stride, padding)</c>: each value written at its index
/// within its output plane, zeros elsewhere → ScatterElements into zeros [N, C, H·W] on the flattened planes (torch's
/// per-plane indices need no offsets that way), reshaped to [N, C, *output_size].
/// </summary>
[AtenOp("aten::max_unpool2d", "aten::max_unpool3d")]
internal static class MaxUnpool
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (x, indices) = (a.Tensor(0), c.Cast(a.Tensor(1, "indices"), DataType.Int64));
        var outputSize = a.Ints(2, "output_size");
        var planes = c.Sizes(x).Take(2).ToArray();
        var plane = outputSize.Aggregate(1L, (p, n) => p * n);
        var flatType = x.Type.WithShape([.. x.Type.Shape!.Take(2), Shapes.Product(x.Type.Shape!.Skip(2))]);
        var values = Reshape.To(c, x, [.. planes, -1L]);
        var positions = Reshape.To(c, indices, [.. planes, -1L]);
        var zeros = Full.Of(c, c.ShapeTensor([.. planes, plane]), [.. x.Type.Shape!.Take(2), Dim.Of(plane)], 0L, x.Type.ElementType);
        var scattered = c.Op("ScatterElements", [zeros, positions, values], zeros.Type, ("axis", 2));
        return Reshape.To(c, scattered, [.. planes, .. outputSize.Cast<object>()]);
    }
}

internal static class Pooling
{
    /// <summary>The arguments max and average pooling share: input, kernel, stride (empty means = kernel), padding.</summary>
    public static (Value X, long[] Kernel, long[] Stride, long[] Padding) Window(OpArgs a)
    {
        var x = a.Tensor(0);
        var spatial = x.Type.Rank - 2;
        var kernel = a.Ints(1, "kernel_size", spatial);
        var stride = a.Ints(2, "stride", spatial);
        // Scripted code leaves out the defaults (torchvision's RAFT: avg_pool2d(x, [2, 2], [2, 2])): no padding.
        var padding = a.IsNone(3, "padding") ? new long[spatial] : a.Ints(3, "padding", spatial);
        return (x, kernel, stride.Length == 0 ? kernel : stride, padding);
    }

    public static Dim[] OutputShape(Value x, long[] kernel, long[] stride, long[] padding, long[] dilation, bool ceil)
    {
        var shape = x.Type.Shape!;
        return [.. shape.Take(2), .. kernel.Select((k, i) => Shapes.Window(shape[i + 2], k, stride[i], padding[i], padding[i], dilation[i], ceil))];
    }
}
