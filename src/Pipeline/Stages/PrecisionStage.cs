using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Model.Tensors;
using ModelForge.Optimize;
using ModelForge.Optimize.Fp16;
using ModelForge.Optimize.Int8;
using ModelForge.Package;
using ModelForge.Package.Tuning;
using ModelForge.Pipeline.Spec;
using ModelForge.Validate;
using ModelForge.Validate.Inputs;
using ModelForge.Validate.Reference;
using ModelForge.Validate.Runtime;

namespace ModelForge.Pipeline.Stages;

/// <summary>
/// <c>onnx.precision</c> with anything but fp32 alone: writes each requested precision from the converted model
/// (<see cref="ModelOptimizer"/>), gates each against the native fp32 libtorch outputs with its precision's bars (CPU
/// provider, the spec's batch sizes and inputs), times each with the tuner's measurement at batch 1 and the batch dim's
/// opt size, tunes each that passed as the package stage would (when the build tunes), and replaces <c>model.onnx</c>
/// with the fastest that passed (<see cref="PrecisionChoice.Fastest"/>), so every later stage (engine, gate, bundles)
/// works on the chosen model and the package stage reuses its tuning. None passing is the gate's failure (MF3004).
/// </summary>
public sealed class PrecisionStage : IBuildStage
{
    private const string CandidateFolder = "precision";

    public string Name => "precision";

    public bool RunsFor(ModelSpec spec) => spec.Precision.Requested;

    public string Detail(ModelSpec spec) =>
        $"{string.Join(", ", spec.Precision.Candidates.Select(p => p.Name()))}: the fastest that passes the gate";

    public StageOutcome Run(BuildContext context)
    {
        var spec = context.Spec;
        var folder = Path.Combine(context.StagingDirectory, CandidateFolder);
        var candidates = new List<PrecisionCandidate>();
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        var (timedBatch, tuning) = TimingFor(spec);
        var targets = TuningTargetsFor(spec);
        var tunings = new Dictionary<string, TuningResult>(StringComparer.Ordinal);
        var provider = "";
        foreach (var precision in spec.Precision.Candidates)
        {
            var path = precision == Optimize.Precision.Fp32 ? context.OnnxPath : Path.Combine(folder, precision.Name(), BuildPipeline.OnnxFileName);
            var floatNodes = precision == Optimize.Precision.Fp32 ? [] : Rewrite(context, precision, path);
            context.Reporter.Info($"precision: gating {precision.Name()} against native fp32");
            var gate = Gate(spec, precision, path);
            if (precision == Optimize.Precision.Int8 && !gate.Report.Passed && spec.Precision.Sensitivity is { } budget)
            {
                floatNodes = KeepSensitiveNodesFloat(context, path, budget);
                gate = Gate(spec, precision, path);
            }
            context.Reporter.Info($"precision: timing {precision.Name()} at batch {(timedBatch == 1 ? "1" : $"1 and {timedBatch}")}");
            var timing = LatencyMeasurer.Measure(path, spec.Inputs, timedBatch == 1 ? [1] : [1, timedBatch], tuning);
            provider = timing.ExecutionProvider;
            foreach (var warning in timing.Warnings) context.Reporter.Warn(warning.ToDiagnostic(BuildPipeline.SpecLocation(spec)));
            double? Median(int batch) => timing.Measurements.FirstOrDefault(m => m.BatchSize == batch && m.Succeeded)?.P50Milliseconds;
            var candidate = PrecisionCandidate.From(precision.Name(), gate.Report, Median(1), Median(timedBatch), ModelBytes(path)) with { FloatNodes = floatNodes };
            if (targets is not null && candidate.Passed)
            {
                context.Reporter.Info($"precision: tuning {precision.Name()} as the package stage would ({targets.Objective})");
                var tuned = BatchTuner.Tune(path, spec.Inputs, targets.Objective, Packager.TuningOptionsFor(targets),
                    new Progress<string>(line => context.Reporter.Info($"precision: {precision.Name()}: {line.Trim()}")), modelName: spec.Name);
                tunings[candidate.Precision] = tuned;
                candidate = candidate with { Tuned = PrecisionTuning.From(tuned) };
            }
            candidates.Add(candidate);
            paths[candidate.Precision] = path;
            context.Reporter.Info($"precision: {precision.Name()} {(candidate.Passed ? "passed" : "failed")} the gate, " +
                                  $"{PrecisionChoice.Ms(candidate.LatencyBatch1Ms)} at batch 1, {PrecisionChoice.Ms(candidate.LatencyTimedBatchMs)} at batch {timedBatch}" +
                                  (candidate.Tuned is { } t ? $"; tuned: {t}" : ""));
        }

        var fastest = PrecisionChoice.Fastest(candidates, targets?.Objective);
        var severity = spec.Validation.OnFailure == GateMode.Warning ? DiagnosticSeverity.Warning : DiagnosticSeverity.Error;
        // In warning mode the bundles are written anyway: from the precision the spec lists first, its preference.
        var chosen = fastest ?? candidates[0];
        var reason = fastest is null
            ? $"no precision passed the gate; {chosen.Precision} (listed first) was kept because validate.onFailure is warning"
            : candidates.Count(c => c.Passed) == 1
                ? $"{chosen.Precision} is the only precision that passed the gate"
                : chosen.Tuned is { } tunedChoice && candidates.Where(c => c.Passed).All(c => c.Tuned is not null)
                    ? $"{chosen.Precision} is the fastest precision that passed the gate at its tuned configuration ({tunedChoice})"
                    : $"{chosen.Precision} is the fastest precision that passed the gate ({PrecisionChoice.Ms(chosen.LatencyTimedBatchMs)} at batch {timedBatch})";
        context.Precision = new PrecisionChoice(chosen.Precision, timedBatch, provider, reason, candidates)
        {
            ChosenTuning = tunings.GetValueOrDefault(chosen.Precision),
        };
        if (fastest is null && severity == DiagnosticSeverity.Error)
        {
            // Rejected: the candidates stay in the rejected folder for inspection.
            return Failed(spec, candidates, severity);
        }
        Adopt(paths[chosen.Precision], context.OnnxPath);
        Directory.Delete(folder, recursive: true);
        return fastest is null ? Failed(spec, candidates, severity) : new StageOutcome.Done($"{chosen.Precision}: {reason}");
    }

