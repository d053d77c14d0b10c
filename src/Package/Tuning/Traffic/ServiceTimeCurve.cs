namespace ModelForge.Package.Tuning.Traffic;

/// <summary>
/// A measured batch size's service time: its median, mean and 99th percentile, in seconds, and, when the tuner measured
/// them open-loop, the distribution itself as <see cref="ServiceTimeCurve.QuantileCount"/> evenly spaced quantiles
/// (the 0th to the 100th percentile, ascending).
/// </summary>
public sealed record ServicePoint(int BatchSize, double MedianSeconds, double MeanSeconds, double P99Seconds, IReadOnlyList<double>? QuantilesSeconds = null)
{
    /// <summary>The point of a measured distribution: its median, mean and p99 read from the quantiles.</summary>
    public static ServicePoint FromQuantiles(int batchSize, IReadOnlyList<double> quantilesSeconds) =>
        new(batchSize, quantilesSeconds[50], ServiceTimeCurve.MeanOf(quantilesSeconds), quantilesSeconds[99], quantilesSeconds);

    /// <summary>Every time of this point multiplied by <paramref name="factor"/>.</summary>
    public ServicePoint Scaled(int batchSize, double factor) =>
        new(batchSize, MedianSeconds * factor, MeanSeconds * factor, P99Seconds * factor, QuantilesSeconds?.Select(q => q * factor).ToArray());
}

/// <summary>
/// How long one instance takes to run a batch of each size: the measured points, linearly interpolated in the batch size
/// between them (the smallest measured batch's time below it). Where every point carries its measured distribution
/// (quantiles), a batch's time is drawn from it by inverse transform sampling: a uniform draw u, the quantile function
/// at u, linear between neighbouring quantiles (interpolated quantile by quantile between batch sizes). Otherwise a
/// batch takes the median time, or the p99 time with the
/// probability q that makes the mean the measured mean, q = (mean − median) / (p99 − median), at least 1 % (so the p99
/// stays) and at most 1; a constant time when median and p99 agree. Two points rather than a smooth distribution: on a
/// shared machine a batch either runs undisturbed or is pre-empted, and a log-normal fitted to a 100-fold p99/median
/// has a tail the machine does not have; with the measured mean, the simulated instances serve the measured throughput.
/// </summary>
public sealed class ServiceTimeCurve
{
    /// <summary>The least share of batches at the p99 time: the measured p99 is one batch in a hundred.</summary>
    private const double MinimumSlowShare = 0.01;

    /// <summary>Quantiles per measured distribution: every percentile, 0 to 100.</summary>
    public const int QuantileCount = 101;

    private readonly ServicePoint[] _points;

    public ServiceTimeCurve(IEnumerable<ServicePoint> points)
    {
        _points = points.OrderBy(p => p.BatchSize).ToArray();
        if (_points.Length == 0 || _points.Any(p => !(p.MedianSeconds > 0) || !(p.MeanSeconds > 0) || p.P99Seconds < p.MedianSeconds)
            || _points.Zip(_points.Skip(1)).Any(p => p.First.BatchSize == p.Second.BatchSize))
            throw new ArgumentException("service times need at least one point per batch size, with 0 < median ≤ p99 and a positive mean", nameof(points));
        if (_points.Any(p => p.QuantilesSeconds is { } q && (q.Count != QuantileCount || !(q[0] > 0) || q.Zip(q.Skip(1)).Any(pair => pair.Second < pair.First))))
            throw new ArgumentException($"a measured distribution needs {QuantileCount} positive, ascending quantiles", nameof(points));
        // A mix would sample some batch sizes from their distribution and others from the two-point fit: keep one model.
        if (_points.Any(p => p.QuantilesSeconds is null))
            _points = _points.Select(p => p with { QuantilesSeconds = null }).ToArray();
    }

    /// <summary>
    /// <see cref="QuantileCount"/> evenly spaced quantiles of <paramref name="samples"/> (linear between order
    /// statistics, as numpy's default percentile), the 0th being the least sample and the 100th the largest.
    /// </summary>
    public static double[] Quantiles(IEnumerable<double> samples)
    {
        var sorted = samples.Order().ToArray();
        if (sorted.Length == 0) throw new ArgumentException("no samples", nameof(samples));
        return Enumerable.Range(0, QuantileCount).Select(k => Interpolate(sorted, (double)k / (QuantileCount - 1))).ToArray();
    }

    /// <summary>The mean of the piecewise-linear quantile function through <paramref name="quantiles"/>: the mean of what <see cref="Sample"/> draws.</summary>
    public static double MeanOf(IReadOnlyList<double> quantiles) =>
        quantiles.Zip(quantiles.Skip(1)).Average(pair => (pair.First + pair.Second) / 2);

    /// <summary>The value at fraction <paramref name="u"/> ∈ [0, 1] along ascending <paramref name="values"/>, linear between neighbours.</summary>
    private static double Interpolate(IReadOnlyList<double> values, double u)
    {
        var position = u * (values.Count - 1);
        var low = Math.Min((int)position, values.Count - 1);
        var high = Math.Min(low + 1, values.Count - 1);
        return values[low] + (position - low) * (values[high] - values[low]);
    }

    /// <summary>A deterministic service time (no jitter) per batch size, e.g. for an M/D/1 check.</summary>
    public static ServiceTimeCurve Constant(params (int BatchSize, double Seconds)[] points) =>
        new(points.Select(p => new ServicePoint(p.BatchSize, p.Seconds, p.Seconds, p.Seconds)));

