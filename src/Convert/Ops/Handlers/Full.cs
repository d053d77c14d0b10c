using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// Tensor factories: <c>zeros/ones(size, dtype, …)</c>, <c>full(size, fill_value, dtype, …)</c> and their
/// <c>_like(x, dtype, …)</c> forms → ConstantOfShape. Sizes may be run-time ints (the batch of an RNN's zero
/// initial state). The dtype defaults to float32 (torch's default), to the fill value's kind for <c>full</c>, and to
/// <c>x</c>'s for the <c>_like</c> forms.
/// </summary>
[AtenOp("aten::zeros", "aten::ones", "aten::full", "aten::zeros_like", "aten::ones_like", "aten::full_like")]
internal static class Full
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var name = c.OpName["aten::".Length..];
        var like = name.EndsWith("_like", StringComparison.Ordinal);
        var isFull = name.StartsWith("full", StringComparison.Ordinal);
        var fill = isFull ? a.Get(1, "fill_value") : name.StartsWith("ones", StringComparison.Ordinal) ? 1L : 0L;
        var dtypeIndex = isFull ? 2 : 1;
        DataType? requested = a.Get(dtypeIndex, "dtype") is long scalarType ? DataTypes.FromTorchScalarType(scalarType) : null;
        if (like)
        {
            var x = a.Tensor(0);
            var type = requested ?? x.Type.ElementType;
            return Of(c, c.Op("Shape", [x], TensorType.Of(DataType.Int64, x.Type.Rank)), x.Type.Shape, fill, type);
        }
        var sizes = a.SymInts(0, "size");
        var dims = sizes.Select(s => s is long l ? Dim.Of(l) : ((DynamicInt)s).Scalar.SizeOf ?? Shapes.Unknown()).ToArray();
        var elementType = requested ?? fill switch { double => DataType.Float32, bool => DataType.Bool, long when isFull => DataType.Int64, _ => DataType.Float32 };
        return Of(c, c.ShapeTensor(sizes), dims, fill, elementType);
    }

    /// <summary>A tensor of <paramref name="shape"/> (a 1-D int64 graph value) filled with <paramref name="fill"/>.</summary>
    public static Value Of(OpContext c, Value shape, IReadOnlyList<Dim>? dims, object? fill, DataType type)
    {
        if (fill is Value v) // full(size, tensor): broadcast the 0-d value
            return c.Op("Expand", [c.Cast(v, type), shape], TensorType.Of(type).WithShape(dims));
        var number = fill switch { double d => d, long l => l, bool b => b ? 1 : 0, _ => 0.0 };
        var one = c.Scalar(number, type).Constant!;
        var value = new ConstantData(type, [1], one.Bytes);
        return c.Op("ConstantOfShape", [shape], TensorType.Of(type).WithShape(dims), ("value", value));
    }
}
