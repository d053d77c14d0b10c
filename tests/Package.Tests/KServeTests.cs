using ModelForge.Core.Diagnostics;
using ModelForge.Package.KServe;
using ModelForge.Package.Triton;

namespace ModelForge.Package.Tests;

[Collection(ModelsCollection.Name)]
public sealed class KServeTests(Models models) : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("modelforge-kserve-").FullName;
    private static readonly KServeOptions Options = new("s3://models/resnet");

    public void Dispose() => Directory.Delete(_out, recursive: true);

    [Fact]
    public void TorchServe_inference_service_matches_golden() =>
        Golden.Check(KServeWriter.WriteTorchServe(Requests.ResNet(models, DeviceKind.Gpu), _out, Options).InferenceServiceYaml, "kserve.torchserve.yaml");

    [Fact]
    public void Triton_inference_service_matches_golden() =>
        Golden.Check(KServeWriter.WriteTriton(Requests.ResNet(models), _out, Options with { TritonRuntimeVersion = "24.05-py3" }).InferenceServiceYaml,
            "kserve.triton.yaml");

    [Fact]
    public void Triton_storage_with_processing_holds_the_ensemble_its_steps_and_the_fused_model()
    {
        var processing = EnsembleProcessing.ResNet(models, Path.Combine(_out, "processing"));
        var bundle = KServeWriter.WriteTriton(Requests.ResNet(models), _out, Options with { TritonRuntimeVersion = "24.05-py3" }, new TritonOptions(), processing);

        Golden.Check(bundle.InferenceServiceYaml, "kserve.triton-ensemble.yaml");
        var servedModels = new[] { "resnet", "resnet_ensemble", "resnet_fused", "resnet_postprocess", "resnet_preprocess" };
        Assert.Equal(servedModels, Directory.GetDirectories(bundle.StorageDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        // The same configs as the bundle's own triton/ (the ensemble goldens), and a valid ensemble by Triton's rules.
        var configs = servedModels.ToDictionary(m => m, m => File.ReadAllText(Path.Combine(bundle.StorageDirectory, m, "config.pbtxt")));
        foreach (var (model, config) in configs)
        {
            TextProto.Parse(config);
            Golden.Check(config, $"ensemble.{model}.pbtxt");
        }
        TritonEnsembleRules.Check(configs["resnet_ensemble"], configs.Where(c => c.Key is not ("resnet_ensemble" or "resnet_fused")).ToDictionary());
        Assert.True(File.Exists(Path.Combine(bundle.StorageDirectory, "resnet_fused", "1", "model.onnx")));
    }

    [Fact]
    public void TorchServe_storage_has_the_runtimes_layout()
    {
        var bundle = KServeWriter.WriteTorchServe(Requests.ResNet(models), _out, Options);
        Assert.Equal(Path.Combine(_out, "storage", "torchserve"), bundle.StorageDirectory);
        Assert.True(File.Exists(Path.Combine(bundle.StorageDirectory, "model-store", "resnet.mar")));
        var properties = File.ReadAllText(Path.Combine(bundle.StorageDirectory, "config", "config.properties"));
        Assert.Contains("model_store=/mnt/models/model-store\n", properties);
        Assert.Contains("\"marName\":\"resnet.mar\"", properties);
        Assert.Equal(bundle.InferenceServiceYaml, File.ReadAllText(Path.Combine(_out, "inferenceservice-torchserve.yaml")));
    }

    [Fact]
    public void Triton_storage_is_the_repository_root()
    {
        var bundle = KServeWriter.WriteTriton(Requests.MultiIo(models), _out, Options);
        Assert.Equal(Path.Combine(_out, "storage", "triton"), bundle.StorageDirectory);
        Assert.True(File.Exists(Path.Combine(bundle.StorageDirectory, "multi_io", "config.pbtxt")));
        Assert.True(File.Exists(Path.Combine(bundle.StorageDirectory, "multi_io", "1", "model.onnx")));
        Assert.Contains("name: multi-io-triton\n", bundle.InferenceServiceYaml);
        Assert.Contains("protocolVersion: v2\n", bundle.InferenceServiceYaml);
        Assert.Equal(bundle.InferenceServiceYaml, File.ReadAllText(Path.Combine(_out, "inferenceservice-triton.yaml")));
    }

    /// <summary>
    /// Applying both manifests must create two services, each reading its own layout: distinct names, and each storage
    /// URI is the given one plus the folder below <c>storage/</c> that holds that runtime's layout.
    /// </summary>
    [Theory]
    [InlineData("s3://models/resnet")]
    [InlineData("s3://models/resnet/")]
    public void Both_services_have_their_own_name_and_their_own_storage_folder(string uri)
    {
        var torchServe = KServeWriter.WriteTorchServe(Requests.ResNet(models), _out, Options with { StorageUri = uri });
        var triton = KServeWriter.WriteTriton(Requests.ResNet(models), _out, Options with { StorageUri = uri });

        Assert.Contains("  name: resnet-torchserve\n", torchServe.InferenceServiceYaml);
        Assert.Contains("  name: resnet-triton\n", triton.InferenceServiceYaml);
        foreach (var bundle in new[] { torchServe, triton })
        {
            var folder = Path.GetRelativePath(Path.Combine(_out, KServeWriter.StorageFolder), bundle.StorageDirectory).Replace('\\', '/');
            Assert.Contains($"storageUri: \"s3://models/resnet/{folder}\"\n", bundle.InferenceServiceYaml);
        }
        Assert.NotEqual(torchServe.StorageDirectory, triton.StorageDirectory);
        Assert.True(File.Exists(Path.Combine(_out, "storage", "torchserve", "model-store", "resnet.mar")));
        Assert.True(File.Exists(Path.Combine(_out, "storage", "triton", "resnet", "config.pbtxt")));
    }

    [Fact]
    public void Resources_follow_the_instance_count_the_bundle_size_and_the_device()
    {
        const long MiB = 1 << 20;
        // Triton: 512 MiB + 2 instances × 2 × 90 MiB = 872 MiB, rounded up to 1024 MiB; limit twice that.
        Assert.Equal(new PodResources(2, 3, 1024, 2048, 0), PodResources.For(KServeRuntime.Triton, 2, DeviceKind.Cpu, 90 * MiB));
        // TorchServe: 1024 MiB + 3 workers × (512 MiB + 2 × 1 MiB) = 2566 MiB → 2816 MiB (a part of a MiB counts as one).
        Assert.Equal(new PodResources(3, 4, 2816, 5632, 1), PodResources.For(KServeRuntime.TorchServe, 3, DeviceKind.Gpu, MiB / 2));

        var yaml = KServeWriter.WriteTorchServe(Requests.ResNet(models, DeviceKind.Gpu), _out, Options).InferenceServiceYaml;
        // Requests.Batching has 2 instances: two workers.
        Assert.Contains("        requests:\n          cpu: \"2\"\n", yaml);
        Assert.Contains("        limits:\n          cpu: \"3\"\n", yaml);
        Assert.Contains("          nvidia.com/gpu: \"1\"\n", yaml);
        Assert.DoesNotContain("nvidia.com/gpu", KServeWriter.WriteTriton(Requests.ResNet(models), _out, Options).InferenceServiceYaml);
    }

    [Fact]
    public void Service_name_must_match_kserves_pattern() =>
        Rules.Fails(DiagnosticCode.KServeSpecInvalid, "[a-z]([-a-z0-9]*[a-z0-9])?",
            () => KServeWriter.WriteTriton(Requests.ResNet(models), _out, Options with { ServiceName = "ResNet" }));

    [Fact]
    public void Service_name_with_its_suffix_must_leave_room_for_the_predictor_service()
    {
        var longest = new string('a', KServeWriter.MaxServiceNameLength - "-torchserve".Length);
        Assert.Equal(53, KServeWriter.ServiceName(Requests.ResNet(models), Options with { ServiceName = longest }, KServeRuntime.TorchServe).Length);
        var e = Rules.Fails(DiagnosticCode.KServeSpecInvalid, "at most 63 characters, so the InferenceService name at most 53",
            () => KServeWriter.WriteTorchServe(Requests.ResNet(models), _out, Options with { ServiceName = longest + "a" }));
        Assert.Contains("at most 42 characters", e.Diagnostics[0].Hint);
        Assert.False(Directory.Exists(Path.Combine(_out, "storage")));
    }

    [Fact]
    public void Storage_uri_must_be_given() =>
        Rules.Fails(DiagnosticCode.KServeSpecInvalid, "an InferenceService needs a storageUri",
            () => KServeWriter.StorageUri(Options with { StorageUri = " " }, KServeRuntime.TorchServe));

    [Fact]
    public void Storage_uri_must_have_a_path_to_add_to() =>
        Rules.Fails(DiagnosticCode.KServeSpecInvalid, "has a query or fragment",
            () => KServeWriter.StorageUri(Options with { StorageUri = "https://account.blob.core.windows.net/models?sig=x" }, KServeRuntime.Triton));
}
