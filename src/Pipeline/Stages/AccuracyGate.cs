using ModelForge.Core.Diagnostics;
using ModelForge.Validate.Reports;

namespace ModelForge.Pipeline.Stages;

/// <summary>What a validation report means for the command that ran it.</summary>
public enum GateVerdict
{
    /// <summary>Every candidate ran and matched the reference.</summary>
    Passed,
    /// <summary>A candidate ran and did not match (or none ran): MF3004, exit 1 (or a warning in the build's warning mode).</summary>
    Mismatch,
    /// <summary>Nothing mismatched, but a required candidate cannot run here at all: invalid input, MF3003, exit 2, whatever the gate mode.</summary>
    Unavailable,
}

/// <summary>
/// The accuracy gate's rule, shared by <c>modelforge validate</c> and the build's validate stage: the verdict of a
/// report and the diagnostics each verdict gives.
/// </summary>
public static class AccuracyGate
{
    /// <summary>A mismatch is the verdict whatever else happened; an unavailable candidate decides only when nothing mismatched.</summary>
    public static GateVerdict Verdict(ValidationReport report) =>
        report.Passed ? GateVerdict.Passed
        : report.Runs.Any(r => r.Status == CandidateStatus.Failed) || report.Runs.All(r => r.Status != CandidateStatus.Unavailable) ? GateVerdict.Mismatch
        : GateVerdict.Unavailable;

    /// <summary>MF3003 for each required candidate that cannot run here, once per candidate.</summary>
    public static IReadOnlyList<Diagnostic> Unavailable(ValidationReport report, SourceLocation? location, string hint) =>
        report.Runs.Where(r => r.Status == CandidateStatus.Unavailable).DistinctBy(r => r.Candidate.Name)
            .Select(r => new Diagnostic(DiagnosticCode.CandidateUnavailable, $"{r.Candidate.Name} was requested but cannot run here: {r.Reason}", location, hint))
            .ToList();

    /// <summary>MF3004 for a model that does not match, as an error (the gate) or a warning (the build's warning mode).</summary>
    public static Diagnostic Mismatch(string modelName, ValidationReport report, SourceLocation? location, string hint, DiagnosticSeverity severity) =>
        new(DiagnosticCode.AccuracyGateFailed, $"accuracy gate failed for {modelName}: {Summary(report)}", location, hint, severity);

    /// <summary>The first three failed runs, one clause each: "onnxruntime-cpu batch 8: output max abs diff … | …".</summary>
    public static string Summary(ValidationReport report)
    {
        var failures = report.Runs.Where(r => r.Status == CandidateStatus.Failed)
            .Select(r => $"{r.Candidate.Name} batch {r.BatchSize}: " +
                         (r.Reason ?? string.Join("; ", r.Outputs.Where(o => !o.Passed).Select(o => $"{o.Output} {o.FailureReason}"))))
            .ToList();
        return failures.Count == 0 ? "no candidate ran" : string.Join(" | ", failures.Take(3)) + (failures.Count > 3 ? $" (+{failures.Count - 3} more)" : "");
    }
}
