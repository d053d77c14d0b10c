namespace ModelForge.Engine.Tests;

public sealed class EngineManifestTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelforge-manifest-").FullName;
    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static readonly EngineTarget Target = new()
    {
        Precision = EnginePrecision.Fp16,
        Profiles = [new ShapeProfile("x", [1, 3, 64, 64], [8, 3, 64, 64], [8, 3, 64, 64])],
        WorkspaceBytes = 1L << 30,
        AllOnTensorRt = true,
    };

    private static EngineManifest Skipped() => new()
    {
        Status = EngineBuildStatus.Skipped,
        Reason = "TensorrtExecutionProvider cannot be used here: [ErrorCode:Fail] … (libcublas.so.13 is missing)",
        ToolVersion = "0.1.0",
        OnnxRuntimeVersion = "1.31.0",
        OnnxFileName = "resnet18_small.onnx",
        OnnxSha256 = new string('a', 64),
        CacheKey = new string('b', 64),
        Precision = "fp16",
        ProviderOptions = EngineBuilder.ManifestOptions(Target),
        SessionOptions = TensorRtOptions.SessionEntries(Target),
        Profiles = Target.Profiles,
        CreatedAt = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero),
    };

    [Fact]
    public void A_skipped_build_records_the_reason_and_leaves_every_gpu_fact_null()
    {
        Golden.Check(Skipped().ToJson(), "manifest.skipped.json");
    }

    [Fact]
    public void A_built_manifest_records_versions_gpu_options_profiles_and_file_hashes()
    {
        var manifest = Skipped() with
        {
            Status = EngineBuildStatus.Built,
            Reason = null,
            TensorRtVersion = "10.14.1",
            CudaVersion = "13.0",
            Gpu = new GpuInfo("NVIDIA H100 80GB HBM3", "9.0"),
            CtxModel = "resnet18_small_ctx.onnx",
            Files =
            [
                new EngineFile(EngineFile.TimingCacheRole, "TensorrtExecutionProvider_cache_sm90.timing", new string('3', 64), 4096),
                new EngineFile(EngineFile.CtxModelRole, "resnet18_small_ctx.onnx", new string('1', 64), 512),
                new EngineFile(EngineFile.EngineRole, "TensorrtExecutionProvider_TRTKernel_graph_main_graph_123_0_0_fp16_sm90.engine", new string('2', 64), 1234567),
                new EngineFile(EngineFile.ProfileRole, "TensorrtExecutionProvider_TRTKernel_graph_main_graph_123_0_0_fp16_sm90.profile", new string('4', 64), 64),
            ],
            BuildSeconds = 12.34567,
        };
        Golden.Check(manifest.ToJson(), "manifest.built.json");
    }

    [Fact]
    public void The_manifest_is_written_atomically_leaving_no_temporary_file()
    {
        var path = Path.Combine(_directory, "sub", EngineLayout.ManifestFileName);
        Skipped().WriteTo(path);
        Assert.Equal(Skipped().ToJson(), File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void The_layout_puts_ctx_model_and_manifest_in_the_key_folder()
    {
        var key = EngineCacheKey.Compute(new string('a', 64), "m.onnx", new Dictionary<string, string>(), "1.31.0");
        var layout = EngineLayout.For(_directory, key, "/models/m.onnx");
        Assert.Equal(Path.Combine(_directory, key.Hex[..16]), layout.Directory);
        Assert.Equal(Path.Combine(layout.Directory, "m_ctx.onnx"), layout.CtxModelPath);
        Assert.Equal(Path.Combine(layout.Directory, "manifest.json"), layout.ManifestPath);
        Assert.Equal("/models/engines", EngineLayout.DefaultCacheRoot("/models/m.onnx"));
    }
}
