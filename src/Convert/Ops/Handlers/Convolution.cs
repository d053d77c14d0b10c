using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Convolution: conv1d/2d/3d, conv_transpose1d/2d/3d, _convolution/convolution (also transposed), conv_tbc, and im2col/col2im,
// the patch extraction a convolution is built on and its inverse (F.unfold, F.fold).

/// <summary>
/// <c>aten::_convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups, …)</c>,
/// what traced nn.ConvNd records, and <c>convolution</c> with the same arguments; from scripted code
/// <c>conv1d/2d/3d(input, weight, bias, stride, padding, dilation, groups)</c> and
/// <c>conv_transpose1d/2d/3d(input, weight, bias, stride, padding, output_padding, groups, dilation)</c>.
/// Padding may be a list or (for conv1d/2d/3d and <c>_convolution_mode</c>) "same"/"valid".
/// </summary>
[AtenOp("aten::_convolution", "aten::convolution", "aten::_convolution_mode", "aten::conv1d", "aten::conv2d", "aten::conv3d",
    "aten::conv_transpose1d", "aten::conv_transpose2d", "aten::conv_transpose3d")]
internal static class Convolution
{
    /// <summary>Where a call form keeps the arguments after padding (Transposed: null where the form fixes it).</summary>
    private sealed record Layout(int Dilation, int? Transposed, int OutputPadding, int Groups, bool AlwaysTransposed);

    private static Layout LayoutOf(string op) => op switch
    {
        "aten::_convolution" or "aten::convolution" => new(5, 6, 7, 8, false),
        _ when op.StartsWith("aten::conv_transpose", StringComparison.Ordinal) => new(7, null, 5, 6, true),
        _ => new(5, null, -1, 6, false),
    };

    // Internal: quantized::conv2d lowers its float convolution here, with conv2d's argument layout.
    [Opset(13)]
    internal static object? V13(OpContext c, OpArgs a)
    {
        var input = a.Tensor(0);
        var weight = a.Tensor(1);
        var layout = LayoutOf(c.OpName);
        var bias = a.OptionalTensor(2);
        var spatial = weight.Type.Rank - 2;
        var transposed = layout.AlwaysTransposed || layout.Transposed is { } index && a.Bool(index, "transposed");
        var groups = a.Int(layout.Groups, "groups", 1);
        // A convolution's weight is [out, in/groups, k…]; a transposed one's is [in, out/groups, k…].
        var expectedChannels = transposed ? weight.Type.StaticShape()[0] : weight.Type.StaticShape()[1] * groups;
        if (input.Type.Shape is not { } shape || shape.Count != weight.Type.Rank ||
            shape[1].Value is { } channels && channels != expectedChannels)
            throw c.Error(DiagnosticCode.ShapeMismatch,
                $"{(transposed ? "transposed " : "")}convolution expects a rank-{weight.Type.Rank} input with {expectedChannels} channels " +
                $"(weight {weight.Type}, groups {groups}), got {input.Type}",
                "check the rank and channel dim of the --input that feeds this layer");
        // Saved TorchScript leaves out trailing arguments at their defaults (conv_transpose2d(x, w, b, [2, 2]…)).
        long[] IntsOr(int index, string name, long fallback) =>
            a.IsNone(index, name) ? Enumerable.Repeat(fallback, spatial).ToArray() : a.Ints(index, name, spatial);
        var stride = IntsOr(3, "stride", 1);
        var dilation = IntsOr(layout.Dilation, "dilation", 1);
        var kernel = weight.Type.StaticShape()[2..];

        long[] padBegin, padEnd;
        if (a.Get(4, "padding") is string mode)
        {
            // "same": total padding dilation·(k−1), the extra element at the end, as PyTorch does.
            var total = mode == "same" ? kernel.Select((k, i) => dilation[i] * (k - 1)).ToArray() : new long[spatial];
            padBegin = total.Select(t => t / 2).ToArray();
            padEnd = total.Select((t, i) => t - padBegin[i]).ToArray();
        }
        else
        {
            padBegin = IntsOr(4, "padding", 0);
            padEnd = padBegin;
        }

