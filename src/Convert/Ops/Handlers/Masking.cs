using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Masking: ops that keep or replace elements by a mask (masked_fill, where, triu, tril, masked_select, masked_scatter).

/// <summary><c>masked_fill(x, mask, value)</c> → Where(mask, value, x), the value (a number or a 0-d tensor) cast to x's type.</summary>
[AtenOp("aten::masked_fill", "aten::masked_fill_")]
internal static class MaskedFill
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var mask = c.Cast(a.Tensor(1), DataType.Bool);
        var type = x.Type.ElementType;
        var value = c.Cast(c.AsTensor(a.Get(2, "value"), type), type);
        return c.Op("Where", [mask, value, x], x.Type.WithShape(Shapes.Broadcast(x.Type.Shape, mask.Type.Shape)));
    }
}

/// <summary>
/// <c>where(condition, x, y)</c>: x where the condition holds, else y → Where. Either side may be a number; the result
/// type is torch's promotion of the two, the shape the broadcast of all three. Bool sides go through int64, as ONNX
/// Runtime's Where before opset 16 has no bool kernel. The one-argument form is nonzero, another op.
/// </summary>
[AtenOp("aten::where")]
internal static class Where
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        if (a.Count < 3)
            throw c.Error(DiagnosticCode.UnsupportedOpVariant, "aten::where(condition), which is nonzero(condition, as_tuple=True), is not supported");
        var condition = c.Cast(a.Tensor(0), DataType.Bool);
        var type = Binary.ResultType(a.Get(1), a.Get(2));
        var operandType = type == DataType.Bool ? DataType.Int64 : type;
        var x = c.Cast(c.AsTensor(a.Get(1), type), operandType);
        var y = c.Cast(c.AsTensor(a.Get(2), type), operandType);
        var shape = Shapes.Broadcast([condition.Type.Shape, x.Type.Shape, y.Type.Shape]);
        return c.Cast(c.Op("Where", [condition, x, y], TensorType.Of(operandType).WithShape(shape)), type);
    }
}

/// <summary>
/// <c>triu(x, diagonal)</c> / <c>tril(x, diagonal)</c> on the last two dims: Trilu from opset 14; at opset 13 a
/// Where on the mask <c>col − row ≥ diagonal</c> (≤ for tril) built from two Ranges.
/// </summary>
[AtenOp("aten::triu", "aten::tril")]
internal static class Triu
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var input = a.Tensor(0);
        // ONNX Runtime's Where before opset 16 has no bool kernel: masks go through int64.
        var x = input.Type.ElementType == DataType.Bool ? c.Cast(input, DataType.Int64) : input;
        var rank = x.Type.Rank;
        var keep = KeepMask(c, c.DimSize(x, rank - 2), c.DimSize(x, rank - 1), a.Int(1, "diagonal", 0), upper: c.OpName == "aten::triu");
        return c.Cast(c.Op("Where", [keep, x, c.Scalar(0, x.Type.ElementType)], x.Type), input.Type.ElementType);
    }

    /// <summary>
    /// The bool [rows, cols] mask of the elements triu (<paramref name="upper"/>) or tril keeps: col − row ≥ diagonal
    /// (≤ for tril), from two Ranges over the 0-d int64 sizes. Shared with the causal mask of
    /// <see cref="ScaledDotProductAttention"/>.
    /// </summary>
    internal static Value KeepMask(OpContext c, Value rows, Value cols, long diagonal, bool upper)
    {
        Value Indices(Value size, long[] unsqueeze)
        {
            var range = c.Op("Range", [c.ScalarInt64(0), size, c.ScalarInt64(1)], TensorType.Of(DataType.Int64, size.SizeOf ?? Shapes.Unknown()));
            return c.Unsqueeze(range, unsqueeze);
        }
        var (rowIndices, colIndices) = (Indices(rows, [1]), Indices(cols, [0]));
        var offset = c.Op("Sub", [colIndices, rowIndices],
            TensorType.Of(DataType.Int64, rows.SizeOf ?? Shapes.Unknown(), cols.SizeOf ?? Shapes.Unknown()));
        return c.Op(upper ? "GreaterOrEqual" : "LessOrEqual", [offset, c.ScalarInt64(diagonal)], offset.Type.WithElementType(DataType.Bool));
    }

    [Opset(14)]
    private static object? V14(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        // Bool masks (triu(ones(n, n, dtype=bool))) go through int64, which every Trilu kernel takes.
        var operand = x.Type.ElementType == DataType.Bool ? c.Cast(x, DataType.Int64) : x;
        var result = c.Op("Trilu", [operand, c.ScalarInt64(a.Int(1, "diagonal", 0))], operand.Type, ("upper", c.OpName == "aten::triu" ? 1 : 0));
        return c.Cast(result, x.Type.ElementType);
    }
}

/// <summary>
/// <c>masked_select(x, mask)</c>: the elements of x where the (broadcast) mask is true, flattened in order → both
/// broadcast to their common shape (Expand broadcasts both ways), flattened, and Compress. The length depends on the data.
/// </summary>
[AtenOp("aten::masked_select")]
internal static class MaskedSelect
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (x, mask) = (a.Tensor(0), a.Tensor(1, "mask"));
        var shape = Shapes.Broadcast(x.Type.Shape, mask.Type.Shape);
        Value Flat(Value value, Value other)
        {
            var broadcast = c.Op("Expand", [value, c.ShapeOf(other)], value.Type.WithShape(shape));
            return c.Op("Reshape", [broadcast, c.ConstInt64([-1])], value.Type.WithShape([shape is null ? Shapes.Unknown() : Shapes.Product(shape)]));
        }
        return c.Op("Compress", [Flat(x, mask), Flat(mask, x)], x.Type.WithShape([Shapes.Unknown()]), ("axis", 0));
    }
}

/// <summary>
/// <c>masked_scatter(x, mask, source)</c>: x with its masked positions filled, in row-major order, by the first elements
/// of source (the mask broadcast to x). The k-th true position takes source's k-th element: a CumSum over the flattened
/// mask counts the positions, Gather picks from the flattened source, Where keeps x elsewhere.
/// </summary>
[AtenOp("aten::masked_scatter", "aten::masked_scatter_")]
internal static class MaskedScatter
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var mask = c.Op("Expand", [c.Cast(a.Tensor(1), DataType.Bool), c.ShapeOf(x)], x.Type.WithElementType(DataType.Bool));
        var source = Take.Flatten(c, c.Cast(a.Tensor(2), x.Type.ElementType));
        var flatMask = Take.Flatten(c, c.Cast(mask, DataType.Int64));
        var counted = c.Op("CumSum", [flatMask, c.ScalarInt64(0)], flatMask.Type);
        var position = c.Op("Max", [c.Op("Sub", [counted, c.ScalarInt64(1)], counted.Type), c.ScalarInt64(0)], counted.Type);
        var picked = c.Op("Gather", [source, position], source.Type.WithShape(position.Type.Shape), ("axis", 0));
        return c.Op("Where", [mask, c.Op("Reshape", [picked, c.ShapeOf(x)], x.Type), x], x.Type);
    }
}
