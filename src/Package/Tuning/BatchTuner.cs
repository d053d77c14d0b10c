using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Package.Tuning.Traffic;

namespace ModelForge.Package.Tuning;

/// <summary>
/// Chooses a serving <see cref="BatchingConfig"/> (max batch size, preferred batch sizes, queue delay, instance count)
/// by measuring the ONNX model on this machine's ONNX Runtime, for an objective such as "highest throughput with p99
/// ≤ 50 ms". The method (warm-up, windows until stable, the search, the decision rule) is in docs/tuning.md.
/// </summary>
/// <example>
/// <code>
/// var result = BatchTuner.Tune("model.onnx", TuningObjective.ThroughputWithin(50), TuningOptions.For(TuningLevel.Quick),
///     new Progress&lt;string&gt;(Console.Error.WriteLine));
/// TuningReportWriter.Write(result.Report, "out/tuning");   // tuning.json + tuning.svg
/// </code>
/// </example>
public static class BatchTuner
{
    /// <summary>
    /// Tunes <paramref name="onnxPath"/>, describing its inputs from the model itself (see <see cref="TuningInputs.Describe"/>).
    /// </summary>
    /// <param name="onnxPath">The ONNX model the bundle serves.</param>
    /// <param name="objective">What to optimise, and the p99 budget.</param>
    /// <param name="options">Grid, measurement windows, search and provider; default <c>TuningOptions.For(TuningLevel.Quick)</c>.</param>
    /// <param name="progress">Receives one line per measured configuration (and the decision) while it runs.</param>
    /// <param name="cancellationToken">Stops between requests; the call then throws <see cref="OperationCanceledException"/>.</param>
    /// <exception cref="ModelForgeException">MF4050 (options), MF4052 (inputs), MF4055 (every configuration failed), MF1001 (no file).</exception>
    public static TuningResult Tune(string onnxPath, TuningObjective objective, TuningOptions? options = null,
        IProgress<string>? progress = null, CancellationToken cancellationToken = default) =>
        Tune(onnxPath, TuningInputs.Describe(onnxPath), objective, options, progress, cancellationToken);

    /// <summary>Tunes <paramref name="onnxPath"/> with inputs described by the caller (e.g. parsed from <c>--input</c>).</summary>
    /// <param name="modelName">The model's name in the report and its plot title (the bundle's model name); default: the ONNX file's name.</param>
    /// <inheritdoc cref="Tune(string, TuningObjective, TuningOptions?, IProgress{string}?, CancellationToken)"/>
    public static TuningResult Tune(string onnxPath, IReadOnlyList<InputSpec> inputs, TuningObjective objective, TuningOptions? options = null,
        IProgress<string>? progress = null, CancellationToken cancellationToken = default, string? modelName = null)
    {
        ArgumentNullException.ThrowIfNull(onnxPath);
        ArgumentNullException.ThrowIfNull(inputs);
        options = (options ?? TuningOptions.For(TuningLevel.Quick)).Validated(objective);
        var batching = BatchDim.Of(inputs) is not null;
        var model = modelName ?? Path.GetFileName(onnxPath);
        if (options.Level == TuningLevel.Off)
            return Off(model, objective, options, batching);
        // ONNX Runtime loads external data from the model's folder; a missing data file is named here, not as its load error.
        if (File.Exists(onnxPath)) _ = OnnxSignature.Read(onnxPath);
        using var probe = new OrtThroughputProbe(onnxPath, inputs, options);
        return Run(probe, TimeProvider.System, model, batching, objective, options, probe.Warnings, progress, cancellationToken);
    }

    /// <summary>
    /// Tunes from any measurement source: the search, stability loop and decision of the ONNX Runtime path, with the
    /// clock injected (tests use a fake probe that advances a fake clock, so the result and report are deterministic).
    /// </summary>
    public static TuningResult Tune(IThroughputProbe probe, TuningObjective objective, TuningOptions options, TimeProvider? clock = null,
        string modelName = "model", IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(options);
        options = options.Validated(objective);
        if (options.Level == TuningLevel.Off)
            return Off(modelName, objective, options, batching: true);
        return Run(probe, clock ?? TimeProvider.System, modelName, batching: true, objective, options, [], progress, cancellationToken);
    }

