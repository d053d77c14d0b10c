using System.Text.RegularExpressions;
using ModelForge.Core.Diagnostics;
using ModelForge.Package.IO;
using ModelForge.Package.Processing;
using ModelForge.Package.TorchServe;
using ModelForge.Package.Triton;
using YamlDotNet.RepresentationModel;

namespace ModelForge.Package.KServe;

/// <summary>Where the bundles will be uploaded and what the InferenceServices are called.</summary>
/// <param name="StorageUri">
/// The storage URI the <c>storage/</c> folder is uploaded to (<c>s3://…</c>, <c>gs://…</c>, <c>pvc://…</c>); each
/// runtime's InferenceService reads its own folder below it (<c>URI/torchserve</c>, <c>URI/triton</c>).
/// </param>
/// <param name="ServiceName">
/// The InferenceService names' stem; null derives it from the model name (lower case, '_' and '.' as '-'). Each
/// runtime's service is <c>STEM-torchserve</c> or <c>STEM-triton</c>, so that applying both creates two services.
/// </param>
public sealed record KServeOptions(string StorageUri, string? ServiceName = null)
{
    /// <summary>The Triton image tag (<c>runtimeVersion</c>); null keeps the runtime's default. With a TensorRT engine it must carry the engine's TensorRT.</summary>
    public string? TritonRuntimeVersion { get; init; }
}

/// <summary>A written KServe bundle: the runtime's storage folder (below <c>storage/</c>), the manifest to apply and its text.</summary>
public sealed record KServeBundle(string StorageDirectory, string InferenceServicePath, string InferenceServiceYaml);

/// <summary>
/// KServe InferenceServices (serving.md §4) for a TorchServe archive and for a Triton repository. Both runtimes share
/// one folder to upload, <c>&lt;output&gt;/storage/</c>, each with the layout its runtime expects in its own subfolder
/// (<c>storage/torchserve/</c>, <c>storage/triton/</c>); each InferenceService has its own name and points at its own
/// subfolder, so both can be applied side by side. Manifests: <c>&lt;output&gt;/inferenceservice-torchserve.yaml</c>
/// and <c>&lt;output&gt;/inferenceservice-triton.yaml</c>, emitted with YamlDotNet's representation model, keys in a fixed order.
/// </summary>
public static partial class KServeWriter
{
    public const string StorageFolder = "storage";

    /// <summary>
    /// The longest InferenceService name: KServe names the predictor's Kubernetes Service <c>NAME-predictor</c>
    /// (pkg/constants PredictorServiceName), and a Service name is a DNS label of at most 63 characters.
    /// </summary>
    public const int MaxServiceNameLength = 63 - 10;

