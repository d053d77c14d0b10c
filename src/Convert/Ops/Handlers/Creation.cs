using System.Runtime.InteropServices;
using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Creation: tensors made from sizes and a fill value (arange, linspace/logspace, eye, hann_window, tril/triu_indices,
// zeros/ones/full/empty and their _like forms, new_zeros/new_ones/new_full/new_empty, fill/fill_/zero_, _dim_arange), and the
// trip count and loop variable of a stepped range (__range_length, __derive_index).

/// <summary>
/// <c>arange(end)</c>, <c>arange(start, end)</c>, <c>arange(start, end, step)</c> (dtype, layout, device as keywords).
/// Static bounds give a constant; a run-time bound (<c>x.size(1)</c> of a dynamic dim) gives Range. The dtype is
/// int64 unless a bound is a float or <c>dtype</c> says otherwise, as in torch.
/// </summary>
[AtenOp("aten::arange")]
internal static class Arange
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var bounds = a.Positional.TakeWhile(p => p is long or double or Value or DynamicInt).ToList();
        var (start, end, step) = bounds.Count switch
        {
            1 => (0L, bounds[0], (object?)1L),
            2 => (bounds[0], bounds[1], 1L),
            _ => (bounds[0], bounds[1], bounds[2]),
        };
        var isFloat = new[] { start, end, step }.Any(b => b is double || b is Value { Type.ElementType: var t } && t.IsFloatingPoint());
        DataType? requested = a.Get(bounds.Count, "dtype") is long scalarType ? DataTypes.FromTorchScalarType(scalarType) : null;
        var type = requested ?? (isFloat ? DataType.Float32 : DataType.Int64);
        if (Static(c, step) is 0)
            throw new ModelForgeException(DiagnosticCode.InvalidOpArguments, "aten::arange with step 0", null, "torch.arange needs a nonzero step");
        // Small static ranges fold to a constant; a huge one (a corrupt or hostile constant) stays a Range node rather
        // than an allocation of its size at conversion time (the convert fuzz target found such an archive).
        if (Static(c, start) is { } s && Static(c, end) is { } e && Static(c, step) is { } d && Math.Ceiling((e - s) / d) <= MaxFoldedLength)
            return Constant(c, s, e, d, type);

        // Range computes in its own type; torch computes in double and casts, the same for int bounds.
        var computeType = isFloat ? DataType.Float32 : DataType.Int64;
        Value Scalar(object? bound) => bound switch
        {
            DynamicInt dynamic => c.Cast(dynamic.Scalar, computeType),
            Value v => c.Cast(v.Type.Shape is { Count: 0 } ? v : c.Op("Reshape", [v, c.ConstInt64([])], v.Type.WithShape([])), computeType),
            _ => c.Scalar(System.Convert.ToDouble(bound, System.Globalization.CultureInfo.InvariantCulture), computeType),
        };
        var length = start is 0L && step is 1L && end is DynamicInt { Scalar.SizeOf: { } dim } ? dim : Shapes.Unknown();
        var range = c.Op("Range", [Scalar(start), Scalar(end), Scalar(step)], TensorType.Of(computeType, length));
        return c.Cast(range, type);
    }

    private const double MaxFoldedLength = 1 << 16;

    private static double? Static(OpContext c, object? bound) => bound switch
    {
        long l => l,
        double d => d,
        Value v when c.TryGetConstantInt64(v, out var l) => l,
        _ => null,
    };

    private static Value Constant(OpContext c, double start, double end, double step, DataType type)
    {
        var count = (long)Math.Max(0, Math.Ceiling((end - start) / step));
        return Values(c, Enumerable.Range(0, (int)count).Select(i => start + i * step).ToArray(), type, "arange");
    }

    /// <summary>A 1-D constant of <paramref name="type"/> holding <paramref name="values"/> (computed in double).</summary>
    public static Value Values(OpContext c, double[] values, DataType type, string name)
    {
        byte[] bytes = type switch
        {
            DataType.Float32 => MemoryMarshal.AsBytes(values.Select(v => (float)v).ToArray().AsSpan()).ToArray(),
            DataType.Float64 => MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
            DataType.Int32 => MemoryMarshal.AsBytes(values.Select(v => (int)v).ToArray().AsSpan()).ToArray(),
            _ => MemoryMarshal.AsBytes(values.Select(v => (long)v).ToArray().AsSpan()).ToArray(),
        };
        var resultType = type is DataType.Float32 or DataType.Float64 or DataType.Int32 ? type : DataType.Int64;
        return c.Cast(c.Constant(resultType, [values.Length], bytes, name), type);
    }
}

