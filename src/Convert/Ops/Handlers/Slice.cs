using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>slice(x, dim, start, end, step)</c> (what <c>x[:, a:b]</c> traces to) → Slice. Bounds may be None, huge
/// (<c>9223372036854775807</c> for "to the end") or run-time ints.
/// </summary>
[AtenOp("aten::slice")]
internal static class Slice
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim", 0), x.Type.Rank);
        object start = a.Get(2, "start") is DynamicInt ds ? ds : a.Int(2, "start", 0);
        object end = a.Get(3, "end") is DynamicInt de ? de : a.Int(3, "end", long.MaxValue);
        var step = a.Int(4, "step", 1);
        var input = x.Type.Shape![axis];
        if (start is 0L && end is long e0 && (e0 == long.MaxValue || input.Value is { } n0 && e0 >= n0) && step == 1) return x;
        var size = input.Value is { } n && start is long s && end is long e
            ? Dim.Of(SliceLength(n, s, e, step))
            : Shapes.Unknown();
        var shape = x.Type.Shape!.Select((d, i) => i == axis ? size : d).ToArray();
        return c.Op("Slice", [x, c.ShapeTensor([start]), c.ShapeTensor([end]), c.ConstInt64([axis]), c.ConstInt64([step])], x.Type.WithShape(shape));
    }

    private static long SliceLength(long size, long start, long end, long step)
    {
        static long Clamp(long v, long size) => Math.Clamp(v < 0 ? v + size : v, 0, size);
        var (s, e) = (Clamp(start, size), Clamp(end, size));
        return e <= s ? 0 : (e - s + step - 1) / step;
    }
}
