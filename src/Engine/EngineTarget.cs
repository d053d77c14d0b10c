using ModelForge.Core.Diagnostics;

namespace ModelForge.Engine;

/// <summary>Builder precision of a TensorRT engine. FP32 leaves TF32 on (TensorRT's default; ORT has no switch for it).</summary>
public enum EnginePrecision
{
    Fp32,
    Fp16,
    Bf16,
}

/// <summary>Which execution provider a build must be able to use; an unavailable one then fails instead of being skipped.</summary>
public enum EngineRequirement
{
    TensorRt,
    Cuda,
}

/// <summary>
/// What to build: everything that changes the engine. <see cref="Profiles"/> are complete (one per dynamic input,
/// see <see cref="ShapeProfiles.Resolve"/>); <see cref="WorkspaceBytes"/> null leaves ORT's default (0: no limit, TensorRT
/// may use all device memory); <see cref="BuilderOptimizationLevel"/> 3 is TensorRT's default. <see cref="AllOnTensorRt"/>
/// turns off ORT's CPU fallback so a node TensorRT rejects fails the build instead of silently running on the CPU.
/// </summary>
public sealed record EngineTarget
{
    public const int DefaultBuilderOptimizationLevel = 3;
    public const int DefaultMaxBatch = 8;

    public EnginePrecision Precision { get; init; } = EnginePrecision.Fp32;
    public IReadOnlyList<ShapeProfile> Profiles { get; init; } = [];
    public long? WorkspaceBytes { get; init; }
    public int BuilderOptimizationLevel { get; init; } = DefaultBuilderOptimizationLevel;
    public bool TimingCache { get; init; } = true;
    public bool AllOnTensorRt { get; init; }
    public int DeviceId { get; init; }

    /// <summary>Throws <see cref="DiagnosticCode.EngineTargetInvalid"/> for values ORT would reject or silently change.</summary>
    public EngineTarget Validated()
    {
        if (BuilderOptimizationLevel is < 0 or > 5)
            throw Invalid($"builder optimisation level {BuilderOptimizationLevel} is outside 0–5",
                "use --builder-level 0 (fastest build) to 5 (slowest build, best tactics); 3 is TensorRT's default");
        if (WorkspaceBytes is <= 0)
            throw Invalid($"workspace limit {WorkspaceBytes} bytes is not positive", "give --workspace-mb a positive number, or leave it out for no limit");
        if (DeviceId < 0)
            throw Invalid($"device id {DeviceId} is negative", "use a CUDA device ordinal, 0 for the first GPU");
        return this;
    }

    public static EnginePrecision ParsePrecision(string text) => text.Trim().ToLowerInvariant() switch
    {
        "fp32" or "float32" => EnginePrecision.Fp32,
        "fp16" or "float16" => EnginePrecision.Fp16,
        "bf16" or "bfloat16" => EnginePrecision.Bf16,
        _ => throw Invalid($"precision '{text}' is not fp32, fp16 or bf16", "use --precision fp32, fp16 or bf16"),
    };

    public static EngineRequirement ParseRequirement(string text) => text.Trim().ToLowerInvariant() switch
    {
        "tensorrt" or "trt" => EngineRequirement.TensorRt,
        "cuda" => EngineRequirement.Cuda,
        _ => throw Invalid($"--require '{text}' is not an execution provider", "use --require tensorrt or --require cuda"),
    };

    public static string NameOf(EnginePrecision precision) => precision switch
    {
        EnginePrecision.Fp16 => "fp16",
        EnginePrecision.Bf16 => "bf16",
        _ => "fp32",
    };

    private static ModelForgeException Invalid(string message, string hint) => new(DiagnosticCode.EngineTargetInvalid, message, null, hint);
}
