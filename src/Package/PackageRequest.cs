using ModelForge.Model;

namespace ModelForge.Package;

/// <summary>Where the served model runs: Triton's <c>KIND_CPU</c>/<c>KIND_GPU</c>, TorchServe's <c>deviceType</c>.</summary>
public enum DeviceKind
{
    Cpu,
    Gpu,
}

/// <summary>
/// What to package: one converted model and how it is served. Shared by every bundle writer
/// (<see cref="TorchServe.TorchServeArchiver"/>, <see cref="Triton.TritonRepositoryWriter"/>, <see cref="KServe.KServeWriter"/>);
/// format-specific choices live in their own option records.
/// </summary>
public sealed record PackageRequest
{
    /// <summary>The served model's name: the TorchServe model name and archive stem, the Triton model directory.</summary>
    public required string ModelName { get; init; }

    /// <summary>Model version: Triton's version directory; TorchServe's <c>modelVersion</c> is <c>"&lt;Version&gt;.0"</c> unless its options say otherwise.</summary>
    public int Version { get; init; } = 1;

    /// <summary>The converted ONNX model (<c>modelforge convert</c> output).</summary>
    public required string OnnxPath { get; init; }

    /// <summary>The source TorchScript archive; needed for TorchServe's default serialized file and Triton's libtorch backend.</summary>
    public string? TorchScriptPath { get; init; }

    /// <summary>
    /// The declared inputs in <c>forward</c> order, as given to convert: with batching, each input's first dim is the
    /// symbolic batch dim (<c>x:float32[batch,3,224,224]</c>).
    /// </summary>
    public required IReadOnlyList<InputSpec> Inputs { get; init; }

    /// <summary>The outputs to serve, by ONNX name; null serves every graph output in order.</summary>
    public IReadOnlyList<string>? OutputNames { get; init; }

    public required BatchingConfig Batching { get; init; }

    public DeviceKind Device { get; init; } = DeviceKind.Cpu;

    /// <summary>TorchServe handler: a built-in name (<c>base_handler</c>, <c>image_classifier</c>, …) or a handler file, optionally <c>file.py:function</c>.</summary>
    public string Handler { get; init; } = "base_handler";

    /// <summary>Extra files (or directories, whose contents are added) for the TorchServe archive, e.g. <c>index_to_name.json</c>.</summary>
    public IReadOnlyList<string> ExtraFiles { get; init; } = [];

    /// <summary>A <c>requirements.txt</c> for the TorchServe archive (installed only with <c>install_py_dep_per_model=true</c>).</summary>
    public string? RequirementsFile { get; init; }

    /// <summary>A <c>modelforge engine</c> folder: Triton then serves its EP-context model and engine through the TensorRT accelerator.</summary>
    public string? EngineDirectory { get; init; }

    /// <summary>
    /// The time written into archives (MANIFEST <c>createdOn</c>, zip/tar entry times). Null: <c>SOURCE_DATE_EPOCH</c>
    /// when set, else the modification time of the model file being packaged (see <see cref="BundleTimestamp"/>).
    /// </summary>
    public DateTimeOffset? Timestamp { get; init; }
}
