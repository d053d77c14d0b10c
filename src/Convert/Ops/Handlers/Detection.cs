using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// torchvision's detection operators (torchvision::*): non-maximum suppression, pooling of regions of interest and
// deformable convolution. libtorch alone has none of them, so their fixtures (fixtures/torchvision) keep the outputs
// torchvision computed. Where ONNX's op and torchvision's differ, the summaries say how the lowering deals with it.

/// <summary>
/// <c>torchvision::nms(boxes [N, 4], scores [N], iou_threshold)</c> → NonMaxSuppression on one batch and one class
/// (no box limit, no score threshold), then the box column of its [K, 3] (batch, class, box) rows: torchvision's 1-D
/// int64 kept indices, best score first. Both suppress a box whose IoU with a kept one is above the threshold; boxes
/// with equal scores may come out in another order (docs/validation.md). ONNX takes IoU thresholds in [0, 1] only.
/// </summary>
[AtenOp("torchvision::nms")]
internal static class Nms
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (boxes, scores) = (c.Cast(a.Tensor(0, "dets"), DataType.Float32), c.Cast(a.Tensor(1, "scores"), DataType.Float32));
        var threshold = a.Float(2, "iou_threshold");
        if (threshold is < 0 or > 1)
            throw c.Error(DiagnosticCode.InvalidOpArguments,
                $"{c.OpName} with iou_threshold {threshold}: ONNX NonMaxSuppression takes thresholds in [0, 1]",
                "use a threshold in [0, 1] (above 1 torchvision keeps every box: drop the nms call instead)");
        var batched = c.Unsqueeze(boxes, [0]);
        var oneClass = c.Unsqueeze(scores, [0, 1]);
        var selected = c.Op("NonMaxSuppression",
            [batched, oneClass, c.ConstInt64([long.MaxValue]), c.Filled(DataType.Float32, [1], threshold, "iou_threshold")],
            TensorType.Of(DataType.Int64, Shapes.Unknown(), 3));
        return c.Op("Gather", [selected, c.ScalarInt64(2)], TensorType.Of(DataType.Int64, Shapes.Unknown()), ("axis", 1));
    }
}

/// <summary>
/// <c>torchvision::roi_align(input, rois [K, 5], spatial_scale, pooled_height, pooled_width, sampling_ratio, aligned)</c>
/// → RoiAlign in its "avg" mode (torchvision's only one: ONNX's "max" mode is a different op, not roi_pool), the rois
/// split into batch indices and boxes. aligned=False is RoiAlign-10's only behaviour (regions at least one cell wide,
/// no half-pixel shift) and "output_half_pixel" from opset 16; aligned=True is "half_pixel", which needs opset 16:
/// shifting the boxes by half a cell below that would not reproduce torchvision on regions under one cell. A
/// sampling_ratio ≤ 0 is torchvision's adaptive ceil(region size / bins) samples, ONNX's sampling_ratio 0.
/// </summary>
[AtenOp("torchvision::roi_align")]
internal static class RoiAlign
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) =>
        a.Bool(6, "aligned")
            ? throw c.NeedsOpset(16, "aligned=True (RoiAlign's half_pixel coordinate_transformation_mode)")
            : Lower(c, a, coordinateMode: null);

    [Opset(16)]
    private static object? V16(OpContext c, OpArgs a) =>
        Lower(c, a, a.Bool(6, "aligned") ? "half_pixel" : "output_half_pixel");

    private static Value Lower(OpContext c, OpArgs a, string? coordinateMode) =>
        Regions.Align(c, a.Tensor(0, "input"), a.Tensor(1, "rois"), a.Float(2, "spatial_scale"),
            a.Int(3, "pooled_height"), a.Int(4, "pooled_width"), a.Int(5, "sampling_ratio"), coordinateMode);
}

/// <summary>
/// <c>torchvision::roi_pool(input, rois [K, 5], spatial_scale, pooled_height, pooled_width)</c> → MaxRoiPool, which
/// takes torchvision's [batch index, x1, y1, x2, y2] rois as they are and pools the same rounded integer bins.
/// The op's second result, the argmax its backward pass uses, is not computed.
/// </summary>
[AtenOp("torchvision::roi_pool")]
internal static class RoiPool
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (input, rois) = (a.Tensor(0, "input"), a.Tensor(1, "rois"));
        var (height, width) = (a.Int(3, "pooled_height"), a.Int(4, "pooled_width"));
        var output = c.Op("MaxRoiPool", [input, rois], Regions.OutputType(input, rois, input.Type.Shape?[1], height, width),
            ("pooled_shape", new[] { height, width }), ("spatial_scale", a.Float(2, "spatial_scale")));
        return new TupleValue([output, Regions.BackwardOnly(c)]);
    }
}

