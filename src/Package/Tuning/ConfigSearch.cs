using System.Globalization;

namespace ModelForge.Package.Tuning;

/// <summary>
/// Which configurations get measured. <see cref="TuningSearch.Exhaustive"/> measures the whole grid;
/// <see cref="TuningSearch.Quick"/> follows Model Analyzer's quick/brute ideas (serving.md §3.1):
/// <list type="number">
/// <item>Batch growth at the smallest instance count: batch sizes in grid order until the p99 budget is exceeded,
/// a run fails, or <see cref="TuningOptions.PlateauSteps"/> steps in a row raise the best throughput by no more than
/// <see cref="TuningOptions.MinimumGain"/>.</item>
/// <item>Instance scaling at the best batch: the next instance counts while each raises throughput by more than
/// the minimum gain and stays within budget.</item>
/// <item>If more instances won, the batch sizes next to the best one are measured at that instance count (more
/// instances split the cores, which moves the best batch).</item>
/// </list>
/// For <see cref="TuningGoal.MinLatency"/> the quick search measures the smallest batch at growing instance counts
/// while p99 falls by more than the minimum gain. Every configuration is measured at most once.
/// </summary>
internal sealed class ConfigSearch(
    Func<int, int, string, TuningMeasurement> measure, TuningOptions options, TuningObjective objective, IReadOnlyList<int> batchSizes, IReadOnlyList<int> instanceCounts)
{
    private readonly Dictionary<(int Batch, int Instances), TuningMeasurement> _measured = [];

    public List<TuningMeasurement> Measurements { get; } = [];
    public List<string> Log { get; } = [];

    public void Run()
    {
        if (options.Search == TuningSearch.Exhaustive)
        {
            foreach (var instances in instanceCounts)
                foreach (var batch in batchSizes)
                    Get(batch, instances, "sweep");
            Log.Add($"exhaustive sweep: all {batchSizes.Count * instanceCounts.Count} configurations measured");
            return;
        }
        if (objective.Goal == TuningGoal.MinLatency)
        {
            LowestLatency();
            return;
        }
        var best = GrowBatch(instanceCounts[0]);
        if (best is null)
        {
            Log.Add($"batch {batchSizes[0]} at {Instances(instanceCounts[0])} is already unusable; nothing larger measured");
            return;
        }
        var scaled = ScaleInstances(best);
        if (scaled.InstanceCount != best.InstanceCount) RefineBatch(scaled);
    }

    private TuningMeasurement? GrowBatch(int instances)
    {
        TuningMeasurement? best = null;
        var flat = 0;
        foreach (var batch in batchSizes)
        {
            var m = Get(batch, instances, "batch growth");
            if (Unusable(m) is { } why)
            {
                Log.Add($"batch growth stops at batch {batch}: {why}");
                break;
            }
            if (best is null)
            {
                best = m;
                continue;
            }
            var gain = m.ThroughputPerSecond / best.ThroughputPerSecond - 1;
            if (gain > options.MinimumGain)
            {
                Log.Add($"batch {batch}: throughput {Percent(gain)} over batch {best.BatchSize}, more than {Percent(options.MinimumGain)}: growing on");
                best = m;
                flat = 0;
                continue;
            }
            if (m.ThroughputPerSecond > best.ThroughputPerSecond) best = m;
            flat++;
            Log.Add($"batch {batch}: throughput {Percent(gain)} against the best so far, not more than {Percent(options.MinimumGain)} ({flat} of {options.PlateauSteps} flat steps)");
            if (flat >= options.PlateauSteps)
            {
                Log.Add($"batch growth stops at batch {batch}: throughput has plateaued");
                break;
            }
        }
        return best;
    }

    private TuningMeasurement ScaleInstances(TuningMeasurement best)
    {
        foreach (var instances in instanceCounts.Where(i => i > best.InstanceCount))
        {
            var m = Get(best.BatchSize, instances, "instance scaling");
            if (Unusable(m) is { } why)
            {
                Log.Add($"instance scaling stops at {Instances(instances)}: {why}");
                break;
            }
            var gain = m.ThroughputPerSecond / best.ThroughputPerSecond - 1;
            if (gain <= options.MinimumGain)
            {
                Log.Add($"instance scaling stops at {Instances(instances)}: throughput {Percent(gain)} against {Instances(best.InstanceCount)}, not more than {Percent(options.MinimumGain)}");
                break;
            }
            Log.Add($"{Instances(instances)} at batch {best.BatchSize}: throughput {Percent(gain)}: scaling on");
            best = m;
        }
        return best;
    }

    private void RefineBatch(TuningMeasurement best)
    {
        var index = IndexOf(batchSizes, best.BatchSize);
        foreach (var neighbour in new[] { index - 1, index + 1 }.Where(i => i >= 0 && i < batchSizes.Count))
            Get(batchSizes[neighbour], best.InstanceCount, "batch refinement");
        Log.Add($"batch sizes next to {best.BatchSize} measured at {Instances(best.InstanceCount)}");
    }

    private void LowestLatency()
    {
        TuningMeasurement? best = null;
        foreach (var instances in instanceCounts)
        {
            var m = Get(batchSizes[0], instances, "latency scaling");
            if (Unusable(m, checkBudget: false) is { } why)
            {
                Log.Add($"latency search stops at {Instances(instances)}: {why}");
                break;
            }
            if (best is not null && m.P99Milliseconds >= best.P99Milliseconds * (1 - options.MinimumGain))
            {
                Log.Add($"latency search stops at {Instances(instances)}: p99 {Ms(m.P99Milliseconds)} is not {Percent(options.MinimumGain)} below {Ms(best.P99Milliseconds)}");
                break;
            }
            best = m;
        }
    }

    private string? Unusable(TuningMeasurement m, bool checkBudget = true)
    {
        if (!m.Succeeded) return "the run failed (" + m.Failure + ")";
        if (checkBudget && objective.P99BudgetMilliseconds is { } budget && m.P99Milliseconds > budget)
            return $"p99 {Ms(m.P99Milliseconds)} is over the {Ms(budget)} budget";
        return null;
    }

    private TuningMeasurement Get(int batch, int instances, string step)
    {
        if (_measured.TryGetValue((batch, instances), out var known)) return known;
        var m = measure(batch, instances, step);
        _measured[(batch, instances)] = m;
        Measurements.Add(m);
        return m;
    }

    private static int IndexOf(IReadOnlyList<int> values, int value)
    {
        for (var i = 0; i < values.Count; i++)
            if (values[i] == value) return i;
        return -1;
    }

    internal static string Instances(int count) => count == 1 ? "1 instance" : $"{count} instances";
    internal static string Percent(double fraction) => (fraction >= 0 ? "+" : "") + (fraction * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";
    internal static string Ms(double milliseconds) => milliseconds.ToString("0.###", CultureInfo.InvariantCulture) + " ms";
}
