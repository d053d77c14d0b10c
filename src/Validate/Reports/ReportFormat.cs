using System.Globalization;
using System.Text;
using ModelForge.Validate.Compare;

namespace ModelForge.Validate.Reports;

/// <summary>
/// Number and text formatting shared by every report, so the console, JUnit and HTML reports print the same
/// numbers the same way. Invariant culture throughout; errors in three-significant-digit scientific notation
/// ("1.23e-05"); tensor values in seven significant digits (float32 precision, "1.234567e+00");
/// non-finite values as "NaN", "inf", "-inf".
/// </summary>
internal static class ReportFormat
{
    /// <summary>An error magnitude or tolerance: "1.23e-05".</summary>
    public static string Error(double value) => Scientific(value, "0.00e+00");

    /// <summary>A tensor element (expected or actual): "1.234567e+00", enough digits to see a float32 differ.</summary>
    public static string Value(double value) => Scientific(value, "0.000000e+00");

    /// <summary>A cosine similarity: six decimals, "0.999998".</summary>
    public static string Cosine(double value) =>
        double.IsFinite(value) ? Normalize(value).ToString("0.000000", CultureInfo.InvariantCulture) : NonFinite(value);

    /// <summary>A share in [0, 1] as a percentage: "12.5%".</summary>
    public static string Percent(double rate) =>
        double.IsFinite(rate) ? (rate * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%" : NonFinite(rate);

    /// <summary>A duration in seconds, millisecond resolution: "0.123".</summary>
    public static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture);