/// <summary>
/// <c>torchvision::ps_roi_align(input, rois, spatial_scale, pooled_height, pooled_width, sampling_ratio)</c>, which ONNX
/// has no op for: position-sensitive RoiAlign, where bin (i, j) of output channel c averages input channel
/// (c·ph + i)·pw + j. RoiAlign (half_pixel, as torchvision's kernel shifts by half a cell and never widens small
/// regions, so opset 16) pools every channel into every bin, and a Gather keeps each channel's own bin.
/// </summary>
[AtenOp("torchvision::ps_roi_align")]
internal static class PsRoiAlign
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) =>
        throw c.NeedsOpset(16, "RoiAlign's half_pixel coordinate_transformation_mode, which position-sensitive RoiAlign samples with");

    [Opset(16)]
    private static object? V16(OpContext c, OpArgs a)
    {
        var (input, rois) = (a.Tensor(0, "input"), a.Tensor(1, "rois"));
        var (height, width) = (a.Int(3, "pooled_height"), a.Int(4, "pooled_width"));
        var outChannels = Regions.PositionSensitiveChannels(c, input, height, width);
        var bins = height * width;
        var pooled = Regions.Align(c, input, rois, a.Float(2, "spatial_scale"), height, width, a.Int(5, "sampling_ratio"), "half_pixel");
        var count = pooled.Type.Shape![0];
        // [K, C_out, channel bin · bin]: the diagonal, element b·bins + b, is channel bin b sampled in bin b.
        var flat = c.Op("Reshape", [pooled, c.ConstInt64([0, outChannels, bins * bins])], pooled.Type.WithShape([count, outChannels, bins * bins]));
        var diagonal = c.Op("Gather", [flat, c.ConstInt64(Enumerable.Range(0, (int)bins).Select(b => b * (bins + 1)).ToArray())],
            flat.Type.WithShape([count, outChannels, bins]), ("axis", 2));
        var output = c.Op("Reshape", [diagonal, c.ConstInt64([0, outChannels, height, width])],
            pooled.Type.WithShape([count, outChannels, height, width]));
        return new TupleValue([output, Regions.BackwardOnly(c)]);
    }
}

