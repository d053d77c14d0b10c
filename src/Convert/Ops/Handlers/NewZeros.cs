using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>new_zeros(x, size, dtype, …)</c> / <c>new_ones</c>: a 0-d constant of the dtype (x's when None) expanded to
/// <c>size</c>, which may hold run-time ints.
/// </summary>
[AtenOp("aten::new_zeros", "aten::new_ones")]
internal static class NewZeros
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var type = a.Get(2, "dtype") is long scalarType && DataTypes.FromTorchScalarType(scalarType) is { } t ? t : x.Type.ElementType;
        var sizes = a.SymInts(1, "size");
        var shape = sizes.Select(s => s is long l ? Dim.Of(l) : ((DynamicInt)s).Scalar.SizeOf ?? Shapes.Unknown()).ToArray();
        var value = c.Scalar(c.OpName == "aten::new_ones" ? 1 : 0, type);
        return c.Op("Expand", [value, c.ShapeTensor(sizes)], TensorType.Of(type, shape));
    }
}
