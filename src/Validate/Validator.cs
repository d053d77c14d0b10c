using System.Diagnostics;
using ModelForge.Core.Diagnostics;
using ModelForge.Engine;
using ModelForge.Model;
using ModelForge.Validate.Compare;
using ModelForge.Validate.Inputs;
using ModelForge.Validate.Reference;
using ModelForge.Validate.Reports;
using ModelForge.Validate.Runtime;
using ModelForge.Model.Tensors;

namespace ModelForge.Validate;

/// <summary>What to validate and how strictly.</summary>
public sealed record ValidateOptions
{
    public required IReadOnlyList<InputSpec> Inputs { get; init; }
    /// <summary>Batch sizes to run generated inputs at (ignored when <see cref="Data"/> is given).</summary>
    public IReadOnlyList<int> BatchSizes { get; init; } = [1, 8];
    public int Seed { get; init; }
    public IReadOnlyDictionary<string, InputRange> Ranges { get; init; } = new Dictionary<string, InputRange>();
    public IReadOnlyDictionary<string, long> DimValues { get; init; } = new Dictionary<string, long>();
    /// <summary>User-supplied inputs by name (from .npy/.npz); replaces generated inputs.</summary>
    public IReadOnlyDictionary<string, HostTensor>? Data { get; init; }
    public string DataSource { get; init; } = "";
    public ToleranceSettings Tolerances { get; init; } = ToleranceSettings.Default;
    /// <summary>Candidates that must run: one that cannot is reported Unavailable and fails the gate.</summary>
    public IReadOnlyList<CandidateKind> Required { get; init; } = [CandidateKind.Cpu];
    /// <summary>Candidates run when their provider is available here, skipped (with the probe's reason) otherwise.</summary>
    public IReadOnlyList<CandidateKind> Optional { get; init; } = [CandidateKind.Cuda, CandidateKind.TensorRt];
    /// <summary>
    /// An engine folder from the engine stage: its EP-context model runs on the TensorRT provider as one more
    /// required candidate ("tensorrt-engine"), so the gate checks the engine that serving will load.
    /// </summary>
    public string? EngineDirectory { get; init; }
    /// <summary>Where to save the inputs and outputs of a failed check (inputs.npz, reference.npz, CANDIDATE.npz per batch).</summary>
    public string? SaveFailuresDirectory { get; init; }
}

/// <summary>An optional candidate that was not run, and why.</summary>
public sealed record SkippedCandidate(string Name, string Reason);

/// <summary>
/// Where a validation run spent its time: setting up (inputs, sessions, loading the TorchScript), the two runtimes'
/// inferences, and the checking itself (comparison and statistics). The benchmark reads these.
/// </summary>
public sealed record PhaseTimings(TimeSpan Setup, TimeSpan ReferenceInference, TimeSpan CandidateInference, TimeSpan Comparison)
{
    public TimeSpan Inference => ReferenceInference + CandidateInference;
}

/// <summary>The result of <see cref="Validator.Run"/>; <see cref="Skipped"/> is the report's <see cref="ValidationReport.Skipped"/>.</summary>
public sealed record ValidationOutcome(ValidationReport Report, IReadOnlyList<SkippedCandidate> Skipped, PhaseTimings Timings);

