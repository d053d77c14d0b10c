using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace ModelForge.Ops.Tests.Infrastructure;

/// <summary>
/// A dense C-order array: dtype name (numpy style: "float32", "float64", "float16", "int64", "int32", "int16",
/// "int8", "uint8", "bool"), shape, and the elements as raw little-endian bytes.
/// </summary>
public sealed record NdArray(string DType, long[] Shape, byte[] Data)
{
    public static readonly IReadOnlyList<string> DTypes =
        ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"];

    public static int ElementSize(string dtype) => dtype switch
    {
        "float64" or "int64" => 8,
        "float32" or "int32" => 4,
        "float16" or "int16" => 2,
        "int8" or "uint8" or "bool" => 1,
        _ => throw new NotSupportedException($"dtype '{dtype}' is not supported"),
    };

    /// <summary>"float", "int" or "bool": arrays compare only within a family.</summary>
    public static string Family(string dtype) => dtype switch
    {
        "float32" or "float64" or "float16" => "float",
        "int64" or "int32" or "int16" or "int8" or "uint8" => "int",
        "bool" => "bool",
        _ => throw new NotSupportedException($"dtype '{dtype}' is not supported"),
    };

    public string DTypeFamily => Family(DType);

    /// <summary>Number of elements (1 for a scalar of shape []).</summary>
    public long Length => Shape.Aggregate(1L, (a, d) => a * d);

    public string ShapeString => "[" + string.Join(", ", Shape) + "]";

    public override string ToString() => $"{DType}{ShapeString}";

    public static NdArray Create<T>(string dtype, long[] shape, ReadOnlySpan<T> data) where T : unmanaged
    {
        EnsureLittleEndian();
        var array = new NdArray(dtype, shape, MemoryMarshal.AsBytes(data).ToArray());
        array.Validate();
        return array;
    }

    public static NdArray FromFloat32(float[] data, params long[] shape) => Create<float>("float32", shape, data);
    public static NdArray FromFloat64(double[] data, params long[] shape) => Create<double>("float64", shape, data);
    public static NdArray FromFloat16(Half[] data, params long[] shape) => Create<Half>("float16", shape, data);
    public static NdArray FromInt64(long[] data, params long[] shape) => Create<long>("int64", shape, data);
    public static NdArray FromInt32(int[] data, params long[] shape) => Create<int>("int32", shape, data);
    public static NdArray FromBool(bool[] data, params long[] shape) => Create<bool>("bool", shape, data);
    public static NdArray FromUInt8(byte[] data, params long[] shape) => Create<byte>("uint8", shape, data);
    public static NdArray FromInt8(sbyte[] data, params long[] shape) => Create<sbyte>("int8", shape, data);
    public static NdArray FromInt16(short[] data, params long[] shape) => Create<short>("int16", shape, data);

    /// <summary>Throws when the byte count does not match dtype and shape.</summary>
    public void Validate()
    {
        if (Shape.Any(d => d < 0)) throw new InvalidDataException($"negative dim in shape {ShapeString}");
        long expected = Length * ElementSize(DType);
        if (Data.LongLength != expected)
            throw new InvalidDataException($"{this}: {Data.LongLength} bytes, expected {expected}");
    }

    /// <summary>The elements as T; T must have the dtype's element size (e.g. float for float32).</summary>
    public T[] As<T>() where T : unmanaged
    {
        EnsureLittleEndian();
        if (Marshal.SizeOf<T>() != ElementSize(DType))
            throw new InvalidOperationException($"{this}: cannot view as {typeof(T).Name}");
        return MemoryMarshal.Cast<byte, T>(Data).ToArray();
    }

    /// <summary>float32 data (float16 is widened; float64 is narrowed; integers converted).</summary>
    public float[] ToFloat() => DType == "float32" ? As<float>() : ToDouble().Select(v => (float)v).ToArray();

    /// <summary>Every dtype as double (bool → 0/1).</summary>
    public double[] ToDouble() => DType switch
    {
        "float64" => As<double>(),
        "float32" => Array.ConvertAll(As<float>(), v => (double)v),
        "float16" => Array.ConvertAll(As<Half>(), v => (double)v),
        "int64" => Array.ConvertAll(As<long>(), v => (double)v),
        "int32" => Array.ConvertAll(As<int>(), v => (double)v),
        "int16" => Array.ConvertAll(As<short>(), v => (double)v),
        "int8" => Array.ConvertAll(As<sbyte>(), v => (double)v),
        "uint8" => Array.ConvertAll(Data, v => (double)v),
        "bool" => Array.ConvertAll(Data, v => v != 0 ? 1.0 : 0.0),
        _ => throw new NotSupportedException(DType),
    };

    /// <summary>Integer and bool dtypes as int64 (floats are refused: use <see cref="ToDouble"/>).</summary>
    public long[] ToInt64() => DType switch
    {
        "int64" => As<long>(),
        "int32" => Array.ConvertAll(As<int>(), v => (long)v),
        "int16" => Array.ConvertAll(As<short>(), v => (long)v),
        "int8" => Array.ConvertAll(As<sbyte>(), v => (long)v),
        "uint8" => Array.ConvertAll(Data, v => (long)v),
        "bool" => Array.ConvertAll(Data, v => v != 0 ? 1L : 0L),
        _ => throw new InvalidOperationException($"{this}: ToInt64 of a floating-point array"),
    };

    public bool[] ToBool() => DType == "bool"
        ? Array.ConvertAll(Data, v => v != 0)
        : throw new InvalidOperationException($"{this}: ToBool of a non-bool array");

