using ModelForge.Package.Tuning;
using static ModelForge.Package.Tests.Tuning.TunerTestData;

namespace ModelForge.Package.Tests.Tuning;

public sealed class StabilityTests
{
    private readonly FakeClock _clock = new();

    private TuningMeasurement Measure(Func<int, int, int, double> jitter, MeasurementSettings? settings = null)
    {
        var probe = new FakeProbe(_clock, (b, i) => Curve(b, i)) { Jitter = jitter };
        return new StableMeasurer(probe, _clock, settings ?? Options().Measurement).Measure(4, 1, "test", default);
    }

    [Fact]
    public void Identical_windows_are_stable_after_three()
    {
        var m = Measure((_, _, _) => 1);

        Assert.True(m.Stable);
        Assert.Equal(3, m.Windows.Count);
        Assert.Equal(250, m.ThroughputPerSecond, 6);
        // Warm-up (7 requests of 4 at 250/s: 0.112 s) + 3 windows (32 requests: 0.512 s each) on the fake clock.
        Assert.Equal(0.112 + 3 * 0.512, m.ElapsedSeconds, 9);
    }

    [Fact]
    public void Noisy_windows_go_on_until_the_last_three_agree_within_ten_percent()
    {
        // Index 0 is the warm-up (30 % slow, discarded); window 1 is 15 % fast, then steady within ±4 %.
        double[] factors = [0.7, 1.15, 1.0, 0.97, 1.03, 1.0];
        var m = Measure((_, _, w) => factors[w]);

        Assert.True(m.Stable);
        Assert.Equal(4, m.Windows.Count); // windows 1–3 span 1.15/0.97 = 1.19 > 1.1; 2–4 span 1.06
        Assert.Equal(250 * (1.0 + 0.97 + 1.03) / 3, m.ThroughputPerSecond, 1);
    }

    [Fact]
    public void Windows_that_never_agree_stop_at_the_cap_and_are_marked_unstable()
    {
        var m = Measure((_, _, w) => w % 2 == 0 ? 0.8 : 1.2);

        Assert.False(m.Stable);
        Assert.Equal(6, m.Windows.Count);
        Assert.True(m.Succeeded);
    }

    [Fact]
    public void An_unstable_measurement_is_a_warning_in_the_report()
    {
        var probe = new FakeProbe(_clock, (b, i) => Curve(b, i)) { Jitter = (b, _, w) => b == 4 && w % 2 == 0 ? 0.5 : 1 };
        var result = Tune(probe, _clock, new TuningObjective());

        var warning = Assert.Single(result.Report.Warnings);
        Assert.Equal("MF4053", warning.Code);
        Assert.Contains("batch 4 × 1 instance", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_merged_p99_is_the_largest_of_the_stable_windows()
    {
        double[] factors = [1.0, 1.0, 0.95, 1.02]; // warm-up, then three windows
        var m = Measure((_, _, w) => factors[w]);

        Assert.Equal(1000.0 * 4 / 250 / 0.95, m.P99Milliseconds, 9);
    }

    [Fact]
    public void Zero_throughput_is_never_stable()
    {
        var windows = Enumerable.Repeat(new WindowStats(0, 0, 0.5, 0, 0, 0), 3).ToList();

        Assert.False(StableMeasurer.IsStable(windows, new MeasurementSettings()));
    }

    [Fact]
    public void Percentiles_follow_perf_analyzers_index_rule()
    {
        var latencies = Enumerable.Range(1, 200).Select(i => (double)i).ToList();
        var stats = WindowStats.From(latencies, batchSize: 4, durationSeconds: 2);

        // index = ⌊p/100·(n−1) + 0.5⌋: p50 → 100 (value 101), p99 → 197 (value 198)
        Assert.Equal(101, stats.P50Milliseconds);
        Assert.Equal(198, stats.P99Milliseconds);
        Assert.Equal(400, stats.ThroughputPerSecond);
    }
}