    /// <summary>The gate of one candidate: native fp32 against ONNX Runtime's CPU provider, with the precision's bars.</summary>
    private static ValidationOutcome Gate(ModelSpec spec, Optimize.Precision precision, string path) =>
        Validator.Run(spec.SourcePath, path, ValidateStage.OptionsFor(spec, null) with
        {
            Tolerances = spec.Validation.TolerancesFor(precision),
            Required = [CandidateKind.Cpu],
            Optional = [],
        });

    /// <summary>
    /// int8 failed its gate: the sensitivity pass (<see cref="SensitivityPass"/>) on the gate's own inputs against the
    /// native fp32 outputs keeps the most sensitive nodes float until the int8 bars pass or the budget runs out, and the
    /// result replaces the candidate at <paramref name="path"/> (the gate then judges it again, as every candidate).
    /// The calibration is measured again (the rewrite's is not kept), once for every trial.
    /// </summary>
    private static IReadOnlyList<string> KeepSensitiveNodesFloat(BuildContext context, string path, SensitivityBudget budget)
    {
        var spec = context.Spec;
        context.Reporter.Info("precision: int8 missed its bars; measuring which nodes to keep float (the sensitivity pass)");
        var (model, external) = OnnxModelFile.Read(context.OnnxPath);
        var options = ValidateStage.OptionsFor(spec, null);
        var batches = options.BatchSizes.Select(batch => InputGenerator.Generate(spec.Inputs, batch, options.Seed, options.Ranges, options.DimValues)).ToList();
        List<IReadOnlyList<HostTensor>> references;
        using (var reference = new TorchScriptReference(spec.SourcePath))
            references = batches.Select(reference.Run).ToList();
        var calibration = StaticInt8Quantizer.Calibrate(model, context.OnnxPath, Int8OptionsFor(spec), Warn(context));
        var pass = SensitivityPass.Run(new SensitivityRequest(model, context.OnnxPath, calibration, batches, references,
            spec.Validation.PrecisionThresholds[Optimize.Precision.Int8]) { Budget = budget });
        pass.Model.ProducerName = Convert.Emit.OnnxEmitter.ProducerName;
        OnnxModelFile.Write(pass.Model, path, external);
        context.Reporter.Info($"precision: the sensitivity pass kept {pass.KeptFloat.Count} node(s) float after {pass.Trials} trials " +
                              $"({(pass.Passed ? "passes" : "still fails")}: {pass.Final.Worst})");
        return pass.KeptFloat.Select(node => $"{node}: kept float by the sensitivity pass").ToList();
    }

    private static Int8Options Int8OptionsFor(ModelSpec spec) => new()
    {
        CalibrationData = spec.Precision.CalibrationData,
        CalibrationSamples = spec.Precision.CalibrationSamples,
        Method = spec.Precision.CalibrationMethod,
        Seed = spec.Validation.Seed,
        Ranges = spec.Validation.Ranges,
        DimValues = ValidateStage.SizesFor(spec.Inputs, spec.Dims).DimSizes,
    };

