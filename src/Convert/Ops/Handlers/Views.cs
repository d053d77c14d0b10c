using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// Writing an in-place result back into the tensor a view came from: <c>m[0:4, 2:4].fill_(1)</c> (Swin's shifted-window
/// mask) changes <c>m</c>. The interpreter calls <see cref="WriteBack"/> for each level of <see cref="Value.View"/>.
/// </summary>
internal static class Views
{
    /// <summary>The base tensor with the viewed range replaced by <paramref name="update"/>: Concat(before, update, after).</summary>
    public static Value WriteBack(OpContext c, ViewOf view, Value update)
    {
        var (source, axis) = (view.Base, view.Axis);
        if (view.Squeezed) update = c.Unsqueeze(update, [axis]);
        update = c.Cast(update, source.Type.ElementType);
        var pieces = new List<Value>();
        if (view.Start > 0) pieces.Add(Slice.Static(c, source, axis, 0, view.Start));
        pieces.Add(update);
        if (source.Type.Shape![axis].Value is not { } size || view.End < size) pieces.Add(Slice.Static(c, source, axis, view.End, long.MaxValue));
        return pieces.Count == 1 ? update : c.Op("Concat", pieces, source.Type, ("axis", axis));
    }
}
