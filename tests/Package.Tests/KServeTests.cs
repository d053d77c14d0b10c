using ModelForge.Core.Diagnostics;
using ModelForge.Package.KServe;

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
    public void TorchServe_storage_has_the_runtimes_layout()
    {
        var bundle = KServeWriter.WriteTorchServe(Requests.ResNet(models), _out, Options);
        Assert.True(File.Exists(Path.Combine(bundle.StorageDirectory, "model-store", "resnet.mar")));
        var properties = File.ReadAllText(Path.Combine(bundle.StorageDirectory, "config", "config.properties"));
        Assert.Contains("model_store=/mnt/models/model-store\n", properties);
        Assert.Contains("\"marName\":\"resnet.mar\"", properties);
        Assert.Equal(bundle.InferenceServiceYaml, File.ReadAllText(Path.Combine(_out, "inferenceservice.yaml")));
    }

    [Fact]
    public void Triton_storage_is_the_repository_root()
    {
        var bundle = KServeWriter.WriteTriton(Requests.MultiIo(models), _out, Options);
        Assert.True(File.Exists(Path.Combine(bundle.StorageDirectory, "multi_io", "config.pbtxt")));
        Assert.True(File.Exists(Path.Combine(bundle.StorageDirectory, "multi_io", "1", "model.onnx")));
        Assert.Contains("name: multi-io\n", bundle.InferenceServiceYaml);
        Assert.Contains("protocolVersion: v2\n", bundle.InferenceServiceYaml);
    }

    [Fact]
    public void Service_name_must_match_kserves_pattern() =>
        Rules.Fails(DiagnosticCode.KServeSpecInvalid, "[a-z]([-a-z0-9]*[a-z0-9])?",
            () => KServeWriter.WriteTriton(Requests.ResNet(models), _out, Options with { ServiceName = "ResNet-" }));

    [Fact]
    public void Storage_uri_must_be_given() =>
        Rules.Fails(DiagnosticCode.KServeSpecInvalid, "an InferenceService needs a storageUri",
            () => KServeWriter.TorchServeInferenceService("resnet", Options with { StorageUri = "" }, DeviceKind.Cpu));
}
