using System.Buffers.Binary;
using System.Runtime.InteropServices;
using ModelForge.Convert.IR;

namespace ModelForge.Convert.Passes;

/// <summary>
/// A constant tensor as <see cref="ConstantFoldingPass"/> evaluates it: element type, shape and row-major bytes.
/// Data movement (Concat, Gather, Transpose, Slice) works on any element type by copying element bytes; arithmetic
/// and Cast support int64, int32, float32 and float64 (bool as a source of Cast).
/// </summary>
internal sealed class FoldTensor(DataType type, long[] shape, ReadOnlyMemory<byte> bytes)
{
    /// <summary>The operands are outside what folding supports; the node stays.</summary>
    public sealed class CannotFold : Exception;

    public DataType Type { get; } = type;
    public long[] Shape { get; } = shape;
    public ReadOnlyMemory<byte> Bytes { get; } = bytes;
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);
    private int ElementSize => Type.SizeInBytes();

    public static FoldTensor From(ConstantData data) => new(data.ElementType, data.Shape, data.Bytes);
    public ConstantData ToConstant() => new(Type, Shape, Bytes);

    public long[] Longs() => Type switch
    {
        DataType.Int64 => MemoryMarshal.Cast<byte, long>(Bytes.Span).ToArray(),
        DataType.Int32 => MemoryMarshal.Cast<byte, int>(Bytes.Span).ToArray().Select(i => (long)i).ToArray(),
        _ => throw new CannotFold(),
    };

    private double Get(int index) => Type switch
    {
        DataType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(Bytes.Span[(index * 4)..]),
        DataType.Float64 => BinaryPrimitives.ReadDoubleLittleEndian(Bytes.Span[(index * 8)..]),
        DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(Bytes.Span[(index * 8)..]),
        DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(Bytes.Span[(index * 4)..]),
        DataType.Bool or DataType.UInt8 => Bytes.Span[index],
        _ => throw new CannotFold(),
    };

    private static byte[] Encode(DataType type, IReadOnlyList<double> values)
    {
        var size = type.SizeInBytes();
        var bytes = new byte[values.Count * size];
        for (var i = 0; i < values.Count; i++)
        {
            var span = bytes.AsSpan(i * size);
            switch (type)
            {
                case DataType.Float32: BinaryPrimitives.WriteSingleLittleEndian(span, (float)values[i]); break;
                case DataType.Float64: BinaryPrimitives.WriteDoubleLittleEndian(span, values[i]); break;
                case DataType.Int64: BinaryPrimitives.WriteInt64LittleEndian(span, (long)values[i]); break;
                case DataType.Int32: BinaryPrimitives.WriteInt32LittleEndian(span, (int)values[i]); break;
                case DataType.Bool: span[0] = values[i] != 0 ? (byte)1 : (byte)0; break;
                default: throw new CannotFold();
            }
        }
        return bytes;
    }

    private static bool IsArithmetic(DataType type) => type is DataType.Float32 or DataType.Float64 or DataType.Int64 or DataType.Int32;

    private static long[] Strides(long[] shape)
    {
        var strides = new long[shape.Length];
        long stride = 1;
        for (var i = shape.Length - 1; i >= 0; i--) { strides[i] = stride; stride *= shape[i]; }
        return strides;
    }

    /// <summary>Builds a tensor of <paramref name="shape"/> whose element i is source element <paramref name="sourceIndex"/>(output index).</summary>
    private FoldTensor Gathered(long[] shape, Func<long[], long> sourceIndex)
    {
        var count = shape.Aggregate(1L, (a, b) => a * b);
        var size = ElementSize;
        var result = new byte[count * size];
        var index = new long[shape.Length];
        var source = Bytes.Span;
        for (long i = 0; i < count; i++)
        {
            source.Slice((int)(sourceIndex(index) * size), size).CopyTo(result.AsSpan((int)(i * size)));
            for (var d = shape.Length - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d]) break;
                index[d] = 0;
            }
        }
        return new FoldTensor(Type, shape, result);
    }

    private static int Axis(long axis, int rank) => (int)(axis < 0 ? axis + rank : axis) is var a && a >= 0 && a < Math.Max(rank, 1) ? a : throw new CannotFold();

    public static FoldTensor? Reshape(FoldTensor input, long[] target, bool allowZero)
    {
        var shape = target.Select((d, i) => d == 0 && !allowZero ? (i < input.Shape.Length ? input.Shape[i] : throw new CannotFold()) : d).ToArray();
        var inferred = Array.IndexOf(shape, -1L);
        if (inferred >= 0)
        {
            var known = shape.Where((_, i) => i != inferred).Aggregate(1L, (a, b) => a * b);
            if (known == 0) return null;
            shape[inferred] = input.Count / known;
        }
        return shape.Aggregate(1L, (a, b) => a * b) == input.Count ? new FoldTensor(input.Type, shape, input.Bytes) : null;
    }

    public static FoldTensor Concat(FoldTensor[] parts, long axisAttribute)
    {
        var rank = parts[0].Shape.Length;
        var axis = Axis(axisAttribute, rank);
        if (parts.Any(p => p.Type != parts[0].Type || p.Shape.Length != rank)) throw new CannotFold();
        var shape = parts[0].Shape.ToArray();
        shape[axis] = parts.Sum(p => p.Shape[axis]);
        var outer = shape.Take(axis).Aggregate(1L, (a, b) => a * b);
        var size = parts[0].ElementSize;
        using var stream = new MemoryStream();
        for (long o = 0; o < outer; o++)
            foreach (var part in parts)
            {
                var block = part.Shape.Skip(axis).Aggregate(1L, (a, b) => a * b) * size;
                stream.Write(part.Bytes.Span.Slice((int)(o * block), (int)block));
            }
        return new FoldTensor(parts[0].Type, shape, stream.ToArray());
    }

    public static FoldTensor Gather(FoldTensor data, FoldTensor indices, long axisAttribute)
    {
        var axis = Axis(axisAttribute, data.Shape.Length);
        var index = indices.Longs().Select(i => i < 0 ? i + data.Shape[axis] : i).ToArray();
        if (index.Any(i => i < 0 || i >= data.Shape[axis])) throw new CannotFold();
        long[] shape = [.. data.Shape.Take(axis), .. indices.Shape, .. data.Shape.Skip(axis + 1)];
        var strides = Strides(data.Shape);
        var indexStrides = Strides(indices.Shape);
        return data.Gathered(shape, position =>
        {
            long flat = 0;
            for (var d = 0; d < axis; d++) flat += position[d] * strides[d];
            long which = 0;
            for (var d = 0; d < indices.Shape.Length; d++) which += position[axis + d] * indexStrides[d];
            flat += index[which] * strides[axis];
            for (var d = axis + 1; d < data.Shape.Length; d++) flat += position[d + indices.Shape.Length - 1] * strides[d];
            return flat;
        });
    }

    public static FoldTensor Transpose(FoldTensor input, long[]? perm)
    {
        var rank = input.Shape.Length;
        perm ??= Enumerable.Range(0, rank).Reverse().Select(i => (long)i).ToArray();
        var shape = perm.Select(p => input.Shape[p]).ToArray();
        var strides = Strides(input.Shape);
        return input.Gathered(shape, position =>
        {
            long flat = 0;
            for (var d = 0; d < rank; d++) flat += position[d] * strides[perm[d]];
            return flat;
        });
    }

    public static FoldTensor Slice(FoldTensor input, long[] starts, long[] ends, long[]? axes, long[]? steps)
    {
        var rank = input.Shape.Length;
        var begin = new long[rank];
        var step = Enumerable.Repeat(1L, rank).ToArray();
        var shape = input.Shape.ToArray();
        for (var i = 0; i < starts.Length; i++)
        {
            var axis = Axis(axes?[i] ?? i, rank);
            var dim = input.Shape[axis];
            var s = steps?[i] ?? 1;
            if (s <= 0) throw new CannotFold();
            var start = Math.Clamp(starts[i] < 0 ? starts[i] + dim : starts[i], 0, dim);
            var end = Math.Clamp(ends[i] < 0 ? ends[i] + dim : ends[i], 0, dim);
            begin[axis] = start;
            step[axis] = s;
            shape[axis] = Math.Max(0, (end - start + s - 1) / s);
        }
        var strides = Strides(input.Shape);
        return input.Gathered(shape, position =>
        {
            long flat = 0;
            for (var d = 0; d < rank; d++) flat += (begin[d] + position[d] * step[d]) * strides[d];
            return flat;
        });
    }

    public static FoldTensor? Cast(FoldTensor input, DataType to)
    {
        if (input.Type == to) return input;
        if (!IsArithmetic(to) && to != DataType.Bool || !IsArithmetic(input.Type) && input.Type != DataType.Bool) return null;
        var values = Enumerable.Range(0, (int)input.Count).Select(i =>
        {
            var v = input.Get(i);
            return to.IsInteger() ? Math.Truncate(v) : v;
        }).ToArray();
        return new FoldTensor(to, input.Shape, Encode(to, values));
    }

    public static FoldTensor? ConstantOfShape(long[] shape, FoldTensor? fill)
    {
        var type = fill?.Type ?? DataType.Float32;
        var value = fill is null ? 0 : fill.Get(0);
        if (!IsArithmetic(type) && type != DataType.Bool) return null;
        var count = shape.Aggregate(1L, (a, b) => a * b);
        return new FoldTensor(type, shape, Encode(type, Enumerable.Repeat(value, (int)count).ToArray()));
    }

    public static FoldTensor? Unary(FoldTensor input, Func<double, double> op) =>
        IsArithmetic(input.Type)
            ? new FoldTensor(input.Type, input.Shape, Encode(input.Type, Enumerable.Range(0, (int)input.Count).Select(i => op(input.Get(i))).ToArray()))
            : null;

    /// <summary>ReduceMin or ReduceMax over every axis (keepdims: all of them 1, else 0-d); empty inputs stay nodes.</summary>
    public static FoldTensor? ReduceAll(FoldTensor input, bool max, bool keepDims)
    {
        if (!IsArithmetic(input.Type) || input.Count == 0) return null;
        var values = Enumerable.Range(0, (int)input.Count).Select(input.Get);
        var shape = keepDims ? input.Shape.Select(_ => 1L).ToArray() : [];
        return new FoldTensor(input.Type, shape, Encode(input.Type, [max ? values.Max() : values.Min()]));
    }

    /// <summary>Elementwise arithmetic (Add, Sub, Mul, Div, Min, Max) with numpy broadcasting, computed in the operands' type (integer Div truncates, as ONNX Runtime does).</summary>
    public static FoldTensor? Binary(FoldTensor a, FoldTensor b, string op)
    {
        if (a.Type != b.Type || !IsArithmetic(a.Type)) return null;
        var rank = Math.Max(a.Shape.Length, b.Shape.Length);
        long[] Padded(long[] s) => [.. Enumerable.Repeat(1L, rank - s.Length), .. s];
        var (sa, sb) = (Padded(a.Shape), Padded(b.Shape));
        var shape = new long[rank];
        for (var d = 0; d < rank; d++)
        {
            if (sa[d] != sb[d] && sa[d] != 1 && sb[d] != 1) return null;
            shape[d] = sa[d] == 1 ? sb[d] : sa[d];
        }
        var (stA, stB) = (Strides(sa), Strides(sb));
        var count = shape.Aggregate(1L, (x, y) => x * y);
        var values = new double[count];
        var index = new long[rank];
        var integer = a.Type.IsInteger();
        var single = a.Type == DataType.Float32;
        for (long i = 0; i < count; i++)
        {
            long ia = 0, ib = 0;
            for (var d = 0; d < rank; d++)
            {
                if (sa[d] != 1) ia += index[d] * stA[d];
                if (sb[d] != 1) ib += index[d] * stB[d];
            }
            var (x, y) = (a.Get((int)ia), b.Get((int)ib));
            values[i] = integer ? IntegerOp(op, (long)x, (long)y)
                : single ? FloatOp(op, (float)x, (float)y) : DoubleOp(op, x, y);
            for (var d = rank - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d]) break;
                index[d] = 0;
            }
        }
        return new FoldTensor(a.Type, shape, Encode(a.Type, values));
    }

    private static long IntegerOp(string op, long x, long y) => op switch
    {
        "Add" => x + y,
        "Sub" => x - y,
        "Mul" => x * y,
        "Min" => Math.Min(x, y),
        "Max" => Math.Max(x, y),
        // x / 0 and long.MinValue / -1 have no int64 result (the runtime's kernel decides): left as a node.
        _ => y == 0 || (x == long.MinValue && y == -1) ? throw new CannotFold() : x / y,
    };

    // float32 arithmetic rounds per operation like the runtime's kernels, not in double.
    private static float FloatOp(string op, float x, float y) => op switch
    {
        "Add" => x + y,
        "Sub" => x - y,
        "Mul" => x * y,
        "Min" => MathF.Min(x, y),
        "Max" => MathF.Max(x, y),
        _ => x / y,
    };

    private static double DoubleOp(string op, double x, double y) => op switch
    {
        "Add" => x + y,
        "Sub" => x - y,
        "Mul" => x * y,
        "Min" => Math.Min(x, y),
        "Max" => Math.Max(x, y),
        _ => x / y,
    };
}
