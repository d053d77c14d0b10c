using System.Buffers.Binary;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.Limits;
using ModelForge.Model;

namespace ModelForge.TorchScript.Archive;

/// <summary>One tensor storage of an archive (<c>data/&lt;key&gt;</c>): raw little-endian elements, shared by every tensor that views it.</summary>
public sealed class TensorStorage
{
    /// <summary>Wraps storage bytes; throws MF1012 when their length is not <paramref name="elementCount"/> × the element size.</summary>
    public TensorStorage(string key, DataType dataType, long elementCount, ReadOnlyMemory<byte> bytes)
        : this(key, dataType, elementCount, bytes, location: null) { }

    internal TensorStorage(string key, DataType dataType, long elementCount, ReadOnlyMemory<byte> bytes, string? location)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!dataType.HasFixedSize())
            throw new ModelForgeException(DiagnosticCode.UnsupportedDtype, $"tensor storage '{key}' has element type {dataType.Name()}, which is not supported",
                location is null ? null : new SourceLocation(location));
        long expected;
        try
        {
            expected = checked(elementCount * dataType.SizeInBytes());
        }
        catch (OverflowException)
        {
            expected = -1;
        }
        if (elementCount < 0 || expected != bytes.Length)
            throw new ModelForgeException(DiagnosticCode.TensorStorageInvalid,
                $"tensor storage '{key}' should hold {elementCount} {dataType.Name()} elements ({(expected < 0 ? "an impossible size" : expected + " bytes")}) but its entry is {bytes.Length} bytes",
                location is null ? null : new SourceLocation(location), "the archive is damaged; save the model again with torch.jit.save");
        Key = key;
        DataType = dataType;
        ElementCount = elementCount;
        Bytes = bytes;
    }

    /// <summary>The storage key: the entry name under <c>data/</c> (or <c>constants/</c>).</summary>
    public string Key { get; }
    public DataType DataType { get; }
    public long ElementCount { get; }

    /// <summary>The raw little-endian bytes; for archives, a view on the mapped file.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    public override string ToString() => $"storage '{Key}' ({ElementCount} × {DataType.Name()})";
}

/// <summary>A strided view of a <see cref="TensorStorage"/>, as <c>torch._utils._rebuild_tensor_v2</c> describes it.</summary>
public sealed class TensorData
{
    /// <summary>
    /// A view of <paramref name="storage"/>. Throws MF1012 for negative sizes, strides or offset, or a view that reaches
    /// past the storage; <paramref name="location"/> names the tensor in those messages.
    /// </summary>
    public TensorData(TensorStorage storage, long storageOffset, long[] shape, long[] strides, string? location = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(strides);
        var where = location ?? storage.ToString();
        if (shape.Length != strides.Length)
            throw Invalid(where, $"has {shape.Length} sizes but {strides.Length} strides");
        if (storageOffset < 0) throw Invalid(where, $"has a negative storage offset {storageOffset}");
        long count = 1;
        long maxIndex = storageOffset;
        try
        {
            for (var i = 0; i < shape.Length; i++)
            {
                if (shape[i] < 0) throw Invalid(where, $"has a negative size {shape[i]} in dimension {i}");
                if (strides[i] < 0) throw Invalid(where, $"has a negative stride {strides[i]} in dimension {i}");
                count = checked(count * shape[i]);
            }
            if (count > 0)
                for (var i = 0; i < shape.Length; i++)
                    maxIndex = checked(maxIndex + (shape[i] - 1) * strides[i]);
        }
        catch (OverflowException)
        {
            throw Invalid(where, "has sizes or strides so large that its extent overflows");
        }
        if (count > 0 && maxIndex >= storage.ElementCount)
            throw Invalid(where,
                $"(offset {storageOffset}, sizes [{string.Join(", ", shape)}], strides [{string.Join(", ", strides)}]) reaches element {maxIndex} of {storage}");

        Storage = storage;
        StorageOffset = storageOffset;
        Shape = shape;
        Strides = strides;
        ElementCount = count;
        IsContiguous = ComputeContiguous(shape, strides, count);
    }

    public DataType DataType => Storage.DataType;
    public long[] Shape { get; }

    /// <summary>Strides in elements.</summary>
    public long[] Strides { get; }

    /// <summary>Offset into the storage, in elements.</summary>
    public long StorageOffset { get; }

    public TensorStorage Storage { get; }
    public long ElementCount { get; }

    /// <summary>C-contiguous (row-major, no gaps); strides of size-1 dimensions are ignored.</summary>
    public bool IsContiguous { get; }

