using System.Buffers.Binary;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Model;

/// <summary>
/// The values of generated inputs, for validation and for the tuner alike.
/// <para>
/// Values, all drawn from a half-open range <c>[low, high)</c>: floating-point inputs uniform in [-1, 1) unless a
/// range says otherwise (drawn in double precision, rounded to nearest-even in the element type, and kept below
/// high); integer inputs uniform integers in [0, 10) (a range's bounds must be integers the dtype can hold, HIGH
/// exclusive: <c>ids:0:30000</c> gives 0…29999); bool inputs false/true with equal odds (as the integers [0, 2)).
/// </para>
/// <para>
/// Determinism: every input has its own SplitMix64 stream seeded from (seed, input index), elements are filled in
/// C order, and everything after the generator is integer or correctly-rounded IEEE arithmetic, so the same input,
/// seed, index and range give byte-identical tensors on every machine and .NET version.
/// </para>
/// </summary>
public static class InputValues
{
    public const double DefaultFloatLow = -1, DefaultFloatHigh = 1;
    public const long DefaultIntLow = 0, DefaultIntHigh = 10;

    /// <summary>Whether <see cref="Fill"/> can make values of <paramref name="type"/>: floating-point, integer and bool types.</summary>
    public static bool CanGenerate(DataType type) => type.IsFloatingPoint() || type.IsInteger() || type == DataType.Bool;

    /// <summary>
    /// Fills <paramref name="data"/> (little-endian elements of <paramref name="input"/>'s type, C order) from input
    /// <paramref name="index"/>'s stream of <paramref name="seed"/>, within <paramref name="range"/> or the defaults.
    /// Throws <see cref="DiagnosticCode.InputSpecInvalid"/> for a range the type cannot hold.
    /// </summary>
    public static void Fill(Span<byte> data, InputSpec input, int seed, int index, InputRange? range = null)
    {
        var type = input.DataType;
        if (!CanGenerate(type))
            throw new ArgumentException($"cannot generate values for input {input} of type {type.Name()}", nameof(input));
        var random = new SplitMix64(StreamSeed(seed, index));
        var size = type.SizeInBytes();
        var count = data.Length / size;

        if (type.IsFloatingPoint())
        {
            var low = range?.Low ?? DefaultFloatLow;
            var high = range?.High ?? DefaultFloatHigh;
            var width = high - low;
            if (!double.IsFinite(width))
                throw RangeError(input, range!, "its width overflows a double");
            for (var i = 0; i < count; i++)
            {
                var value = low + random.NextDouble() * width;
                if (value >= high) value = Math.BitDecrement(high);
                var span = data.Slice(i * size, size);
                switch (type)
                {
                    case DataType.Float64:
                        BinaryPrimitives.WriteDoubleLittleEndian(span, value);
                        break;
                    case DataType.Float32:
                        {
                            var f = (float)value;
                            if (f >= high) f = MathF.BitDecrement(f);
                            BinaryPrimitives.WriteSingleLittleEndian(span, f);
                            break;
                        }
                    case DataType.Float16:
                        {
                            var h = BitConverter.HalfToUInt16Bits((Half)value);
                            if ((double)BitConverter.UInt16BitsToHalf(h) >= high) h = StepDown16(h);
                            BinaryPrimitives.WriteUInt16LittleEndian(span, h);
                            break;
                        }
                    default: // BFloat16
                        {
                            var b = ToBFloat16((float)value);
                            if (FromBFloat16(b) >= high) b = StepDown16(b);
                            BinaryPrimitives.WriteUInt16LittleEndian(span, b);
                            break;
                        }
                }
            }
        }
        else
        {
            var (minimum, maximum) = IntegerLimits(type);
            Int128 low = DefaultIntLow, high = type == DataType.Bool ? 2 : DefaultIntHigh;
            if (range is not null)
            {
                if (!range.IsIntegral)
                    throw RangeError(input, range, $"{type.Name()} inputs need integer bounds");
                low = (Int128)range.Low;
                high = (Int128)range.High;
                if (low < minimum || high > maximum + 1)
                    throw RangeError(input, range, $"{type.Name()} holds only {minimum}…{maximum}, so the range must lie within [{minimum}, {maximum + 1})");
            }
            var width = high - low;
            for (var i = 0; i < count; i++)
            {
                var value = low + (width > ulong.MaxValue ? random.Next() : random.NextBelow((ulong)width));
                var span = data.Slice(i * size, size);
                switch (size)
                {
                    case 8: BinaryPrimitives.WriteInt64LittleEndian(span, (long)value); break;
                    case 4: BinaryPrimitives.WriteInt32LittleEndian(span, (int)value); break;
                    case 2: BinaryPrimitives.WriteInt16LittleEndian(span, (short)value); break;
                    default: span[0] = (byte)(long)value; break;
                }
            }
        }
    }

    private static (Int128 Min, Int128 Max) IntegerLimits(DataType type) => type switch
    {
        DataType.Int64 => (long.MinValue, long.MaxValue),
        DataType.Int32 => (int.MinValue, int.MaxValue),
        DataType.Int16 => (short.MinValue, short.MaxValue),
        DataType.Int8 => (sbyte.MinValue, sbyte.MaxValue),
        DataType.UInt8 => (byte.MinValue, byte.MaxValue),
        _ => (0, 1), // Bool
    };

    private static ModelForgeException RangeError(InputSpec input, InputRange range, string problem) =>
        new(DiagnosticCode.InputSpecInvalid, $"range {range.Name}:{range.Low}:{range.High} for input {input} is invalid: {problem}", null,
            "write ranges as NAME:LOW:HIGH, values drawn from [LOW, HIGH), e.g. --range ids:0:30000");

    /// <summary>float32 → bfloat16, round to nearest even (NaN stays a quiet NaN).</summary>
    internal static ushort ToBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x0040);
        bits += 0x7FFF + ((bits >> 16) & 1);
        return (ushort)(bits >> 16);
    }

    internal static double FromBFloat16(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>The next value toward negative infinity of a 16-bit sign-magnitude float (fp16 or bf16).</summary>
    private static ushort StepDown16(ushort bits) =>
        (bits & 0x7FFF) == 0 ? (ushort)0x8001 : (bits & 0x8000) == 0 ? (ushort)(bits - 1) : (ushort)(bits + 1);

    /// <summary>The first state of input <paramref name="index"/>'s stream: the pair, scrambled (injective in the pair).</summary>
    internal static ulong StreamSeed(int seed, int index) => SplitMix64.Mix(((ulong)(uint)seed << 32) | (uint)index);
}

/// <summary>SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fully specified by integer arithmetic.</summary>
internal sealed class SplitMix64(ulong state)
{
    private ulong _state = state;

    public ulong Next()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    internal static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, <paramref name="bound"/>), unbiased (Lemire's multiply-and-reject).</summary>
    public ulong NextBelow(ulong bound)
    {
        var product = (UInt128)Next() * bound;
        var low = (ulong)product;
        if (low < bound)
        {
            var threshold = (0 - bound) % bound;
            while (low < threshold)
            {
                product = (UInt128)Next() * bound;
                low = (ulong)product;
            }
        }
        return (ulong)(product >> 64);
    }
}
