using System.Buffers.Binary;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.Limits;
using ModelForge.Model;
using ModelForge.Validate.Tensors;

namespace ModelForge.Validate.Inputs;

/// <summary>
/// The inputs a validation runs on: generated from the declared <see cref="InputSpec"/>s, or user-supplied arrays
/// checked against them.
/// <para>
/// Shapes: a symbolic dim 0 is the batch dim and becomes the batch size (and so does that symbol wherever else it
/// appears); other symbolic dims take their size from <c>dimValues</c> (<c>--dim seq=16</c>).
/// </para>
/// <para>
/// Values, all drawn from a half-open range <c>[low, high)</c>: floating-point inputs uniform in [-1, 1) unless a
/// range says otherwise (drawn in double precision, rounded to nearest-even in the element type, and kept below
/// high); integer inputs uniform integers in [0, 10) (a range's bounds must be integers the dtype can hold, HIGH
/// exclusive: <c>ids:0:30000</c> gives 0…29999); bool inputs false/true with equal odds (as the integers [0, 2)).
/// </para>
/// <para>
/// Determinism: every input has its own SplitMix64 stream seeded from (seed, input index), elements are filled in
/// C order, and everything after the generator is integer or correctly-rounded IEEE arithmetic, so the same specs,
/// batch size, seed, ranges and dims give byte-identical tensors on every machine and .NET version.
/// </para>
/// </summary>
public static class InputGenerator
{
    public const double DefaultFloatLow = -1, DefaultFloatHigh = 1;
    public const long DefaultIntLow = 0, DefaultIntHigh = 10;

    public static IReadOnlyList<HostTensor> Generate(
        IReadOnlyList<InputSpec> specs, int batchSize, int seed,
        IReadOnlyDictionary<string, InputRange> ranges, IReadOnlyDictionary<string, long> dimValues)
    {
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentNullException.ThrowIfNull(ranges);
        ArgumentNullException.ThrowIfNull(dimValues);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);

        var problems = new List<Diagnostic>();
        CheckRangeNames(specs, ranges, problems);
        var shapes = ResolveShapes(specs, batchSize, dimValues, problems);
        if (problems.Count > 0) throw new ModelForgeException(problems);

        long total = 0;
        for (var i = 0; i < specs.Count; i++)
            if (specs[i].DataType.IsFloatingPoint() || specs[i].DataType.IsInteger() || specs[i].DataType == DataType.Bool) // GenerateOne refuses others
                total = Math.Min(long.MaxValue / 2, total) + Math.Min(long.MaxValue / 2, ByteCount(specs[i].DataType, shapes[i]));
        if (specs.Count > 1) MemoryLimit.Check(total, $"the {specs.Count} generated inputs together", null);

