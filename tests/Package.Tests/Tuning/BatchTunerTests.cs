using ModelForge.Core.Diagnostics;
using ModelForge.Package.Tuning;
using static ModelForge.Package.Tests.Tuning.TunerTestData;

namespace ModelForge.Package.Tests.Tuning;

public sealed class BatchTunerTests
{
    private readonly FakeClock _clock = new();

    private FakeProbe Probe(double instanceGain = 1.0) => new(_clock, (b, i) => Curve(b, i, instanceGain));

    [Fact]
    public void Without_a_budget_quick_search_stops_at_the_plateau_and_takes_the_best_throughput()
    {
        var probe = Probe();
        var result = Tune(probe, _clock, new TuningObjective());

        // 8 → 16 is +3.4 %, 16 → 32 is +0.7 %: two flat steps end the growth; 64 is never measured.
        var measured = result.Report.Measurements.Select(m => (m.BatchSize, m.InstanceCount)).ToList();
        Assert.Equal([(1, 1), (2, 1), (4, 1), (8, 1), (16, 1), (32, 1), (32, 2)], measured);
        Assert.DoesNotContain(probe.Windows, w => w.Batch == 64);
        Assert.Equal(32, result.Config.MaxBatchSize);
        Assert.Equal(1, result.Config.InstanceCount);
        // Preferred: batch ≤ 32 at one instance with ≥ 95 % of 302/s (286.9): 8, 16, 32.
        Assert.Equal([8, 16, 32], result.Config.PreferredBatchSizes);
        // Queue delay: half of p50 (0.8 × 1000·32/302 ms = 84.77 ms) → 42.38 ms, rounded down to 100 µs.
        Assert.Equal(42300, result.Config.MaxQueueDelayMicroseconds);
        Assert.Contains(result.Report.SearchLog, line => line.Contains("plateaued", StringComparison.Ordinal));
        Assert.Empty(result.Report.Warnings);
    }

    [Fact]
    public void A_met_budget_caps_the_batch_and_the_search_stops_at_the_first_config_over_it()
    {
        var result = Tune(Probe(), _clock, TuningObjective.ThroughputWithin(40));

        // p99 at batch 8 is 27.6 ms, at 16 it is 53.3 ms: 16 is over the budget, so the growth stops there.
        Assert.Equal(8, result.Config.MaxBatchSize);
        Assert.True(result.Report.Decision.WithinBudget);
        Assert.DoesNotContain(result.Report.Measurements, m => m.BatchSize == 32);
        Assert.Contains("p99 ≤ 40 ms", result.Report.Decision.Reason, StringComparison.Ordinal);
        // Delay: min(p50/2 = 11.03 ms, (40 − 27.59)/2 = 6.21 ms) → 6200 µs.
        Assert.Equal(6200, result.Config.MaxQueueDelayMicroseconds);
        Assert.Equal([8], result.Config.PreferredBatchSizes);
    }

