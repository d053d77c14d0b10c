using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Resampling: ops that interpolate over the spatial dims: resizing (upsample_*, what F.interpolate and nn.Upsample trace to)
// and sampling at grid positions (affine_grid_generator, grid_sampler); __interpolate, the builtin older scripted
// F.interpolate calls, through the resize op of its mode.

/// <summary>
/// <c>upsample_{nearest1d,2d,3d, linear1d, bilinear2d, trilinear3d, bicubic2d}</c> → Resize on the dims after [N, C].
/// Traced F.interpolate passes either output_size (a list) or scale_factors: <c>(x, output_size, scale_factors)</c>, with
/// align_corners before the scales for the linear and cubic modes; the older overloads always pass output_size. Given
/// sizes, ONNX computes the scale as out/in like torch; given scales, both use them as given. Coordinates follow torch:
/// nearest reads floor(dst / scale) (asymmetric, floor), nearest-exact (the <c>_upsample_nearest_exact</c> forms)
/// floor((dst + 0.5) / scale) (half_pixel, round_prefer_ceil), linear and cubic use half-pixel centres or align_corners, cubic
/// with A = −0.75. Opset 18 names the resized axes, so sizes need no Shape of the batch and channel dims, and adds
/// antialiasing, which the <c>_aa</c> forms (F.interpolate(antialias=True)) need.
/// </summary>
[AtenOp("aten::upsample_nearest1d", "aten::upsample_nearest2d", "aten::upsample_nearest3d", "aten::upsample_linear1d",
        "aten::upsample_bilinear2d", "aten::upsample_trilinear3d", "aten::upsample_bicubic2d",
        "aten::_upsample_bilinear2d_aa", "aten::_upsample_bicubic2d_aa",
        "aten::_upsample_nearest_exact1d", "aten::_upsample_nearest_exact2d", "aten::_upsample_nearest_exact3d")]
internal static class Upsample
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) =>
        Antialiased(c) ? throw c.NeedsOpset(18, "antialias=True (Resize's antialias attribute)") : Lower(c, a, axesAttribute: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAttribute: true);

    private static Value Lower(OpContext c, OpArgs a, bool axesAttribute)
    {
        var x = a.Tensor(0);
        var nearest = c.OpName.Contains("upsample_nearest", StringComparison.Ordinal);
        var exact = c.OpName.Contains("nearest_exact", StringComparison.Ordinal);
        var spatial = x.Type.Rank - 2;
        var alignCorners = !nearest && a.Bool(2, "align_corners");
        var shape = x.Type.Shape!;
        var cubic = c.OpName.Contains("bicubic2d", StringComparison.Ordinal);
        var attributes = new List<(string, AttributeValue)>
        {
            ("coordinate_transformation_mode", nearest && !exact ? "asymmetric" : alignCorners ? "align_corners" : "half_pixel"),
            ("mode", nearest ? "nearest" : cubic ? "cubic" : "linear"),
        };
        // nearest-exact reads floor((dst + 0.5) / scale): the half-pixel source rounded half up.
        if (nearest) attributes.Add(("nearest_mode", exact ? "round_prefer_ceil" : "floor"));
        // torch's antialiased bicubic uses PIL's A = −0.5 and weights only the pixels inside the image.
        if (cubic) attributes.Add(("cubic_coeff_a", Antialiased(c) ? -0.5 : -0.75));
        if (Antialiased(c)) attributes.AddRange([("antialias", 1), ("exclude_outside", 1)]);

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

    private static bool Antialiased(OpContext c) => c.OpName.EndsWith("_aa", StringComparison.Ordinal);

    private static ModelForgeException WrongCount(OpContext c, Value x, string what, int count) =>
        c.Error(DiagnosticCode.ShapeMismatch, $"{c.OpName} on {x.Type} needs {x.Type.Rank - 2} {what} entries, got {count}");
}