    private static Action<Diagnostic> Warn(BuildContext context) =>
        warning => context.Reporter.Warn(warning with { Location = warning.Location ?? BuildPipeline.SpecLocation(context.Spec) });

    /// <summary>Writes <paramref name="path"/> in <paramref name="precision"/>; returns the nodes the rewrite kept in float32, with why.</summary>
    private static IReadOnlyList<string> Rewrite(BuildContext context, Optimize.Precision precision, string path)
    {
        var spec = context.Spec;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        context.Reporter.Info($"precision: writing {precision.Name()}");
        var request = new OptimizeRequest(context.OnnxPath, path, precision)
        {
            Int8 = Int8OptionsFor(spec),
            Dims = spec.Dims.Select(d => $"{d.Key}={d.Value}").ToList(),
            ProducerName = Convert.Emit.OnnxEmitter.ProducerName,
        };
        var summary = ModelOptimizer.Run(request, Warn(context));
        return summary switch
        {
            { Fp16: { } fp16 } => fp16.Float32Nodes.Select(n => $"{n}: kept float32 by the fp16 block list").ToList(),
            { DynamicInt8: { } dynamic } => dynamic.Float32Nodes.Select(n => $"{n.Node}: {n.Reason}").ToList(),
            _ => [],
        };
    }

    /// <summary>
    /// Moves the chosen model (and its weights file) over <c>model.onnx</c>. The weights file keeps the name the model
    /// records, <c>model.onnx.data</c>, because every candidate is written as <c>model.onnx</c> in a folder of its own.
    /// </summary>
    private static void Adopt(string chosen, string onnxPath)
    {
        if (chosen == onnxPath) return;
        var data = onnxPath + ".data";
        if (File.Exists(data)) File.Delete(data);
        if (File.Exists(chosen + ".data")) File.Move(chosen + ".data", data);
        File.Move(chosen, onnxPath, overwrite: true);
    }

    private static long ModelBytes(string path) =>
        new FileInfo(path).Length + (File.Exists(path + ".data") ? new FileInfo(path + ".data").Length : 0);

    private static StageOutcome Failed(ModelSpec spec, IReadOnlyList<PrecisionCandidate> candidates, DiagnosticSeverity severity)
    {
        var summary = string.Join(" | ", candidates.Select(c => $"{c.Precision}: {c.Failure}"));
        return new StageOutcome.Failed($"no precision passed the gate: {summary}", severity)
        {
            Diagnostics =
            [
                new Diagnostic(DiagnosticCode.AccuracyGateFailed, $"accuracy gate failed for {spec.Name}: no precision of {string.Join(", ", candidates.Select(c => c.Precision))} passed: {summary}",
                    BuildPipeline.SpecLocation(spec),
                    "see validation/report.html's precision table; list fp32 as a fallback, give int8 real calibration data (onnx.calibration.data), " +
                    "or lower the bars in validate.precision only if the difference is acceptable", severity),
            ],
        };
    }

    /// <summary>
    /// How the package stage will tune the bundles (its grid, objective and provider), so each candidate is compared at
    /// the configuration it would be served with; null when the build does not tune.
    /// </summary>
    private static PackagingTargets? TuningTargetsFor(ModelSpec spec)
    {
        if (spec.Package is not { Tuning: not TuningLevel.Off }) return null;
        var targets = PackageStage.TargetsFor(spec);
        // The package stage's own check, before anything is measured for a profile it would refuse.
        targets.Objective.Traffic?.Validate(targets.Objective.P99BudgetMilliseconds);
        return targets;
    }

    /// <summary>
    /// Where and at which batch the candidates are timed: the serving device's provider (the tuner falls back to the CPU
    /// with a warning), batch 1 and the batch dim's opt size (8 without a range), every other dim at its opt size.
    /// </summary>
    private static (int TimedBatch, TuningOptions Options) TimingFor(ModelSpec spec)
    {
        var (_, dimSizes) = ValidateStage.SizesFor(spec.Inputs, spec.Dims);
        var batchDim = BatchDim.Of(spec.Inputs);
        var timedBatch = batchDim is null ? 1 : spec.Dims.TryGetValue(batchDim, out var range) ? (int)range.Opt : 8;
        var options = TuningOptions.For(TuningLevel.Quick) with
        {
            DimValues = dimSizes,
            Seed = spec.Validation.Seed,
            Provider = spec.Package?.Device == Package.DeviceKind.Gpu ? TuningProvider.Cuda : TuningProvider.Cpu,
        };
        return (timedBatch, options);
    }
}
