using System.Text.Json.Serialization;
using ModelForge.Core.Diagnostics;
using ModelForge.Package.Tuning.Traffic;

namespace ModelForge.Package.Tuning;

/// <summary>What the tuner optimises.</summary>
public enum TuningGoal
{
    /// <summary>The highest throughput (inferences/s) among configurations whose p99 latency is within the budget.</summary>
    MaxThroughput,

    /// <summary>The lowest p99 latency; throughput breaks ties.</summary>
    MinLatency,
}

/// <summary>
/// The objective: a goal and an optional p99 latency budget in milliseconds (null: no budget). When no measured
/// configuration meets the budget the tuner still answers, with the lowest-p99 configuration and warning
/// <see cref="DiagnosticCode.TuningLatencyBudgetUnmet"/> in the report. With a <see cref="Traffic"/> profile the batcher's
/// configuration is chosen by simulating that traffic over the measurements instead (<see cref="TrafficPlanner"/>), and
/// the budget is the p99 it must meet.
/// </summary>
public sealed record TuningObjective(TuningGoal Goal = TuningGoal.MaxThroughput, double? P99BudgetMilliseconds = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TrafficProfile? Traffic = null)
{
    /// <summary>Highest throughput with every request's p99 latency at most <paramref name="milliseconds"/>.</summary>
    public static TuningObjective ThroughputWithin(double milliseconds) => new(TuningGoal.MaxThroughput, milliseconds);

    public override string ToString() =>
        (Goal == TuningGoal.MaxThroughput ? "highest throughput" : "lowest p99 latency") +
        (P99BudgetMilliseconds is { } budget ? $" with p99 ≤ {budget:0.###} ms" : "") +
        (Traffic is { } traffic ? $" at {traffic}" : "");
}

/// <summary>How much measuring to do: the <c>--tune</c> levels of <c>modelforge package</c>.</summary>
public enum TuningLevel
{
    /// <summary>No measurement: <see cref="TuningOptions.DefaultConfig"/> with the reason "tuning off".</summary>
    Off,

    /// <summary>A small grid (batch 1–16, up to 2 instances) with short windows: seconds to a minute on a small model.</summary>
    Quick,

    /// <summary>Batch 1–128 and up to 4 instances (never more than the cores) with perf_analyzer-like windows.</summary>
    Full,
}

/// <summary>Which configurations of the grid are measured.</summary>
public enum TuningSearch
{
    /// <summary>Grow the batch in grid order until throughput stops improving, then scale instances (see docs/tuning.md).</summary>
    Quick,

    /// <summary>Every (batch size, instance count) of the grid: the reference the quick search is benchmarked against.</summary>
    Exhaustive,
}

/// <summary>The ONNX Runtime execution provider to measure on: the one the bundle will be served with.</summary>
public enum TuningProvider
{
    Cpu,
    Cuda,
    TensorRt,
}

