using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>slice(x, dim, start, end, step)</c> (what <c>x[:, a:b:s]</c> traces to) → Slice. Bounds may be None, huge
/// (<c>9223372036854775807</c> for "to the end"), negative or run-time ints, and clamp as in Python; a whole-dim slice
/// is the input itself. Static unit-step slices record the view they are (<see cref="Value.View"/>), so
/// an in-place op on them writes back into <c>x</c>.
/// </summary>
[AtenOp("aten::slice")]
internal static class Slice
{
    private const long End = long.MaxValue;

    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim", 0), x.Type.Rank);
        var step = a.Int(4, "step", 1);
        var start = Bound(a.Get(2, "start"), 0L);
        var end = Bound(a.Get(3, "end"), End);
        var size = x.Type.Shape![axis].Value;
        if (size is { } n && start is long s && end is long e)
        {
            var (from, to) = (Clamp(s, n), Clamp(e, n));
            if (from == 0 && to == n && step == 1) return x;
            var result = Static(c, x, axis, from, to, step);
            if (step == 1) result.View = new ViewOf(x, axis, from, to, Squeezed: false);
            return result;
        }
        if (start is 0L && end is End && step == 1) return x;
        var shape = x.Type.Shape!.Select((d, i) => i == axis ? Shapes.Unknown() : d).ToArray();
        return c.Op("Slice", [x, c.ShapeTensor([start]), c.ShapeTensor([end]), c.ConstInt64([axis]), c.ConstInt64([step])],
            x.Type.WithShape(shape));
    }

    /// <summary>A bound as a static long or a <see cref="DynamicInt"/>; None is <paramref name="none"/>.</summary>
    private static object Bound(object? bound, long none) => bound switch
    {
        null => none,
        long l => l,
        DynamicInt d => d,
        Value v => new DynamicInt(v),
        _ => throw new ArgumentException($"slice bound {Interpreter.DescribeValue(bound)}"),
    };

    private static long Clamp(long bound, long size) => Math.Clamp(bound < 0 ? bound + size : bound, 0, size);

    /// <summary><c>x[from:to:step]</c> along <paramref name="axis"/> with static bounds (negative ones count from the end, as in Python).</summary>
    public static Value Static(OpContext c, Value x, int axis, long from, long to, long step = 1)
    {
        var shape = x.Type.Shape!.ToArray();
        shape[axis] = shape[axis].Value is { } n && Clamp(from, n) is var f && Clamp(to, n) is var t
            ? Dim.Of(t > f ? (t - f + step - 1) / step : 0)
            : Shapes.Unknown();
        return c.Op("Slice", [x, c.ConstInt64([from]), c.ConstInt64([to]), c.ConstInt64([axis]), c.ConstInt64([step])], x.Type.WithShape(shape));
    }
}