/// <summary>
/// The accuracy gate: runs the original TorchScript natively (the reference) and every ONNX Runtime candidate on
/// the same inputs at each batch size, and compares every output.
/// </summary>
public static class Validator
{
    public static ValidationOutcome Run(string modelPath, string onnxPath, ValidateOptions options, TextWriter? log = null)
    {
        if (!File.Exists(onnxPath))
            throw new ModelForgeException(DiagnosticCode.FileNotFound, $"ONNX model '{onnxPath}' does not exist",
                new SourceLocation(onnxPath), "convert the model first: modelforge convert MODEL.pt --input ... -o MODEL.onnx");

        var setupClock = Stopwatch.StartNew();
        var skipped = new List<SkippedCandidate>();
        var runs = new List<CandidateRun>();
        var batches = Batches(options);
        var candidates = OpenCandidates(onnxPath, options, batches.Select(b => b.Batch).ToList(), skipped, runs);
        try
        {
            foreach (var candidate in candidates) CheckInputs(candidate, options.Inputs, onnxPath);
            using var reference = new TorchScriptReference(modelPath);
            var setup = setupClock.Elapsed;
            var referenceTime = TimeSpan.Zero;
            var candidateTime = TimeSpan.Zero;
            var comparisonTime = TimeSpan.Zero;
            foreach (var (batch, inputs) in batches)
            {
                log?.WriteLine($"batch {batch}: running the TorchScript reference");
                var clock = Stopwatch.StartNew();
                var expected = reference.Run(inputs);
                referenceTime += clock.Elapsed;
                foreach (var candidate in candidates)
                {
                    log?.WriteLine($"batch {batch}: running {candidate.Info.Name}");
                    var (run, actual, comparison) = RunCandidate(candidate, batch, options.Inputs, inputs, expected, options.Tolerances);
                    runs.Add(run);
                    candidateTime += run.InferenceTime;
                    comparisonTime += comparison;
                    if (run.Status == CandidateStatus.Failed && options.SaveFailuresDirectory is { } directory)
                        SaveFailure(directory, candidate, batch, options.Inputs, inputs, expected, actual);
                }
            }
            var report = new ValidationReport(
                Path.GetFullPath(modelPath), Path.GetFullPath(onnxPath),
                Describe(options, batches.Select(b => b.Batch).ToList()),
                batches.Select(b => b.Batch).ToList(), options.Seed, TorchScriptReference.Description, referenceTime,
                runs, DateTimeOffset.UtcNow, typeof(Validator).Assembly.GetName().Version?.ToString(3) ?? "0.0.0") { Skipped = skipped };
            return new ValidationOutcome(report, skipped, new PhaseTimings(setup, referenceTime, candidateTime, comparisonTime));
        }
        finally
        {
            foreach (var candidate in candidates) candidate.Dispose();
        }
    }

    private static List<OrtCandidate> OpenCandidates(string onnxPath, ValidateOptions options, IReadOnlyList<int> batchSizes,
        List<SkippedCandidate> skipped, List<CandidateRun> runs)
    {
        var opened = new List<OrtCandidate>();
        void Unavailable(string name, CandidateKind kind, string? reason) =>
            runs.AddRange(batchSizes.Select(batch => new CandidateRun(
                new CandidateInfo(name, OrtCandidate.ProviderOf(kind), new Dictionary<string, string>()),
                batch, CandidateStatus.Unavailable, reason, [], TimeSpan.Zero)));

        foreach (var kind in options.Required.Concat(options.Optional.Except(options.Required)).Distinct())
        {
            var candidate = OrtCandidate.TryCreate(kind, onnxPath, out var reason);
            if (candidate is not null) opened.Add(candidate);
            else if (options.Required.Contains(kind)) Unavailable(OrtCandidate.NameOf(kind), kind, reason);
            else skipped.Add(new SkippedCandidate(OrtCandidate.NameOf(kind), reason ?? "not available"));
        }

        if (options.EngineDirectory is { } directory)
        {
            var engine = BuiltEngine.Load(directory);
            if (!engine.Built || engine.CtxModelPath is null)
                Unavailable(OrtCandidate.EngineCandidateName, CandidateKind.TensorRt,
                    engine.Built ? "the engine manifest records no EP-context model" : $"the engine was not built: {engine.Reason}");
            else if (OrtCandidate.TryCreate(CandidateKind.TensorRt, engine.CtxModelPath, out var reason, OrtCandidate.EngineCandidateName) is { } candidate)
                opened.Add(candidate);
            else
                Unavailable(OrtCandidate.EngineCandidateName, CandidateKind.TensorRt, reason);
        }
        return opened;
    }

    /// <summary>The declared inputs must be the ONNX model's: same names, element types, ranks and fixed dims.</summary>
    private static void CheckInputs(OrtCandidate candidate, IReadOnlyList<InputSpec> specs, string onnxPath)
    {
        var declared = specs.Select(s => s.Name).Order(StringComparer.Ordinal).ToList();
        var graph = candidate.InputNames.Order(StringComparer.Ordinal).ToList();
        if (!declared.SequenceEqual(graph))
            throw Mismatch($"the ONNX model's inputs are ({string.Join(", ", candidate.InputNames)}) but --input declares ({string.Join(", ", specs.Select(s => s.Name))})");
        foreach (var spec in specs)
        {
            var (type, dims) = candidate.InputSignature(spec.Name);
            var fits = type == spec.DataType && dims.Length == spec.Dims.Count &&
                       dims.Zip(spec.Dims).All(p => p.First is null || p.Second.Value is null || p.First == p.Second.Value);
            if (!fits)
                throw Mismatch($"--input {spec} does not fit the ONNX model's input {spec.Name}: " +
                               $"{type.Name()}[{string.Join(",", dims.Select(d => d?.ToString() ?? "?"))}]");
        }

        ModelForgeException Mismatch(string message) => new(DiagnosticCode.InputSpecMismatch, message, new SourceLocation(onnxPath),
            "declare the same inputs as for modelforge convert, one --input per model input");
    }