        var result = new HostTensor[specs.Count];
        for (var i = 0; i < specs.Count; i++)
        {
            var spec = specs[i];
            ranges.TryGetValue(spec.Name, out var range);
            result[i] = GenerateOne(spec, shapes[i], range, new SplitMix64(StreamSeed(seed, i)));
        }
        return result;
    }

    /// <summary>
    /// Matches user-supplied arrays to the declared inputs by name and checks dtype, rank, static dims and that a
    /// symbolic dim has one size across inputs. Returns the arrays in spec order; the batch size is their dim 0.
    /// All mismatches are reported together (<see cref="DiagnosticCode.DataFileMismatch"/>).
    /// </summary>
    public static IReadOnlyList<HostTensor> FromData(
        IReadOnlyList<InputSpec> specs, IReadOnlyDictionary<string, HostTensor> data, string source)
    {
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentNullException.ThrowIfNull(data);
        var location = string.IsNullOrEmpty(source) ? null : new SourceLocation(source);
        var from = string.IsNullOrEmpty(source) ? "the input data" : $"'{source}'";
        var available = data.Keys.Order(StringComparer.Ordinal).ToList();
        var availableText = available.Count == 0 ? "none" : string.Join(", ", available);
        var problems = new List<Diagnostic>();
        void Problem(string message, string hint) => problems.Add(new Diagnostic(DiagnosticCode.DataFileMismatch, message, location, hint));

        var result = new HostTensor[specs.Count];
        var symbolSizes = new Dictionary<string, (long Size, string Input)>(StringComparer.Ordinal);
        for (var i = 0; i < specs.Count; i++)
        {
            var spec = specs[i];
            if (!data.TryGetValue(spec.Name, out var tensor))
            {
                Problem($"{from} has no array for input '{spec.Name}' (it has: {availableText})",
                    "name each array after its input, e.g. np.savez('inputs.npz', " + string.Join(", ", specs.Select(s => $"{s.Name}=...")) + ")");
                continue;
            }
            result[i] = tensor;
            if (tensor.ElementType != spec.DataType)
            {
                Problem($"array '{spec.Name}' in {from} is {tensor.ElementType.Name()}, but input {spec} is {spec.DataType.Name()}",
                    $"convert it, e.g. arr.astype(np.{NumpyName(spec.DataType)})");
                continue;
            }
            if (tensor.Shape.Length != spec.Dims.Count)
            {
                Problem($"array '{spec.Name}' in {from} has shape {tensor.ShapeText} (rank {tensor.Shape.Length}), but input {spec} has rank {spec.Dims.Count}",
                    "reshape the array to the declared input shape");
                continue;
            }
            for (var d = 0; d < spec.Dims.Count; d++)
            {
                var dim = spec.Dims[d];
                var got = tensor.Shape[d];
                if (dim.Value is { } expected)
                {
                    if (got != expected)
                        Problem($"array '{spec.Name}' in {from} has shape {tensor.ShapeText}, but input {spec} needs dim {d} = {expected}, not {got}",
                            "reshape the array to the declared input shape");
                }
                else if (dim.Symbol is { } symbol)
                {
                    if (!symbolSizes.TryAdd(symbol, (got, spec.Name)) && symbolSizes[symbol].Size != got)
                    {
                        var (size, other) = symbolSizes[symbol];
                        Problem($"dim '{symbol}' is {size} in array '{other}' but {got} in array '{spec.Name}' of {from}",
                            $"arrays that share the dim '{symbol}' must agree on its size");
                    }
                }
            }
        }
        var expectedNames = specs.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var extra = available.Where(n => !expectedNames.Contains(n)).ToList();
        if (extra.Count > 0)
            Problem($"{from} has arrays for no declared input: {string.Join(", ", extra)} (inputs: {string.Join(", ", specs.Select(s => s.Name))})",
                "remove them, or declare every model input with --input");
        if (problems.Count > 0) throw new ModelForgeException(problems);
        return result;
    }

    /// <summary>The batch size of a set of inputs: dim 0 of the first input whose declared dim 0 is symbolic, else 1.</summary>
    public static int BatchSizeOf(IReadOnlyList<InputSpec> specs, IReadOnlyList<HostTensor> inputs)
    {
        for (var i = 0; i < specs.Count && i < inputs.Count; i++)
        {
            if (specs[i].Dims.Count > 0 && !specs[i].Dims[0].IsStatic && inputs[i].Shape.Length > 0)
                return (int)Math.Min(int.MaxValue, inputs[i].Shape[0]);
        }
        return 1;
    }

    // ---- shapes ----

    private static void CheckRangeNames(IReadOnlyList<InputSpec> specs, IReadOnlyDictionary<string, InputRange> ranges, List<Diagnostic> problems)
    {
        var names = specs.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in ranges.Keys.Order(StringComparer.Ordinal).Where(n => !names.Contains(n)))
        {
            problems.Add(new Diagnostic(DiagnosticCode.InputSpecInvalid,
                $"--range names input '{name}', but the inputs are {string.Join(", ", specs.Select(s => s.Name))}", null,
                "give ranges as NAME:LOW:HIGH for a declared input"));
        }
    }

    private static long[][] ResolveShapes(IReadOnlyList<InputSpec> specs, int batchSize, IReadOnlyDictionary<string, long> dimValues, List<Diagnostic> problems)
    {
        // Symbols that are some input's dim 0 are the batch dim everywhere.
        var batchSymbols = new Dictionary<string, string>(StringComparer.Ordinal); // symbol → first input with it at dim 0
        foreach (var spec in specs)
        {
            if (spec.Dims.Count > 0 && spec.Dims[0].Symbol is { } symbol)
                batchSymbols.TryAdd(symbol, spec.Name);
        }
        var allSymbols = specs.SelectMany(s => s.Dims).Select(d => d.Symbol).OfType<string>().ToHashSet(StringComparer.Ordinal);
        foreach (var (name, value) in dimValues.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!allSymbols.Contains(name))
                problems.Add(new Diagnostic(DiagnosticCode.InputDimUnresolved,
                    $"--dim {name}={value} names no symbolic dim of the inputs (they have: {(allSymbols.Count == 0 ? "none" : string.Join(", ", allSymbols.Order(StringComparer.Ordinal)))})",
                    null, "give --dim NAME=SIZE only for symbolic dims declared in --input"));
            else if (value < 0)
                problems.Add(new Diagnostic(DiagnosticCode.InputDimUnresolved, $"--dim {name}={value} is negative", null, "dim sizes are non-negative integers"));
            else if (batchSymbols.TryGetValue(name, out var input) && value != batchSize)
                problems.Add(new Diagnostic(DiagnosticCode.InputDimUnresolved,
                    $"dim '{name}' is the batch dim (dim 0 of input '{input}'), which is the batch size {batchSize}, but --dim {name}={value} gives another size",
                    null, $"drop --dim {name}=...; the batch size sets it"));
        }

        var shapes = new long[specs.Count][];
        var reported = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < specs.Count; i++)
        {
            var spec = specs[i];
            var shape = new long[spec.Dims.Count];
            for (var d = 0; d < shape.Length; d++)
            {
                var dim = spec.Dims[d];
                if (dim.Value is { } value) shape[d] = value;
                else if (batchSymbols.ContainsKey(dim.Symbol!)) shape[d] = batchSize;
                else if (dimValues.TryGetValue(dim.Symbol!, out var given)) shape[d] = given;
                else if (reported.Add(dim.Symbol!))
                    problems.Add(new Diagnostic(DiagnosticCode.InputDimUnresolved,
                        $"input {spec} has symbolic dim '{dim.Symbol}' (dim {d}) with no size to generate inputs with",
                        null, $"give it one, e.g. --dim {dim.Symbol}=16, or supply the inputs with --data"));
            }
            shapes[i] = shape;
        }
        return shapes;
    }

    // ---- values ----

    /// <summary>The bytes of a tensor of <paramref name="shape"/>; <see cref="long.MaxValue"/> when that overflows.</summary>
    private static long ByteCount(DataType type, long[] shape)
    {
        try
        {
            long count = 1;
            foreach (var d in shape) count = checked(count * Math.Max(d, 0));
            return checked(count * type.SizeInBytes());
        }
        catch (OverflowException)
        {
            return long.MaxValue;
        }
    }

        private static HostTensor GenerateOne(InputSpec spec, long[] shape, InputRange? range, SplitMix64 random)
    {
        var type = spec.DataType;
        if (!type.IsFloatingPoint() && !type.IsInteger() && type != DataType.Bool)
            throw new ModelForgeException(DiagnosticCode.InputSpecInvalid, $"cannot generate values for input {spec} of type {type.Name()}", null,
                "supply its values with --data");
        var byteCount = ByteCount(type, shape);
        if (byteCount > Array.MaxLength)
            throw new ModelForgeException(DiagnosticCode.InputSpecInvalid,
                $"input {spec} at shape [{string.Join(",", shape)}] needs {(byteCount == long.MaxValue ? "more than 2^63" : byteCount.ToString())} bytes, more than one tensor can hold",
                null, "use a smaller batch size or --dim values");
        MemoryLimit.Check(byteCount, $"generated input {spec} at shape [{string.Join(",", shape)}]", null);
        var data = new byte[byteCount];
        var size = type.SizeInBytes();
        var count = byteCount / size;

        if (type.IsFloatingPoint())
        {
            var low = range?.Low ?? DefaultFloatLow;
            var high = range?.High ?? DefaultFloatHigh;
            var width = high - low;
            if (!double.IsFinite(width))
                throw RangeError(spec, range!, "its width overflows a double");
            for (long i = 0; i < count; i++)
            {
                var value = low + random.NextDouble() * width;
                if (value >= high) value = Math.BitDecrement(high);
                var span = data.AsSpan((int)(i * size), size);
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
                    throw RangeError(spec, range, $"{type.Name()} inputs need integer bounds");
                low = (Int128)range.Low;
                high = (Int128)range.High;
                if (low < minimum || high > maximum + 1)
                    throw RangeError(spec, range, $"{type.Name()} holds only {minimum}…{maximum}, so the range must lie within [{minimum}, {maximum + 1})");
            }
            var width = high - low;
            for (long i = 0; i < count; i++)
            {
                var value = low + (width > ulong.MaxValue ? random.Next() : random.NextBelow((ulong)width));
                var span = data.AsSpan((int)(i * size), size);
                switch (size)
                {
                    case 8: BinaryPrimitives.WriteInt64LittleEndian(span, (long)value); break;
                    case 4: BinaryPrimitives.WriteInt32LittleEndian(span, (int)value); break;
                    case 2: BinaryPrimitives.WriteInt16LittleEndian(span, (short)value); break;
                    default: span[0] = (byte)(long)value; break;
                }
            }
        }
        return new HostTensor(type, shape, data);
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

    private static ModelForgeException RangeError(InputSpec spec, InputRange range, string problem) =>
        new(DiagnosticCode.InputSpecInvalid, $"range {range.Name}:{range.Low}:{range.High} for input {spec} is invalid: {problem}", null,
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

    private static string NumpyName(DataType type) => type == DataType.Bool ? "bool_" : type.Name();

    /// <summary>The first state of input <paramref name="index"/>'s stream: the pair, scrambled (injective in the pair).</summary>
    internal static ulong StreamSeed(int seed, int index) => SplitMix64.Mix(((ulong)(uint)seed << 32) | (uint)index);

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
}
