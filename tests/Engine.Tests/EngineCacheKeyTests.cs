namespace ModelForge.Engine.Tests;

public sealed class EngineCacheKeyTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelforge-key-").FullName;
    private static readonly SortedDictionary<string, string> Options = TensorRtOptions.ForTarget(new EngineTarget
    {
        Profiles = [new ShapeProfile("x", [1, 4], [8, 4], [8, 4])],
    });

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>A tiny stand-in model file: the key hashes bytes, it does not parse them.</summary>
    private string Model(string folder, byte[] bytes, string name = "model.onnx")
    {
        var path = Path.Combine(_directory, folder, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static readonly byte[] Bytes = [0x08, 0x08, 0x12, 0x04, 0x74, 0x65, 0x73, 0x74, 0x01, 0x02, 0x03, 0x04];

    [Fact]
    public void The_same_bytes_under_the_same_name_give_the_same_key_wherever_the_file_is()
    {
        var first = EngineCacheKey.Compute(Model("a", Bytes), Options, "1.31.0");
        var second = EngineCacheKey.Compute(Model("b", Bytes), Options, "1.31.0");
        Assert.Equal(first.Hex, second.Hex);
        Assert.Equal(16, first.DirectoryName.Length);
    }

    [Fact]
    public void One_changed_weight_byte_gives_a_new_key_although_ort_would_reuse_its_engine()
    {
        var changed = (byte[])Bytes.Clone();
        changed[^1] ^= 1;
        Assert.NotEqual(EngineCacheKey.Compute(Model("a", Bytes), Options, "1.31.0").Hex,
            EngineCacheKey.Compute(Model("b", changed), Options, "1.31.0").Hex);
    }

    [Fact]
    public void A_changed_option_or_ort_version_or_file_name_gives_a_new_key()
    {
        var path = Model("a", Bytes);
        var baseline = EngineCacheKey.Compute(path, Options, "1.31.0").Hex;
        var levelFive = new SortedDictionary<string, string>(Options) { ["trt_builder_optimization_level"] = "5" };
        Assert.NotEqual(baseline, EngineCacheKey.Compute(path, levelFive, "1.31.0").Hex);
        Assert.NotEqual(baseline, EngineCacheKey.Compute(path, Options, "1.32.0").Hex);
        Assert.NotEqual(baseline, EngineCacheKey.Compute(Model("a", Bytes, "other.onnx"), Options, "1.31.0").Hex);
    }

    [Fact]
    public void Option_order_does_not_matter()
    {
        var path = Model("a", Bytes);
        var reversed = Options.Reverse().ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(EngineCacheKey.Compute(path, Options, "1.31.0").Hex, EngineCacheKey.Compute(path, reversed, "1.31.0").Hex);
    }

    /// <summary>The expected hex was computed independently (Python hashlib over the same canonical text).</summary>
    [Fact]
    public void The_key_of_a_fixed_input_is_stable_across_runs_and_machines()
    {
        var key = EngineCacheKey.Compute(Model("a", Bytes), Options, "1.31.0");
        Assert.Equal("9b5bc1b100720116550c41fbfd340b30ed7b94e007a59884914a349005b374ec", key.Hex);
        Assert.Equal(
            "modelforge-engine-cache/1\n" +
            $"onnx.sha256={key.OnnxSha256}\n" +
            "onnx.file_name=model.onnx\n" +
            "onnxruntime=1.31.0\n" +
            "trt_builder_optimization_level=3\n" +
            "trt_dump_ep_context_model=1\n" +
            "trt_engine_cache_enable=1\n" +
            "trt_ep_context_embed_mode=0\n" +
            "trt_profile_max_shapes=x:8x4\n" +
            "trt_profile_min_shapes=x:1x4\n" +
            "trt_profile_opt_shapes=x:8x4\n" +
            "trt_timing_cache_enable=1\n", key.CanonicalText);
    }

    [Fact]
    public void The_onnx_hash_is_the_sha256_of_the_file()
    {
        Assert.Equal(System.Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Bytes)), EngineCacheKey.HashFile(Model("a", Bytes)));
    }
}