    [Fact]
    public void An_unmet_budget_still_gives_the_lowest_latency_config_with_a_warning()
    {
        var result = Tune(Probe(), _clock, TuningObjective.ThroughputWithin(5));

        Assert.Equal(1, result.Config.MaxBatchSize);
        Assert.Equal(1, result.Config.InstanceCount);
        Assert.Equal(0, result.Config.MaxQueueDelayMicroseconds);
        Assert.False(result.Report.Decision.WithinBudget);
        var warning = Assert.Single(result.Report.Warnings);
        Assert.Equal("MF4051", warning.Code);
        Assert.Contains("lowest p99", result.Report.Decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void More_instances_are_kept_when_they_gain_and_the_neighbouring_batches_are_remeasured()
    {
        var result = Tune(Probe(instanceGain: 1.2), _clock, new TuningObjective());

        Assert.Equal(2, result.Config.InstanceCount);
        var at2 = result.Report.Measurements.Where(m => m.InstanceCount == 2).Select(m => (m.BatchSize, m.Step)).ToList();
        Assert.Equal([(32, "instance scaling"), (16, "batch refinement"), (64, "batch refinement")], at2);
        // 3 instances gain nothing over 2 (same factor), so scaling stops there.
        Assert.Contains(result.Report.Measurements, m => m is { InstanceCount: 3, Step: "instance scaling" });
        Assert.Equal(64, result.Config.MaxBatchSize);
    }

    [Fact]
    public void Exhaustive_search_measures_the_whole_grid()
    {
        var result = Tune(Probe(), _clock, new TuningObjective(), Options(TuningSearch.Exhaustive));

        Assert.Equal(7 * 3, result.Report.Measurements.Count);
        Assert.Equal(64, result.Config.MaxBatchSize); // 303/s, the highest anywhere
    }

    [Fact]
    public void Instance_counts_above_the_cores_are_not_measured()
    {
        var result = Tune(Probe(instanceGain: 1.2), _clock, new TuningObjective(), Options(TuningSearch.Exhaustive) with { Cores = 2 });

        Assert.Equal([1, 2], result.Report.InstanceCounts);
        Assert.DoesNotContain(result.Report.Measurements, m => m.InstanceCount > 2);
    }

    [Fact]
    public void Min_latency_goal_picks_the_smallest_batch()
    {
        var result = Tune(Probe(), _clock, new TuningObjective(TuningGoal.MinLatency));

        Assert.Equal(1, result.Config.MaxBatchSize);
        Assert.Equal(1, result.Config.InstanceCount);
        Assert.All(result.Report.Measurements, m => Assert.Equal(1, m.BatchSize));
    }

    [Fact]
    public void An_open_loop_median_far_above_the_closed_loops_is_measured_again_and_the_faster_kept()
    {
        // The closed loop's p50 is 0.8 × its p99 (FakeProbe); open-loop samples sit at that p50, except batch 4's first
        // measurement, 2× slower as if the machine had been busy.
        var closedLoop = Probe();
        double P50(int batch, int instances) => Curve(batch, instances).Item2 * 0.8;
        var probe = new FakeOpenLoopProbe(closedLoop, (batch, instances, call) => Enumerable.Range(0, 100)
            .Select(i => P50(batch, instances) * ((batch, instances, call) == (4, 1, 0) ? 2.0 : 1.0) * (0.95 + i * 0.001)).ToList());

        var result = BatchTuner.Tune(probe, new TuningObjective(), Options() with { OpenLoopServiceTimes = true }, _clock, "fake.onnx");

        Assert.Equal(2, probe.OpenLoopCalls.Count(c => c == (4, 1)));
        Assert.All(probe.OpenLoopCalls.Where(c => c != (4, 1)).GroupBy(c => c), g => Assert.Single(g));
        var batch4 = result.Report.Measurements.First(m => (m.BatchSize, m.InstanceCount) == (4, 1));
        Assert.InRange(batch4.ServiceTimesMilliseconds![50], P50(4, 1) * 0.95, P50(4, 1) * 1.1);
    }

    [Fact]
    public void A_failing_batch_ends_the_growth_and_is_reported()
    {
        var probe = new FakeProbe(_clock, (b, i) => Curve(b, i)) { Fails = (b, _) => b >= 16 };
        var result = Tune(probe, _clock, new TuningObjective());

        Assert.Equal(8, result.Config.MaxBatchSize);
        var failed = Assert.Single(result.Report.Measurements, m => !m.Succeeded);
        Assert.Equal(16, failed.BatchSize);
        Assert.Contains(result.Report.Warnings, w => w.Code == "MF4055");
    }

    [Fact]
    public void Every_configuration_failing_is_an_error()
    {
        var probe = new FakeProbe(_clock, (b, i) => Curve(b, i)) { Fails = (_, _) => true };
        var e = Assert.Throws<ModelForgeException>(() => Tune(probe, _clock, new TuningObjective()));

        Assert.Equal(DiagnosticCode.TuningRunFailed, e.Code);
    }

    [Fact]
    public void Off_measures_nothing_and_returns_the_default()
    {
        var probe = Probe();
        var result = Tune(probe, _clock, new TuningObjective(), Options() with { Level = TuningLevel.Off });

        Assert.Equal(TuningOptions.DefaultConfig, result.Config);
        Assert.Empty(probe.Windows);
        Assert.Empty(result.Report.Measurements);
    }

    [Fact]
    public void A_model_without_a_batch_dim_tunes_only_instances()
    {
        var result = BatchTuner.Run(Probe(instanceGain: 1.5), _clock, "static.onnx", batching: false, new TuningObjective(), Options(), [], null, default);

        Assert.Equal(0, result.Config.MaxBatchSize);
        Assert.Empty(result.Config.PreferredBatchSizes);
        Assert.Equal(0, result.Config.MaxQueueDelayMicroseconds);
        Assert.Equal(2, result.Config.InstanceCount);
        Assert.All(result.Report.Measurements, m => Assert.Equal(1, m.BatchSize));
        Assert.Contains(result.Report.Warnings, w => w.Code == "MF4056");
    }

    [Theory]
    [InlineData(new[] { 4, 2 }, new[] { 1 }, null)]
    [InlineData(new[] { 0, 1 }, new[] { 1 }, null)]
    [InlineData(new[] { 1 }, new int[0], null)]
    [InlineData(new[] { 1 }, new[] { 1 }, -3.0)]
    public void Unusable_options_are_MF4050(int[] batches, int[] instances, double? budget)
    {
        var options = Options() with { BatchSizes = batches, InstanceCounts = instances };
        var e = Assert.Throws<ModelForgeException>(() => Tune(Probe(), _clock, new TuningObjective(P99BudgetMilliseconds: budget), options));

        Assert.Equal(DiagnosticCode.TuningOptionsInvalid, e.Code);
    }

    [Fact]
    public void Progress_reports_each_measurement_and_the_choice()
    {
        var lines = new List<string>();
        BatchTuner.Tune(Probe(), new TuningObjective(), Options(), _clock, "fake.onnx", new ListProgress(lines));

        Assert.Contains(lines, l => l.StartsWith("measuring batch 1 × 1 instance", StringComparison.Ordinal));
        Assert.StartsWith("chose max batch 32", lines[^1], StringComparison.Ordinal);
    }
}
