using ModelForge.Package.Tuning;

namespace ModelForge.Package.Tests.Tuning;

/// <summary>A clock that only moves when told to: the fake probe advances it by each window's duration.</summary>
internal sealed class FakeClock : TimeProvider
{
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public override long GetTimestamp() => _ticks;
    public void Advance(TimeSpan by) => _ticks += by.Ticks;
}

/// <summary>
/// Scripted measurements: throughput and p99 per (batch, instances) from functions, with an optional per-window jitter
/// (window index → factor) to drive the stability loop. Windows take their duration on the fake clock.
/// </summary>
internal sealed class FakeProbe(FakeClock clock, Func<int, int, (double Throughput, double P99Ms)> curve) : IThroughputProbe
{
    public Func<int, int, int, double> Jitter { get; init; } = (_, _, _) => 1;
    public Func<int, int, bool> Fails { get; init; } = (_, _) => false;
    public List<(int Batch, int Instances)> Windows { get; } = [];
    public string ExecutionProvider => "FakeExecutionProvider";
    public int ThreadsPerInstance(int instanceCount) => Math.Max(1, 4 / instanceCount);

    public WindowStats Measure(int batchSize, int instanceCount, TimeSpan window, MeasurementSettings settings, CancellationToken cancellationToken)
    {
        if (Fails(batchSize, instanceCount)) throw new ProbeFailedException($"out of memory at batch {batchSize}");
        var index = Windows.Count(w => w == (batchSize, instanceCount));
        Windows.Add((batchSize, instanceCount));
        var (throughput, p99) = curve(batchSize, instanceCount);
        var factor = Jitter(batchSize, instanceCount, index);
        // Like the real probe, a window ends at the first request completion after its minimum duration.
        var requests = (int)Math.Ceiling(throughput * factor * window.TotalSeconds / batchSize);
        var duration = requests * batchSize / (throughput * factor);
        clock.Advance(TimeSpan.FromSeconds(duration));
        return new WindowStats(requests, requests * batchSize, duration, p99 * 0.8 / factor, p99 / factor, p99 * 0.7 / factor);
    }
}

/// <summary>
/// A <see cref="FakeProbe"/> that also measures open-loop: each call returns the samples <c>serviceTimes(batch,
/// instances, call)</c> gives for that configuration's n-th open-loop measurement, so a test can script a disturbed one.
/// </summary>
internal sealed class FakeOpenLoopProbe(FakeProbe closedLoop, Func<int, int, int, IReadOnlyList<double>> serviceTimes) : IThroughputProbe, IOpenLoopProbe
{
    public List<(int Batch, int Instances)> OpenLoopCalls { get; } = [];
    public string ExecutionProvider => closedLoop.ExecutionProvider;
    public int ThreadsPerInstance(int instanceCount) => closedLoop.ThreadsPerInstance(instanceCount);

    public WindowStats Measure(int batchSize, int instanceCount, TimeSpan window, MeasurementSettings settings, CancellationToken cancellationToken) =>
        closedLoop.Measure(batchSize, instanceCount, window, settings, cancellationToken);

    public IReadOnlyList<double> MeasureOpenLoop(int batchSize, int instanceCount, double requestsPerSecond, MeasurementSettings settings, CancellationToken cancellationToken)
    {
        var call = OpenLoopCalls.Count(c => c == (batchSize, instanceCount));
        OpenLoopCalls.Add((batchSize, instanceCount));
        return serviceTimes(batchSize, instanceCount, call);
    }
}