        var attributes = new List<(string, AttributeValue)>
        {
            ("dilations", dilation), ("group", groups), ("kernel_shape", kernel),
            ("pads", padBegin.Concat(padEnd).ToArray()), ("strides", stride),
        };
        var inputShape = input.Type.Shape!;
        var weightShape = weight.Type.StaticShape();
        Dim[] outputShape;
        if (transposed)
        {
            var outputPadding = IntsOr(layout.OutputPadding, "output_padding", 0);
            if (outputPadding.Any(p => p != 0)) attributes.Add(("output_padding", outputPadding));
            outputShape = [inputShape[0], Dim.Of(weightShape[1] * groups), .. Enumerable.Range(0, spatial).Select(i =>
                inputShape[i + 2].IsStatic
                    ? Dim.Of((inputShape[i + 2].Value!.Value - 1) * stride[i] - padBegin[i] - padEnd[i] + dilation[i] * (kernel[i] - 1) + outputPadding[i] + 1)
                    : Shapes.Unknown())];
        }
        else
        {
            outputShape = [inputShape[0], Dim.Of(weightShape[0]), .. Enumerable.Range(0, spatial).Select(i =>
                Shapes.Window(inputShape[i + 2], kernel[i], stride[i], padBegin[i], padEnd[i], dilation[i]))];
        }
        var inputs = bias is null ? new[] { input, weight } : new[] { input, weight, bias };
        return c.Op(transposed ? "ConvTranspose" : "Conv", inputs, input.Type.WithShape(outputShape), [.. attributes]);
    }
}

/// <summary>
/// <c>im2col(x, kernel_size, dilation, padding, stride)</c> (F.unfold / nn.Unfold) on [N, C, H, W] → [N, C·kh·kw, L]: the
/// zero-padded input sliced once per kernel offset (strided Slices), the slices concatenated after the channel dim and
/// flattened, so row c·kh·kw + i·kw + j holds offset (i, j) of channel c, as torch orders them. C, H and W must be static.
/// </summary>
[AtenOp("aten::im2col")]
internal static class Im2Col
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var (kernel, dilation, padding, stride) = (a.Ints(1, "kernel_size", 2), a.Ints(2, "dilation", 2), a.Ints(3, "padding", 2), a.Ints(4, "stride", 2));
        if (x.Type.Rank != 4 || x.Type.Shape!.Skip(1).Any(d => !d.IsStatic))
            throw c.Error(DiagnosticCode.StaticValueRequired, $"{c.OpName} needs a 4-D input with static C, H and W, got {x.Type}",
                "give those dims fixed sizes in --input");
        var (channels, height, width) = (x.Type.Shape![1].Value!.Value, x.Type.Shape[2].Value!.Value, x.Type.Shape[3].Value!.Value);
        var padded = padding.All(p => p == 0) ? x : c.Op("Pad", [x, c.ConstInt64([0, 0, padding[0], padding[1], 0, 0, padding[0], padding[1]])],
            x.Type.WithShape([x.Type.Shape[0], channels, height + 2 * padding[0], width + 2 * padding[1]]), ("mode", "constant"));
        var outH = Shapes.Window(height, kernel[0], stride[0], padding[0], padding[0], dilation[0]).Value!.Value;
        var outW = Shapes.Window(width, kernel[1], stride[1], padding[1], padding[1], dilation[1]).Value!.Value;
        var patches = new List<Value>();
        for (var i = 0L; i < kernel[0]; i++)
            for (var j = 0L; j < kernel[1]; j++)
            {
                var (top, left) = (i * dilation[0], j * dilation[1]);
                var rows = Slice.Static(c, padded, 2, top, top + (outH - 1) * stride[0] + 1, stride[0]);
                patches.Add(c.Unsqueeze(Slice.Static(c, rows, 3, left, left + (outW - 1) * stride[1] + 1, stride[1]), [2]));
            }
        var stacked = Cat.Lower(c, patches, 2);
        return c.Op("Reshape", [stacked, c.ConstInt64([0, channels * kernel[0] * kernel[1], outH * outW])],
            x.Type.WithShape([x.Type.Shape[0], channels * kernel[0] * kernel[1], outH * outW]));
    }
}

