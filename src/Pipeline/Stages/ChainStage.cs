using System.Globalization;
using System.Text.Json;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.IO;
using ModelForge.Model;
using ModelForge.Package.Processing;
using ModelForge.Pipeline.Spec;

namespace ModelForge.Pipeline.Stages;

/// <summary>
/// The accuracy gate over the whole chain when the spec has pre- or post-processing (<see cref="ChainParity"/>): builds
/// the processing ONNX models into <c>processing/</c>, compares the ensemble's steps and the fused model with the
/// native chain at the validation batch sizes, and writes <c>validation/chain.json</c>. A mismatch is MF3004 like the
/// model's own gate (an error, or a warning with <c>validate.onFailure: warning</c>); a spec that cannot fit the model
/// is MF4070–MF4072 before anything runs.
/// </summary>
public sealed class ChainStage : IBuildStage
{
    public const string ReportFileName = "chain.json";

    public string Name => "chain";

    public bool RunsFor(ModelSpec spec) => spec.Package?.Processing is not null;

    public string Detail(ModelSpec spec) => "preprocess → model → postprocess: libtorch + C# reference vs the ensemble and the fused model";

    public StageOutcome Run(BuildContext context)
    {
        var spec = context.Spec;
        var plan = ProcessingPlan.Resolve(spec.Package!.Processing!, context.OnnxPath, spec.OutputNames);
        var files = ProcessingFiles.Write(plan, spec.Name, Path.Combine(context.StagingDirectory, ProcessingFiles.Folder));
        var (batches, dimSizes) = ValidateStage.SizesFor(spec.Inputs, spec.Dims);
        var tolerance = spec.Validation.Tolerances.For(plan.Output?.Name ?? "", DataType.Float32);
        var comparisons = ChainParity.Compare(plan, files, spec.SourcePath, context.OnnxPath, spec.Inputs,
            spec.Validation.Batches ?? batches ?? [1, 8], dimSizes, spec.Validation.Seed, tolerance);
        WriteReport(comparisons, tolerance.ToString(), Path.Combine(context.StagingDirectory, BuildPipeline.ValidationFolder, ReportFileName));
        foreach (var group in comparisons.GroupBy(c => c.Candidate))
            context.Reporter.Info($"chain: {group.Key}: max abs diff {group.Max(c => c.MaxAbsDiff).ToString("0.00e+00", CultureInfo.InvariantCulture)} over {group.Count()} tensors");

        var failed = comparisons.Where(c => !c.Passed).ToList();
        if (failed.Count == 0) return new StageOutcome.Done($"passed ({comparisons.Count} tensors, {tolerance})");
        var summary = string.Join(" | ", failed.Take(3).Select(c =>
            $"{c.Candidate} batch {c.BatchSize}: {c.Tensor} {c.Mismatches} elements outside {tolerance} (max abs diff {c.MaxAbsDiff.ToString("0.00e+00", CultureInfo.InvariantCulture)})"));
        var severity = spec.Validation.OnFailure == GateMode.Warning ? DiagnosticSeverity.Warning : DiagnosticSeverity.Error;
        return new StageOutcome.Failed(summary, severity)
        {
            Diagnostics = [new Diagnostic(DiagnosticCode.AccuracyGateFailed, $"accuracy gate failed for the {spec.Name} chain (pre-processing → model → post-processing): {summary}",
                BuildPipeline.SpecLocation(spec), $"see {BuildPipeline.ValidationFolder}/{ReportFileName}; the first tensor that differs names the step that drifted", severity)],
        };
    }

    /// <summary>A build that found nothing to do still says that its chain failed the gate (in warning mode).</summary>
    public IEnumerable<Diagnostic> Repeat(ModelSpec spec, StageOutcome previous)
    {
        if (previous is StageOutcome.Failed failed)
            yield return new Diagnostic(DiagnosticCode.AccuracyGateFailed, $"accuracy gate failed for the {spec.Name} chain (unchanged since the last build): {failed.Summary}",
                BuildPipeline.SpecLocation(spec), $"see {BuildPipeline.ValidationFolder}/{ReportFileName} in the output folder", DiagnosticSeverity.Warning);
    }

    private static void WriteReport(IReadOnlyList<ChainComparison> comparisons, string tolerance, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var report = new
        {
            tolerance,
            passed = comparisons.All(c => c.Passed),
            comparisons = comparisons.Select(c => new { candidate = c.Candidate, batch = c.BatchSize, tensor = c.Tensor, maxAbsDiff = c.MaxAbsDiff, mismatches = c.Mismatches, passed = c.Passed }),
        };
        AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, report, new JsonSerializerOptions { WriteIndented = true }));
    }
}
