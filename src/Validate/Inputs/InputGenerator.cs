using ModelForge.Core.Diagnostics;
using ModelForge.Core.Limits;
using ModelForge.Model;
using ModelForge.Model.Tensors;

namespace ModelForge.Validate.Inputs;

/// <summary>
/// The inputs a validation runs on: generated from the declared <see cref="InputSpec"/>s, or user-supplied arrays
/// checked against them.
/// <para>
/// Shapes (<see cref="InputShapes"/>): the batch dim (<see cref="BatchDim"/>: dim 0 of the first input, when it is
/// symbolic) becomes the batch size wherever its symbol appears; other symbolic dims take their size from
/// <c>dimValues</c> (<c>--dim seq=16</c>).
/// </para>
/// <para>
/// Values (<see cref="InputValues"/>): seeded per input, uniform in [-1, 1) for floats and [0, 10) for integers unless a
/// range says otherwise; the same specs, batch size, seed, ranges and dims give byte-identical tensors everywhere.
/// </para>
/// </summary>
public static class InputGenerator
{
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
            if (InputValues.CanGenerate(specs[i].DataType)) // GenerateOne refuses others
                total = Math.Min(long.MaxValue / 2, total) + Math.Min(long.MaxValue / 2, ByteCount(specs[i].DataType, shapes[i]));
        if (specs.Count > 1) MemoryLimit.Check(total, $"the {specs.Count} generated inputs together", null);

        var result = new HostTensor[specs.Count];
        for (var i = 0; i < specs.Count; i++)
        {
            var spec = specs[i];
            ranges.TryGetValue(spec.Name, out var range);
            result[i] = GenerateOne(spec, shapes[i], range, seed, i);
        }
        return result;
    }

    /// <summary>
    /// Matches user-supplied arrays to the declared inputs by name and checks dtype, rank, static dims and that a
    /// symbolic dim has one size across inputs. Returns the arrays in spec order (their batch size: <see cref="BatchSizeOf"/>).
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

    /// <summary>The batch size of a set of inputs: dim 0 of the first input when the specs have a batch dim (<see cref="BatchDim"/>), else 1.</summary>
    public static int BatchSizeOf(IReadOnlyList<InputSpec> specs, IReadOnlyList<HostTensor> inputs) =>
        BatchDim.Of(specs) is not null && inputs.Count > 0 && inputs[0].Shape.Length > 0 ? (int)Math.Min(int.MaxValue, inputs[0].Shape[0]) : 1;

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
        var batchDim = BatchDim.Of(specs);
        var allSymbols = specs.SelectMany(s => s.Dims).Select(d => d.Symbol).OfType<string>().ToHashSet(StringComparer.Ordinal);
        foreach (var (name, value) in dimValues.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!allSymbols.Contains(name))
                problems.Add(new Diagnostic(DiagnosticCode.InputDimUnresolved,
                    $"--dim {name}={value} names no symbolic dim of the inputs (they have: {(allSymbols.Count == 0 ? "none" : string.Join(", ", allSymbols.Order(StringComparer.Ordinal)))})",
                    null, "give --dim NAME=SIZE only for symbolic dims declared in --input"));
            else if (value < 0)
                problems.Add(new Diagnostic(DiagnosticCode.InputDimUnresolved, $"--dim {name}={value} is negative", null, "dim sizes are non-negative integers"));
            else if (name == batchDim && value != batchSize)
                problems.Add(new Diagnostic(DiagnosticCode.InputDimUnresolved,
                    $"dim '{name}' is the batch dim (dim 0 of input '{specs[0].Name}'), which is the batch size {batchSize}, but --dim {name}={value} gives another size",
                    null, $"drop --dim {name}=...; the batch size sets it"));
        }

        var shapes = InputShapes.At(specs, batchSize, dimValues);
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (input, d, symbol) in shapes.Unsized)
        {
            // A negative --dim is reported above; an unsized symbol once, at its first place.
            if (!dimValues.ContainsKey(symbol) && reported.Add(symbol))
                problems.Add(new Diagnostic(DiagnosticCode.InputDimUnresolved,
                    $"input {specs[input]} has symbolic dim '{symbol}' (dim {d}) with no size to generate inputs with",
                    null, $"give it one, e.g. --dim {symbol}=16, or supply the inputs with --data"));
        }
        return shapes.Shapes;
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

    private static HostTensor GenerateOne(InputSpec spec, long[] shape, InputRange? range, int seed, int index)
    {
        var type = spec.DataType;
        if (!InputValues.CanGenerate(type))
            throw new ModelForgeException(DiagnosticCode.InputSpecInvalid, $"cannot generate values for input {spec} of type {type.Name()}", null,
                "supply its values with --data");
        var byteCount = ByteCount(type, shape);
        if (byteCount > Array.MaxLength)
            throw new ModelForgeException(DiagnosticCode.InputSpecInvalid,
                $"input {spec} at shape [{string.Join(",", shape)}] needs {(byteCount == long.MaxValue ? "more than 2^63" : byteCount.ToString())} bytes, more than one tensor can hold",
                null, "use a smaller batch size or --dim values");
        MemoryLimit.Check(byteCount, $"generated input {spec} at shape [{string.Join(",", shape)}]", null);
        var data = new byte[byteCount];
        InputValues.Fill(data, spec, seed, index, range);
        return new HostTensor(type, shape, data);
    }

    private static string NumpyName(DataType type) => type == DataType.Bool ? "bool_" : type.Name();
}