/// <summary>
/// How one configuration is measured (perf_analyzer's method, serving.md §3.4): a warm-up window that is discarded,
/// then windows until the last <see cref="StableWindows"/> agree within <see cref="StabilityThreshold"/> in both
/// throughput and p99 latency (max/min ≤ 1 + threshold), or <see cref="MaxWindows"/> windows were taken.
/// A window lasts at least <see cref="Window"/> and until <see cref="MinRequestsPerWindow"/> requests completed,
/// but never longer than <see cref="MaxWindow"/> once one request completed.
/// </summary>
public sealed record MeasurementSettings
{
    public TimeSpan Warmup { get; init; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxWindow { get; init; } = TimeSpan.FromSeconds(5);
    public int MinRequestsPerWindow { get; init; } = 10;
    public int StableWindows { get; init; } = 3;
    public double StabilityThreshold { get; init; } = 0.10;
    public int MaxWindows { get; init; } = 10;

    /// <summary>How long each open-loop service-time measurement (traffic-aware batching) sends requests, at least.</summary>
    public TimeSpan OpenLoopDuration { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The fewest requests an open-loop measurement sends: its p99 is then at least one measured request.</summary>
    public int OpenLoopMinRequests { get; init; } = 100;

    /// <summary>
    /// When an open-loop measurement stops sending even short of <see cref="OpenLoopMinRequests"/>: a batch of a
    /// second at half load would otherwise take minutes per configuration (a slow model, or a busy machine).
    /// </summary>
    public TimeSpan OpenLoopMaxDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The instances' busy share the open-loop measurement aims at (its rate is this × the closed-loop throughput):
    /// halfway between batches that find an idle instance and batches that run back to back.
    /// </summary>
    public double OpenLoopUtilisation { get; init; } = 0.5;
}

/// <summary>
/// Everything about a tuning run besides the model and the objective. Start from <see cref="For"/> and change what
/// you need with <c>with</c>.
/// </summary>
public sealed record TuningOptions
{
    /// <summary>The configuration used when tuning is off or cannot measure: batch up to 8 (the engine stage's default), no preferred sizes, 100 µs delay, one instance.</summary>
    public static BatchingConfig DefaultConfig { get; } = new(8, [], 100, 1);

    public TuningLevel Level { get; init; } = TuningLevel.Quick;
    public TuningSearch Search { get; init; } = TuningSearch.Quick;

    /// <summary>Batch sizes to consider, ascending (powers of two by default); the quick search walks them in order.</summary>
    public IReadOnlyList<int> BatchSizes { get; init; } = [1, 2, 4, 8, 16];

    /// <summary>Instance counts to consider, ascending. With the CPU provider, counts above the core count are dropped.</summary>
    public IReadOnlyList<int> InstanceCounts { get; init; } = [1, 2];

    public MeasurementSettings Measurement { get; init; } = new()
    {
        Warmup = TimeSpan.FromMilliseconds(200),
        Window = TimeSpan.FromMilliseconds(300),
        MaxWindow = TimeSpan.FromSeconds(2),
        MinRequestsPerWindow = 5,
        MaxWindows = 6,
    };

    /// <summary>The quick search goes on only while a step raises the best throughput by more than this fraction (Model Analyzer's 5 %).</summary>
    public double MinimumGain { get; init; } = 0.05;

    /// <summary>
    /// How many batch steps in a row without that gain end the batch growth (Model Analyzer looks back 4 steps; 2 keeps
    /// one noisy step from ending the search without measuring far past the plateau).
    /// </summary>
    public int PlateauSteps { get; init; } = 2;

    public TuningProvider Provider { get; init; } = TuningProvider.Cpu;

    /// <summary>Sizes of symbolic dims other than the batch dim (e.g. <c>seq=128</c>); the model's inputs name them.</summary>
    public IReadOnlyDictionary<string, long> DimValues { get; init; } = new Dictionary<string, long>();

    /// <summary>Seed of the generated input values (timing does not depend on it, but the inputs are reproducible).</summary>
    public int Seed { get; init; }

    /// <summary>
    /// Whether to measure each configuration's open-loop service-time distribution after the search
    /// (<see cref="IOpenLoopProbe"/>); always done with a traffic profile, whose simulation samples it.
    /// </summary>
    public bool OpenLoopServiceTimes { get; init; }

    /// <summary>The cores the instances share (intra-op threads per instance = cores / instances). Default: this machine's.</summary>
    public int Cores { get; init; } = Environment.ProcessorCount;

    /// <summary>The options of a <c>--tune</c> level.</summary>
    public static TuningOptions For(TuningLevel level) => level switch
    {
        TuningLevel.Full => new TuningOptions
        {
            Level = level,
            BatchSizes = [1, 2, 4, 8, 16, 32, 64, 128],
            InstanceCounts = [1, 2, 3, 4],
            Measurement = new MeasurementSettings(),
        },
        _ => new TuningOptions { Level = level },
    };

    /// <summary>Throws <see cref="DiagnosticCode.TuningOptionsInvalid"/> for a grid or setting the tuner cannot use.</summary>
    public TuningOptions Validated(TuningObjective objective)
    {
        ArgumentNullException.ThrowIfNull(objective);
        if (BatchSizes.Count == 0 || BatchSizes.Any(b => b < 1) || !IsAscending(BatchSizes))
            throw Invalid($"batch sizes [{string.Join(", ", BatchSizes)}] must be positive, distinct and ascending", "e.g. 1,2,4,8,16");
        if (InstanceCounts.Count == 0 || InstanceCounts.Any(i => i < 1) || !IsAscending(InstanceCounts))
            throw Invalid($"instance counts [{string.Join(", ", InstanceCounts)}] must be positive, distinct and ascending", "e.g. 1,2");
        if (objective.P99BudgetMilliseconds is { } budget && !(budget > 0 && double.IsFinite(budget)))
            throw Invalid($"p99 latency budget {budget} ms is not a positive number of milliseconds", "give the budget in ms, e.g. 50");
        objective.Traffic?.Validate(objective.P99BudgetMilliseconds);
        var m = Measurement;
        if (m.StableWindows < 2 || m.MaxWindows < m.StableWindows)
            throw Invalid($"stability needs at least 2 stable windows and a window cap ≥ that (got {m.StableWindows} and {m.MaxWindows})", "perf_analyzer uses 3 stable windows and at most 10");
        if (!(m.StabilityThreshold > 0) || m.Window <= TimeSpan.Zero || m.MaxWindow < m.Window || m.Warmup < TimeSpan.Zero || m.MinRequestsPerWindow < 1)
            throw Invalid("measurement windows need a positive window ≤ the max window, a non-negative warm-up, a positive threshold and at least 1 request",
                "start from TuningOptions.For(level).Measurement");
        if (m.OpenLoopDuration < TimeSpan.Zero || m.OpenLoopMaxDuration < m.OpenLoopDuration || m.OpenLoopMinRequests < 1 || !(m.OpenLoopUtilisation > 0 && m.OpenLoopUtilisation < 1))
            throw Invalid($"open-loop measurement needs a non-negative duration ≤ its maximum, at least 1 request and a utilisation in (0, 1) " +
                          $"(got {m.OpenLoopDuration.TotalSeconds} s ≤ {m.OpenLoopMaxDuration.TotalSeconds} s, {m.OpenLoopMinRequests}, {m.OpenLoopUtilisation})",
                "the defaults are 2 s, at most 30 s, 100 requests and 0.5");
        if (!(MinimumGain >= 0) || PlateauSteps < 1 || Cores < 1)
            throw Invalid($"minimum gain {MinimumGain}, plateau steps {PlateauSteps} and cores {Cores} must be ≥ 0, ≥ 1 and ≥ 1", "the defaults are 0.05, 2 and the machine's cores");
        return this;
    }

    private static bool IsAscending(IReadOnlyList<int> values) => values.Zip(values.Skip(1)).All(p => p.First < p.Second);

    private static ModelForgeException Invalid(string message, string hint) =>
        new(DiagnosticCode.TuningOptionsInvalid, message, null, hint);
}