    internal static TuningResult Run(IThroughputProbe probe, TimeProvider clock, string model, bool batching, TuningObjective objective,
        TuningOptions options, IReadOnlyList<TuningWarning> setupWarnings, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var start = clock.GetTimestamp();
        var warnings = new List<TuningWarning>(setupWarnings);
        var batchSizes = batching ? options.BatchSizes : [1];
        var instanceCounts = options.Provider == TuningProvider.Cpu || probe.ExecutionProvider == "CPUExecutionProvider"
            ? options.InstanceCounts.Where(i => i <= options.Cores).DefaultIfEmpty(1).ToList()
            : options.InstanceCounts;
        if (!batching)
            warnings.Add(new TuningWarning(DiagnosticCode.TuningNoBatchDim.AsString(),
                $"{model} has no symbolic batch dim; only the instance count was tuned (at batch 1), and max batch size is 0"));
        var measurer = new StableMeasurer(probe, clock, options.Measurement);
        var search = new ConfigSearch((batch, instances, step) =>
        {
            progress?.Report($"measuring batch {batch} × {ConfigSearch.Instances(instances)} ({step})");
            var m = measurer.Measure(batch, instances, step, cancellationToken);
            progress?.Report(m.Succeeded
                ? $"  batch {batch} × {ConfigSearch.Instances(instances)}: {m.ThroughputPerSecond:0.0} inferences/s, p99 {ConfigSearch.Ms(m.P99Milliseconds)}{(m.Stable ? "" : " (unstable)")} after {m.Windows.Count} windows"
                : $"  batch {batch} × {ConfigSearch.Instances(instances)} failed: {m.Failure}");
            return m;
        }, options, objective, batchSizes, instanceCounts);
        search.Run();

        foreach (var m in search.Measurements)
        {
            if (!m.Succeeded)
                warnings.Add(new TuningWarning(DiagnosticCode.TuningRunFailed.AsString(), $"batch {m.BatchSize} × {ConfigSearch.Instances(m.InstanceCount)} failed: {m.Failure}"));
            else if (!m.Stable)
                warnings.Add(new TuningWarning(DiagnosticCode.TuningMeasurementUnstable.AsString(),
                    $"batch {m.BatchSize} × {ConfigSearch.Instances(m.InstanceCount)} did not stabilise within {m.Windows.Count} windows (±{options.Measurement.StabilityThreshold:P0}); its last {options.Measurement.StableWindows} windows were used"));
        }
        var measurements = objective.Traffic is not null || options.OpenLoopServiceTimes
            ? WithOpenLoopServiceTimes(probe, search.Measurements, options.Measurement, warnings, progress, cancellationToken)
            : search.Measurements;
        var decision = TuningDecider.Decide(measurements, objective, batching, warnings);
        TrafficPlan? traffic = null;
        if (objective.Traffic is not null)
        {
            progress?.Report($"simulating the dynamic batcher at {objective.Traffic}");
            traffic = TrafficPlanner.Plan(measurements, objective, batching ? batchSizes.Max() : 0, options.Seed);
            decision = TrafficDecision(traffic, measurements, batching);
        }
        progress?.Report($"chose {Describe(decision.Config)}: {decision.Reason}");
        var report = new TuningReport(model, probe.ExecutionProvider, options.Cores, options.Level, options.Search, objective,
            batchSizes, instanceCounts, options.Measurement, measurements, search.Log, decision, warnings, clock.GetElapsedTime(start).TotalSeconds)
        { Traffic = traffic };
        return new TuningResult(decision.Config, report);
    }

    /// <summary>
    /// How much slower than the closed loop's median an open-loop median may be before it is measured again: on a quiet
    /// machine they came within 2 % of each other (ResNet-18, BENCHMARKS.md), so twice as slow is a busy machine.
    /// </summary>
    private const double OpenLoopRecheckRatio = 1.3;

