using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Convolution: conv1d/2d/3d, _convolution (with transposed convolution).

/// <summary>
/// <c>aten::_convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups, …)</c>,
/// what traced nn.ConvNd records; <c>conv1d/2d/3d(input, weight, bias, stride, padding, dilation, groups)</c> from
/// scripted code. Padding may be a list or (for the latter and <c>_convolution_mode</c>) "same"/"valid".
/// </summary>
[AtenOp("aten::_convolution", "aten::_convolution_mode", "aten::conv1d", "aten::conv2d", "aten::conv3d")]
internal static class Convolution
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var input = a.Tensor(0);
        var weight = a.Tensor(1);
        var isFull = c.OpName == "aten::_convolution";
        var bias = a.OptionalTensor(2);
        var spatial = weight.Type.Rank - 2;
        var transposed = isFull && a.Bool(6, "transposed");
        var groups = isFull ? a.Int(8, "groups") : a.Int(6, "groups", 1);
        // A convolution's weight is [out, in/groups, k…]; a transposed one's is [in, out/groups, k…].
        var expectedChannels = transposed ? weight.Type.StaticShape()[0] : weight.Type.StaticShape()[1] * groups;
        if (input.Type.Shape is not { } shape || shape.Count != weight.Type.Rank ||
            shape[1].Value is { } channels && channels != expectedChannels)
            throw c.Error(DiagnosticCode.ShapeMismatch,
                $"{(transposed ? "transposed " : "")}convolution expects a rank-{weight.Type.Rank} input with {expectedChannels} channels " +
                $"(weight {weight.Type}, groups {groups}), got {input.Type}",
                "check the rank and channel dim of the --input that feeds this layer");
        var stride = a.Ints(3, "stride", spatial);
        var dilation = a.Ints(5, "dilation", spatial);
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
            padBegin = a.Ints(4, "padding", spatial);
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
            var outputPadding = a.Ints(7, "output_padding", spatial);
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
