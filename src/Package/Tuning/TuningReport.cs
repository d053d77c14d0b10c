using System.Globalization;
using System.Text.Json.Serialization;
using ModelForge.Core.Diagnostics;
using ModelForge.Package.Tuning.Traffic;

namespace ModelForge.Package.Tuning;

/// <summary>
/// One measured configuration: its windows (the warm-up window is not kept), whether the last windows were stable,
/// and the merged result of the stable windows (throughput over their combined requests and duration, p99 the largest
/// of their p99s, so a budget check is never optimistic). <see cref="Failure"/> is set when ONNX Runtime failed to
/// run the configuration; then the numbers are 0 and it is never chosen. <see cref="ServiceTimesMilliseconds"/> is the
/// open-loop service-time distribution, measured only for traffic-aware batching.
/// </summary>
public sealed record TuningMeasurement(
    int BatchSize,
    int InstanceCount,
    int ThreadsPerInstance,
    string Step,
    bool Stable,
    double ThroughputPerSecond,
    double P50Milliseconds,
    double P99Milliseconds,
    double MeanMilliseconds,
    double ElapsedSeconds,
    IReadOnlyList<WindowStats> Windows,
    string? Failure = null)
{
    public bool Succeeded => Failure is null;

    /// <summary>
    /// The service time of one batch as a server pays it, measured open-loop (<see cref="IOpenLoopProbe"/>): the
    /// 0th–100th percentiles (ms) of each request's time from the moment an instance could take it to its completion.
    /// Null when not measured (no traffic profile, or a probe that cannot).
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<double>? ServiceTimesMilliseconds { get; init; }
}

/// <summary>A warning the tuner recorded instead of failing (code <c>MF405x</c>, see docs/diagnostics.md).</summary>
public sealed record TuningWarning(string Code, string Message)
{
    /// <summary>
    /// The warning as a diagnostic for the console (<c>origin: warning MF4053: …</c>, which CI and the MSBuild task pick
    /// up), with a hint; <paramref name="origin"/> is what was tuned (the ONNX file, or a build's spec).
    /// </summary>
    public Diagnostic ToDiagnostic(SourceLocation? origin)
    {
        var code = (DiagnosticCode)int.Parse(Code.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture);
        return new Diagnostic(code, Message, origin, HintFor(code), DiagnosticSeverity.Warning);
    }

    private static string HintFor(DiagnosticCode code) => code switch
    {
        DiagnosticCode.TuningLatencyBudgetUnmet => "the bundle uses the lowest-p99 configuration measured; raise the latency budget or serve on faster hardware",
        DiagnosticCode.TuningMeasurementUnstable => "the machine was busy while measuring; tune on a quieter machine, or at the full level (longer windows)",
        DiagnosticCode.TuningProviderUnavailable => "tune on a machine where the bundle's execution provider runs to measure it",
        DiagnosticCode.TuningRunFailed => "that configuration is never chosen; tuning/tuning.json has ONNX Runtime's error",
        DiagnosticCode.TuningNoBatchDim => "declare the first dim of the inputs symbolic (e.g. x:float32[batch,3,224,224]) to tune batching",
        _ => "see tuning/tuning.json",
    };
}

/// <summary>
/// The choice: the configuration, the measurement it rests on (null batch and instances when tuning was off) and
/// why, in words, including the rules that derived the preferred sizes and queue delay.
/// </summary>
public sealed record TuningDecision(
    BatchingConfig Config,
    int? BatchSize,
    int? InstanceCount,
    double ThroughputPerSecond,
    double P99Milliseconds,
    bool WithinBudget,
    string Reason,
    IReadOnlyList<string> Rules);

/// <summary>
/// Everything a tuning run did: the setup, every measurement in the order taken, the search's reasoning, the
/// decision and warnings. The same measurements give the same report (no wall-clock times or absolute paths; elapsed
/// times come from the injected clock).
/// </summary>
public sealed record TuningReport(
    string Model,
    string ExecutionProvider,
    int Cores,
    TuningLevel Level,
    TuningSearch Search,
    TuningObjective Objective,
    IReadOnlyList<int> BatchSizes,
    IReadOnlyList<int> InstanceCounts,
    MeasurementSettings Measurement,
    IReadOnlyList<TuningMeasurement> Measurements,
    IReadOnlyList<string> SearchLog,
    TuningDecision Decision,
    IReadOnlyList<TuningWarning> Warnings,
    double ElapsedSeconds)
{
    /// <summary>Bumped when a property changes meaning or is removed.</summary>
    [JsonPropertyOrder(-1)]
    public int SchemaVersion => 1;

    /// <summary>The traffic-aware decision when the objective has a traffic profile; absent from the JSON otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TrafficPlan? Traffic { get; init; }
}

/// <summary>What <see cref="BatchTuner"/> returns: the configuration to write into the bundle and the report behind it.</summary>
public sealed record TuningResult(BatchingConfig Config, TuningReport Report);