    /// <summary>
    /// Each succeeded measurement with its open-loop service-time distribution (<see cref="IOpenLoopProbe"/>), measured
    /// at <see cref="MeasurementSettings.OpenLoopUtilisation"/> of its closed-loop throughput; one whose median is over
    /// <see cref="OpenLoopRecheckRatio"/> times the closed loop's is measured again and the faster kept. A probe that cannot
    /// measure open-loop leaves the measurements as they are; one that fails at a configuration leaves that one without
    /// (its curve then falls back to the closed-loop numbers) and records a warning.
    /// </summary>
    private static IReadOnlyList<TuningMeasurement> WithOpenLoopServiceTimes(IThroughputProbe probe, IReadOnlyList<TuningMeasurement> measurements,
        MeasurementSettings settings, List<TuningWarning> warnings, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        if (probe is not IOpenLoopProbe openLoop) return measurements;
        return measurements.Select(m =>
        {
            if (!m.Succeeded || m.ThroughputPerSecond <= 0) return m;
            var rate = settings.OpenLoopUtilisation * m.ThroughputPerSecond / m.BatchSize;
            progress?.Report($"measuring batch {m.BatchSize} × {ConfigSearch.Instances(m.InstanceCount)} open-loop at {TrafficPlanner.Rate(rate)}");
            try
            {
                IReadOnlyList<double> Measure() => ServiceTimeCurve.Quantiles(openLoop.MeasureOpenLoop(m.BatchSize, m.InstanceCount, rate, settings, cancellationToken));
                var quantiles = Measure();
                progress?.Report($"  service time median {ConfigSearch.Ms(quantiles[50])}, p99 {ConfigSearch.Ms(quantiles[99])} (closed loop: {ConfigSearch.Ms(m.P50Milliseconds)}, {ConfigSearch.Ms(m.P99Milliseconds)})");
                if (quantiles[50] > OpenLoopRecheckRatio * m.P50Milliseconds)
                {
                    // Something else on the machine only ever slows a measurement down: a median this far above the
                    // closed loop's is measured once more, and the faster of the two kept.
                    var again = Measure();
                    progress?.Report($"  {OpenLoopRecheckRatio:0.#}× slower than closed loop: measured again, median {ConfigSearch.Ms(again[50])}, p99 {ConfigSearch.Ms(again[99])}; keeping the faster");
                    if (again[50] < quantiles[50]) quantiles = again;
                }
                return m with { ServiceTimesMilliseconds = quantiles };
            }
            catch (ProbeFailedException e)
            {
                warnings.Add(new TuningWarning(DiagnosticCode.TuningRunFailed.AsString(), $"batch {m.BatchSize} × {ConfigSearch.Instances(m.InstanceCount)} failed open-loop: {e.Message}"));
                return m;
            }
        }).ToList();
    }

    /// <summary>
    /// The decision a traffic plan makes: its configuration, with the closed-loop throughput of its (max batch, instances):
    /// measured when that pair was, else the saturation rate the plan estimated from the service times.
    /// </summary>
    private static TuningDecision TrafficDecision(TrafficPlan plan, IReadOnlyList<TuningMeasurement> measurements, bool batching)
    {
        var chosen = plan.Chosen;
        var measured = measurements.LastOrDefault(m => m.Succeeded && m.BatchSize == chosen.MaxBatchSize && m.InstanceCount == chosen.InstanceCount);
        return new TuningDecision(TrafficPlanner.ConfigOf(chosen, batching), chosen.MaxBatchSize, chosen.InstanceCount, measured?.ThroughputPerSecond ?? chosen.SaturationRequestsPerSecond,
            chosen.P99Milliseconds!.Value, true, plan.Reason, [TrafficPlanner.Rule]);
    }

    private static TuningResult Off(string model, TuningObjective objective, TuningOptions options, bool batching)
    {
        var config = batching ? TuningOptions.DefaultConfig : new BatchingConfig(0, [], 0, 1);
        var decision = new TuningDecision(config, null, null, 0, 0, true,
            $"tuning is off: the default configuration {Describe(config)}, nothing measured", []);
        var report = new TuningReport(model, "none", options.Cores, options.Level, options.Search, objective, [], [], options.Measurement, [], [], decision, [], 0);
        return new TuningResult(config, report);
    }

    /// <summary>A configuration in words, e.g. "max batch 8, preferred [4, 8], queue delay 500 µs, 2 instances".</summary>
    public static string Describe(BatchingConfig config) =>
        $"max batch {config.MaxBatchSize}, preferred [{string.Join(", ", config.PreferredBatchSizes)}], queue delay {config.MaxQueueDelayMicroseconds} µs, {ConfigSearch.Instances(config.InstanceCount)}";
}
