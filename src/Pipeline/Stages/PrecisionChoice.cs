using System.Globalization;
using System.Text.Json.Serialization;
using ModelForge.Package.Tuning;
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

    /// <summary>
    /// The serving configuration the tuner chose for this candidate and what it measured there; null when the build
    /// does not tune (no <c>package</c> section, or tuning off) or the candidate failed the gate.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public PrecisionTuning? Tuned { get; init; }

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
/// A candidate at its tuned batch: the configuration the package stage's tuner chose for it (same grid, objective
/// and machine as the bundles' own tuning) and what was measured there.
/// </summary>
/// <param name="LatencyMs">Median latency per request (one request is one batch) at the tuned batch and instance count.</param>
/// <param name="WithinBudget">Whether it met the objective's p99 budget (true without one).</param>
public sealed record PrecisionTuning(int BatchSize, int InstanceCount, double LatencyMs, double P99Ms, double ThroughputPerSecond, bool WithinBudget)
{
    /// <summary>The tuned point of <paramref name="result"/>; null when the tuner measured nothing (tuning off).</summary>
    public static PrecisionTuning? From(TuningResult result)
    {
        var decision = result.Report.Decision;
        if (decision.BatchSize is not { } batch || decision.InstanceCount is not { } instances) return null;
        var measured = result.Report.Measurements.LastOrDefault(m => m.Succeeded && m.BatchSize == batch && m.InstanceCount == instances);
        return new PrecisionTuning(batch, instances, measured?.P50Milliseconds ?? decision.P99Milliseconds, decision.P99Milliseconds,
            decision.ThroughputPerSecond, decision.WithinBudget);
    }

    public override string ToString() =>
        $"batch {BatchSize} × {InstanceCount} instance{(InstanceCount == 1 ? "" : "s")}: {ThroughputPerSecond.ToString("0.#", CultureInfo.InvariantCulture)}/s, " +
        $"p50 {PrecisionChoice.Ms(LatencyMs)}, p99 {PrecisionChoice.Ms(P99Ms)}{(WithinBudget ? "" : " (over the p99 budget)")}";
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
    /// <summary>The chosen candidate's tuning, which the package stage uses instead of measuring the same model again.</summary>
    [JsonIgnore]
    public TuningResult? ChosenTuning { get; init; }

    /// <summary>
    /// The rule: the fastest candidate that passed. When every one that passed was tuned, by the tuning objective at
    /// its tuned configuration (within the p99 budget first; then the highest throughput, or the lowest p99 for a
    /// latency objective; with a traffic profile the fewest instances, then the lowest p99); otherwise by its latency at
    /// the timed batch (serving throughput). Then by batch 1's latency, then the spec's order. None passed: null.
    /// </summary>
    public static PrecisionCandidate? Fastest(IReadOnlyList<PrecisionCandidate> candidates, TuningObjective? objective = null)
    {
        var passed = candidates.Select((c, order) => (c, order)).Where(p => p.c.Passed).ToList();
        var ordered = objective is not null && passed.Count > 0 && passed.All(p => p.c.Tuned is not null)
            ? passed.OrderByDescending(p => p.c.Tuned!.WithinBudget).ThenBy(p => TunedRank(p.c.Tuned!, objective))
            : passed.OrderBy(p => p.c.LatencyTimedBatchMs ?? double.PositiveInfinity);
        return ordered.ThenBy(p => p.c.LatencyBatch1Ms ?? double.PositiveInfinity).ThenBy(p => p.order).Select(p => p.c).FirstOrDefault();
    }

    /// <summary>Lower is better: what the tuning objective optimises at a candidate's tuned configuration, then its tie-break.</summary>
    private static (double, double) TunedRank(PrecisionTuning tuned, TuningObjective objective) =>
        objective.Traffic is not null ? (tuned.InstanceCount, tuned.P99Ms)
        : objective.Goal == TuningGoal.MinLatency ? (tuned.P99Ms, -tuned.ThroughputPerSecond)
        : (-tuned.ThroughputPerSecond, tuned.P99Ms);

    public static string Ms(double? value) => value is { } v ? v.ToString("0.###", CultureInfo.InvariantCulture) + " ms" : "-";
}
