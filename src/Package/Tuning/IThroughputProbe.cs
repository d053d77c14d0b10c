namespace ModelForge.Package.Tuning;

/// <summary>
/// One measurement window of one configuration: how many requests (each of <c>batchSize</c> inferences) completed in
/// <see cref="DurationSeconds"/>, and their latency percentiles. Throughput counts inferences, as perf_analyzer's
/// "Inferences/Second" does (requests × batch size ÷ window duration).
/// </summary>
public sealed record WindowStats(int Requests, int Inferences, double DurationSeconds, double P50Milliseconds, double P99Milliseconds, double MeanMilliseconds)
{
    public double ThroughputPerSecond => DurationSeconds > 0 ? Inferences / DurationSeconds : 0;

    /// <summary>
    /// The window statistics of sorted request latencies (ms), with perf_analyzer's percentile rule: the value at index
    /// <c>⌊p/100·(n−1) + 0.5⌋</c> of the sorted latencies.
    /// </summary>
    public static WindowStats From(IReadOnlyList<double> sortedLatenciesMs, int batchSize, double durationSeconds)
    {
        var n = sortedLatenciesMs.Count;
        if (n == 0) return new WindowStats(0, 0, durationSeconds, 0, 0, 0);
        double At(double p) => sortedLatenciesMs[(int)Math.Floor(p / 100 * (n - 1) + 0.5)];
        return new WindowStats(n, n * batchSize, durationSeconds, At(50), At(99), sortedLatenciesMs.Average());
    }
}

/// <summary>
/// Where measurements come from: the tuner asks for one window at a time and applies warm-up, stability and search
/// on top. <see cref="OrtThroughputProbe"/> runs the model on ONNX Runtime; tests inject a scripted probe.
/// </summary>
public interface IThroughputProbe
{
    /// <summary>The ONNX Runtime execution provider the windows run on, e.g. <c>CPUExecutionProvider</c>.</summary>
    string ExecutionProvider { get; }

    /// <summary>The intra-op threads each instance runs with at <paramref name="instanceCount"/> instances.</summary>
    int ThreadsPerInstance(int instanceCount);

    /// <summary>
    /// Runs requests of <paramref name="batchSize"/> from <paramref name="instanceCount"/> concurrent workers (one
    /// model instance each) back to back for one window, as <paramref name="settings"/> bounds it, and returns its statistics.
    /// <paramref name="window"/> is the window's minimum duration (the warm-up passes its own).
    /// </summary>
    WindowStats Measure(int batchSize, int instanceCount, TimeSpan window, MeasurementSettings settings, CancellationToken cancellationToken);
}

/// <summary>
/// A probe that can also measure service times open-loop, the way a server pays them: requests arrive on their own
/// schedule (Poisson) into one queue that <c>instanceCount</c> workers take from, so a batch often starts on an idle
/// instance (thread pools asleep, caches cold) and pays the hand-off from the queue, which a closed loop never does.
/// </summary>
public interface IOpenLoopProbe
{
    /// <summary>
    /// Sends requests of <paramref name="batchSize"/> at <paramref name="requestsPerSecond"/> (Poisson arrivals) for
    /// <see cref="MeasurementSettings.OpenLoopDuration"/> and at least <see cref="MeasurementSettings.OpenLoopMinRequests"/>
    /// requests (but no longer than <see cref="MeasurementSettings.OpenLoopMaxDuration"/>, at least one request), and returns each request's service time in ms: from when a worker could take it (its arrival, or the
    /// worker's previous completion if it was busy) to its completion. Queueing behind other requests is not included.
    /// </summary>
    IReadOnlyList<double> MeasureOpenLoop(int batchSize, int instanceCount, double requestsPerSecond, MeasurementSettings settings, CancellationToken cancellationToken);
}
