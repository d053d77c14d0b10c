using ModelForge.Core.Diagnostics;

namespace ModelForge.Package.TorchServe;

/// <summary>torch-model-archiver's <c>--archive-format</c>: how the archive is stored in the model store.</summary>
public enum MarFormat
{
    /// <summary><c>&lt;name&gt;.mar</c>: a deflated zip with the files at its root.</summary>
    Default,

    /// <summary><c>&lt;name&gt;.tar.gz</c>: every entry under <c>&lt;name&gt;/</c> (TorchServe strips that first component).</summary>
    Tgz,

    /// <summary>A plain directory <c>&lt;name&gt;/</c>.</summary>
    NoArchive,
}

/// <summary>Which file is the archive's <c>serializedFile</c>.</summary>
public enum SerializedModel
{
    /// <summary>The TorchScript archive (<c>*.pt</c>): <c>base_handler</c> loads it with <c>torch.jit.load</c>.</summary>
    TorchScript,

    /// <summary>The ONNX model (<c>*.onnx</c>): <c>base_handler</c> runs it in ONNX Runtime (the worker needs onnxruntime and psutil).</summary>
    Onnx,
}

/// <summary>TorchServe-specific choices; the model itself is described by <see cref="PackageRequest"/>.</summary>
public sealed record TorchServeOptions
{
    public MarFormat Format { get; init; } = MarFormat.Default;

    public SerializedModel Serialized { get; init; } = SerializedModel.TorchScript;

    /// <summary>The manifest's <c>modelVersion</c>; null gives <c>"&lt;PackageRequest.Version&gt;.0"</c>.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>The manifest's <c>runtime</c>: <c>python</c> or <c>python3</c>.</summary>
    public string Runtime { get; init; } = "python";

    /// <summary><c>responseTimeout</c> in seconds (TorchServe's default is 120).</summary>
    public int ResponseTimeoutSeconds { get; init; } = 120;

    /// <summary><c>minWorkers</c>; null uses <see cref="BatchingConfig.InstanceCount"/>.</summary>
    public int? MinWorkers { get; init; }

    /// <summary><c>maxWorkers</c>; null uses <see cref="BatchingConfig.InstanceCount"/>.</summary>
    public int? MaxWorkers { get; init; }
}

/// <summary>The values of the archive's <c>model-config.yaml</c>, which the properties files repeat.</summary>
public sealed record TorchServeModelConfig(int MinWorkers, int MaxWorkers, int BatchSize, int MaxBatchDelayMilliseconds, int ResponseTimeoutSeconds, string DeviceType);

/// <summary>A checked archive, ready to write: its manifest, model config and entries in archive order.</summary>
public sealed record TorchServeArchivePlan(
    string ModelName,
    string ModelVersion,
    MarFormat Format,
    string ManifestJson,
    string ModelConfigYaml,
    TorchServeModelConfig Config,
    IReadOnlyList<BundleFile> Files,
    DateTimeOffset Timestamp,
    bool HasRequirements)
{
    /// <summary>Problems TorchServe would not refuse but that make the served model wrong, e.g. MF4012 (see <see cref="BuiltInHandlerInput"/>).</summary>
    public IReadOnlyList<Diagnostic> Warnings { get; init; } = [];

    /// <summary>The archive's name in a model store: <c>name.mar</c>, <c>name.tar.gz</c> or the directory <c>name</c>.</summary>
    public string StoreName => Format switch
    {
        MarFormat.Tgz => ModelName + ".tar.gz",
        MarFormat.NoArchive => ModelName,
        _ => ModelName + ".mar",
    };
}

/// <summary>A written archive: its path (a file, or a directory for <see cref="MarFormat.NoArchive"/>) and what it holds.</summary>
public sealed record TorchServeArchive(string Path, TorchServeArchivePlan Plan);