/// <summary>
/// <c>affine_grid_generator(theta, size, align_corners)</c> (F.affine_grid): the sampling grid [N, *spatial, k] for
/// theta [N, k, k+1]. The base grid of (x, y[, z], 1) per output position is a constant (the spatial sizes must be
/// static; N may be dynamic), multiplied by theta transposed. Coordinates run from −1 to 1 over pixel corners with
/// align_corners, else over pixel centres (scaled by (n−1)/n), as torch builds them.
/// </summary>
[AtenOp("aten::affine_grid_generator")]
internal static class AffineGrid
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var theta = a.Tensor(0);
        var size = a.SymInts(1, "size");
        var alignCorners = a.Bool(2, "align_corners");
        var spatial = size.Skip(2).Select(s => s as long? ?? throw c.Error(DiagnosticCode.StaticValueRequired,
            $"{c.OpName} needs static spatial sizes, got {Interpreter.DescribeValue(size.ToList())}", "give the spatial dims fixed sizes in --input")).ToArray();
        var k = spatial.Length;
        var axes = spatial.Select(n => Coordinates(n, alignCorners)).ToArray();
        var points = spatial.Aggregate(1L, (p, n) => p * n);
        var values = new double[points * (k + 1)];
        for (var p = 0L; p < points; p++)
        {
            // Point p's index along each spatial dim, the last dim fastest; its coordinates come last dim first (x, y, z).
            var rest = p;
            for (var d = k - 1; d >= 0; d--)
            {
                values[p * (k + 1) + (k - 1 - d)] = axes[d][rest % spatial[d]];
                rest /= spatial[d];
            }
            values[p * (k + 1) + k] = 1;
        }
        var type = theta.Type.ElementType;
        var baseGrid = c.Op("Reshape", [Arange.Values(c, values, type, "base_grid"), c.ConstInt64([points, k + 1])], TensorType.Of(type, points, k + 1));
        var thetaT = Permute.Lower(c, theta, [0, 2, 1]);
        var batch = theta.Type.Shape![0];
        var flat = c.Op("MatMul", [baseGrid, thetaT], TensorType.Of(type, batch, points, k));
        return c.Op("Reshape", [flat, c.ConstInt64([0, .. spatial, k])], TensorType.Of(type, [batch, .. spatial.Select(Dim.Of), k]));
    }

    private static double[] Coordinates(long n, bool alignCorners)
    {
        if (n <= 1) return [0];
        var scale = alignCorners ? 1 : (n - 1) / (double)n;
        return Enumerable.Range(0, (int)n).Select(i => (-1 + 2.0 * i / (n - 1)) * scale).ToArray();
    }
}

/// <summary>
/// <c>grid_sampler(x, grid, interpolation, padding, align_corners)</c> (F.grid_sample) → GridSample, which ONNX has from
/// opset 16; opset 20 renamed the modes linear/cubic and added volumes (5-D x). Below the opset the call needs (20 for a
/// volume, else 16), the opset 13 method only raises the diagnostic that names it. torch's mode codes 0/1/2 are
/// bilinear/nearest/bicubic and its padding codes zeros/border/reflection.
/// </summary>
[AtenOp("aten::grid_sampler", "aten::grid_sampler_2d", "aten::grid_sampler_3d")]
internal static class GridSample
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => throw NeedsOpset(c, a.Tensor(0));

    [Opset(16)]
    private static object? V16(OpContext c, OpArgs a) => Lower(c, a, ["bilinear", "nearest", "bicubic"], volumes: false);

    [Opset(20)]
    private static object? V20(OpContext c, OpArgs a) => Lower(c, a, ["linear", "nearest", "cubic"], volumes: true);

    private static Value Lower(OpContext c, OpArgs a, string[] modes, bool volumes)
    {
        var (x, grid) = (a.Tensor(0), a.Tensor(1));
        if (x.Type.Rank == 5 && !volumes) throw NeedsOpset(c, x);
        var (mode, padding) = (a.Int(2, "interpolation_mode"), a.Int(3, "padding_mode"));
        if (mode is < 0 or > 2 || padding is < 0 or > 2)
            throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} has interpolation mode {mode} and padding mode {padding}; torch's are 0–2");
        var shape = x.Type.Shape!.Take(2).Concat(grid.Type.Shape!.Skip(1).SkipLast(1)).ToArray();
        return c.Op("GridSample", [x, grid], x.Type.WithShape(shape),
            ("align_corners", a.Bool(4, "align_corners") ? 1 : 0), ("mode", modes[mode]),
            ("padding_mode", new[] { "zeros", "border", "reflection" }[padding]));
    }

    private static ModelForgeException NeedsOpset(OpContext c, Value x) =>
        x.Type.Rank == 5 ? c.NeedsOpset(20, "a 5-D (volumetric) input") : c.NeedsOpset(16, "a 4-D input (GridSample)");
}

