using System.Globalization;
using ModelForge.Core.Diagnostics;
using static ModelForge.Package.Tuning.ConfigSearch;

namespace ModelForge.Package.Tuning.Traffic;

/// <summary>
/// Chooses the dynamic batcher's configuration for a <see cref="TrafficProfile"/> by simulating it over the measured
/// service times (docs/tuning.md, "Traffic-aware batching"): for each measured instance count, each measured batch
/// size as the max batch size, preferred sizes either that size alone or every measured size up to it, and queue delays
/// of 0 and ¼, ½ and 1 of the max batch's median service time (at most half the budget). The chosen configuration
/// meets the p99 budget at the declared rate with the fewest instances, then the lowest p99. When none meets it,
/// MF4060 says by how much and what would.
/// </summary>
public static class TrafficPlanner
{
    /// <summary>Requests per simulation: ~200 beyond the p99 once the warm-up is dropped.</summary>
    public const int SimulatedRequests = 20_000;

    /// <summary>Requests dropped from the front of each simulation: the queue starts empty, which flatters the first ones.</summary>
    public const int WarmupRequests = 1_000;

    private static readonly double[] DelayFractions = [0.25, 0.5, 1];

    public const string Rule =
        "traffic-aware: the configuration that meets the p99 budget at the declared rate in a simulation of Triton's dynamic batcher " +
        "over the measured service times, with the fewest instances, then the lowest predicted p99";

    public static IReadOnlyList<string> Assumptions { get; } =
    [
        "each request carries one inference; one FIFO queue; no priorities, timeouts or queue limits",
        "a batch is formed when an instance is free (Triton's batcher waits for a free instance before it takes a batch)",
        "a batch's service time is drawn from the distribution measured open-loop for its batch size and instance count (Poisson arrivals at half the closed-loop throughput into one queue; from when an instance could take the request to its completion, so idle wake-up and the queue's hand-off are included), interpolated quantile by quantile between measured batch sizes; instance counts measured at fewer batch sizes reuse the most-measured count's curve scaled by their measured slowdown",
        "where the open-loop distribution is missing, a batch takes the closed-loop median time, or the closed-loop p99 time with the probability that makes the mean the measured mean (instances × batch ÷ throughput; at least 1 %)",
        "no network, (de)serialisation or server overhead",
    ];

    /// <summary>The plan for <paramref name="objective"/>'s traffic profile, or MF4060 when no measured instance count can meet it.</summary>
    /// <param name="maxBatchSize">The largest batch the bundle may accept (the tuner's grid); 0 for a model without a batch dim.</param>
    public static TrafficPlan Plan(IReadOnlyList<TuningMeasurement> measurements, TuningObjective objective, int maxBatchSize, int seed)
    {
        var profile = objective.Traffic ?? throw new ArgumentException("the objective has no traffic profile", nameof(objective));
        var budget = objective.P99BudgetMilliseconds!.Value;
        profile.Validate(budget);
        var curves = ServiceTimeCurve.FromMeasurements(measurements);
        var arrivals = ArrivalTimes.Generate(profile, SimulatedRequests, seed);

        var best = new List<TrafficCandidate>();
        var simulated = new List<TrafficCandidate>();
        TrafficCandidate? chosen = null;
        foreach (var (instances, curve) in curves)
        {
            var candidates = Configurations(curve, maxBatchSize, budget)
                .Select(c => Simulate(c with { InstanceCount = instances }, curve, arrivals, profile, budget, seed)).ToList();
            simulated.AddRange(candidates);
            var ranked = candidates.OrderByDescending(c => c.MeetsBudget).ThenBy(c => c.P99Milliseconds ?? double.MaxValue).ThenByDescending(c => c.SaturationRequestsPerSecond)
                .ThenBy(c => c.MaxBatchSize).ThenBy(c => c.PreferredBatchSizes.Count).ThenBy(c => c.MaxQueueDelayMicroseconds).ToList();
            if (ranked.Count == 0) continue;
            best.Add(ranked[0]);
            if (chosen is null && ranked[0].MeetsBudget) chosen = ranked[0];
        }
        if (chosen is null)
            throw Unmeetable(profile, budget, simulated, curves, seed);

        var chosenCurve = curves[chosen.InstanceCount];
        var margin = chosen.SaturationRequestsPerSecond / profile.RequestsPerSecond - 1;
        var reason = $"{Describe(chosen)} meets p99 ≤ {Ms(budget)} at {profile}: predicted p50 {Ms(chosen.P50Milliseconds!.Value)}, p99 {Ms(chosen.P99Milliseconds!.Value)}, " +
                     $"utilisation {chosen.Utilisation.ToString("P0", CultureInfo.InvariantCulture)}; it saturates at {Rate(chosen.SaturationRequestsPerSecond)} " +
                     $"({margin.ToString("P0", CultureInfo.InvariantCulture)} above the declared rate)";
        if (chosen.InstanceCount != curves.Keys.Min())
            reason += $"; fewer instances do not meet the budget (best with {Instances(best[0].InstanceCount)}: {(best[0].P99Milliseconds is { } p99 ? "p99 " + Ms(p99) : "saturated")})";
        return new TrafficPlan(chosen, margin, best, CurveOf(chosen, chosenCurve, profile, seed), SimulatedRequests, WarmupRequests, seed, reason, Assumptions);
    }