    public IReadOnlyList<ServicePoint> Points => _points;

    /// <summary>The largest batch size the curve knows: larger batches are not simulated.</summary>
    public int LargestBatch => _points[^1].BatchSize;

    /// <summary>The interpolated median, mean and p99 of a batch of <paramref name="batchSize"/>.</summary>
    public ServicePoint At(int batchSize)
    {
        if (batchSize > LargestBatch)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"no service time beyond batch {LargestBatch}");
        var upper = Array.FindIndex(_points, p => p.BatchSize >= batchSize);
        if (upper == 0 || _points[upper].BatchSize == batchSize)
            return _points[upper];
        var (low, high) = (_points[upper - 1], _points[upper]);
        var f = (double)(batchSize - low.BatchSize) / (high.BatchSize - low.BatchSize);
        double Between(Func<ServicePoint, double> value) => value(low) + f * (value(high) - value(low));
        if (low.QuantilesSeconds is { } lowQ && high.QuantilesSeconds is { } highQ)
            return ServicePoint.FromQuantiles(batchSize, lowQ.Zip(highQ, (a, b) => a + f * (b - a)).ToArray());
        return new ServicePoint(batchSize, Between(p => p.MedianSeconds), Between(p => p.MeanSeconds), Between(p => p.P99Seconds));
    }

    /// <summary>The share of batches of <paramref name="batchSize"/> that take the p99 time (0 for a constant time).</summary>
    public double SlowShare(int batchSize)
    {
        var point = At(batchSize);
        return point.P99Seconds > point.MedianSeconds
            ? Math.Clamp((point.MeanSeconds - point.MedianSeconds) / (point.P99Seconds - point.MedianSeconds), MinimumSlowShare, 1)
            : 0;
    }

    /// <summary>
    /// The mean service time of a batch: the measured distribution's mean, or for the two-point fit the measured mean
    /// unless the 1 % floor or the ceiling of q moved it.
    /// </summary>
    public double Mean(int batchSize)
    {
        var point = At(batchSize);
        if (point.QuantilesSeconds is not null) return point.MeanSeconds;
        var slow = SlowShare(batchSize);
        return (1 - slow) * point.MedianSeconds + slow * point.P99Seconds;
    }

    /// <summary>One service time of a batch of <paramref name="batchSize"/>; no random draw when it is constant.</summary>
    public double Sample(int batchSize, Random random)
    {
        var point = At(batchSize);
        if (point.QuantilesSeconds is { } quantiles)
            return Interpolate(quantiles, random.NextDouble());
        var slow = SlowShare(batchSize);
        return slow > 0 && random.NextDouble() < slow ? point.P99Seconds : point.MedianSeconds;
    }

    /// <summary>
    /// The service-time curve of each measured instance count, from the tuner's measurements: the open-loop distribution
    /// where the tuner measured one (<see cref="TuningMeasurement.ServiceTimesMilliseconds"/>: what a batch costs a
    /// server that receives requests as they arrive, dispatch included), else the closed-loop numbers (each latency
    /// is one batch's time while every instance is busy, so instances sharing the cores are accounted for; the mean is
    /// instances × batch ÷ throughput, Little's law for a closed loop, so it is the measured throughput). The quick
    /// search measures most batch sizes at one instance count only; another count's missing sizes are that reference
    /// curve scaled by the count's slowdown: the geometric mean of measured/reference medians over the batch sizes
    /// measured at both. A count with no batch size in common keeps only its own points.
    /// </summary>
    public static IReadOnlyDictionary<int, ServiceTimeCurve> FromMeasurements(IReadOnlyList<TuningMeasurement> measurements)
    {
        static ServicePoint Point(TuningMeasurement m) => m.ServiceTimesMilliseconds is { } quantiles
            ? ServicePoint.FromQuantiles(m.BatchSize, quantiles.Select(q => q / 1000).ToArray())
            : new(m.BatchSize, m.P50Milliseconds / 1000,
                m.ThroughputPerSecond > 0 ? m.InstanceCount * m.BatchSize / m.ThroughputPerSecond : m.MeanMilliseconds / 1000, Math.Max(m.P50Milliseconds, m.P99Milliseconds) / 1000);
        var byInstances = measurements.Where(m => m.Succeeded && m.P50Milliseconds > 0)
            .GroupBy(m => m.InstanceCount)
            .ToDictionary(g => g.Key, g => g.GroupBy(m => m.BatchSize).ToDictionary(b => b.Key, b => Point(b.Last())));
        var curves = new SortedDictionary<int, ServiceTimeCurve>();
        if (byInstances.Count == 0) return curves;
        var reference = byInstances.OrderByDescending(g => g.Value.Count).ThenBy(g => g.Key).First().Value;
        foreach (var (instances, own) in byInstances)
        {
            var common = own.Keys.Where(reference.ContainsKey).ToList();
            var points = new Dictionary<int, ServicePoint>(own);
            if (common.Count > 0)
            {
                var slowdown = Math.Exp(common.Average(b => Math.Log(own[b].MedianSeconds / reference[b].MedianSeconds)));
                foreach (var (batch, p) in reference)
                    points.TryAdd(batch, p.Scaled(batch, slowdown));
            }
            curves[instances] = new ServiceTimeCurve(points.Values);
        }
        return curves;
    }
}
