using System.Text;
using System.Text.RegularExpressions;
using ModelForge.Core.Diagnostics;
using ModelForge.Package.IO;
using ModelForge.Package.TorchServe;
using ModelForge.Package.Triton;
using YamlDotNet.RepresentationModel;

namespace ModelForge.Package.KServe;

/// <summary>Where the bundle will be uploaded and what the InferenceService is called.</summary>
/// <param name="StorageUri">The storage URI the <c>storage/</c> folder is uploaded to (<c>s3://…</c>, <c>gs://…</c>, <c>pvc://…</c>).</param>
/// <param name="ServiceName">The InferenceService name; null derives it from the model name (lower case, '_' and '.' as '-').</param>
public sealed record KServeOptions(string StorageUri, string? ServiceName = null)
{
    /// <summary>The Triton image tag (<c>runtimeVersion</c>); null keeps the runtime's default. With a TensorRT engine it must carry the engine's TensorRT.</summary>
    public string? TritonRuntimeVersion { get; init; }
}

/// <summary>A written KServe bundle: the folder to upload and the manifest to apply.</summary>
public sealed record KServeBundle(string StorageDirectory, string InferenceServicePath, string InferenceServiceYaml);

/// <summary>
/// KServe InferenceServices (serving.md §4) for a TorchServe archive and for a Triton repository, each with the storage
/// layout its runtime expects under <c>&lt;output&gt;/storage/</c> (upload that folder to the storage URI) and
/// <c>&lt;output&gt;/inferenceservice.yaml</c>. YAML is emitted with YamlDotNet's representation model, keys in a fixed order.
/// </summary>
public static partial class KServeWriter
{
    public const string StorageFolder = "storage";
    public const string InferenceServiceFileName = "inferenceservice.yaml";

    [GeneratedRegex("^[a-z]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex ServiceNamePattern();

    /// <summary>
    /// TorchServe runtime (<c>kserve-torchserve</c>): <c>storage/model-store/&lt;archive&gt;</c> and
    /// <c>storage/config/config.properties</c>; requests use the model name (the model_snapshot key), not the service name.
    /// </summary>
    public static KServeBundle WriteTorchServe(PackageRequest request, string outputDirectory, KServeOptions kserve, TorchServeOptions? options = null)
    {
        var name = ServiceName(request, kserve);
        var storage = Path.Combine(Path.GetFullPath(outputDirectory), StorageFolder);
        var archive = TorchServeArchiver.Write(request, Path.Combine(storage, "model-store"), options);
        TorchServeProperties.WriteTo(Path.Combine(storage, "config", TorchServeProperties.FileName), TorchServeProperties.KServe(archive.Plan));
        return WriteService(outputDirectory, storage, TorchServeInferenceService(name, kserve, request.Device));
    }

    /// <summary>Triton runtime (<c>kserve-tritonserver</c>): the repository root is <c>storage/</c>; requests use the Triton model name.</summary>
    public static KServeBundle WriteTriton(PackageRequest request, string outputDirectory, KServeOptions kserve, TritonOptions? options = null)
    {
        var name = ServiceName(request, kserve);
        var storage = Path.Combine(Path.GetFullPath(outputDirectory), StorageFolder);
        var model = TritonRepositoryWriter.Write(request, storage, options);
        return WriteService(outputDirectory, storage, TritonInferenceService(name, kserve, request.Device, model.Plan.EngineBinding));
    }

    /// <summary>
    /// The TorchServe InferenceService: <c>modelFormat: pytorch</c> (auto-selects kserve-torchserve) with
    /// <c>protocolVersion: v1</c>, a GPU limit for GPU models.
    /// </summary>
    public static string TorchServeInferenceService(string serviceName, KServeOptions kserve, DeviceKind device) =>
        YamlText.Write(Service(serviceName, null, YamlText.Map(
            ("modelFormat", YamlText.Map(("name", YamlText.Plain("pytorch")))),
            ("protocolVersion", YamlText.Plain("v1")),
            ("storageUri", StorageUri(kserve)),
            ("resources", Resources(device)))));

    /// <summary>
    /// The Triton InferenceService: <c>modelFormat: triton</c> with <c>protocolVersion: v2</c> (Triton speaks only v2;
    /// without it no runtime is found), the image tag if given, a GPU limit for GPU models, and the engine binding as an annotation.
    /// </summary>
    public static string TritonInferenceService(string serviceName, KServeOptions kserve, DeviceKind device, string? engineBinding) =>
        YamlText.Write(Service(serviceName,
            engineBinding is null ? null : YamlText.Map(("modelforge.dev/tensorrt-engine", YamlText.Quoted(engineBinding))),
            YamlText.Map(
                ("modelFormat", YamlText.Map(("name", YamlText.Plain("triton")))),
                ("protocolVersion", YamlText.Plain("v2")),
                ("runtimeVersion", kserve.TritonRuntimeVersion is { } tag ? YamlText.Quoted(tag) : null),
                ("storageUri", StorageUri(kserve)),
                ("resources", Resources(device)))));

    /// <summary>The service name, checked against KServe's rule <c>[a-z]([-a-z0-9]*[a-z0-9])?</c>.</summary>
    public static string ServiceName(PackageRequest request, KServeOptions kserve)
    {
        var name = kserve.ServiceName ?? request.ModelName.ToLowerInvariant().Replace('_', '-').Replace('.', '-');
        if (!ServiceNamePattern().IsMatch(name))
            throw new ModelForgeException(DiagnosticCode.KServeSpecInvalid,
                $"InferenceService name '{name}' does not match [a-z]([-a-z0-9]*[a-z0-9])?, which KServe requires",
                null, "give a service name of lower-case letters, digits and '-', starting with a letter");
        return name;
    }

    private static YamlMappingNode Service(string name, YamlMappingNode? annotations, YamlMappingNode model) => YamlText.Map(
        ("apiVersion", YamlText.Plain("serving.kserve.io/v1beta1")),
        ("kind", YamlText.Plain("InferenceService")),
        ("metadata", YamlText.Map(("name", YamlText.Plain(name)), ("annotations", annotations))),
        ("spec", YamlText.Map(("predictor", YamlText.Map(("model", model))))));

    private static YamlScalarNode StorageUri(KServeOptions kserve)
    {
        if (string.IsNullOrWhiteSpace(kserve.StorageUri))
            throw new ModelForgeException(DiagnosticCode.KServeSpecInvalid, "the storage URI is empty: an InferenceService needs a storageUri to download the model from",
                null, "give the URI the storage folder is uploaded to, e.g. s3://bucket/models/resnet");
        return YamlText.Quoted(kserve.StorageUri);
    }

    private static YamlMappingNode? Resources(DeviceKind device) => device == DeviceKind.Gpu
        ? YamlText.Map(("limits", YamlText.Map(("nvidia.com/gpu", YamlText.Quoted("1")))))
        : null;

    private static KServeBundle WriteService(string outputDirectory, string storage, string yaml)
    {
        var path = Path.Combine(Path.GetFullPath(outputDirectory), InferenceServiceFileName);
        TextOutput.Write(path, yaml);
        return new KServeBundle(storage, path, yaml);
    }
}
