namespace ModelForge.Package.Tuning.Traffic;

/// <summary>A measured batch size's service time: its median, mean and 99th percentile, in seconds.</summary>
public sealed record ServicePoint(int BatchSize, double MedianSeconds, double MeanSeconds, double P99Seconds);

/// <summary>
/// How long one instance takes to run a batch of each size: the measured points, linearly interpolated in the batch size
/// between them (the smallest measured batch's time below it). A batch takes the median time, or the p99 time with the
/// probability q that makes the mean the measured mean, q = (mean − median) / (p99 − median), at least 1 % (so the p99
/// stays) and at most 1; a constant time when median and p99 agree. Two points rather than a smooth distribution: on a
/// shared machine a batch either runs undisturbed or is pre-empted, and a log-normal fitted to a 100-fold p99/median
/// has a tail the machine does not have; with the measured mean, the simulated instances serve the measured throughput.
/// </summary>
public sealed class ServiceTimeCurve
{
    /// <summary>The least share of batches at the p99 time: the measured p99 is one batch in a hundred.</summary>
    private const double MinimumSlowShare = 0.01;

    private readonly ServicePoint[] _points;

    public ServiceTimeCurve(IEnumerable<ServicePoint> points)
    {
        _points = points.OrderBy(p => p.BatchSize).ToArray();
        if (_points.Length == 0 || _points.Any(p => !(p.MedianSeconds > 0) || !(p.MeanSeconds > 0) || p.P99Seconds < p.MedianSeconds)
            || _points.Zip(_points.Skip(1)).Any(p => p.First.BatchSize == p.Second.BatchSize))
            throw new ArgumentException("service times need at least one point per batch size, with 0 < median ≤ p99 and a positive mean", nameof(points));
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

    /// <summary>The mean service time of a batch: the measured mean, unless the 1 % floor or the ceiling of q moved it.</summary>
    public double Mean(int batchSize)
    {
        var (point, slow) = (At(batchSize), SlowShare(batchSize));
        return (1 - slow) * point.MedianSeconds + slow * point.P99Seconds;
    }

    /// <summary>One service time of a batch of <paramref name="batchSize"/>; no random draw when it is constant.</summary>
    public double Sample(int batchSize, Random random)
    {
        var (point, slow) = (At(batchSize), SlowShare(batchSize));
        return slow > 0 && random.NextDouble() < slow ? point.P99Seconds : point.MedianSeconds;
    }

    /// <summary>
    /// The service-time curve of each measured instance count, from the tuner's closed-loop measurements (each latency
    /// is one batch's time while every instance is busy, so instances sharing the cores are accounted for; the mean is
    /// instances × batch ÷ throughput, Little's law for a closed loop, so it is the measured throughput). The quick
    /// search measures most batch sizes at one instance count only; another count's missing sizes are that reference
    /// curve scaled by the count's slowdown: the geometric mean of measured/reference medians over the batch sizes
    /// measured at both. A count with no batch size in common keeps only its own points.
    /// </summary>
    public static IReadOnlyDictionary<int, ServiceTimeCurve> FromMeasurements(IReadOnlyList<TuningMeasurement> measurements)
    {
        static ServicePoint Point(TuningMeasurement m) => new(m.BatchSize, m.P50Milliseconds / 1000,
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
                    points.TryAdd(batch, new ServicePoint(batch, p.MedianSeconds * slowdown, p.MeanSeconds * slowdown, p.P99Seconds * slowdown));
            }
            curves[instances] = new ServiceTimeCurve(points.Values);
        }
        return curves;
    }
}
