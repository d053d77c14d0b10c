using ModelForge.Validate.Compare;

namespace ModelForge.Validate.Reports;

/// <summary>An ONNX Runtime configuration that was checked against the reference.</summary>
public sealed record CandidateInfo(
    /// <summary>Short stable name: "onnxruntime-cpu", "onnxruntime-cuda", "onnxruntime-tensorrt".</summary>
    string Name,
    /// <summary>The ORT execution provider, e.g. "CPUExecutionProvider".</summary>
    string ExecutionProvider,
    /// <summary>Provider and session options that matter for accuracy, sorted by key.</summary>
    IReadOnlyDictionary<string, string> Options);

public enum CandidateStatus
{
    /// <summary>Every output within tolerance.</summary>
    Passed,
    /// <summary>At least one output outside tolerance (or of the wrong shape/type, or a missing output).</summary>
    Failed,
    /// <summary>Asked for but cannot run here (e.g. no CUDA); never silently replaced by another candidate.</summary>
    Unavailable,
}

/// <summary>One candidate at one batch size.</summary>
public sealed record CandidateRun(
    CandidateInfo Candidate,
    int BatchSize,
    CandidateStatus Status,
    /// <summary>For Unavailable: the probe's reason; for Failed: the first failing output's reason.</summary>
    string? Reason,
    IReadOnlyList<OutputComparison> Outputs,
    TimeSpan InferenceTime);

/// <summary>A declared input as validated: name, type, the concrete shape per batch size, how values were made.</summary>
public sealed record InputDescription(string Name, string ElementType, string Dims, string Source);

/// <summary>Everything a validation run found, from which every report format is rendered.</summary>
public sealed record ValidationReport(
    string ModelPath,
    string OnnxPath,
    IReadOnlyList<InputDescription> Inputs,
    IReadOnlyList<int> BatchSizes,
    int Seed,
    /// <summary>The reference: "libtorch 2.10.0 (TorchSharp 0.107.0), fp32, 1 thread".</summary>
    string Reference,
    TimeSpan ReferenceTime,
    IReadOnlyList<CandidateRun> Runs,
    /// <summary>UTC time the run finished (reports print it; golden tests pin it).</summary>
    DateTimeOffset FinishedAt,
    string ToolVersion)
{
    /// <summary>
    /// Optional candidates that were not run because their provider cannot run here (CUDA, TensorRT), with the probe's
    /// reason. They do not count against the gate, but every report names them, so a reader sees what was not checked.
    /// </summary>
    public IReadOnlyList<SkippedCandidate> Skipped { get; init; } = [];

    /// <summary>The gate: every requested candidate ran and passed. An unavailable candidate fails the gate too.</summary>
    public bool Passed => Runs.Count > 0 && Runs.All(r => r.Status == CandidateStatus.Passed);
}
