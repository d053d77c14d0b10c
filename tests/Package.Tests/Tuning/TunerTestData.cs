using ModelForge.Package.Tuning;

namespace ModelForge.Package.Tests.Tuning;

internal static class TunerTestData
{
    public static TuningOptions Options(TuningSearch search = TuningSearch.Quick) => new()
    {
        Search = search,
        BatchSizes = [1, 2, 4, 8, 16, 32, 64],
        InstanceCounts = [1, 2, 3],
        Cores = 4,
        Measurement = Windows(warmupMs: 100, windowMs: 500, maxWindowMs: 1000, minRequests: 1, maxWindows: 6),
    };

    public static MeasurementSettings Windows(int warmupMs, int windowMs, int maxWindowMs, int minRequests, int maxWindows) => new()
    {
        Warmup = TimeSpan.FromMilliseconds(warmupMs),
        Window = TimeSpan.FromMilliseconds(windowMs),
        MaxWindow = TimeSpan.FromMilliseconds(maxWindowMs),
        MinRequestsPerWindow = minRequests,
        MaxWindows = maxWindows,
    };

    /// <summary>
    /// A CPU-like model: throughput rises with batch and flattens after 8 (100 → 300/s); p99 is the batch's compute time
    /// (batch / throughput) times the instance count (instances share the cores), with one instance a little worse
    /// than two at saturation when <paramref name="instanceGain"/> &gt; 1.
    /// </summary>
    public static (double, double) Curve(int batch, int instances, double instanceGain = 1.0)
    {
        var throughput = batch switch { 1 => 100.0, 2 => 180, 4 => 250, 8 => 290, 16 => 300, 32 => 302, _ => 303 };
        if (instances > 1) throughput *= instanceGain;
        return (throughput, 1000.0 * batch / throughput * instances);
    }

    public static TuningResult Tune(FakeProbe probe, FakeClock clock, TuningObjective objective, TuningOptions? options = null) =>
        BatchTuner.Tune(probe, objective, options ?? Options(), clock, "fake.onnx");
}

/// <summary>Collects progress lines synchronously (<see cref="Progress{T}"/> would post them to the thread pool).</summary>
internal sealed class ListProgress(List<string> lines) : IProgress<string>
{
    public void Report(string value)
    {
        lock (lines) lines.Add(value);
    }
}