/// <summary>
/// <c>col2im(x, output_size, kernel_size, dilation, padding, stride)</c> (F.fold / nn.Fold): [N, C·kh·kw, L] back to
/// [N, C, H, W], overlapping patches summed → ConvTranspose with groups = C and a constant one-hot weight (patch channel
/// c·kh·kw + i·kw + j feeds offset (i, j) of output channel c), which is exactly that sum; output_padding makes up an
/// output_size larger than the patches reach. C·kh·kw and L must be static.
/// </summary>
[AtenOp("aten::col2im")]
internal static class Col2Im
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var (size, kernel, dilation, padding, stride) = (a.Ints(1, "output_size", 2), a.Ints(2, "kernel_size", 2),
            a.Ints(3, "dilation", 2), a.Ints(4, "padding", 2), a.Ints(5, "stride", 2));
        if (x.Type.Rank != 3 || x.Type.Shape!.Skip(1).Any(d => !d.IsStatic))
            throw c.Error(DiagnosticCode.StaticValueRequired, $"{c.OpName} needs a 3-D input with static C·kh·kw and L, got {x.Type}",
                "give those dims fixed sizes in --input");
        var patch = kernel[0] * kernel[1];
        var channels = x.Type.Shape![1].Value!.Value / patch;
        var blocks = Enumerable.Range(0, 2).Select(i => Shapes.Window(size[i], kernel[i], stride[i], padding[i], padding[i], dilation[i]).Value!.Value).ToArray();
        var reach = Enumerable.Range(0, 2).Select(i => (blocks[i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + 1).ToArray();
        var outputPadding = Enumerable.Range(0, 2).Select(i => size[i] - reach[i]).ToArray();
        var grid = Reshape.To(c, x, [c.Sizes(x)[0], channels * patch, blocks[0], blocks[1]]);
        var weights = new double[channels * patch * patch];
        for (var k = 0L; k < channels * patch; k++) weights[k * patch + k % patch] = 1;
        var weight = c.Op("Reshape", [Arange.Values(c, weights, x.Type.ElementType, "col2im_weight"), c.ConstInt64([channels * patch, 1, kernel[0], kernel[1]])],
            TensorType.Of(x.Type.ElementType, channels * patch, 1, kernel[0], kernel[1]));
        return c.Op("ConvTranspose", [grid, weight], x.Type.WithShape([x.Type.Shape[0], channels, size[0], size[1]]),
            ("dilations", dilation), ("group", channels), ("kernel_shape", kernel), ("output_padding", outputPadding),
            ("pads", padding.Concat(padding).ToArray()), ("strides", stride));
    }
}

/// <summary>
/// <c>conv_tbc(input, weight, bias, pad)</c>: a 1-D convolution of a [time, batch, channels] input with a
/// [kernel, in, out] weight (fairseq's layout) → Transpose to [batch, channels, time], Conv with the weight as
/// [out, in, kernel] and the time dim padded by pad at both ends, Transpose back.
/// </summary>
[AtenOp("aten::conv_tbc")]
internal static class ConvTbc
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (input, weight, bias) = (a.Tensor(0), a.Tensor(1), a.Tensor(2));
        var pad = a.Int(3, "pad", 0);
        if (input.Type.Rank != 3 || weight.Type.Rank != 3)
            throw c.Error(DiagnosticCode.ShapeMismatch, $"aten::conv_tbc expects a [time, batch, channels] input and a [kernel, in, out] weight, got {input.Type} and {weight.Type}",
                "check the rank of the --input that feeds this layer");
        var kernel = weight.Type.StaticShape()[0];
        var batchFirst = Permute.Lower(c, input, [1, 2, 0]);
        var kernels = Permute.Lower(c, weight, [2, 1, 0]);
        var shape = batchFirst.Type.Shape!;
        var convolved = c.Op("Conv", [batchFirst, kernels, bias],
            batchFirst.Type.WithShape([shape[0], kernels.Type.Shape![0], Shapes.Window(shape[2], kernel, 1, pad, pad, 1)]),
            ("kernel_shape", new[] { kernel }), ("pads", new[] { pad, pad }));
        return Permute.Lower(c, convolved, [2, 0, 1]);
    }
}