    public static string Integer(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Tolerance(Tolerance tolerance) => $"atol={Error(tolerance.Atol)} rtol={Error(tolerance.Rtol)}";

    /// <summary>What an output was held to: "atol=… rtol=…", or for a reduced-precision candidate "int8: cosine ≥ 0.99, SQNR ≥ 20 dB, …".</summary>
    public static string Gate(OutputComparison output) => output.Precision is { } precision ? Bars(precision) : Tolerance(output.Tolerance);

    private static string Bars(PrecisionVerdict precision)
    {
        var t = precision.Thresholds;
        var bars = new List<string> { $"cosine ≥ {Number(t.MinCosine)}" };
        if (t.MinSqnrDb is { } sqnr) bars.Add($"SQNR ≥ {Number(sqnr)} dB");
        if (t.MinTop1 is { } top1 && precision.Metrics.Top1 is not null) bars.Add($"top-1 ≥ {Percent(top1)}");
        if (t.MinTop5 is { } top5 && precision.Metrics.Top5 is not null) bars.Add($"top-5 ≥ {Percent(top5)}");
        return $"{precision.Name}: {string.Join(", ", bars)}";
    }

    private static string Number(double value) => value.ToString("G6", CultureInfo.InvariantCulture);

    /// <summary>A shape or multi-dimensional index: "[8, 1000]"; a scalar is "[]".</summary>
    public static string Dims(IReadOnlyList<long> dims) =>
        "[" + string.Join(", ", dims.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";

    public static string Timestamp(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string BatchSizes(IEnumerable<int> sizes) =>
        string.Join(", ", sizes.Select(s => s.ToString(CultureInfo.InvariantCulture)));

    public static string Status(CandidateStatus status) => status switch
    {
        CandidateStatus.Passed => "PASS",
        CandidateStatus.Failed => "FAIL",
        CandidateStatus.Unavailable => "UNAVAILABLE",
        _ => status.ToString().ToUpperInvariant(),
    };

    public static string Status(bool passed) => passed ? "PASS" : "FAIL";

    /// <summary>"onnxruntime-cpu batch 8".</summary>
    public static string RunTitle(CandidateRun run) => $"{run.Candidate.Name} batch {run.BatchSize.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Replaces line breaks (and other control characters) so a message stays on one line.</summary>
    public static string OneLine(string text)
    {
        var builder = new StringBuilder(text.Length);
        var lastWasSpace = false;
        foreach (var c in text.Trim())
        {
            var space = char.IsControl(c) || c == ' ';
            if (space && lastWasSpace)
                continue;
            builder.Append(space ? ' ' : c);
            lastWasSpace = space;
        }
        return builder.ToString();
    }

    private static string Scientific(double value, string format) =>
        double.IsFinite(value) ? Normalize(value).ToString(format, CultureInfo.InvariantCulture) : NonFinite(value);

    /// <summary>Turns −0 into 0 so it never prints as "-0.00e+00".</summary>
    private static double Normalize(double value) => value == 0 ? 0 : value;

    private static string NonFinite(double value) =>
        double.IsNaN(value) ? "NaN" : value > 0 ? "inf" : "-inf";
}

/// <summary>One row of the summary table (console and HTML): a (candidate, batch size, output) triple.</summary>
internal sealed record SummaryRow(
    CandidateRun Run,
    /// <summary>Null for a row that stands for a whole run (unavailable, or a run without outputs).</summary>
    OutputComparison? Output,
    string Status,
    string MaxAbs, string MaxRel, string P99Abs, string Cosine, string Mismatches, string Tolerance,
    /// <summary>Text shown after the statistics: the unavailability reason, or the reason of a failed run without outputs.</summary>
    string? Note)
{
    public string OutputName => Output?.Output ?? "-";

    public static IReadOnlyList<SummaryRow> For(ValidationReport report)
    {
        var rows = new List<SummaryRow>();
        foreach (var run in report.Runs)
        {
            if (run.Status == CandidateStatus.Unavailable || run.Outputs.Count == 0)
            {
                rows.Add(new SummaryRow(run, null, ReportFormat.Status(run.Status), "-", "-", "-", "-", "-", "-",
                    run.Reason is null ? null : ReportFormat.OneLine(run.Reason)));
                continue;
            }
            foreach (var output in run.Outputs)
            {
                var s = output.Statistics;
                rows.Add(new SummaryRow(run, output, ReportFormat.Status(output.Passed),
                    s is null ? "-" : ReportFormat.Error(s.MaxAbsError),
                    s is null ? "-" : ReportFormat.Error(s.MaxRelError),
                    s is null ? "-" : ReportFormat.Error(s.P99AbsError),
                    s is null ? "-" : ReportFormat.Cosine(s.CosineSimilarity),
                    s is null ? "-" : $"{ReportFormat.Integer(s.MismatchCount)}/{ReportFormat.Integer(s.ElementCount)}",
                    ReportFormat.Gate(output),
                    null));
            }
        }
        return rows;
    }
}

/// <summary>Why the gate failed, one entry per culprit: a failing output, a failed run, or an unavailable candidate.</summary>
internal sealed record Culprit(string Candidate, IReadOnlyList<int> BatchSizes, string? Output, bool Unavailable, string Reason)
{
    /// <summary>
    /// "onnxruntime-cpu batch 8 output "probs": &lt;reason&gt;" or "onnxruntime-cuda batch 1, 8 unavailable: &lt;reason&gt;".
    /// </summary>
    public override string ToString()
    {
        var batches = ReportFormat.BatchSizes(BatchSizes);
        return Unavailable
            ? $"{Candidate} batch {batches} unavailable: {Reason}"
            : Output is null
                ? $"{Candidate} batch {batches}: {Reason}"
                : $"{Candidate} batch {batches} output \"{Output}\": {Reason}";
    }

    /// <summary>
    /// The culprits in report order. Consecutive unavailable runs of one candidate with the same reason
    /// (one per batch size) are named once.
    /// </summary>
    public static IReadOnlyList<Culprit> For(ValidationReport report)
    {
        var culprits = new List<Culprit>();
        foreach (var run in report.Runs)
        {
            switch (run.Status)
            {
                case CandidateStatus.Passed:
                    break;
                case CandidateStatus.Unavailable:
                    var reason = ReportFormat.OneLine(run.Reason ?? "no reason given");
                    if (culprits.Count > 0 && culprits[^1] is { Unavailable: true } last
                        && last.Candidate == run.Candidate.Name && last.Reason == reason)
                        culprits[^1] = last with { BatchSizes = [.. last.BatchSizes, run.BatchSize] };
                    else
                        culprits.Add(new Culprit(run.Candidate.Name, [run.BatchSize], null, true, reason));
                    break;
                default:
                    var failing = run.Outputs.Where(o => !o.Passed).ToList();
                    foreach (var output in failing)
                        culprits.Add(new Culprit(run.Candidate.Name, [run.BatchSize], output.Output, false,
                            ReportFormat.OneLine(output.FailureReason ?? "failed (no reason given)")));
                    if (failing.Count == 0)
                        culprits.Add(new Culprit(run.Candidate.Name, [run.BatchSize], null, false,
                            ReportFormat.OneLine(run.Reason ?? "failed (no reason given)")));
                    break;
            }
        }
        return culprits;
    }

    /// <summary>The verdict line both the console and HTML reports end with.</summary>
    public static string Verdict(ValidationReport report)
    {
        if (report.Runs.Count == 0)
            return "FAILED: no candidate was run";
        if (report.Passed)
        {
            var outputs = report.Runs.Sum(r => r.Outputs.Count);
            var candidates = report.Runs.Select(r => r.Candidate.Name).Distinct().Count();
            return $"PASSED: all {ReportFormat.Integer(outputs)} output checks of {ReportFormat.Integer(candidates)} candidate(s) " +
                   $"at batch size(s) {ReportFormat.BatchSizes(report.Runs.Select(r => r.BatchSize).Distinct().Order())} within tolerance";
        }
        return "FAILED: " + string.Join("; ", For(report));
    }
}