/// <summary>
/// <c>torchvision::ps_roi_pool(input, rois, spatial_scale, pooled_height, pooled_width)</c>, which ONNX has no op for:
/// bin (i, j) of output channel c is the mean of input channel (c·ph + i)·pw + j over the bin's integer cells, with
/// roi_pool's rounding (half away from zero) of the scaled corners, regions at least one cell wide, bin edges
/// floor(i·size/ph) and ceil((i+1)·size/ph) clipped to [0, map size − 1] (as torchvision's kernel clips them, so a
/// bin never covers the map's last row or column), and 0 for an empty bin. Spelled out: each region's
/// bin edges as [K, bins] tensors, masks of the rows and columns each bin covers, and the sum of the region's image
/// (gathered by batch index, its channels split by bin) where both masks hold, divided by the bin's area.
/// </summary>
[AtenOp("torchvision::ps_roi_pool")]
internal static class PsRoiPool
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (input, rois) = (a.Tensor(0, "input"), a.Tensor(1, "rois"));
        var (height, width) = (a.Int(3, "pooled_height"), a.Int(4, "pooled_width"));
        var outChannels = Regions.PositionSensitiveChannels(c, input, height, width);
        var (mapHeight, mapWidth) = (input.Type.Shape![2].Value!.Value, input.Type.Shape[3].Value!.Value); // static: checked above
        var type = input.Type.ElementType;
        var count = rois.Type.Shape?[0] ?? Shapes.Unknown();

        var scaled = c.Op("Mul", [Slice.Static(c, rois, 1, 1, 5), c.Scalar(a.Float(2, "spatial_scale"), type)], rois.Type.WithShape([count, 4]));
        var corners = RoundHalfAwayFromZero(c, scaled); // [K, 4]: x1, y1, x2, y2 in cells
        Value Column(long i) => Slice.Static(c, corners, 1, i, i + 1); // [K, 1]
        var (rowMask, rowSize) = BinMask(c, Column(1), Column(3), height, mapHeight);
        var (columnMask, columnSize) = BinMask(c, Column(0), Column(2), width, mapWidth);

        var batchIndex = c.Cast(c.Op("Gather", [rois, c.ScalarInt64(0)], rois.Type.WithShape([count]), ("axis", 1)), DataType.Int64);
        var images = c.Op("Gather", [input, batchIndex], input.Type.WithShape([count, .. input.Type.Shape!.Skip(1)]), ("axis", 0));
        var split = c.Op("Reshape", [images, c.ConstInt64([0, outChannels, height, width, mapHeight, mapWidth])],
            input.Type.WithShape([count, outChannels, height, width, mapHeight, mapWidth]));
        var rows = c.Op("Reshape", [rowMask, c.ConstInt64([-1, 1, height, 1, mapHeight, 1])], rowMask.Type.WithShape([count, 1, height, 1, mapHeight, 1]));
        var columns = c.Op("Reshape", [columnMask, c.ConstInt64([-1, 1, 1, width, 1, mapWidth])], columnMask.Type.WithShape([count, 1, 1, width, 1, mapWidth]));
        // Where, not a product with the masks: a NaN or infinity outside the bin must not reach its sum.
        var covered = c.Op("And", [rows, columns], rows.Type.WithShape([count, 1, height, width, mapHeight, mapWidth]));
        var zero = c.Scalar(0, type);
        var masked = c.Op("Where", [covered, split, zero], split.Type);
        var binShape = input.Type.WithShape([count, outChannels, height, width]);
        var sum = c.Op("ReduceSum", [masked, c.ConstInt64([4, 5])], binShape, ("keepdims", 0));

        // [K, 1, ph, pw] cell counts; an empty bin (count 0) is 0, as in torchvision.
        var area = c.Op("Mul", [c.Op("Reshape", [rowSize, c.ConstInt64([-1, 1, height, 1])], rowSize.Type.WithShape([count, 1, height, 1])),
            c.Op("Reshape", [columnSize, c.ConstInt64([-1, 1, 1, width])], columnSize.Type.WithShape([count, 1, 1, width]))],
            rowSize.Type.WithShape([count, 1, height, width]));
        var nonEmpty = c.Op("Greater", [area, zero], area.Type.WithElementType(DataType.Bool));
        var mean = c.Op("Div", [sum, c.Op("Max", [area, c.Scalar(1, type)], area.Type)], binShape);
        var output = c.Op("Where", [nonEmpty, mean, zero], binShape);
        return new TupleValue([output, Regions.BackwardOnly(c)]);
    }

    /// <summary>C's round: half away from zero (ONNX Round rounds half to even).</summary>
    private static Value RoundHalfAwayFromZero(OpContext c, Value x)
    {
        var magnitude = c.Op("Floor", [c.Op("Add", [c.Op("Abs", [x], x.Type), c.Scalar(0.5, x.Type.ElementType)], x.Type)], x.Type);
        return c.Op("Mul", [c.Op("Sign", [x], x.Type), magnitude], x.Type);
    }

    /// <summary>
    /// For regions from <paramref name="start"/> to <paramref name="end"/> ([K, 1] cells) split into
    /// <paramref name="bins"/> bins along a map side of <paramref name="size"/> cells: [K, bins, size] masks of the
    /// cells each bin covers and the [K, bins] cell counts (0 for an empty bin: the clipped edges never cross).
    /// </summary>
    private static (Value Mask, Value Size) BinMask(OpContext c, Value start, Value end, long bins, long size)
    {
        var type = start.Type.ElementType;
        var count = start.Type.Shape![0];
        var binType = start.Type.WithShape([count, bins]);
        var extent = c.Op("Max", [c.Op("Sub", [end, start], start.Type), c.Scalar(1, type)], start.Type);
        var binSize = c.Op("Div", [extent, c.Scalar(bins, type)], start.Type);
        var index = c.ConstantFrom(type, [bins], Enumerable.Range(0, (int)bins).Select(i => (double)i), "bin");
        Value Edge(string rounding, long shift)
        {
            var scaled = c.Op("Mul", [c.Op("Add", [index, c.Scalar(shift, type)], index.Type), binSize], binType);
            var offset = c.Op("Add", [c.Op(rounding, [scaled], binType), start], binType);
            return c.Op("Clip", [offset, c.Scalar(0, type), c.Scalar(size - 1, type)], binType);
        }
        var (from, to) = (Edge("Floor", 0), Edge("Ceil", 1));
        var cell = c.ConstantFrom(type, [size], Enumerable.Range(0, (int)size).Select(i => (double)i), "cell");
        var maskType = start.Type.WithShape([count, bins, size]).WithElementType(DataType.Bool);
        Value Expanded(Value edge) => c.Unsqueeze(edge, [2]);
        var covered = c.Op("And", [c.Op("GreaterOrEqual", [cell, Expanded(from)], maskType), c.Op("Less", [cell, Expanded(to)], maskType)], maskType);
        return (covered, c.Op("Sub", [to, from], binType));
    }
}

