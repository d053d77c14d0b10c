using System.Globalization;
using ModelForge.Core.Diagnostics;
using static ModelForge.Package.Tuning.ConfigSearch;

namespace ModelForge.Package.Tuning;

/// <summary>
/// Turns measurements into a <see cref="BatchingConfig"/> (docs/tuning.md, "Decision"):
/// <list type="bullet">
/// <item>Chosen configuration: for <see cref="TuningGoal.MaxThroughput"/> the highest throughput among successful
/// measurements with p99 within the budget; if none is within it, the lowest p99 (warning MF4051). For
/// <see cref="TuningGoal.MinLatency"/> the lowest p99. Ties: lower p99, then higher throughput, smaller batch,
/// fewer instances.</item>
/// <item><see cref="PreferredRule"/> and <see cref="QueueDelayRule"/> derive the rest.</item>
/// </list>
/// </summary>
internal static class TuningDecider
{
    /// <summary>Preferred sizes keep only batch sizes that give up little throughput, so the batcher can send them at once.</summary>
    public const double PreferredThroughputFraction = 0.95;

    public const string PreferredRule =
        "preferred batch sizes: every measured batch size ≤ the chosen one, at the chosen instance count, within the p99 budget, " +
        "whose throughput is at least 95 % of the chosen configuration's (always including the chosen size)";

    public const string QueueDelayRule =
        "max queue delay: half the chosen configuration's p50 latency (waiting longer than half a batch's compute time to fill it " +
        "costs more latency than it gains), and at most half the budget left above its p99 (so p99 + delay stays within the budget); " +
        "rounded down to 100 µs; 0 when the max batch size is 1";

    public static TuningDecision Decide(IReadOnlyList<TuningMeasurement> measurements, TuningObjective objective, bool batching, List<TuningWarning> warnings)
    {
        var ok = measurements.Where(m => m.Succeeded).ToList();
        if (ok.Count == 0)
            throw new ModelForgeException(DiagnosticCode.TuningRunFailed,
                "ONNX Runtime failed at every measured configuration: " + string.Join("; ", measurements.Select(m => $"batch {m.BatchSize} × {m.InstanceCount}: {m.Failure}").Distinct()),
                null, "check that the model runs with `modelforge validate`; a smaller batch grid helps if it runs out of memory");
        var budget = objective.P99BudgetMilliseconds;
        bool Within(TuningMeasurement m) => budget is not { } b || m.P99Milliseconds <= b;
        var byLatency = ok.OrderBy(m => m.P99Milliseconds).ThenByDescending(m => m.ThroughputPerSecond).ThenBy(m => m.BatchSize).ThenBy(m => m.InstanceCount);
        var feasible = ok.Where(Within).OrderByDescending(m => m.ThroughputPerSecond).ThenBy(m => m.P99Milliseconds)
            .ThenBy(m => m.BatchSize).ThenBy(m => m.InstanceCount).ToList();

        TuningMeasurement chosen;
        string reason;
        if (objective.Goal == TuningGoal.MinLatency)
        {
            chosen = byLatency.First();
            reason = $"{Describe(chosen)} has the lowest p99 of the {ok.Count} measured configurations";
        }
        else if (feasible.Count > 0)
        {
            chosen = feasible[0];
            var among = budget is { } b ? $"the {feasible.Count} of {ok.Count} measured configurations with p99 ≤ {Ms(b)}" : $"the {ok.Count} measured configurations";
            reason = $"{Describe(chosen)} has the highest throughput of {among}";
            if (feasible.Count > 1)
            {
                var next = feasible[1];
                reason += $"; next best {Describe(next)} ({Percent(next.ThroughputPerSecond / chosen.ThroughputPerSecond - 1)})";
            }
        }
        else
        {
            chosen = byLatency.First();
            reason = $"no measured configuration meets p99 ≤ {Ms(budget!.Value)}; {Describe(chosen)} has the lowest p99, so it was chosen instead";
        }
        if (!Within(chosen))
            warnings.Add(new TuningWarning(DiagnosticCode.TuningLatencyBudgetUnmet.AsString(),
                $"no measured configuration meets the p99 budget of {Ms(budget!.Value)}; the lowest p99 measured is {Ms(chosen.P99Milliseconds)} (batch {chosen.BatchSize}, {Instances(chosen.InstanceCount)})"));

        var config = Derive(chosen, ok, budget, batching);
        return new TuningDecision(config, chosen.BatchSize, chosen.InstanceCount, chosen.ThroughputPerSecond, chosen.P99Milliseconds, Within(chosen), reason,
            batching ? [PreferredRule, QueueDelayRule] : ["no batching: the model has no symbolic batch dim, so max batch size 0, no preferred sizes and no queue delay"]);
    }

    internal static BatchingConfig Derive(TuningMeasurement chosen, IReadOnlyList<TuningMeasurement> ok, double? budget, bool batching)
    {
        if (!batching) return new BatchingConfig(0, [], 0, chosen.InstanceCount);
        var preferred = ok
            .Where(m => m.InstanceCount == chosen.InstanceCount && m.BatchSize <= chosen.BatchSize)
            .Where(m => m == chosen || (m.ThroughputPerSecond >= PreferredThroughputFraction * chosen.ThroughputPerSecond && (budget is not { } b || m.P99Milliseconds <= b)))
            .Select(m => m.BatchSize).Distinct().Order().ToList();
        var delayMs = chosen.BatchSize <= 1 ? 0 : chosen.P50Milliseconds / 2;
        if (budget is { } limit) delayMs = Math.Min(delayMs, (limit - chosen.P99Milliseconds) / 2);
        var delayUs = (int)(Math.Floor(Math.Max(0, delayMs) * 10) * 100);
        return new BatchingConfig(chosen.BatchSize, preferred, delayUs, chosen.InstanceCount);
    }

    private static string Describe(TuningMeasurement m) =>
        $"batch {m.BatchSize} × {Instances(m.InstanceCount)} ({m.ThroughputPerSecond.ToString("0.0", CultureInfo.InvariantCulture)} inferences/s, p99 {Ms(m.P99Milliseconds)})";
}