    private static List<(int Batch, IReadOnlyList<HostTensor> Inputs)> Batches(ValidateOptions options)
    {
        if (options.Data is { } data)
        {
            var inputs = InputGenerator.FromData(options.Inputs, data, options.DataSource);
            return [(InputGenerator.BatchSizeOf(options.Inputs, inputs), inputs)];
        }
        return options.BatchSizes.Select(batch =>
            (batch, InputGenerator.Generate(options.Inputs, batch, options.Seed, options.Ranges, options.DimValues))).ToList();
    }

    private static (CandidateRun Run, IReadOnlyList<HostTensor> Actual, TimeSpan Comparison) RunCandidate(OrtCandidate candidate, int batch,
        IReadOnlyList<InputSpec> specs, IReadOnlyList<HostTensor> inputs, IReadOnlyList<HostTensor> expected, ToleranceSettings tolerances)
    {
        // Inputs follow the --input order; the session takes them in graph order (CheckInputNames matched the names).
        var specIndex = specs.Select((spec, i) => (spec.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        var ordered = candidate.InputNames.Select(name => inputs[specIndex[name]]).ToList();
        var clock = Stopwatch.StartNew();
        var actual = candidate.Run(ordered);
        var elapsed = clock.Elapsed;
        if (actual.Count != expected.Count)
        {
            var reason = $"the ONNX model returns {actual.Count} output(s) but the TorchScript model returns {expected.Count}";
            return (new CandidateRun(candidate.Info, batch, CandidateStatus.Failed, reason, [], elapsed), actual, TimeSpan.Zero);
        }
        clock.Restart();
        var comparisons = expected.Select((e, i) => OutputComparer.Compare(candidate.OutputNames[i], e, actual[i], tolerances)).ToList();
        var comparisonTime = clock.Elapsed;
        var failure = comparisons.FirstOrDefault(c => !c.Passed);
        var status = failure is null ? CandidateStatus.Passed : CandidateStatus.Failed;
        return (new CandidateRun(candidate.Info, batch, status, failure is null ? null : $"{failure.Output}: {failure.FailureReason}", comparisons, elapsed), actual, comparisonTime);
    }

    /// <summary>Saves what reproduces a failed check: the inputs, the reference outputs and the candidate's outputs.</summary>
    private static void SaveFailure(string directory, OrtCandidate candidate, int batch, IReadOnlyList<InputSpec> specs,
        IReadOnlyList<HostTensor> inputs, IReadOnlyList<HostTensor> expected, IReadOnlyList<HostTensor> actual)
    {
        var folder = Path.Combine(directory, $"batch{batch}");
        Npz.Write(Path.Combine(folder, "inputs.npz"), specs.Select((s, i) => (s.Name, inputs[i])).ToDictionary(p => p.Name, p => p.Item2));
        Npz.Write(Path.Combine(folder, "reference.npz"), Named(expected, candidate.OutputNames));
        Npz.Write(Path.Combine(folder, $"{candidate.Info.Name}.npz"), Named(actual, candidate.OutputNames));
    }

    private static Dictionary<string, HostTensor> Named(IReadOnlyList<HostTensor> tensors, IReadOnlyList<string> names) =>
        tensors.Select((t, i) => (Name: i < names.Count ? names[i] : $"output_{i}", t)).ToDictionary(p => p.Name, p => p.t);

    private static IReadOnlyList<InputDescription> Describe(ValidateOptions options, IReadOnlyList<int> batches) =>
        options.Inputs.Select(spec => new InputDescription(spec.Name, spec.DataType.Name(),
            "[" + string.Join(",", spec.Dims) + "]",
            options.Data is not null ? options.DataSource
            : options.Ranges.TryGetValue(spec.Name, out var range) ? $"generated, seed {options.Seed}, range {range}"
            : $"generated, seed {options.Seed}")).ToList();
}