    [GeneratedRegex("^[a-z]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex ServiceNamePattern();

    /// <summary>The manifest's file name: <c>inferenceservice-torchserve.yaml</c> or <c>inferenceservice-triton.yaml</c>.</summary>
    public static string InferenceServiceFileName(KServeRuntime runtime) => $"inferenceservice-{runtime.Folder()}.yaml";

    /// <summary>
    /// TorchServe runtime (<c>kserve-torchserve</c>): <c>storage/torchserve/model-store/&lt;archive&gt;</c> and
    /// <c>storage/torchserve/config/config.properties</c>; requests use the model name (the model_snapshot key), not the service name.
    /// </summary>
    public static KServeBundle WriteTorchServe(PackageRequest request, string outputDirectory, KServeOptions kserve, TorchServeOptions? options = null)
    {
        var name = ServiceName(request, kserve, KServeRuntime.TorchServe);
        var uri = StorageUri(kserve, KServeRuntime.TorchServe);
        var storage = StorageDirectory(outputDirectory, KServeRuntime.TorchServe);
        var archive = TorchServeArchiver.Write(request, Path.Combine(storage, "model-store"), options);
        TorchServeProperties.WriteTo(Path.Combine(storage, "config", TorchServeProperties.FileName), TorchServeProperties.KServe(archive.Plan));
        var resources = PodResources.For(KServeRuntime.TorchServe, archive.Plan.Config.MaxWorkers, request.Device, PodResources.SizeOf(storage));
        return WriteService(outputDirectory, KServeRuntime.TorchServe, storage, TorchServeInferenceService(name, uri, resources));
    }

    /// <summary>
    /// Triton runtime (<c>kserve-tritonserver</c>): the repository root is <c>storage/triton/</c>; requests use the Triton
    /// model name. With <paramref name="processing"/> the repository is the ensemble's (<see cref="TritonEnsembleWriter.WriteWithFused"/>:
    /// the steps, the ensemble and the fused model, all of which the runtime loads), and the InferenceService names the
    /// ensemble as the model to call in its annotation <c>modelforge.dev/model</c>.
    /// </summary>
    public static KServeBundle WriteTriton(PackageRequest request, string outputDirectory, KServeOptions kserve, TritonOptions? options = null,
        (ProcessingPlan Plan, ProcessingFiles Files)? processing = null)
    {
        var name = ServiceName(request, kserve, KServeRuntime.Triton);
        var uri = StorageUri(kserve, KServeRuntime.Triton);
        var storage = StorageDirectory(outputDirectory, KServeRuntime.Triton);
        var model = processing is { } p
            ? TritonEnsembleWriter.WriteWithFused(request, options ?? new TritonOptions(), p.Plan, p.Files, storage).Single(m => m.Plan.ModelName == request.ModelName)
            : TritonRepositoryWriter.Write(request, storage, options);
        var resources = PodResources.For(KServeRuntime.Triton, request.Batching.InstanceCount, request.Device, PodResources.SizeOf(storage));
        return WriteService(outputDirectory, KServeRuntime.Triton, storage,
            TritonInferenceService(name, uri, resources, kserve.TritonRuntimeVersion, model.Plan.EngineBinding,
                processing is null ? null : request.ModelName + TritonEnsembleWriter.EnsembleSuffix));
    }

    /// <summary>
    /// The TorchServe InferenceService: <c>modelFormat: pytorch</c> (auto-selects kserve-torchserve) with
    /// <c>protocolVersion: v1</c>, the runtime's storage URI and the resources.
    /// </summary>
    public static string TorchServeInferenceService(string serviceName, string storageUri, PodResources resources) =>
        YamlText.Write(Service(serviceName, null, YamlText.Map(
            ("modelFormat", YamlText.Map(("name", YamlText.Plain("pytorch")))),
            ("protocolVersion", YamlText.Plain("v1")),
            ("storageUri", YamlText.Quoted(storageUri)),
            ("resources", Resources(resources)))));

    /// <summary>
    /// The Triton InferenceService: <c>modelFormat: triton</c> with <c>protocolVersion: v2</c> (Triton speaks only v2;
    /// without it no runtime is found), the image tag if given, the runtime's storage URI, the resources, and as
    /// annotations the engine binding and the model clients call (<paramref name="servedModel"/>: an ensemble, whose
    /// repository also holds its steps; Triton's runtime loads every model of the repository, so it names no model itself).
    /// </summary>
    public static string TritonInferenceService(string serviceName, string storageUri, PodResources resources, string? runtimeVersion, string? engineBinding,
        string? servedModel = null) =>
        YamlText.Write(Service(serviceName,
            engineBinding is null && servedModel is null ? null : YamlText.Map(
                ("modelforge.dev/tensorrt-engine", engineBinding is null ? null : YamlText.Quoted(engineBinding)),
                ("modelforge.dev/model", servedModel is null ? null : YamlText.Quoted(servedModel))),
            YamlText.Map(
                ("modelFormat", YamlText.Map(("name", YamlText.Plain("triton")))),
                ("protocolVersion", YamlText.Plain("v2")),
                ("runtimeVersion", runtimeVersion is { } tag ? YamlText.Quoted(tag) : null),
                ("storageUri", YamlText.Quoted(storageUri)),
                ("resources", Resources(resources)))));

    /// <summary>
    /// The runtime's service name, <c>STEM-torchserve</c> or <c>STEM-triton</c>, checked against KServe's rule
    /// <c>[a-z]([-a-z0-9]*[a-z0-9])?</c> and the length its predictor Service allows.
    /// </summary>
    public static string ServiceName(PackageRequest request, KServeOptions kserve, KServeRuntime runtime)
    {
        var stem = kserve.ServiceName ?? request.ModelName.ToLowerInvariant().Replace('_', '-').Replace('.', '-');
        var name = $"{stem}-{runtime.Folder()}";
        if (!ServiceNamePattern().IsMatch(name))
            throw new ModelForgeException(DiagnosticCode.KServeSpecInvalid,
                $"InferenceService name '{name}' does not match [a-z]([-a-z0-9]*[a-z0-9])?, which KServe requires",
                null, "give a service name of lower-case letters, digits and '-', starting with a letter");
        if (name.Length > MaxServiceNameLength)
            throw new ModelForgeException(DiagnosticCode.KServeSpecInvalid,
                $"InferenceService name '{name}' has {name.Length} characters: KServe names its predictor Service '{name}-predictor', " +
                $"and a Kubernetes Service name has at most 63 characters, so the InferenceService name at most {MaxServiceNameLength}",
                null, $"use a model (or service) name of at most {MaxServiceNameLength - runtime.Folder().Length - 1} characters; " +
                      $"'-{runtime.Folder()}' is added to it");
        return name;
    }

    /// <summary>The runtime's storage URI: the given one with <c>/torchserve</c> or <c>/triton</c> added to its path.</summary>
    public static string StorageUri(KServeOptions kserve, KServeRuntime runtime)
    {
        var uri = kserve.StorageUri?.Trim() ?? "";
        if (uri.Length == 0)
            throw new ModelForgeException(DiagnosticCode.KServeSpecInvalid, "the storage URI is empty: an InferenceService needs a storageUri to download the model from",
                null, "give the URI the storage folder is uploaded to, e.g. s3://bucket/models/resnet");
        if (uri.IndexOfAny(['?', '#']) >= 0)
            throw new ModelForgeException(DiagnosticCode.KServeSpecInvalid,
                $"the storage URI '{uri}' has a query or fragment: each InferenceService reads a folder below it (URI/{runtime.Folder()}), which is added to the path",
                null, "give the URI without '?…' or '#…'; KServe takes storage credentials from the service account's secret, not from the URI");
        return $"{uri.TrimEnd('/')}/{runtime.Folder()}";
    }

    /// <summary>The runtime's folder to upload: <c>&lt;output&gt;/storage/torchserve</c> or <c>&lt;output&gt;/storage/triton</c>.</summary>
    public static string StorageDirectory(string outputDirectory, KServeRuntime runtime) =>
        Path.Combine(Path.GetFullPath(outputDirectory), StorageFolder, runtime.Folder());

    private static YamlMappingNode Service(string name, YamlMappingNode? annotations, YamlMappingNode model) => YamlText.Map(
        ("apiVersion", YamlText.Plain("serving.kserve.io/v1beta1")),
        ("kind", YamlText.Plain("InferenceService")),
        ("metadata", YamlText.Map(("name", YamlText.Plain(name)), ("annotations", annotations))),
        ("spec", YamlText.Map(("predictor", YamlText.Map(("model", model))))));

    private static YamlMappingNode Resources(PodResources resources) => YamlText.Map(
        ("requests", YamlText.Map(
            ("cpu", YamlText.Quoted(PodResources.Quantity(resources.CpuRequest))),
            ("memory", YamlText.Quoted(PodResources.Quantity(resources.MemoryRequestMiB, "Mi"))))),
        ("limits", YamlText.Map(
            ("cpu", YamlText.Quoted(PodResources.Quantity(resources.CpuLimit))),
            ("memory", YamlText.Quoted(PodResources.Quantity(resources.MemoryLimitMiB, "Mi"))),
            ("nvidia.com/gpu", resources.Gpus > 0 ? YamlText.Quoted(PodResources.Quantity(resources.Gpus)) : null))));

    private static KServeBundle WriteService(string outputDirectory, KServeRuntime runtime, string storage, string yaml)
    {
        var path = Path.Combine(Path.GetFullPath(outputDirectory), InferenceServiceFileName(runtime));
        TextOutput.Write(path, yaml);
        return new KServeBundle(storage, path, yaml);
    }
}
