using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>roll(x, shifts, dims)</c> → per dim Concat(last s entries, the rest) (Swin's cyclic shift). A static dim takes the
/// shift modulo its size; a dynamic one takes it as given (correct while |shift| &lt; size). No dims rolls the
/// flattened tensor and restores the shape.
/// </summary>
[AtenOp("aten::roll")]
internal static class Roll
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var shifts = a.Ints(1, "shifts", expand: 1);
        var dims = a.Get(2, "dims") is null ? [] : a.Ints(2, "dims", expand: 1);
        if (dims.Length == 0)
        {
            var flat = c.Op("Reshape", [x, c.ConstInt64([-1])], x.Type.WithShape([Shapes.Product(x.Type.Shape!)]));
            var rolled = Along(c, flat, 0, shifts[0]);
            var shape = c.ShapeOf(x);
            return c.Op("Reshape", [rolled, shape], x.Type);
        }
        for (var i = 0; i < dims.Length; i++) x = Along(c, x, Shapes.NormalizeAxis(dims[i], x.Type.Rank), shifts[i]);
        return x;
    }

    private static Value Along(OpContext c, Value x, int axis, long shift)
    {
        if (x.Type.Shape![axis].Value is { } size) shift = size == 0 ? 0 : (shift % size + size) % size;
        if (shift == 0) return x;
        // roll by k is x[-k:] followed by x[:-k], for either sign of k.
        var tail = Slice.Static(c, x, axis, -shift, long.MaxValue);
        var head = Slice.Static(c, x, axis, 0, -shift);
        return c.Op("Concat", [tail, head], x.Type, ("axis", axis));
    }
}