/// <summary>
/// <c>linspace(start, end, steps, dtype, …)</c> with constant arguments → a constant, computed as torch does: the first
/// half steps up from start, the second half down from end; <c>logspace(start, end, steps, base, dtype, …)</c> is base to
/// those powers. float32 unless dtype says otherwise.
/// </summary>
[AtenOp("aten::linspace", "aten::logspace")]
internal static class Linspace
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (start, end, steps) = (a.Float(0, "start"), a.Float(1, "end"), a.Int(2, "steps"));
        var logarithmic = c.OpName == "aten::logspace";
        var type = a.Get(logarithmic ? 4 : 3, "dtype") is long scalarType && DataTypes.FromTorchScalarType(scalarType) is { } t ? t : DataType.Float32;
        var step = steps > 1 ? (end - start) / (steps - 1) : 0;
        var values = Enumerable.Range(0, (int)steps).Select(i => i < steps / 2 ? start + i * step : end - (steps - 1 - i) * step).ToArray();
        if (logarithmic) values = values.Select(v => Math.Pow(a.Float(3, "base", 10), v)).ToArray();
        return Arange.Values(c, values, type, logarithmic ? "logspace" : "linspace");
    }
}

/// <summary>
/// Tensor factories: <c>zeros/ones(size, dtype, …)</c>, <c>full(size, fill_value, dtype, …)</c> and their
/// <c>_like(x, dtype, …)</c> forms → ConstantOfShape; <c>empty</c>/<c>empty_like</c> (contents undefined) give zeros. Sizes may be run-time ints (the batch of an RNN's zero
/// initial state). The dtype defaults to float32 (torch's default), to the fill value's kind for <c>full</c>, and to
/// <c>x</c>'s for the <c>_like</c> forms.
/// </summary>
[AtenOp("aten::zeros", "aten::ones", "aten::full", "aten::zeros_like", "aten::ones_like", "aten::full_like", "aten::empty", "aten::empty_like")]
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

/// <summary>
/// <c>new_zeros(x, size, dtype, …)</c> / <c>new_ones</c> / <c>new_empty</c> (zeros) / <c>new_full(x, size, fill_value, dtype, …)</c>:
/// a 0-d constant of the dtype (x's when None) expanded to <c>size</c>, which may hold run-time ints.
/// </summary>
[AtenOp("aten::new_zeros", "aten::new_ones", "aten::new_empty", "aten::new_full")]
internal static class NewZeros
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var isFull = c.OpName == "aten::new_full";
        var type = a.Get(isFull ? 3 : 2, "dtype") is long scalarType && DataTypes.FromTorchScalarType(scalarType) is { } t ? t : x.Type.ElementType;
        var sizes = a.SymInts(1, "size");
        var shape = sizes.Select(s => s is long l ? Dim.Of(l) : ((DynamicInt)s).Scalar.SizeOf ?? Shapes.Unknown()).ToArray();
        var fill = isFull ? c.Cast(c.AsTensor(a.Get(2, "fill_value"), type), type) : c.Scalar(c.OpName == "aten::new_ones" ? 1 : 0, type);
        return c.Op("Expand", [fill, c.ShapeTensor(sizes)], TensorType.Of(type, shape));
    }
}

/// <summary><c>eye(n, m, dtype, …)</c> → a constant [n, m] (m = n when absent) with ones on the diagonal, float32 by default.</summary>
[AtenOp("aten::eye")]
internal static class Eye
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var rows = a.Int(0, "n");
        var columns = a.Get(1) is long m ? m : rows;
        var type = a.Get(a.Get(1) is long ? 2 : 1, "dtype") is long scalarType && DataTypes.FromTorchScalarType(scalarType) is { } t ? t : DataType.Float32;
        var values = Enumerable.Range(0, (int)(rows * columns)).Select(i => i / columns == i % columns ? 1.0 : 0.0).ToArray();
        var flat = Arange.Values(c, values, type, "eye");
        return c.Op("Reshape", [flat, c.ConstInt64([rows, columns])], TensorType.Of(type, rows, columns));
    }
}

/// <summary>
/// <c>hann_window(window_length, periodic, dtype, …)</c> with a constant length → the constant window
/// 0.5 − 0.5·cos(2πn / N), N the length when periodic (the default) and the length − 1 when not; float32 unless dtype
/// says otherwise. A window of length 1 is [1].
/// </summary>
[AtenOp("aten::hann_window")]
internal static class HannWindow
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var length = a.Int(0, "window_length");
        var periodic = a.Get(1) is not bool flag || flag;
        var type = a.Get(a.Get(1) is bool ? 2 : 1, "dtype") is long scalarType && DataTypes.FromTorchScalarType(scalarType) is { } t ? t : DataType.Float32;
        var period = periodic ? length : length - 1;
        var values = Enumerable.Range(0, (int)length).Select(n => length == 1 ? 1.0 : 0.5 - 0.5 * Math.Cos(2 * Math.PI * n / period)).ToArray();
        return Arange.Values(c, values, type, "hann_window");
    }
}

