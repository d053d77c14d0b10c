using ModelForge.Model;

namespace ModelForge.Package.Tuning;

/// <summary>
/// The tuner's measurement (one ONNX Runtime session with all the cores, perf_analyzer's stability loop) at a few
/// batch sizes, without a search or a decision: for comparing models (precisions) rather than configurations.
/// </summary>
public static class LatencyMeasurer
{
    /// <summary>One measurement per batch size, one instance each; a batch size ONNX Runtime cannot run is a failed measurement.</summary>
    public static LatencyMeasurements Measure(string onnxPath, IReadOnlyList<InputSpec> inputs, IReadOnlyList<int> batchSizes,
        TuningOptions options, CancellationToken cancellationToken = default)
    {
        using var probe = new OrtThroughputProbe(onnxPath, inputs, options);
        var measurer = new StableMeasurer(probe, TimeProvider.System, options.Measurement);
        var measurements = batchSizes.Select(batch => measurer.Measure(batch, 1, "precision", cancellationToken)).ToList();
        return new LatencyMeasurements(probe.ExecutionProvider, measurements, probe.Warnings);
    }
}

/// <param name="ExecutionProvider">Where they were measured (the CPU when the requested GPU provider cannot run here).</param>
/// <param name="Warnings">MF4054 when the requested provider was replaced by the CPU.</param>
public sealed record LatencyMeasurements(string ExecutionProvider, IReadOnlyList<TuningMeasurement> Measurements, IReadOnlyList<TuningWarning> Warnings);
