using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Resampling: ops that resize the spatial dims by interpolation (upsample_*, what F.interpolate and nn.Upsample trace to).

/// <summary>
/// <c>upsample_{nearest1d,2d,3d, linear1d, bilinear2d, trilinear3d, bicubic2d}</c> → Resize on the dims after [N, C].
/// Traced F.interpolate passes either output_size (a list) or scale_factors: <c>(x, output_size, scale_factors)</c>, with
/// align_corners before the scales for the linear and cubic modes; the older overloads always pass output_size. Given
/// sizes, ONNX computes the scale as out/in like torch; given scales, both use them as given. Coordinates follow torch:
/// nearest reads floor(dst / scale) (asymmetric, floor), linear and cubic use half-pixel centres or align_corners, cubic
/// with A = −0.75. Opset 18 names the resized axes, so sizes need no Shape of the batch and channel dims.
/// </summary>
[AtenOp("aten::upsample_nearest1d", "aten::upsample_nearest2d", "aten::upsample_nearest3d", "aten::upsample_linear1d",
        "aten::upsample_bilinear2d", "aten::upsample_trilinear3d", "aten::upsample_bicubic2d")]
internal static class Upsample
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAttribute: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAttribute: true);

    private static Value Lower(OpContext c, OpArgs a, bool axesAttribute)
    {
        var x = a.Tensor(0);
        var nearest = c.OpName.StartsWith("aten::upsample_nearest", StringComparison.Ordinal);
        var spatial = x.Type.Rank - 2;
        var alignCorners = !nearest && a.Bool(2, "align_corners");
        var shape = x.Type.Shape!;
        var cubic = c.OpName == "aten::upsample_bicubic2d";
        var attributes = new List<(string, AttributeValue)>
        {
            ("coordinate_transformation_mode", nearest ? "asymmetric" : alignCorners ? "align_corners" : "half_pixel"),
            ("mode", nearest ? "nearest" : cubic ? "cubic" : "linear"),
        };
        if (nearest) attributes.Add(("nearest_mode", "floor"));
        if (cubic) attributes.Add(("cubic_coeff_a", -0.75));

        if (a.IsNone(1, "output_size"))
        {
            var scales = a.Floats(nearest ? 2 : 3, "scale_factors");
            if (scales.Length != spatial) throw WrongCount(c, x, "scale_factors", scales.Length);
            var outputShape = shape.Select((d, i) => i < 2 ? d : d.Value is { } v ? Dim.Of((long)Math.Floor(v * scales[i - 2])) : Shapes.Unknown()).ToArray();
            var scaleTensor = Arange.Values(c, [1, 1, .. scales], DataType.Float32, "scales");
            return c.Op("Resize", [x, null, scaleTensor], x.Type.WithShape(outputShape), [.. attributes]);
        }

        var sizes = a.Ints(1, "output_size");
        if (sizes.Length != spatial) throw WrongCount(c, x, "output_size", sizes.Length);
        var resized = shape.Take(2).Concat(sizes.Select(Dim.Of)).ToArray();
        if (axesAttribute)
        {
            attributes.Add(("axes", Enumerable.Range(2, spatial).Select(i => (long)i).ToArray()));
            return c.Op("Resize", [x, null, null, c.ConstInt64(sizes)], x.Type.WithShape(resized), [.. attributes]);
        }
        var leading = x.Type.IsFullyStatic ? c.ConstInt64(x.Type.StaticShape()[..2]) : Slice.Static(c, c.ShapeOf(x), 0, 0, 2);
        var fullSizes = c.Op("Concat", [leading, c.ConstInt64(sizes)], TensorType.Of(DataType.Int64, x.Type.Rank), ("axis", 0));
        return c.Op("Resize", [x, null, null, fullSizes], x.Type.WithShape(resized), [.. attributes]);
    }

    private static ModelForgeException WrongCount(OpContext c, Value x, string what, int count) =>
        c.Error(DiagnosticCode.ShapeMismatch, $"{c.OpName} on {x.Type} needs {x.Type.Rank - 2} {what} entries, got {count}");
}