    /// <summary>Row-major bytes of the tensor: a slice of the storage (no copy) when contiguous, else a gathered copy.</summary>
    public ReadOnlyMemory<byte> ContiguousBytes()
    {
        var itemSize = DataType.SizeInBytes();
        if (IsContiguous)
            return Storage.Bytes.Slice(checked((int)(StorageOffset * itemSize)), checked((int)(ElementCount * itemSize)));

        MemoryLimit.Check(checked(ElementCount * itemSize), $"a contiguous copy of {this}", null);
        var result = new byte[checked(ElementCount * itemSize)];
        var source = Storage.Bytes.Span;
        var rank = Shape.Length;
        var index = new long[rank];
        var innerSize = Shape[rank - 1];
        var innerStride = Strides[rank - 1];
        var written = 0;
        var rows = ElementCount / innerSize;
        for (long row = 0; row < rows; row++)
        {
            var offset = StorageOffset;
            for (var d = 0; d < rank - 1; d++) offset += index[d] * Strides[d];
            if (innerStride == 1)
            {
                var bytes = (int)(innerSize * itemSize);
                source.Slice((int)(offset * itemSize), bytes).CopyTo(result.AsSpan(written));
                written += bytes;
            }
            else
            {
                for (long j = 0; j < innerSize; j++)
                {
                    source.Slice((int)((offset + j * innerStride) * itemSize), itemSize).CopyTo(result.AsSpan(written));
                    written += itemSize;
                }
            }
            for (var d = rank - 2; d >= 0; d--)
            {
                if (++index[d] < Shape[d]) break;
                index[d] = 0;
            }
        }
        return result;
    }

    /// <summary>The values converted to float (any dtype: fp16, bf16, fp64, integers, bool), row-major.</summary>
    public float[] ToFloatArray()
    {
        MemoryLimit.Check(checked(ElementCount * sizeof(float)), $"the float values of {this}", null);
        var bytes = ContiguousBytes().Span;
        var result = new float[ElementCount];
        switch (DataType)
        {
            case DataType.Float32:
                for (var i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
                break;
            case DataType.Float64:
                for (var i = 0; i < result.Length; i++) result[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(i * 8)..]);
                break;
            case DataType.Float16:
                for (var i = 0; i < result.Length; i++) result[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(i * 2)..]);
                break;
            case DataType.BFloat16:
                for (var i = 0; i < result.Length; i++)
                    result[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]) << 16);
                break;
            default:
                var longs = ToInt64Array();
                for (var i = 0; i < result.Length; i++) result[i] = longs[i];
                break;
        }
        return result;
    }

    /// <summary>The values as int64, row-major; for integer and bool tensors only.</summary>
    public long[] ToInt64Array()
    {
        MemoryLimit.Check(checked(ElementCount * sizeof(long)), $"the int64 values of {this}", null);
        var bytes = ContiguousBytes().Span;
        var result = new long[ElementCount];
        switch (DataType)
        {
            case DataType.Int64:
                for (var i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes[(i * 8)..]);
                break;
            case DataType.Int32:
                for (var i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(i * 4)..]);
                break;
            case DataType.Int16:
                for (var i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadInt16LittleEndian(bytes[(i * 2)..]);
                break;
            case DataType.Int8:
                for (var i = 0; i < result.Length; i++) result[i] = (sbyte)bytes[i];
                break;
            case DataType.UInt8:
                for (var i = 0; i < result.Length; i++) result[i] = bytes[i];
                break;
            case DataType.Bool:
                for (var i = 0; i < result.Length; i++) result[i] = bytes[i] != 0 ? 1 : 0;
                break;
            default:
                throw new InvalidOperationException($"ToInt64Array needs an integer or bool tensor, not {DataType.Name()}");
        }
        return result;
    }

    public override string ToString() => $"tensor {DataType.Name()}[{string.Join(", ", Shape)}] on {Storage}";

    private static bool ComputeContiguous(long[] shape, long[] strides, long count)
    {
        if (count == 0) return true;
        long expected = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] == 1) continue;
            if (strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    private static ModelForgeException Invalid(string where, string problem) =>
        new(DiagnosticCode.TensorStorageInvalid, $"tensor {where} {problem}", null, "the archive is damaged; save the model again with torch.jit.save");
}

internal static class DataTypeSizes
{
    public static bool HasFixedSize(this DataType type) =>
        type is DataType.Float32 or DataType.Int32 or DataType.UInt8 or DataType.Int8 or DataType.Bool or DataType.Int16
            or DataType.Float16 or DataType.BFloat16 or DataType.Int64 or DataType.Float64;
}
