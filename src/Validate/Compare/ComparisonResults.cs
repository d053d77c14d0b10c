using ModelForge.Model;

namespace ModelForge.Validate.Compare;

/// <summary>Summary statistics of the elementwise errors of one output (Polygraphy-style), over finite elements.</summary>
public sealed record ErrorStatistics(
    long ElementCount,
    long MismatchCount,
    double MaxAbsError, double MeanAbsError, double MedianAbsError, double P99AbsError,
    double MaxRelError, double MeanRelError, double MedianRelError, double P99RelError,
    double CosineSimilarity);

/// <summary>One element where the candidate differs from the reference; <see cref="Index"/> is the multi-dim index.</summary>
public sealed record Mismatch(long[] Index, double Expected, double Actual, double AbsError, double RelError);

/// <summary>
/// A histogram of absolute errors by decade: <see cref="Edges"/> are powers of ten (the last may be +Inf) and
/// <see cref="Counts"/>[i] counts errors in [Edges[i], Edges[i+1]); exact matches are counted in <see cref="ExactCount"/>.
/// </summary>
public sealed record ErrorHistogram(double[] Edges, long[] Counts, long ExactCount);

/// <summary>Top-k agreement of a classifier output: the share of rows whose top-k index sets are equal.</summary>
public sealed record TopKAgreement(int K, long Rows, long AgreeingRows)
{
    public double Rate => Rows == 0 ? 1 : (double)AgreeingRows / Rows;
}

/// <summary>The verdict for one output of one candidate at one batch size.</summary>
public sealed record OutputComparison(
    string Output,
    bool Passed,
    /// <summary>Why it failed, in one line a user can act on (null when passed).</summary>
    string? FailureReason,
    DataType ExpectedType, long[] ExpectedShape,
    DataType ActualType, long[] ActualShape,
    Tolerance Tolerance,
    /// <summary>Null when the shapes or types differ (nothing elementwise to compare).</summary>
    ErrorStatistics? Statistics,
    ErrorHistogram? Histogram,
    /// <summary>The worst mismatches, largest absolute error first (at most 10).</summary>
    IReadOnlyList<Mismatch> WorstMismatches,
    TopKAgreement? TopK)
{
    /// <summary>
    /// The reduced-precision gate's measures and bars when the run judged this output by them
    /// (<see cref="ToleranceSettings.Precision"/>); null for the elementwise gate.
    /// </summary>
    public PrecisionVerdict? Precision { get; init; }
}

/// <summary>How a reduced-precision output measured against its fp32 reference, and the bars it was held to.</summary>
/// <param name="Name">The precision the candidate was written in (<c>int8</c>, <c>fp16</c>, …).</param>
public sealed record PrecisionVerdict(string Name, QuantizationMetrics Metrics, QuantizationThresholds Thresholds)
{
    public IReadOnlyList<string> Failures => Thresholds.Failures(Metrics);
}
