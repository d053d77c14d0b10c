namespace ModelForge.Package.Tuning.Traffic;

/// <summary>A measured batch size's service time: its median, mean and 99th percentile, in seconds.</summary>
public sealed record ServicePoint(int BatchSize, double MedianSeconds, double MeanSeconds, double P99Seconds);

/// <summary>
/// How long one instance takes to run a batch of each size: the measured points, linearly interpolated in the batch size
/// between them (the smallest measured batch's time below it), each batch's time drawn from a log-normal distribution
/// with the interpolated median and the measured jitter: the σ that gives the measured mean (σ = √(2 ln(mean/median))),
/// so that the simulated instances serve exactly the measured throughput; when the mean is not above the median, the σ
/// that gives the measured p99 instead (σ = ln(p99/median)/z₉₉). Deterministic when all three agree.
/// </summary>
public sealed class ServiceTimeCurve
{
    /// <summary>z of the standard normal's 99th percentile: a log-normal's p99 is median · e^(σ·z99).</summary>
    private const double Z99 = 2.3263478740408408;

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

    /// <summary>The interpolated median and log-normal σ of a batch of <paramref name="batchSize"/>.</summary>
    public (double Median, double Sigma) At(int batchSize)
    {
        if (batchSize > LargestBatch)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"no service time beyond batch {LargestBatch}");
        var upper = Array.FindIndex(_points, p => p.BatchSize >= batchSize);
        ServicePoint point;
        if (upper == 0 || _points[upper].BatchSize == batchSize)
            point = _points[upper];
        else
        {
            var (low, high) = (_points[upper - 1], _points[upper]);
            var f = (double)(batchSize - low.BatchSize) / (high.BatchSize - low.BatchSize);
            double Between(Func<ServicePoint, double> value) => value(low) + f * (value(high) - value(low));
            point = new ServicePoint(batchSize, Between(p => p.MedianSeconds), Between(p => p.MeanSeconds), Between(p => p.P99Seconds));
        }
        var sigma = point.MeanSeconds > point.MedianSeconds
            ? Math.Sqrt(2 * Math.Log(point.MeanSeconds / point.MedianSeconds))
            : Math.Log(point.P99Seconds / point.MedianSeconds) / Z99;
        return (point.MedianSeconds, sigma);
    }

    /// <summary>The mean service time of a batch (the log-normal's mean, median · e^(σ²/2): the measured mean where that fixed σ).</summary>
    public double Mean(int batchSize)
    {
        var (median, sigma) = At(batchSize);
        return median * Math.Exp(sigma * sigma / 2);
    }

    /// <summary>One service time of a batch of <paramref name="batchSize"/>; no random draw when it has no jitter.</summary>
    public double Sample(int batchSize, Random random)
    {
        var (median, sigma) = At(batchSize);
        return sigma == 0 ? median : median * Math.Exp(sigma * StandardNormal(random));
    }

    /// <summary>Box–Muller: one standard normal variate from two uniform ones.</summary>
    private static double StandardNormal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

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