    /// <summary>The batching configuration a plan writes (max batch 0 for a model without a batch dim).</summary>
    public static BatchingConfig ConfigOf(TrafficCandidate chosen, bool batching) => batching
        ? new BatchingConfig(chosen.MaxBatchSize, chosen.PreferredBatchSizes, chosen.MaxQueueDelayMicroseconds, chosen.InstanceCount)
        : new BatchingConfig(0, [], 0, chosen.InstanceCount);

    /// <summary>The configurations tried at one instance count (instance count left 0, filled by the caller).</summary>
    private static IEnumerable<TrafficCandidate> Configurations(ServiceTimeCurve curve, int maxBatchSize, double budgetMs)
    {
        var sizes = curve.Points.Select(p => p.BatchSize).Where(b => b <= Math.Max(1, maxBatchSize)).ToList();
        foreach (var max in sizes)
        {
            var preferredSets = new List<IReadOnlyList<int>> { new[] { max } };
            if (sizes.Count(b => b <= max) > 1) preferredSets.Add(sizes.Where(b => b <= max).ToList());
            var delays = new SortedSet<int> { 0 };
            if (max > 1)
                foreach (var fraction in DelayFractions)
                    delays.Add(Microseconds(Math.Min(fraction * curve.At(max).MedianSeconds, budgetMs / 2000)));
            foreach (var preferred in preferredSets)
                foreach (var delay in delays)
                    yield return new TrafficCandidate(0, max, preferred, delay, null, null, 0, 0, 0, false);
        }
    }

    /// <summary>Seconds rounded down to whole 100 µs, as the tuner writes queue delays.</summary>
    private static int Microseconds(double seconds) => (int)(Math.Floor(seconds * 1e4) * 100);

    private static TrafficCandidate Simulate(TrafficCandidate c, ServiceTimeCurve curve, double[] arrivals, TrafficProfile profile, double budgetMs, int seed)
    {
        var saturation = c.InstanceCount * c.PreferredBatchSizes.Max() / curve.Mean(c.PreferredBatchSizes.Max());
        // Past saturation the queue only grows: the simulation's p99 would measure its length, not the configuration.
        if (saturation <= profile.RequestsPerSecond)
            return c with { Utilisation = 1, SaturationRequestsPerSecond = saturation };
        var result = BatcherSimulator.Run(arrivals, Policy(c), c.InstanceCount, curve, seed);
        var p99 = result.PercentileMilliseconds(99, WarmupRequests);
        return c with
        {
            P50Milliseconds = result.PercentileMilliseconds(50, WarmupRequests), P99Milliseconds = p99, Utilisation = result.Utilisation,
            MeanBatchSize = result.MeanBatchSize, SaturationRequestsPerSecond = saturation, MeetsBudget = p99 <= budgetMs,
        };
    }

    private static DynamicBatcherPolicy Policy(TrafficCandidate c) => new(c.MaxBatchSize, c.PreferredBatchSizes, c.MaxQueueDelayMicroseconds / 1e6);

    /// <summary>The chosen configuration at 10 %–90 % and 95 % of its saturation rate, and at the declared rate.</summary>
    private static List<TrafficPoint> CurveOf(TrafficCandidate chosen, ServiceTimeCurve curve, TrafficProfile profile, int seed)
    {
        var rates = Enumerable.Range(1, 9).Select(k => k / 10.0).Append(0.95).Select(f => f * chosen.SaturationRequestsPerSecond)
            .Append(profile.RequestsPerSecond).Distinct().Order();
        return rates.Select(rate =>
        {
            var result = BatcherSimulator.Run(ArrivalTimes.Generate(profile with { RequestsPerSecond = rate }, SimulatedRequests, seed), Policy(chosen), chosen.InstanceCount, curve, seed);
            return new TrafficPoint(rate, result.PercentileMilliseconds(50, WarmupRequests), result.PercentileMilliseconds(99, WarmupRequests), result.Utilisation);
        }).ToList();
    }

