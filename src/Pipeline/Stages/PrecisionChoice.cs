using System.Globalization;
using ModelForge.Validate.Compare;
using ModelForge.Validate.Reports;

namespace ModelForge.Pipeline.Stages;

/// <summary>
/// One precision the build tried: how it did at the accuracy gate against native fp32 outputs (the worst of every
/// output and batch size) and how fast ONNX Runtime ran it. Latencies are the median per request with one session using
/// every core; null where the measurement failed.
/// </summary>
/// <param name="Failure">Why the gate failed (the first failing output), null when it passed.</param>
/// <param name="MinSqnrDb">Null for fp32, which is held to the elementwise tolerance instead.</param>
/// <param name="FloatNodes">Nodes a rewrite left in float32 on purpose (fp16's block list, the sensitivity pass), with why.</param>
public sealed record PrecisionCandidate(
    string Precision,
    bool Passed,
    string? Failure,
    double? LatencyBatch1Ms,
    double? LatencyTimedBatchMs,
    double MinCosine,
    double? MinSqnrDb,
    double? MinTop1,
    double? MinTop5,
    double? MaxAbsError,
    long ModelBytes)
{
    public IReadOnlyList<string> FloatNodes { get; init; } = [];

    /// <summary>The worst of each measure over every output of every run of the CPU candidate in <paramref name="report"/>.</summary>
    public static PrecisionCandidate From(string precision, ValidationReport report, double? batch1Ms, double? timedMs, long bytes)
    {
        var outputs = report.Runs.SelectMany(r => r.Outputs).ToList();
        var failure = report.Runs.FirstOrDefault(r => r.Status != CandidateStatus.Passed);
        double? Min(Func<OutputComparison, double?> measure) =>
            outputs.Select(measure).OfType<double>().ToList() is { Count: > 0 } values ? values.Min() : null;
        return new PrecisionCandidate(precision, report.Passed,
            failure is null ? null : failure.Reason ?? failure.Status.ToString().ToLowerInvariant(),
            batch1Ms, timedMs,
            Min(o => o.Precision?.Metrics.Cosine ?? o.Statistics?.CosineSimilarity) ?? 0,
            Min(o => o.Precision?.Metrics.SqnrDb),
            Min(o => o.Precision?.Metrics.Top1),
            Min(o => o.Precision?.Metrics.Top5),
            outputs.All(o => o.Statistics is not null) ? outputs.Select(o => o.Statistics!.MaxAbsError).DefaultIfEmpty(0).Max() : null,
            bytes);
    }
}

/// <summary>
/// What the precision stage decided, for the build manifest and the validation report: every candidate with its
/// measures, the batch size besides 1 that was timed, and the one kept.
/// </summary>
/// <param name="Chosen">The precision the bundles are written from.</param>
/// <param name="TimedBatch">The second batch size timed (the batch dim's opt size; 1 for a model without a batch dim).</param>
/// <param name="ExecutionProvider">Where the latencies were measured.</param>
/// <param name="Reason">Why <paramref name="Chosen"/> in one sentence.</param>
public sealed record PrecisionChoice(string Chosen, int TimedBatch, string ExecutionProvider, string Reason, IReadOnlyList<PrecisionCandidate> Candidates)
{
    /// <summary>
    /// The rule: the fastest candidate that passed, by its latency at the timed batch (serving throughput), then at
    /// batch 1, then the spec's order. None passed: null.
    /// </summary>
    public static PrecisionCandidate? Fastest(IReadOnlyList<PrecisionCandidate> candidates) =>
        candidates.Select((c, order) => (c, order)).Where(p => p.c.Passed)
            .OrderBy(p => p.c.LatencyTimedBatchMs ?? double.PositiveInfinity)
            .ThenBy(p => p.c.LatencyBatch1Ms ?? double.PositiveInfinity)
            .ThenBy(p => p.order)
            .Select(p => p.c).FirstOrDefault();

    public static string Ms(double? value) => value is { } v ? v.ToString("0.###", CultureInfo.InvariantCulture) + " ms" : "-";
}
