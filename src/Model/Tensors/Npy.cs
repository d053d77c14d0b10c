using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.IO;
using ModelForge.Core.Limits;

namespace ModelForge.Model.Tensors;

/// <summary>
/// Reads and writes NumPy <c>.npy</c> files as <see cref="HostTensor"/>s.
/// <para>
/// Reading accepts header formats 1.0, 2.0 and 3.0 and the dtypes float16/32/64, int8/16/32/64, uint8 and bool in
/// either byte order ('&lt;', '&gt;', and '|' or '=' for one-byte types); big-endian data is byte-swapped to little
/// endian. Fortran-order arrays (<c>fortran_order: True</c>) are transposed into C order, so the tensor has the
/// same shape and element values as <c>np.load</c> gives. Anything malformed (bad magic, truncated, a header that is
/// not a dict with exactly 'descr', 'fortran_order' and 'shape', a negative or overflowing shape, a data size that
/// does not match the shape, an unsupported dtype) is a <see cref="ModelForgeException"/> with
/// <see cref="DiagnosticCode.DataFileInvalid"/> naming the file; no other exception type escapes.
/// </para>
/// <para>
/// Writing produces the same bytes as <c>np.save</c> (format 1.0, or 2.0 when the header needs it; little endian;
/// C order; header padded to 64 bytes with numpy's growth space). bfloat16 has no NumPy dtype and cannot be written.
/// </para>
/// </summary>
public static class Npy
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Headers beyond this are refused (numpy's own limit is 10,000 bytes; real headers are ~128).</summary>
    internal const int MaxHeaderLength = 1 << 20;

    /// <summary>Every dtype this reader and writer handle, as <c>np.save</c> writes it.</summary>
    public static readonly IReadOnlyList<string> SupportedDescrs = ["<f2", "<f4", "<f8", "|i1", "<i2", "<i4", "<i8", "|u1", "|b1"];

    /// <summary>Whether tensors of this element type can be written (and read back) as .npy.</summary>
    public static bool IsSupported(DataType type) => DescrOf(type) is not null;

    /// <summary>Reads a .npy file.</summary>
    public static HostTensor Read(string path)
    {
        using var stream = DataFiles.OpenRead(path);
        // The whole file is read into memory; its declared shape is checked against the cap again in ParseHeader.
        MemoryLimit.Check(stream.Length, $"data file '{path}'", new SourceLocation(path));
        using var buffer = new MemoryStream((int)Math.Min(stream.Length, Array.MaxLength));
        stream.CopyTo(buffer);
        return Read(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), path);
    }

    /// <summary>Parses the bytes of a .npy file; <paramref name="sourceName"/> names it in errors.</summary>
    public static HostTensor Read(ReadOnlySpan<byte> bytes, string sourceName) =>
        Read(bytes, new SourceLocation(sourceName), $"'{sourceName}'");

    /// <summary>
    /// Parses .npy bytes; <paramref name="location"/> is where errors point and <paramref name="description"/> how
    /// messages name the array (an npz entry: <c>'x.npy' in 'inputs.npz'</c>).
    /// </summary>
    internal static HostTensor Read(ReadOnlySpan<byte> bytes, SourceLocation location, string description)
    {
        var header = ParseHeader(bytes, location, description);
        var elementSize = header.ElementType.SizeInBytes();
        var available = (long)bytes.Length - header.DataOffset;
        if (available != header.DataLength)
        {
            throw Invalid(location, description, available < header.DataLength
                ? $"the data is truncated: shape {ShapeText(header.Shape)} of {header.Descr} needs {header.DataLength} bytes, the file has {available}"
                : $"the file has {available - header.DataLength} bytes beyond the {header.DataLength} that shape {ShapeText(header.Shape)} of {header.Descr} needs");
        }
        var data = bytes.Slice(header.DataOffset, (int)header.DataLength).ToArray();
        if (header.BigEndian && elementSize > 1) SwapBytes(data, elementSize);
        if (header.FortranOrder && header.Shape.Length > 1) data = FortranToC(data, header.Shape, elementSize);
        return new HostTensor(header.ElementType, header.Shape, data);
    }

    /// <summary>Writes <paramref name="tensor"/> as a .npy file, atomically.</summary>
    public static void Write(string path, HostTensor tensor)
    {
        var bytes = ToBytes(tensor);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>Writes <paramref name="tensor"/> in .npy format to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, HostTensor tensor) => stream.Write(ToBytes(tensor));

    /// <summary>The .npy bytes of <paramref name="tensor"/>, identical to what <c>np.save</c> writes for the same array.</summary>
    public static byte[] ToBytes(HostTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var descr = DescrOf(tensor.ElementType)
            ?? throw new ModelForgeException(DiagnosticCode.UnsupportedDtype,
                $"a {tensor.ElementType.Name()} tensor cannot be written to .npy: NumPy has no such dtype", null,
                "convert bfloat16 tensors to float32 before saving them");
        if (tensor.Shape.Any(d => d < 0))
            throw new ArgumentException($"tensor {tensor} has a negative dim", nameof(tensor));
        long expected;
        try { expected = checked(tensor.ElementCount * tensor.ElementType.SizeInBytes()); }
        catch (OverflowException) { throw new ArgumentException($"tensor {tensor} is too large", nameof(tensor)); }
        if (tensor.Data.LongLength != expected)
            throw new ArgumentException($"tensor {tensor} has {tensor.Data.LongLength} bytes of data, its shape needs {expected}", nameof(tensor));

        var shape = tensor.Shape;
        var shapeRepr = shape.Length switch
        {
            0 => "()",
            1 => $"({shape[0].ToString(CultureInfo.InvariantCulture)},)",
            _ => "(" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")",
        };
        var dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeRepr}, }}";
        // numpy leaves room for dim 0 to grow to 21 digits, so appending rows can rewrite the header in place.
        if (shape.Length > 0)
            dict += new string(' ', Math.Max(0, 21 - shape[0].ToString(CultureInfo.InvariantCulture).Length));

        var headerText = Encoding.Latin1.GetBytes(dict);
        var major = 1;
        var (prefix, padded) = Pad(headerText.Length, 10);
        if (padded > ushort.MaxValue)
        {
            major = 2;
            (prefix, padded) = Pad(headerText.Length, 12);
        }
        var result = new byte[prefix + padded + tensor.Data.Length];
        Magic.CopyTo(result);
        result[6] = (byte)major;
        result[7] = 0;
        if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(8), (ushort)padded);
        else BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(8), (uint)padded);
        headerText.CopyTo(result.AsSpan(prefix));
        result.AsSpan(prefix + headerText.Length, padded - headerText.Length - 1).Fill((byte)' ');
        result[prefix + padded - 1] = (byte)'\n';
        tensor.Data.CopyTo(result.AsSpan(prefix + padded));
        return result;

        // numpy pads with 1..64 spaces before the final newline so the data starts at a multiple of 64.
        static (int Prefix, int Padded) Pad(int dictLength, int prefix)
        {
            var withNewline = dictLength + 1;
            var padding = 64 - (prefix + withNewline) % 64;
            return (prefix, withNewline + padding);
        }
    }

    internal sealed record Header(string Descr, DataType ElementType, bool BigEndian, bool FortranOrder, long[] Shape, int DataOffset, long DataLength);

    /// <summary>
    /// The offset where the data starts, from the first 12 bytes (or all of them, if fewer), or null when more
    /// bytes are needed to know; throws for bad magic, unknown versions and oversized headers.
    /// </summary>
    internal static int? DataOffset(ReadOnlySpan<byte> prefix, SourceLocation location, string description)
    {
        var magicLength = Math.Min(prefix.Length, Magic.Length);
        if (!prefix[..magicLength].SequenceEqual(Magic[..magicLength]))
            throw Invalid(location, description, "it does not start with the .npy magic bytes \\x93NUMPY");
        if (prefix.Length < 8) return null;
        var major = prefix[6];
        var minor = prefix[7];
        if (major is not (1 or 2 or 3) || minor != 0)
            throw Invalid(location, description, $"format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are)");
        var lengthSize = major == 1 ? 2 : 4;
        if (prefix.Length < 8 + lengthSize) return null;
        var headerLength = major == 1
            ? BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..])
            : BinaryPrimitives.ReadUInt32LittleEndian(prefix[8..]);
        if (headerLength > MaxHeaderLength)
            throw Invalid(location, description, $"its header claims {headerLength} bytes, more than the {MaxHeaderLength} allowed");
        return 8 + lengthSize + (int)headerLength;
    }

    /// <summary>Parses and checks the header; the data itself is not looked at beyond its start offset.</summary>
    internal static Header ParseHeader(ReadOnlySpan<byte> bytes, SourceLocation location, string description)
    {
        var dataOffset = DataOffset(bytes[..Math.Min(bytes.Length, 12)], location, description);
        if (dataOffset is null || dataOffset.Value > bytes.Length)
            throw Invalid(location, description, $"the file is truncated inside its header ({bytes.Length} bytes)");
        var major = bytes[6];
        var headerStart = major == 1 ? 10 : 12;
        string text;
        try
        {
            text = major == 3
                ? new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes[headerStart..dataOffset.Value])
                : Encoding.Latin1.GetString(bytes[headerStart..dataOffset.Value]);
        }
        catch (DecoderFallbackException)
        {
            throw Invalid(location, description, "its version 3.0 header is not valid UTF-8");
        }

        Dictionary<string, object?> dict;
        try
        {
            dict = new HeaderParser(text).ParseDict();
        }
        catch (FormatException e)
        {
            throw Invalid(location, description, $"its header is not a Python dict literal ({e.Message}): {Excerpt(text)}");
        }
        var keys = string.Join(", ", dict.Keys.Order(StringComparer.Ordinal));
        if (dict.Count != 3 || !dict.ContainsKey("descr") || !dict.ContainsKey("fortran_order") || !dict.ContainsKey("shape"))
            throw Invalid(location, description, $"its header must have exactly the keys descr, fortran_order and shape; it has {(keys.Length == 0 ? "none" : keys)}");

        if (dict["fortran_order"] is not bool fortranOrder)
            throw Invalid(location, description, $"its header's fortran_order is {Describe(dict["fortran_order"])}, not True or False");

        if (dict["shape"] is not TupleMarker shapeItems)
            throw Invalid(location, description, $"its header's shape is {Describe(dict["shape"])}, not a tuple of ints");
        var shape = new long[shapeItems.Count];
        for (var i = 0; i < shape.Length; i++)
        {
            if (shapeItems[i] is not long dim || dim < 0)
                throw Invalid(location, description, $"its header's shape has dim {i} = {Describe(shapeItems[i])}, not a non-negative int");
            shape[i] = dim;
        }

        if (dict["descr"] is not string descr)
            throw UnsupportedDtype(location, description, Describe(dict["descr"]) + " (structured or sub-array dtypes are not supported)");
        var (elementType, bigEndian) = ParseDescr(descr) ?? throw UnsupportedDtype(location, description, $"'{descr}'");

        long count = 1, dataLength;
        try
        {
            foreach (var dim in shape) count = checked(count * dim);
            dataLength = checked(count * elementType.SizeInBytes());
        }
        catch (OverflowException)
        {
            throw Invalid(location, description, $"its shape {ShapeText(shape)} has more elements than fit in 64 bits");
        }
        if (dataLength > Array.MaxLength)
            throw Invalid(location, description, $"shape {ShapeText(shape)} of {descr} needs {dataLength} bytes, more than the {Array.MaxLength} one tensor can hold");
        MemoryLimit.Check(dataLength, $"{description}, shape {ShapeText(shape)} of {descr},", location);
        return new Header(descr, elementType, bigEndian, fortranOrder, shape, dataOffset.Value, dataLength);
    }

    private static (DataType Type, bool BigEndian)? ParseDescr(string descr)
    {
        if (descr.Length != 3) return null;
        DataType? type = descr[1..] switch
        {
            "f2" => DataType.Float16,
            "f4" => DataType.Float32,
            "f8" => DataType.Float64,
            "i1" => DataType.Int8,
            "i2" => DataType.Int16,
            "i4" => DataType.Int32,
            "i8" => DataType.Int64,
            "u1" => DataType.UInt8,
            "b1" => DataType.Bool,
            _ => null,
        };
        if (type is not { } t) return null;
        return descr[0] switch
        {
            '<' => (t, false),
            '>' => (t, true),
            '|' or '=' when t.SizeInBytes() == 1 => (t, false),
            _ => null,
        };
    }

    private static string? DescrOf(DataType type) => type switch
    {
        DataType.Float16 => "<f2",
        DataType.Float32 => "<f4",
        DataType.Float64 => "<f8",
        DataType.Int8 => "|i1",
        DataType.Int16 => "<i2",
        DataType.Int32 => "<i4",
        DataType.Int64 => "<i8",
        DataType.UInt8 => "|u1",
        DataType.Bool => "|b1",
        _ => null,
    };

    private static void SwapBytes(byte[] data, int elementSize)
    {
        for (var i = 0; i < data.Length; i += elementSize)
            data.AsSpan(i, elementSize).Reverse();
    }

    /// <summary>Reorders Fortran-order (first index fastest) elements into C order (last index fastest).</summary>
    private static byte[] FortranToC(byte[] data, long[] shape, int elementSize)
    {
        if (data.Length == 0) return data;
        var rank = shape.Length;
        var strides = new long[rank]; // Fortran strides, in elements
        strides[0] = 1;
        for (var k = 1; k < rank; k++) strides[k] = strides[k - 1] * shape[k - 1];
        var index = new long[rank];
        var result = new byte[data.Length];
        long source = 0;
        for (long target = 0; target < data.Length; target += elementSize)
        {
            Buffer.BlockCopy(data, (int)(source * elementSize), result, (int)target, elementSize);
            for (var k = rank - 1; k >= 0; k--)
            {
                index[k]++;
                source += strides[k];
                if (index[k] < shape[k]) break;
                source -= index[k] * strides[k];
                index[k] = 0;
            }
        }
        return result;
    }

    internal static string ShapeText(long[] shape) => "[" + string.Join(",", shape) + "]";

    private static string Excerpt(string text)
    {
        var trimmed = text.Trim();
        return trimmed.Length <= 200 ? trimmed : trimmed[..200] + "…";
    }

    private static string Describe(object? value) => value switch
    {
        null => "None",
        string s => $"'{s}'",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        TupleMarker => "a tuple",
        List<object?> => "a list",
        Dictionary<string, object?> => "a dict",
        _ => value.GetType().Name,
    };

    internal static ModelForgeException Invalid(SourceLocation location, string description, string problem) =>
        new(DiagnosticCode.DataFileInvalid, $"{description} is not a valid .npy array: {problem}", location,
            "write arrays with numpy.save / numpy.savez (C order, numeric dtypes)");

    private static ModelForgeException UnsupportedDtype(SourceLocation location, string description, string descr) =>
        new(DiagnosticCode.DataFileInvalid, $"{description} has dtype {descr}, which is not supported (supported: {string.Join(", ", SupportedDescrs)})",
            location, "convert the array first, e.g. arr.astype(np.float32)");

    /// <summary>A Python tuple: a list that remembers it was written with parentheses.</summary>
    private sealed class TupleMarker(List<object?> items) : List<object?>(items);

    /// <summary>
    /// A recursive-descent parser for the Python literals a .npy header may hold: dicts, tuples, lists, strings,
    /// ints (an old 'L' suffix allowed), True, False and None. Errors are <see cref="FormatException"/>s.
    /// </summary>
    private sealed class HeaderParser(string text)
    {
        private const int MaxDepth = 32;
        private readonly string _text = text;
        private int _position;
        private int _depth;

        public Dictionary<string, object?> ParseDict()
        {
            SkipSpace();
            if (Peek() != '{') throw Error("expected '{'");
            var value = ParseValue();
            SkipSpace();
            if (_position != _text.Length) throw Error("unexpected text after the dict");
            return (Dictionary<string, object?>)value!;
        }

        private object? ParseValue()
        {
            SkipSpace();
            if (++_depth > MaxDepth) throw Error("nested too deeply");
            try
            {
                var c = Peek();
                switch (c)
                {
                    case '{':
                        {
                            _position++;
                            var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
                            ParseItems('}', () =>
                            {
                                if (ParseValue() is not string key) throw Error("dict keys must be strings");
                                SkipSpace();
                                if (Peek() != ':') throw Error("expected ':'");
                                _position++;
                                if (!dict.TryAdd(key, ParseValue())) throw Error($"duplicate key '{key}'");
                            });
                            return dict;
                        }
                    case '(':
                        {
                            _position++;
                            var items = new List<object?>();
                            var sawComma = ParseItems(')', () => items.Add(ParseValue()));
                            // (x) is just x; (x,) and () are tuples
                            return items.Count == 1 && !sawComma ? items[0] : new TupleMarker(items);
                        }
                    case '[':
                        {
                            _position++;
                            var items = new List<object?>();
                            ParseItems(']', () => items.Add(ParseValue()));
                            return items;
                        }
                    case '\'' or '"':
                        return ParseString(c);
                    default:
                        if (c == '-' || c == '+' || char.IsAsciiDigit(c)) return ParseInt();
                        if (char.IsAsciiLetter(c) || c == '_')
                        {
                            var start = _position;
                            while (_position < _text.Length && (char.IsAsciiLetterOrDigit(_text[_position]) || _text[_position] == '_')) _position++;
                            return _text[start.._position] switch
                            {
                                "True" => true,
                                "False" => false,
                                "None" => null,
                                var word => throw Error($"unexpected name '{word}'"),
                            };
                        }
                        throw Error(_position >= _text.Length ? "unexpected end" : $"unexpected character '{c}'");
                }
            }
            finally
            {
                _depth--;
            }
        }

        /// <summary>
        /// Parses comma-separated items (each by <paramref name="parseItem"/>) up to and including
        /// <paramref name="close"/>, the opening bracket already consumed; returns whether any comma was seen.
        /// </summary>
        private bool ParseItems(char close, Action parseItem)
        {
            var sawComma = false;
            SkipSpace();
            if (Peek() == close) { _position++; return false; }
            while (true)
            {
                parseItem();
                SkipSpace();
                var c = Peek();
                if (c == close) { _position++; return sawComma; }
                if (c != ',') throw Error(_position >= _text.Length ? $"unexpected end, expected '{close}'" : $"expected ',' or '{close}'");
                _position++;
                sawComma = true;
                SkipSpace();
                if (Peek() == close) { _position++; return true; }
            }
        }

        private object? ParseString(char quote)
        {
            _position++;
            var builder = new StringBuilder();
            while (true)
            {
                if (_position >= _text.Length) throw Error("unterminated string");
                var c = _text[_position++];
                if (c == quote) return builder.ToString();
                if (c == '\\')
                {
                    if (_position >= _text.Length) throw Error("unterminated string");
                    var e = _text[_position++];
                    builder.Append(e switch { 'n' => '\n', 't' => '\t', 'r' => '\r', '0' => '\0', _ => e });
                }
                else builder.Append(c);
            }
        }

        private object ParseInt()
        {
            var start = _position;
            if (_text[_position] is '-' or '+') _position++;
            var digitsStart = _position;
            while (_position < _text.Length && char.IsAsciiDigit(_text[_position])) _position++;
            if (_position == digitsStart) throw Error("expected digits");
            var digits = _text[start.._position];
            if (_position < _text.Length && _text[_position] is 'L' or 'l') _position++;
            if (_position < _text.Length && (_text[_position] is '.' or 'e' or 'E' or 'j' || char.IsAsciiLetter(_text[_position])))
                throw Error($"'{digits}…' is not an int");
            if (!long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
                throw Error($"int {digits} is out of range");
            return value;
        }

        private void SkipSpace()
        {
            while (_position < _text.Length && _text[_position] is ' ' or '\t' or '\n' or '\r' or '\f' or '\v') _position++;
        }

        private char Peek() => _position < _text.Length ? _text[_position] : '\0';

        private FormatException Error(string message) => new($"{message} at offset {_position}");
    }
}