    /// <summary>
    /// MF4060: the best p99 any configuration reaches (and by how much it misses), the most any sustains, and what would
    /// meet the profile: that p99 as the budget, the highest rate at which one of the five lowest-p99 configurations
    /// meets the budget (a bisection on the rate), or more instances than were measured.
    /// </summary>
    private static ModelForgeException Unmeetable(TrafficProfile profile, double budget, List<TrafficCandidate> simulated, IReadOnlyDictionary<int, ServiceTimeCurve> curves, int seed)
    {
        var what = $"no batching configuration meets p99 ≤ {Ms(budget)} at {profile}";
        var sustaining = simulated.Where(c => c.P99Milliseconds is not null).OrderBy(c => c.P99Milliseconds).ToList();
        var strongest = simulated.MaxBy(c => c.SaturationRequestsPerSecond);
        var maxInstances = curves.Keys.DefaultIfEmpty(0).Max();
        var fixes = new List<string>();
        if (sustaining.Count > 0)
        {
            var bestP99 = sustaining[0].P99Milliseconds!.Value;
            what += $": the best predicted p99 is {Ms(bestP99)} ({Describe(sustaining[0])}), {Ms(bestP99 - budget)} ({(bestP99 / budget - 1).ToString("P0", CultureInfo.InvariantCulture)}) over the budget";
            fixes.Add($"a p99 budget of at least {Ms(Math.Ceiling(bestP99 * 10) / 10)}");
        }
        else if (strongest is not null)
            what += $": every configuration saturates below it; the most any sustains is {Rate(strongest.SaturationRequestsPerSecond)} ({Describe(strongest)})";
        else
            what += ": there are no measured service times to simulate";

        var lowestP99 = simulated.OrderBy(c => c.P99Milliseconds ?? double.MaxValue).ThenByDescending(c => c.SaturationRequestsPerSecond).Take(5);
        var (rate, at) = lowestP99.Select(c => (Rate: HighestRateWithinBudget(c, curves[c.InstanceCount], profile, budget, seed), Config: c)).MaxBy(r => r.Rate);
        if (rate > 0)
            fixes.Add($"a rate of at most {Rate(rate)} (where {Describe(at)} meets the budget)");
        else if (simulated.Count > 0)
            what += "; even at a low rate no configuration meets it (one batch's service time is already over the budget)";
        fixes.Add($"more instances than the {Instances(maxInstances)} measured (tune with more instance counts, e.g. --tune full, where cores or GPUs allow), or faster hardware");
        return new ModelForgeException(DiagnosticCode.TrafficProfileUnmeetable, what, null, "any of: " + string.Join("; ", fixes));
    }

    /// <summary>The highest rate (to 1 %) below the configuration's saturation at which its predicted p99 meets the budget; 0 if none does.</summary>
    private static double HighestRateWithinBudget(TrafficCandidate c, ServiceTimeCurve curve, TrafficProfile profile, double budget, int seed)
    {
        var saturation = c.InstanceCount * c.PreferredBatchSizes.Max() / curve.Mean(c.PreferredBatchSizes.Max());
        bool Meets(double rate) => BatcherSimulator.Run(ArrivalTimes.Generate(profile with { RequestsPerSecond = rate }, SimulatedRequests, seed), Policy(c), c.InstanceCount, curve, seed)
            .PercentileMilliseconds(99, WarmupRequests) <= budget;
        var high = Math.Min(saturation, profile.RequestsPerSecond);
        var low = high * 0.01;
        if (!Meets(low)) return 0;
        while (high - low > 0.01 * high)
        {
            var mid = (low + high) / 2;
            if (Meets(mid)) low = mid; else high = mid;
        }
        return Math.Floor(low);
    }

    private static string Describe(TrafficCandidate c) =>
        $"{Instances(c.InstanceCount)}, max batch {c.MaxBatchSize}, preferred [{string.Join(", ", c.PreferredBatchSizes)}], queue delay {c.MaxQueueDelayMicroseconds} µs";

    internal static string Rate(double requestsPerSecond) => requestsPerSecond.ToString("0.#", CultureInfo.InvariantCulture) + " requests/s";
}
