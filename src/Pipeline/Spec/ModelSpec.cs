using ModelForge.Engine;
using ModelForge.Model;
using ModelForge.Package;
using ModelForge.Package.Processing;
using ModelForge.Package.TorchServe;
using ModelForge.Package.Triton;
using ModelForge.Package.Tuning;
using ModelForge.Package.Tuning.Traffic;
using ModelForge.Optimize;
using ModelForge.Optimize.Int8;
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
    /// <summary>The precisions to try (<c>onnx.precision</c>); fp32 alone (the default) runs no precision stage.</summary>
    public PrecisionSpec Precision { get; init; } = new();
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
    /// <summary>Null: batching is chosen from the closed-loop measurements alone (no traffic profile).</summary>
    public TrafficProfile? Traffic { get; init; }
    /// <summary>Null: no TorchServe archive.</summary>
    public TorchServeOptions? TorchServe { get; init; }
    public string Handler { get; init; } = "base_handler";
    public IReadOnlyList<string> ExtraFiles { get; init; } = [];
    public string? RequirementsFile { get; init; }
    /// <summary>Null: no Triton repository.</summary>
    public TritonOptions? Triton { get; init; }
    /// <summary>Null: no KServe manifests.</summary>
    public string? KServeStorageUri { get; init; }
    /// <summary>Pre- and post-processing around the model (<c>preprocess</c>, <c>postprocess</c>, <c>fused</c>); null: the bare model.</summary>
    public ProcessingOptions? Processing { get; init; }

    /// <summary>Files the bundles copy from the user's tree: their content is part of the build's input hash.</summary>
    public IEnumerable<string> ReferencedFiles =>
        ExtraFiles.Concat(new[] { RequirementsFile, TorchServeArchiver.HandlerFile(Handler), Triton?.Settings.WarmupSample, Processing?.Postprocess?.LabelFile }
            .OfType<string>());
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

/// <summary>
/// <c>onnx.precision</c> and <c>onnx.calibration</c>: the candidate precisions in the order the spec lists them, and the
/// calibration inputs static int8 measures its activation ranges on (fp16 checks them for overflow).
/// </summary>
public sealed record PrecisionSpec
{
    public IReadOnlyList<Precision> Candidates { get; init; } = [Optimize.Precision.Fp32];
    /// <summary>An .npz/.npy of real inputs (absolute path); null: <see cref="CalibrationSamples"/> generated inputs.</summary>
    public string? CalibrationData { get; init; }
    public int CalibrationSamples { get; init; } = Int8Options.DefaultSamples;
    public CalibrationMethod CalibrationMethod { get; init; } = CalibrationMethod.MinMax;

    /// <summary>
    /// The sensitivity pass's budget when int8 fails its gate (<c>onnx.sensitivity</c>): nodes kept float one by one,
    /// worst offender first, until it passes or the budget runs out; null (<c>false</c>) turns it off. Default: no node
    /// limit, 5 minutes.
    /// </summary>
    public SensitivityBudget? Sensitivity { get; init; } = DefaultSensitivity;

    public static SensitivityBudget DefaultSensitivity { get; } = new(MaxFloatNodes: null, MaxTime: TimeSpan.FromMinutes(5));

    /// <summary>True when the spec asks for anything but the converter's own fp32 model.</summary>
    public bool Requested => Candidates is not [Optimize.Precision.Fp32];
}

public sealed record ValidationSpec
{
    /// <summary>Null: the batch dim's min and opt (or 1 and 8 when the spec gives no range).</summary>
    public IReadOnlyList<int>? Batches { get; init; }
    public int Seed { get; init; }
    public ToleranceSettings Tolerances { get; init; } = ToleranceSettings.Default;
    public IReadOnlyDictionary<string, InputRange> Ranges { get; init; } = new Dictionary<string, InputRange>();
    public GateMode OnFailure { get; init; } = GateMode.Error;

    /// <summary>
    /// The bars of each reduced precision (<c>validate.precision</c>): the spec's values over
    /// <see cref="QuantizationThresholds.Fp16"/> and <see cref="QuantizationThresholds.Int8"/> (int8-dynamic shares int8's).
    /// </summary>
    public IReadOnlyDictionary<Precision, QuantizationThresholds> PrecisionThresholds { get; init; } = DefaultThresholds;

    public static IReadOnlyDictionary<Precision, QuantizationThresholds> DefaultThresholds { get; } = new Dictionary<Precision, QuantizationThresholds>
    {
        [Optimize.Precision.Fp16] = QuantizationThresholds.Fp16,
        [Optimize.Precision.Int8] = QuantizationThresholds.Int8,
        [Optimize.Precision.Int8Dynamic] = QuantizationThresholds.Int8,
    };

    /// <summary>
    /// The tolerances a candidate in <paramref name="precision"/> is judged by: the elementwise ones for fp32, else the
    /// precision's bars (<see cref="ToleranceSettings.Precision"/>).
    /// </summary>
    public ToleranceSettings TolerancesFor(Precision precision) =>
        precision == Optimize.Precision.Fp32 ? Tolerances
        : Tolerances with { Precision = new PrecisionGate(precision.Name(), PrecisionThresholds[precision]) };
}