    /// <summary>C-order multi-index of a flat position, e.g. "[0, 2, 1]".</summary>
    public string IndexString(long flat)
    {
        var idx = new long[Shape.Length];
        for (int d = Shape.Length - 1; d >= 0; d--)
        {
            if (Shape[d] == 0) break;
            idx[d] = flat % Shape[d];
            flat /= Shape[d];
        }
        return "[" + string.Join(", ", idx) + "]";
    }

    internal static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("NdArray assumes a little-endian host");
    }
}

/// <summary>Reads and writes NumPy .npy files (format 1.0, 2.0, 3.0; little-endian; C order only).</summary>
public static partial class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    private static readonly Dictionary<string, string> DescrToDType = new()
    {
        ["<f4"] = "float32", ["<f8"] = "float64", ["<f2"] = "float16",
        ["<i8"] = "int64", ["<i4"] = "int32", ["<i2"] = "int16",
        ["|i1"] = "int8", ["|u1"] = "uint8", ["|b1"] = "bool",
        // one-byte types are sometimes written with '<' or '='
        ["<i1"] = "int8", ["<u1"] = "uint8", ["<b1"] = "bool", ["=i1"] = "int8", ["=u1"] = "uint8", ["=b1"] = "bool",
    };

    private static readonly Dictionary<string, string> DTypeToDescr = new()
    {
        ["float32"] = "<f4", ["float64"] = "<f8", ["float16"] = "<f2",
        ["int64"] = "<i8", ["int32"] = "<i4", ["int16"] = "<i2",
        ["int8"] = "|i1", ["uint8"] = "|u1", ["bool"] = "|b1",
    };

    public static NdArray Read(string path)
    {
        try
        {
            return Read(File.ReadAllBytes(path));
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    public static NdArray Read(byte[] bytes)
    {
        NdArray.EnsureLittleEndian();
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic))
            throw new InvalidDataException("not a .npy file (bad magic)");
        int major = bytes[6];
        int headerLength, headerStart;
        switch (major)
        {
            case 1:
                headerLength = BitConverter.ToUInt16(bytes, 8);
                headerStart = 10;
                break;
            case 2:
            case 3:
                if (bytes.Length < 12) throw new InvalidDataException("truncated .npy header");
                headerLength = checked((int)BitConverter.ToUInt32(bytes, 8));
                headerStart = 12;
                break;
            default:
                throw new NotSupportedException($".npy format version {major}.{bytes[7]} is not supported");
        }
        if (headerStart + headerLength > bytes.Length) throw new InvalidDataException("truncated .npy header");
        var encoding = major == 3 ? Encoding.UTF8 : Encoding.Latin1;
        string header = encoding.GetString(bytes, headerStart, headerLength);

        var descr = DescrRegex().Match(header);
        var fortran = FortranRegex().Match(header);
        var shapeMatch = ShapeRegex().Match(header);
        if (!descr.Success || !fortran.Success || !shapeMatch.Success)
            throw new InvalidDataException($"unparseable .npy header: {header.Trim()}");
        if (fortran.Groups[1].Value == "True")
            throw new NotSupportedException(
                "fortran_order is True: only C-order arrays are supported (save with np.ascontiguousarray)");
        string descrText = descr.Groups[1].Value;
        if (!DescrToDType.TryGetValue(descrText, out var dtype))
            throw new NotSupportedException(
                $"dtype descr '{descrText}' is not supported (supported: {string.Join(", ", DTypeToDescr.Values)}; little-endian only)");

        long[] shape = shapeMatch.Groups[1].Value
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.Parse(s.TrimEnd('L'), NumberStyles.Integer, CultureInfo.InvariantCulture))
            .ToArray();

        int dataStart = headerStart + headerLength;
        long count = shape.Aggregate(1L, (a, d) => a * d);
        long byteCount = count * NdArray.ElementSize(dtype);
        if (dataStart + byteCount > bytes.Length)
            throw new InvalidDataException($"truncated .npy data: need {byteCount} bytes, have {bytes.Length - dataStart}");
        var data = bytes.AsSpan(dataStart, checked((int)byteCount)).ToArray();
        var array = new NdArray(dtype, shape, data);
        array.Validate();
        return array;
    }

    public static void Write(string path, NdArray array)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllBytes(path, ToBytes(array));
    }

    /// <summary>Serializes as format 1.0 (2.0 when the header would not fit), header padded to 64 bytes like NumPy.</summary>
    public static byte[] ToBytes(NdArray array)
    {
        NdArray.EnsureLittleEndian();
        array.Validate();
        if (!DTypeToDescr.TryGetValue(array.DType, out var descr))
            throw new NotSupportedException($"dtype '{array.DType}' is not supported");
        string shape = array.Shape.Length switch
        {
            0 => "()",
            1 => $"({array.Shape[0]},)",
            _ => "(" + string.Join(", ", array.Shape) + ")",
        };
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";
        int major = 10 + dict.Length + 1 <= ushort.MaxValue ? 1 : 2;
        int prefix = major == 1 ? 10 : 12;
        int total = prefix + dict.Length + 1;
        int padded = (total + 63) / 64 * 64;
        string header = dict + new string(' ', padded - total) + "\n";

        using var ms = new MemoryStream(padded + array.Data.Length);
        ms.Write(Magic);
        ms.WriteByte((byte)major);
        ms.WriteByte(0);
        if (major == 1) ms.Write(BitConverter.GetBytes((ushort)header.Length));
        else ms.Write(BitConverter.GetBytes((uint)header.Length));
        ms.Write(Encoding.Latin1.GetBytes(header));
        ms.Write(array.Data);
        return ms.ToArray();
    }

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""]([^'""]+)['""]")]
    private static partial Regex DescrRegex();

    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*(True|False)")]
    private static partial Regex FortranRegex();

    [GeneratedRegex(@"['""]shape['""]\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeRegex();
}
