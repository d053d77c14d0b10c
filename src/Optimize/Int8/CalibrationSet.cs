using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Validate.Inputs;
using ModelForge.Model.Tensors;

namespace ModelForge.Optimize.Int8;

/// <summary>
/// The inputs calibration runs the fp32 model on, as batches of at most <see cref="BatchRows"/> samples along the
/// batch dim: the user's arrays (.npz, one per input name; .npy for a one-input model), checked against the model's
/// inputs, or generated from the declared ranges (<see cref="InputGenerator"/>) with an MF8009 warning.
/// </summary>
public sealed class CalibrationSet
{
    /// <summary>Samples per calibration run: every requested activation is an output, so memory grows with this.</summary>
    public const int BatchRows = 4;

    private readonly Func<IEnumerable<IReadOnlyList<HostTensor>>> _batches;

    private CalibrationSet(int samples, string source, Func<IEnumerable<IReadOnlyList<HostTensor>>> batches)
    {
        Samples = samples;
        Source = source;
        _batches = batches;
    }

    public int Samples { get; }

    /// <summary>Where the samples come from, for messages: the file, or "N generated samples".</summary>
    public string Source { get; }

    public IEnumerable<IReadOnlyList<HostTensor>> Batches() => _batches();

    public static CalibrationSet FromFile(IReadOnlyList<InputSpec> specs, string path)
    {
        IReadOnlyDictionary<string, HostTensor> arrays = path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase) && specs.Count == 1
            ? new Dictionary<string, HostTensor> { [specs[0].Name] = Npy.Read(path) }
            : Npz.Read(path);
        IReadOnlyList<HostTensor> inputs;
        try
        {
            inputs = InputGenerator.FromData(specs, arrays, path);
        }
        catch (ModelForgeException e) when (e.Code == DiagnosticCode.DataFileMismatch)
        {
            throw new ModelForgeException([.. e.Diagnostics.Select(d => d with { Code = DiagnosticCode.CalibrationDataMismatch })]);
        }
        Check(specs, inputs, path);
        var hasBatchDim = BatchDim.Of(specs) is not null;
        var rows = hasBatchDim ? (int)inputs[0].Shape[0] : 1;
        return new CalibrationSet(rows, path, () => hasBatchDim ? Split(inputs, rows) : [inputs]);
    }

    public static CalibrationSet Generated(IReadOnlyList<InputSpec> specs, int samples, int seed,
        IReadOnlyDictionary<string, InputRange> ranges, IReadOnlyDictionary<string, long> dimValues, Action<Diagnostic> warn)
    {
        if (samples < 1)
            throw new ModelForgeException(DiagnosticCode.CalibrationDataEmpty, $"--calibration-samples {samples} asks for no calibration sample", null,
                "calibrate on at least one sample, e.g. --calibration-samples 64 (or pass real data with --calibration DATA.npz)");
        var hasBatchDim = BatchDim.Of(specs) is not null;
        // Generated once here, so shape problems (an unsized dim) are reported before any work.
        InputGenerator.Generate(specs, 1, seed, ranges, dimValues);
        warn(new Diagnostic(DiagnosticCode.CalibrationDataGenerated,
            $"no calibration data: int8 activation ranges come from {samples} generated samples (uniform in the declared ranges)", null,
            "real data gives better ranges: pass a few hundred representative inputs with --calibration DATA.npz", DiagnosticSeverity.Warning));
        IEnumerable<IReadOnlyList<HostTensor>> Batches()
        {
            var index = 0;
            for (var done = 0; done < samples; index++)
            {
                var rows = hasBatchDim ? Math.Min(BatchRows, samples - done) : 1;
                yield return InputGenerator.Generate(specs, rows, seed + index, ranges, dimValues);
                done += rows;
            }
        }
        return new CalibrationSet(samples, $"{samples} generated samples", Batches);
    }

    /// <summary>Refuses a set with no sample (MF8002), NaN/Inf (MF8004), or float inputs that all hold one value (MF8003).</summary>
    private static void Check(IReadOnlyList<InputSpec> specs, IReadOnlyList<HostTensor> inputs, string path)
    {
        var location = new SourceLocation(path);
        for (var i = 0; i < specs.Count; i++)
            if (inputs[i].ElementCount == 0)
                throw new ModelForgeException(DiagnosticCode.CalibrationDataEmpty,
                    $"array '{specs[i].Name}' in '{path}' has shape {inputs[i].ShapeText}: no calibration sample", location,
                    "give at least one sample per input (dim 0 is the sample count), ideally a few hundred");
        var constant = new List<string>();
        var floats = 0;
        for (var i = 0; i < specs.Count; i++)
        {
            if (!specs[i].DataType.IsFloatingPoint()) continue;
            floats++;
            var values = inputs[i].ToDoubles();
            var bad = Array.FindIndex(values, v => !double.IsFinite(v));
            if (bad >= 0)
                throw new ModelForgeException(DiagnosticCode.CalibrationDataNotFinite,
                    $"array '{specs[i].Name}' in '{path}' holds {values[bad]} at flat index {bad}", location,
                    "calibration data must be finite: drop or fix the samples with NaN/Inf");
            if (values.All(v => v == values[0])) constant.Add($"'{specs[i].Name}' (all {values[0]})");
        }
        if (floats > 0 && constant.Count == floats)
            throw new ModelForgeException(DiagnosticCode.CalibrationDataConstant,
                $"every float calibration input in '{path}' holds a single value: {string.Join(", ", constant)}; no activation range can be measured on it",
                location, "pass representative samples (real inputs), or leave --calibration out to calibrate on generated inputs");
    }

    /// <summary>The inputs cut along dim 0 into batches of at most <see cref="BatchRows"/> rows.</summary>
    private static IEnumerable<IReadOnlyList<HostTensor>> Split(IReadOnlyList<HostTensor> inputs, int rows)
    {
        for (var start = 0; start < rows; start += BatchRows)
        {
            var count = Math.Min(BatchRows, rows - start);
            yield return inputs.Select(t =>
            {
                var rowBytes = t.Data.Length / rows;
                return new HostTensor(t.ElementType, [count, .. t.Shape[1..]], t.Data.AsSpan(start * rowBytes, count * rowBytes).ToArray());
            }).ToList();
        }
    }
}
