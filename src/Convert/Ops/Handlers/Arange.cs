using System.Runtime.InteropServices;
using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

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
        var values = Enumerable.Range(0, (int)count).Select(i => start + i * step).ToArray();
        byte[] bytes = type switch
        {
            DataType.Float32 => MemoryMarshal.AsBytes(values.Select(v => (float)v).ToArray().AsSpan()).ToArray(),
            DataType.Float64 => MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
            DataType.Int32 => MemoryMarshal.AsBytes(values.Select(v => (int)v).ToArray().AsSpan()).ToArray(),
            _ => MemoryMarshal.AsBytes(values.Select(v => (long)v).ToArray().AsSpan()).ToArray(),
        };
        var resultType = type is DataType.Float32 or DataType.Float64 or DataType.Int32 ? type : DataType.Int64;
        return c.Cast(c.Constant(resultType, [count], bytes, "arange"), type);
    }
}