/// <summary>
/// <c>torchvision::deform_conv2d(input, weight, offset, mask, bias, stride_h, stride_w, pad_h, pad_w, dilation_h,
/// dilation_w, groups, offset_groups, use_mask)</c> → DeformConv (opset 19; ONNX has no deformable convolution
/// before it). The offsets are torchvision's layout, (dy, dx) per kernel tap and offset group; the mask is passed
/// only when use_mask is set (torchvision passes an empty one otherwise).
/// </summary>
[AtenOp("torchvision::deform_conv2d")]
internal static class DeformConv2d
{
    [Opset(19)]
    private static object? V19(OpContext c, OpArgs a)
    {
        var (input, weight) = (a.Tensor(0, "input"), a.Tensor(1, "weight"));
        var kernel = weight.Type.StaticShape()[2..];
        long[] stride = [a.Int(5, "stride_h"), a.Int(6, "stride_w")];
        long[] padding = [a.Int(7, "pad_h"), a.Int(8, "pad_w")];
        long[] dilation = [a.Int(9, "dilation_h"), a.Int(10, "dilation_w")];
        var mask = a.Bool(13, "use_mask") ? a.Tensor(3, "mask") : null;
        var shape = input.Type.Shape is { } s
            ? [s[0], weight.Type.Shape![0], .. Enumerable.Range(0, 2).Select(i => Shapes.Window(s[i + 2], kernel[i], stride[i], padding[i], padding[i], dilation[i]))]
            : (IReadOnlyList<Dim>?)null;
        return c.Op("DeformConv", [input, weight, a.Tensor(2, "offset"), a.OptionalTensor(4, "bias"), mask], input.Type.WithShape(shape),
            ("dilations", dilation), ("group", a.Int(11, "groups")), ("kernel_shape", kernel), ("offset_group", a.Int(12, "offset_groups")),
            ("pads", new[] { padding[0], padding[1], padding[0], padding[1] }), ("strides", stride));
    }
}

/// <summary>What the region-of-interest ops share.</summary>
internal static class Regions
{
    /// <summary>The [K, C, height, width] result of pooling <paramref name="rois"/> [K, 5] of <paramref name="input"/>.</summary>
    public static TensorType OutputType(Value input, Value rois, Dim? channels, long height, long width) =>
        input.Type.WithShape([rois.Type.Shape?[0] ?? Shapes.Unknown(), channels ?? Shapes.Unknown(), height, width]);

    /// <summary>
    /// RoiAlign (mode avg) of torchvision's [K, 5] rois, split into [K] int64 batch indices and [K, 4] boxes;
    /// <paramref name="coordinateMode"/> null at RoiAlign-10, which has no such attribute.
    /// </summary>
    public static Value Align(OpContext c, Value input, Value rois, double spatialScale, long height, long width,
        long samplingRatio, string? coordinateMode)
    {
        var count = rois.Type.Shape?[0] ?? Shapes.Unknown();
        var batchIndices = c.Cast(c.Op("Gather", [rois, c.ScalarInt64(0)], rois.Type.WithShape([count]), ("axis", 1)), DataType.Int64);
        var boxes = Slice.Static(c, rois, 1, 1, 5);
        List<(string, AttributeValue)> attributes =
        [
            ("mode", "avg"), ("output_height", height), ("output_width", width),
            ("sampling_ratio", Math.Max(samplingRatio, 0)), ("spatial_scale", spatialScale),
        ];
        if (coordinateMode is not null) attributes.Add(("coordinate_transformation_mode", coordinateMode));
        return c.Op("RoiAlign", [input, boxes, batchIndices], OutputType(input, rois, input.Type.Shape?[1], height, width), [.. attributes]);
    }

    /// <summary>The output channels of a position-sensitive op: the input's channels, one group per bin.</summary>
    public static long PositionSensitiveChannels(OpContext c, Value input, long height, long width)
    {
        if (input.Type.Shape is not [_, { Value: { } channels }, { IsStatic: true }, { IsStatic: true }] || channels % (height * width) != 0)
            throw c.Error(DiagnosticCode.ShapeMismatch,
                $"{c.OpName} needs a [N, C, H, W] input with static C, H, W and C a multiple of {height}·{width} bins, got {input.Type}",
                "declare the input's channel and spatial dims with fixed sizes in --input");
        return channels / (height * width);
    }

    /// <summary>
    /// The second result of roi_pool and the position-sensitive ops (argmax, channel mapping): bookkeeping for their
    /// backward pass, which inference does not use; a model that does use it fails to convert at that use.
    /// </summary>
    public static PoisonValue BackwardOnly(OpContext c) => new($"{c.OpName}'s second result (used by its backward pass only)");
}
