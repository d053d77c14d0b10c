using ModelForge.Core.Diagnostics;
using ModelForge.Core.IO;
using ModelForge.Model;
using ModelForge.Optimize;
using ModelForge.Pipeline.Spec;
using ModelForge.Validate;
using ModelForge.Validate.Reports;
using ModelForge.Validate.Runtime;

namespace ModelForge.Pipeline.Stages;

/// <summary>
/// The accuracy gate: libtorch against ONNX Runtime (and the engine, when one was built) with the spec's tolerances,
/// reports into <c>validation/</c>, naming the files where the build publishes (or rejects) them, not the staging
/// folder. A mismatch is <see cref="StageOutcome.Failed"/> with MF3004, an error or a warning as
/// <c>validate.onFailure</c> says; a required candidate that cannot run here is MF3003, thrown in both modes.
/// </summary>
public sealed class ValidateStage : IBuildStage
{
    private const string LoosenHint = "loosen validate.atol/rtol only if the difference is expected";

    public string Name => "validate";

    public bool RunsFor(ModelSpec spec) => true;

    public string Detail(ModelSpec spec) => "libtorch vs ONNX Runtime";

    public StageOutcome Run(BuildContext context)
    {
        var spec = context.Spec;
        // The chosen precision is held to its own bars (an int8 model to cosine/SQNR, not to fp32's atol).
        var chosen = context.Precision is { } choice && PrecisionNames.TryParse(choice.Chosen, out var precision) ? precision : Optimize.Precision.Fp32;
        var options = OptionsFor(spec, context.EngineDirectory) with { Tolerances = spec.Validation.TolerancesFor(chosen) };
        var outcome = Validator.Run(spec.SourcePath, context.OnnxPath, options);
        var verdict = AccuracyGate.Verdict(outcome.Report);
        var severity = spec.Validation.OnFailure == GateMode.Warning ? DiagnosticSeverity.Warning : DiagnosticSeverity.Error;
        // The staging folder is gone once the build is published, or rejected by a mismatch in error mode: the reports
        // name the files where they will be.
        var published = verdict == GateVerdict.Mismatch && severity == DiagnosticSeverity.Error
            ? StagedOutput.RejectedDirectory(spec.OutputDirectory) : spec.OutputDirectory;
        var report = context.Report = outcome.Report.Relocated(context.StagingDirectory, published) with
        {
            Sections = context.Precision is { } decided ? [PrecisionReport.Section(decided)] : [],
        };
        foreach (var skip in report.Skipped) context.Reporter.Info($"validate: {skip.Name} skipped ({skip.Reason})");
        ReportWriter.WriteAll(report, Path.Combine(context.StagingDirectory, BuildPipeline.ValidationFolder));

        switch (verdict)
        {
            case GateVerdict.Passed:
                return new StageOutcome.Done("passed");
            case GateVerdict.Unavailable:
                throw new ModelForgeException(AccuracyGate.Unavailable(report, BuildPipeline.SpecLocation(spec),
                    "build on a machine where that execution provider runs, or drop the tensorrt target"));
            default:
                // A warning points at the published report; an error's bundle is not published, and the build says where it went instead.
                var hint = severity == DiagnosticSeverity.Warning
                    ? $"see {Path.Combine(spec.OutputDirectory, BuildPipeline.ValidationFolder, ReportWriter.HtmlFileName)}; {LoosenHint}"
                    : LoosenHint;
                return new StageOutcome.Failed(AccuracyGate.Summary(report), severity)
                {
                    Diagnostics = [AccuracyGate.Mismatch(spec.Name, report, BuildPipeline.SpecLocation(spec), hint, severity)],
                };
        }
    }

    /// <summary>A build that found nothing to do still says that its bundle failed the gate.</summary>
    public IEnumerable<Diagnostic> Repeat(ModelSpec spec, StageOutcome previous)
    {
        if (previous is StageOutcome.Failed failed)
            yield return new Diagnostic(DiagnosticCode.AccuracyGateFailed,
                $"accuracy gate failed for {spec.Name} (unchanged since the last build): {failed.Summary}",
                BuildPipeline.SpecLocation(spec), "see the validation report in the output folder", DiagnosticSeverity.Warning);
    }

    /// <summary>
    /// The spec's <c>validate</c> section and dim ranges as validator options: the batch dim at its <c>min</c> and
    /// <c>opt</c> unless <c>batches</c> says otherwise, every other symbolic dim at <c>opt</c>; the CPU provider
    /// required, CUDA and TensorRT where they run, and the engine as a candidate of its own when one was built.
    /// </summary>
    public static ValidateOptions OptionsFor(ModelSpec spec, string? engineDirectory)
    {
        var (rangeBatches, dimSizes) = SizesFor(spec.Inputs, spec.Dims);
        var batches = spec.Validation.Batches ?? rangeBatches;
        var (required, optional) = CandidatesFor([]);
        var options = new ValidateOptions
        {
            Inputs = spec.Inputs,
            Seed = spec.Validation.Seed,
            Ranges = spec.Validation.Ranges,
            DimValues = dimSizes,
            Tolerances = spec.Validation.Tolerances,
            Required = required,
            Optional = optional,
            EngineDirectory = engineDirectory,
        };
        return batches is null ? options : options with { BatchSizes = batches };
    }

    /// <summary>
    /// Where validation runs within dim ranges (a spec's <c>dims</c>, <c>--dim</c>): the batch dim at its <c>min</c> and
    /// <c>opt</c> (null when it has no range), every other symbolic dim at <c>opt</c>.
    /// </summary>
    public static (IReadOnlyList<int>? Batches, IReadOnlyDictionary<string, long> DimSizes) SizesFor(IReadOnlyList<InputSpec> inputs,
        IReadOnlyDictionary<string, DimRange> dims)
    {
        var batchDim = BatchDim.Of(inputs);
        var batches = batchDim is not null && dims.TryGetValue(batchDim, out var range) ? new[] { (int)range.Min, (int)range.Opt }.Distinct().ToList() : null;
        return (batches, dims.Where(d => d.Key != batchDim).ToDictionary(d => d.Key, d => d.Value.Opt));
    }

    /// <summary>
    /// The execution providers to check: those named must run (where one cannot, MF3003); with none named, the CPU
    /// provider must, and CUDA and TensorRT run where they can.
    /// </summary>
    public static (IReadOnlyList<CandidateKind> Required, IReadOnlyList<CandidateKind> Optional) CandidatesFor(IReadOnlyList<CandidateKind> named) =>
        named.Count > 0 ? (named, []) : ([CandidateKind.Cpu], [CandidateKind.Cuda, CandidateKind.TensorRt]);
}
