using System.Text.Json;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Runtime;

namespace ModelForge.Engine.Tests;

/// <summary>The stage end to end on fixtures/models/resnet18_small: the skip path here, the real build on a GPU machine.</summary>
public sealed class EngineBuilderTests(ResNetOnnx onnx) : IClassFixture<ResNetOnnx>
{
    private EngineRequest Request(string cache, EngineTarget? target = null) =>
        new(onnx.Path, [ResNetOnnx.Input], target ?? new EngineTarget { Profiles = ShapeProfiles.Resolve([ResNetOnnx.Input], new Dictionary<string, DimRange>(), 2) })
        {
            CacheRoot = cache,
        };

    private string NewCache() => Directory.CreateTempSubdirectory("modelforge-cache-").FullName;

    [NoTensorRtFact]
    public void Without_tensorrt_the_probe_names_the_provider_and_the_missing_library()
    {
        var probe = EngineProbe.TensorRt;
        Assert.False(probe.Available);
        Assert.StartsWith("TensorrtExecutionProvider cannot", probe.Reason);
        Assert.Matches(@"\(lib[^ ]+\.so[.0-9]* is missing\)|cannot run here", probe.Reason);
    }

    [NoTensorRtFact]
    public void Without_tensorrt_the_stage_is_skipped_with_the_probe_reason_and_writes_nothing()
    {
        var cache = NewCache();
        try
        {
            var result = EngineBuilder.Build(Request(cache));
            Assert.Equal(EngineBuildStatus.Skipped, result.Status);
            Assert.Equal(EngineProbe.TensorRt.Reason, result.Reason);
            Assert.Null(result.Manifest.TensorRtVersion);
            Assert.Null(result.Manifest.Gpu);
            Assert.Equal(EngineCacheKey.HashFile(onnx.Path), result.Manifest.OnnxSha256);
            Assert.Empty(Directory.EnumerateFileSystemEntries(cache));
        }
        finally { Directory.Delete(cache, recursive: true); }
    }

    [NoTensorRtFact]
    public void Requiring_tensorrt_turns_the_skip_into_MF6001_naming_the_reason()
    {
        var error = Assert.Throws<ModelForgeException>(() => EngineBuilder.Build(Request(NewCache()) with { Required = [EngineRequirement.TensorRt] }));
        Assert.Equal(DiagnosticCode.EngineProviderUnavailable, error.Code);
        Assert.Contains(EngineProbe.TensorRt.Reason!, error.Message);
    }

    [Fact]
    public void Requiring_cuda_uses_the_same_probe_logic()
    {
        if (EngineProbe.Cuda.Available) return; // nothing to fail on a GPU machine
        var error = Assert.Throws<ModelForgeException>(() => EngineBuilder.Build(Request(NewCache()) with { Required = [EngineRequirement.Cuda] }));
        Assert.Equal(DiagnosticCode.EngineProviderUnavailable, error.Code);
        Assert.Contains("CUDAExecutionProvider", error.Message);
    }

    [Fact]
    public void Inputs_that_are_not_the_models_are_refused_before_any_build()
    {
        var wrong = ModelForge.Model.InputSpec.Parse("image:float32[batch,3,64,64]");
        var target = new EngineTarget { Profiles = ShapeProfiles.Resolve([wrong], new Dictionary<string, DimRange>(), 2) };
        var error = Assert.Throws<ModelForgeException>(() => EngineBuilder.Build(new EngineRequest(onnx.Path, [wrong], target) { CacheRoot = NewCache() }));
        Assert.Equal(DiagnosticCode.InputSpecMismatch, error.Code);
    }

    [Fact]
    public void A_missing_model_is_MF1001()
    {
        var error = Assert.Throws<ModelForgeException>(() => EngineBuilder.Build(Request(NewCache()) with { OnnxPath = Path.Combine(onnx.Directory, "nope.onnx") }));
        Assert.Equal(DiagnosticCode.FileNotFound, error.Code);
    }

    [GpuFact]
    public void On_a_gpu_the_engine_is_built_warmed_up_and_recorded_and_a_second_build_reuses_it()
    {
        var cache = NewCache();
        try
        {
            var target = new EngineTarget { Profiles = ShapeProfiles.Resolve([ResNetOnnx.Input], new Dictionary<string, DimRange>(), 4), AllOnTensorRt = true };
            var result = EngineBuilder.Build(Request(cache, target));

            Assert.Equal(EngineBuildStatus.Built, result.Status);
            Assert.True(File.Exists(result.Layout.ManifestPath));
            Assert.True(File.Exists(result.Layout.CtxModelPath));
            var manifest = result.Manifest;
            Assert.Equal("resnet18_small_ctx.onnx", manifest.CtxModel);
            Assert.NotNull(manifest.TensorRtVersion);
            Assert.NotNull(manifest.CudaVersion);
            Assert.NotNull(manifest.Gpu);
            var engine = Assert.Single(manifest.Files, f => f.Role == EngineFile.EngineRole);
            Assert.Equal(EngineCacheKey.HashFile(Path.Combine(result.Layout.Directory, engine.Name)), engine.Sha256);
            using (var json = JsonDocument.Parse(File.ReadAllText(result.Layout.ManifestPath)))
                Assert.Equal("built", json.RootElement.GetProperty("status").GetString());

            // The ctx model runs on its own: no rebuild, shapes inside the profile.
            var ctx = result.Layout.CtxModelPath;
            using (var session = OrtHost.Open(new OrtSessionRequest(ctx, OrtFailure.CannotLoad(DiagnosticCode.EngineBuildFailed, ctx)) { Provider = OrtProvider.TensorRt }))
                Assert.Equal("x", Assert.Single(session.InputNames));

            var again = EngineBuilder.Build(Request(cache, target));
            Assert.Equal(engine, Assert.Single(again.Manifest.Files, f => f.Role == EngineFile.EngineRole));
        }
        finally { Directory.Delete(cache, recursive: true); }
    }
}