/// <summary>
/// <c>tril_indices(row, col, offset)</c> / <c>triu_indices</c> → the constant [2, N] int64 coordinates of the lower
/// (column − row ≤ offset) or upper (column − row ≥ offset) triangle, row by row, as torch lists them.
/// </summary>
[AtenOp("aten::tril_indices", "aten::triu_indices")]
internal static class TriangleIndices
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (rows, columns, offset) = (a.Int(0, "row"), a.Int(1, "col"), a.Int(2, "offset", 0));
        var lower = c.OpName == "aten::tril_indices";
        var cells = (from r in Enumerable.Range(0, (int)rows)
                     from col in Enumerable.Range(0, (int)columns)
                     where lower ? col - r <= offset : col - r >= offset
                     select (Row: (long)r, Column: (long)col)).ToList();
        long[] values = [.. cells.Select(p => p.Row), .. cells.Select(p => p.Column)];
        return c.ConstInt64(values, [2, cells.Count]);
    }
}

/// <summary>
/// <c>fill_(x, value)</c> / <c>zero_(x)</c>: value (a number or 0-d tensor, cast to x's type) expanded to x's shape. On a
/// slice the interpreter writes the result back into the sliced tensor (see <see cref="Views"/>). <c>fill(x, value)</c>
/// (scripted <c>torch.fill</c>) is the same, as a new tensor.
/// </summary>
[AtenOp("aten::fill_", "aten::fill", "aten::zero_")]
internal static class Fill
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var type = x.Type.ElementType;
        var value = c.Cast(c.AsTensor(c.OpName == "aten::zero_" ? 0L : a.Get(1, "value"), type), type);
        if (value.Type.Rank > 0) value = c.Op("Reshape", [value, c.ConstInt64([])], value.Type.WithShape([]));
        var shape = c.ShapeOf(x);
        return c.Op("Expand", [value, shape], x.Type);
    }
}

/// <summary>
/// <c>copy_(x, src)</c>, what <c>x[i:] = src</c> and <c>x[i:] += y</c> trace to (MViT v2's relative positions): src cast
/// to x's dtype and broadcast to x's shape. On a slice the interpreter writes the result back into the sliced tensor
/// (see <see cref="Views"/>).
/// </summary>
[AtenOp("aten::copy_")]
internal static class CopyInto
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var source = c.Cast(c.AsTensor(a.Get(1, "src"), x.Type.ElementType), x.Type.ElementType);
        return c.Op("Expand", [source, c.ShapeOf(x)], x.Type);
    }
}

/// <summary><c>_dim_arange(like, dim)</c>: <c>arange(like.size(dim))</c> in int64 → Range up to that dim's size (a Shape of a dynamic one).</summary>
[AtenOp("aten::_dim_arange")]
internal static class DimArange
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var like = a.Tensor(0);
        var dim = Shapes.NormalizeAxis(a.Int(1, "dim"), like.Type.Rank);
        var size = like.Type.Shape![dim];
        var end = size.Value is { } n ? c.ScalarInt64(n) : c.DimSize(like, dim);
        return c.Op("Range", [c.ScalarInt64(0), end, c.ScalarInt64(1)], TensorType.Of(DataType.Int64, size));
    }
}

/// <summary>
/// <c>__range_length(lo, hi, step)</c> and <c>__derive_index(index, start, step)</c>, with which saved scripted code
/// spells <c>for i in range(lo, hi, step)</c>: the trip count and the loop variable. The interpreter computes them from
/// int bounds; a bound or index known only at run time (a loop to x.size(0)) gives run-time ints here:
/// max(0, hi − lo) rounded up to steps (towards lo for a negative step), and start + index · step.
/// </summary>
[AtenOp("aten::__range_length", "aten::__derive_index")]
internal static class RangeIndices
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        // A run-time int arrives as a DynamicInt, or as the 0-d tensor that arithmetic on one gives (x.size(0) - 1).
        Value Operand(int index) => a.Get(index) switch
        {
            DynamicInt dynamic => dynamic.Scalar,
            Value { Type.Shape.Count: 0, Constant: null } scalar => c.Cast(scalar, DataType.Int64),
            _ => c.ScalarInt64(a.Int(index)),
        };
        var scalar = TensorType.Scalar(DataType.Int64);
        var step = a.Int(2, "step");
        if (c.OpName == "aten::__derive_index")
            return new DynamicInt(c.Op("Add", [Operand(1), c.Op("Mul", [Operand(0), c.ScalarInt64(step)], scalar)], scalar));
        if (step == 0)
            throw c.Error(DiagnosticCode.InvalidOpArguments, "range() with step 0", "Python raises ValueError: range() arg 3 must not be zero");
        var (from, to) = step > 0 ? (Operand(0), Operand(1)) : (Operand(1), Operand(0));
        var span = c.Op("Max", [c.Op("Sub", [to, from], scalar), c.ScalarInt64(0)], scalar);
        var stride = Math.Abs(step);
        return new DynamicInt(c.Op("Div", [c.Op("Add", [span, c.ScalarInt64(stride - 1)], scalar), c.ScalarInt64(stride)], scalar));
    }
}
