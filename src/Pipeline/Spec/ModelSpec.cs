using ModelForge.Engine;
using ModelForge.Model;
using ModelForge.Package;
using ModelForge.Package.TorchServe;
using ModelForge.Package.Triton;
using ModelForge.Package.Tuning;
using ModelForge.Validate.Compare;

namespace ModelForge.Pipeline.Spec;

/// <summary>
/// Everything <c>modelforge build</c> needs to know about one model, read from a <c>*.modelforge.json</c>
/// (schemas/modelforge.schema.json) or made from a <c>.pt</c> and command-line inputs. Paths are absolute.
/// </summary>
public sealed record ModelSpec
{
    /// <summary>The spec file, or null when the build was started from a <c>.pt</c>.</summary>
    public string? SpecPath { get; init; }
    public required string Name { get; init; }
    public required string SourcePath { get; init; }
    public required IReadOnlyList<InputSpec> Inputs { get; init; }
    public IReadOnlyList<string>? OutputNames { get; init; }
    public IReadOnlyDictionary<string, DimRange> Dims { get; init; } = new Dictionary<string, DimRange>();
    public int Opset { get; init; } = Convert.Ops.OpRegistry.DefaultOpset;
    public Convert.Passes.OptimizeLevel Optimize { get; init; } = Convert.Passes.OptimizeLevel.All;
    public bool ExternalData { get; init; }
    /// <summary>Null when the spec asks for no TensorRT engines.</summary>
    public TensorRtSpec? TensorRt { get; init; }
    public ValidationSpec Validation { get; init; } = new();
    /// <summary>Null when the spec asks for no serving bundles.</summary>
    public PackageSpec? Package { get; init; }
    public required string OutputDirectory { get; init; }

    /// <summary>
    /// Where the package stage records its tuning decision and reuses it: <c>NAME.tuning.lock.json</c> next to the spec
    /// (<c>resnet18.modelforge.json</c> → <c>resnet18.tuning.lock.json</c>). Null for a build from a <c>.pt</c>, which packages nothing.
    /// </summary>
    public string? TuningLockPath => SpecPath is null ? null
        : Path.Combine(Path.GetDirectoryName(SpecPath)!, SpecStem(Path.GetFileName(SpecPath)) + TuningLock.FileSuffix);

    /// <summary>True when the package stage measures batching (and so reads and records the tuning lock).</summary>
    public bool Tunes => Package is { Tuning: not TuningLevel.Off } && TuningLockPath is not null;

    private static string SpecStem(string fileName) =>
        fileName.EndsWith(".modelforge.json", StringComparison.OrdinalIgnoreCase) ? fileName[..^".modelforge.json".Length] : Path.GetFileNameWithoutExtension(fileName);
}

public sealed record PackageSpec
{
    public int Version { get; init; } = 1;
    public DeviceKind Device { get; init; } = DeviceKind.Cpu;
    public TuningLevel Tuning { get; init; } = TuningLevel.Quick;
    public double? LatencyBudgetMs { get; init; }
    /// <summary>Null: no TorchServe archive.</summary>
    public TorchServeOptions? TorchServe { get; init; }
    public string Handler { get; init; } = "base_handler";
    public IReadOnlyList<string> ExtraFiles { get; init; } = [];
    public string? RequirementsFile { get; init; }
    /// <summary>Null: no Triton repository.</summary>
    public TritonOptions? Triton { get; init; }
    /// <summary>Null: no KServe manifests.</summary>
    public string? KServeStorageUri { get; init; }

    /// <summary>Files the bundles copy from the user's tree: their content is part of the build's input hash.</summary>
    public IEnumerable<string> ReferencedFiles =>
        ExtraFiles.Concat(new[] { RequirementsFile, TorchServeArchiver.HandlerFile(Handler), Triton?.Settings.WarmupSample }.OfType<string>());
}

public sealed record TensorRtSpec
{
    public EnginePrecision Precision { get; init; } = EnginePrecision.Fp32;
    public bool Require { get; init; }
    public bool AllOnTensorRt { get; init; }
    public long? WorkspaceMb { get; init; }
    public int BuilderLevel { get; init; } = EngineTarget.DefaultBuilderOptimizationLevel;
    public bool TimingCache { get; init; } = true;
}

/// <summary>What an accuracy mismatch does to the build.</summary>
public enum GateMode
{
    /// <summary>The build fails (exit 1) and publishes nothing: the CI gate.</summary>
    Error,
    /// <summary>A warning diagnostic; the bundles are still published.</summary>
    Warning,
}

public sealed record ValidationSpec
{
    /// <summary>Null: the batch dim's min and opt (or 1 and 8 when the spec gives no range).</summary>
    public IReadOnlyList<int>? Batches { get; init; }
    public int Seed { get; init; }
    public ToleranceSettings Tolerances { get; init; } = ToleranceSettings.Default;
    public IReadOnlyDictionary<string, InputRange> Ranges { get; init; } = new Dictionary<string, InputRange>();
    public GateMode OnFailure { get; init; } = GateMode.Error;
}