/// <summary>
/// <c>__interpolate(x, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias)</c>, the builtin
/// older scripted F.interpolate calls: lowered by the handler of the op F.interpolate traces to for the mode
/// (upsample_nearest2d, upsample_bilinear2d, _upsample_bicubic2d_aa with antialias, adaptive_avg_pool2d for "area", …).
/// A single size or scale counts for every spatial dim; "area" and recompute_scale_factor turn scales into sizes,
/// floor(size · scale), as torch does.
/// </summary>
[AtenOp("aten::__interpolate")]
internal static class Interpolate
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var spatial = x.Type.Rank - 2;
        var mode = a.Get(3, "mode") as string ?? "nearest";
        var antialias = a.Bool(6, "antialias", false) ? "_aa" : "";
        List<object?> PerDim(object? one) => Enumerable.Repeat(one, spatial).ToList();
        var sizes = a.Get(1, "size") switch
        {
            null => null,
            long one => PerDim(one),
            _ => a.Ints(1, "size").Select(s => (object?)s).ToList(),
        };
        var scales = sizes is not null ? null : a.Get(2, "scale_factor") switch
        {
            double or long => PerDim(a.Float(2, "scale_factor")),
            _ => a.Floats(2, "scale_factor").Select(s => (object?)s).ToList(),
        };
        if (scales is not null && (mode == "area" || a.Bool(5, "recompute_scale_factor", false)))
        {
            sizes = scales.Select((scale, i) => (object?)(long)Math.Floor((x.Type.Shape![i + 2].Value ?? throw c.Error(DiagnosticCode.StaticValueRequired,
                $"{c.OpName} with mode '{mode}' by scale factors needs static spatial sizes, got {x.Type}", "give the spatial dims fixed sizes in --input")) * (double)scale!)).ToList();
            scales = null;
        }
        var alignCorners = a.Bool(4, "align_corners", false);
        var (target, positional) = mode switch
        {
            "nearest" => ($"aten::upsample_nearest{spatial}d", new object?[] { x, sizes, scales }),
            "nearest-exact" => ($"aten::_upsample_nearest_exact{spatial}d", [x, sizes, scales]),
            "linear" => ("aten::upsample_linear1d", [x, sizes, alignCorners, scales]),
            "bilinear" when antialias != "" => ("aten::_upsample_bilinear2d_aa", [x, sizes, alignCorners, scales]),
            "bilinear" => ("aten::upsample_bilinear2d", [x, sizes, alignCorners, scales]),
            "trilinear" => ("aten::upsample_trilinear3d", [x, sizes, alignCorners, scales]),
            "bicubic" => ($"aten::{(antialias != "" ? "_" : "")}upsample_bicubic2d{antialias}", [x, sizes, alignCorners, scales]),
            "area" => ($"aten::adaptive_avg_pool{spatial}d", [x, sizes]),
            _ => throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} with mode '{mode}' on {x.Type}: torch has no such mode for this rank"),
        };
        var lowering = OpRegistry.Default.Resolve(target, c.Opset, out var minimum) ?? throw c.NeedsOpset(minimum!.Value, $"mode '{mode}'{(antialias != "" ? " and antialias" : "")}");
        var context = new OpContext(c.Graph, c.Opset, target, c.Scope, c.Span, c.Location);
        return lowering(context, new OpArgs(context, positional, new Dictionary<string, object?>()));
    }
}
