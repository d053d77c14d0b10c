namespace ModelForge.Package.Tuning;

/// <summary>
/// perf_analyzer's measurement loop (serving.md §3.4) over an <see cref="IThroughputProbe"/>: one discarded warm-up
/// window, then windows until the last <see cref="MeasurementSettings.StableWindows"/> all have nonzero throughput and
/// max/min of both their throughput and their p99 latency is ≤ 1 + <see cref="MeasurementSettings.StabilityThreshold"/>,
/// or <see cref="MeasurementSettings.MaxWindows"/> windows were taken (then the measurement is marked unstable and its
/// last windows are used anyway). Elapsed times come from the injected <see cref="TimeProvider"/>.
/// </summary>
internal sealed class StableMeasurer(IThroughputProbe probe, TimeProvider clock, MeasurementSettings settings)
{
    public TuningMeasurement Measure(int batchSize, int instanceCount, string step, CancellationToken cancellationToken)
    {
        var start = clock.GetTimestamp();
        var threads = probe.ThreadsPerInstance(instanceCount);
        var windows = new List<WindowStats>();
        try
        {
            if (settings.Warmup > TimeSpan.Zero)
                probe.Measure(batchSize, instanceCount, settings.Warmup, settings, cancellationToken);
            do
            {
                cancellationToken.ThrowIfCancellationRequested();
                windows.Add(probe.Measure(batchSize, instanceCount, settings.Window, settings, cancellationToken));
            }
            while (!IsStable(windows, settings) && windows.Count < settings.MaxWindows);
        }
        catch (ProbeFailedException e)
        {
            return new TuningMeasurement(batchSize, instanceCount, threads, step, false, 0, 0, 0, 0,
                clock.GetElapsedTime(start).TotalSeconds, windows, e.Message);
        }
        var merged = windows.TakeLast(settings.StableWindows).ToList();
        var duration = merged.Sum(w => w.DurationSeconds);
        var requests = merged.Sum(w => w.Requests);
        return new TuningMeasurement(batchSize, instanceCount, threads, step, IsStable(windows, settings),
            duration > 0 ? merged.Sum(w => w.Inferences) / duration : 0,
            merged.Max(w => w.P50Milliseconds),
            merged.Max(w => w.P99Milliseconds),
            requests > 0 ? merged.Sum(w => w.MeanMilliseconds * w.Requests) / requests : 0,
            clock.GetElapsedTime(start).TotalSeconds, windows);
    }

    /// <summary>The stability rule: the last N windows have throughput &gt; 0 and agree within the threshold (max/min).</summary>
    internal static bool IsStable(IReadOnlyList<WindowStats> windows, MeasurementSettings settings)
    {
        if (windows.Count < settings.StableWindows) return false;
        var last = windows.TakeLast(settings.StableWindows).ToList();
        if (last.Any(w => w.ThroughputPerSecond <= 0 || w.P99Milliseconds <= 0)) return false;
        var limit = 1 + settings.StabilityThreshold;
        return Spread(last.Select(w => w.ThroughputPerSecond)) <= limit && Spread(last.Select(w => w.P99Milliseconds)) <= limit;
    }

    private static double Spread(IEnumerable<double> values)
    {
        var list = values.ToList();
        return list.Max() / list.Min();
    }
}

/// <summary>Thrown by a probe when the runtime cannot run a configuration (e.g. out of memory at a large batch).</summary>
public sealed class ProbeFailedException(string message, Exception? inner = null) : Exception(message, inner);
