using System.Runtime.InteropServices;

namespace ModelForge.Model.Tensors;

/// <summary>
/// A tensor in host memory: element type, shape, and row-major little-endian bytes. The one exchange type between
/// input generation, the native reference, the ONNX Runtime candidates, comparison and .npy/.npz files.
/// </summary>
public sealed record HostTensor(DataType ElementType, long[] Shape, byte[] Data)
{
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);

    public string ShapeText => "[" + string.Join(",", Shape) + "]";

    public override string ToString() => $"{ElementType.Name()}{ShapeText}";

    public static HostTensor Create<T>(DataType type, long[] shape, ReadOnlySpan<T> values) where T : unmanaged =>
        new(type, shape, MemoryMarshal.AsBytes(values).ToArray());

    public static HostTensor FromFloats(float[] values, params long[] shape) => Create<float>(DataType.Float32, shape, values);

    public static HostTensor FromInt64s(long[] values, params long[] shape) => Create<long>(DataType.Int64, shape, values);

    /// <summary>Every element as a double (bool → 0/1; fp16/bf16 widened), for statistics and comparison.</summary>
    public double[] ToDoubles()
    {
        var span = Data.AsSpan();
        var count = (int)ElementCount;
        var result = new double[count];
        switch (ElementType)
        {
            case DataType.Float32: { var v = MemoryMarshal.Cast<byte, float>(span); for (var i = 0; i < count; i++) result[i] = v[i]; break; }
            case DataType.Float64: MemoryMarshal.Cast<byte, double>(span)[..count].CopyTo(result); break;
            case DataType.Float16: { var v = MemoryMarshal.Cast<byte, Half>(span); for (var i = 0; i < count; i++) result[i] = (double)v[i]; break; }
            case DataType.BFloat16: { var v = MemoryMarshal.Cast<byte, ushort>(span); for (var i = 0; i < count; i++) result[i] = BitConverter.UInt32BitsToSingle((uint)v[i] << 16); break; }
            case DataType.Int64: { var v = MemoryMarshal.Cast<byte, long>(span); for (var i = 0; i < count; i++) result[i] = v[i]; break; }
            case DataType.Int32: { var v = MemoryMarshal.Cast<byte, int>(span); for (var i = 0; i < count; i++) result[i] = v[i]; break; }
            case DataType.Int16: { var v = MemoryMarshal.Cast<byte, short>(span); for (var i = 0; i < count; i++) result[i] = v[i]; break; }
            case DataType.Int8: for (var i = 0; i < count; i++) result[i] = (sbyte)span[i]; break;
            case DataType.UInt8 or DataType.Bool: for (var i = 0; i < count; i++) result[i] = span[i]; break;
            default: throw new NotSupportedException($"element type {ElementType} has no numeric view");
        }
        return result;
    }

    /// <summary>Every element as an int64, for exact comparison of integer and bool tensors.</summary>
    public long[] ToInt64s()
    {
        var span = Data.AsSpan();
        var count = (int)ElementCount;
        return ElementType switch
        {
            DataType.Int64 => MemoryMarshal.Cast<byte, long>(span)[..count].ToArray(),
            DataType.Int32 => MemoryMarshal.Cast<byte, int>(span)[..count].ToArray().Select(v => (long)v).ToArray(),
            DataType.Int16 => MemoryMarshal.Cast<byte, short>(span)[..count].ToArray().Select(v => (long)v).ToArray(),
            DataType.Int8 => span[..count].ToArray().Select(v => (long)(sbyte)v).ToArray(),
            DataType.UInt8 or DataType.Bool => span[..count].ToArray().Select(v => (long)v).ToArray(),
            _ => throw new NotSupportedException($"element type {ElementType} is not an integer type"),
        };
    }
}
