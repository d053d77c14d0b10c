using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

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
