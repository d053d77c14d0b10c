using ModelForge.Core.Diagnostics;

namespace ModelForge.Engine.Tests;

public sealed class TensorRtOptionsTests
{
    private static readonly ShapeProfile Image = new("x", [1, 3, 64, 64], [8, 3, 64, 64], [8, 3, 64, 64]);
    private static readonly EngineLayout Layout = new("/cache", "/cache/0123456789abcdef", "/cache/0123456789abcdef/m_ctx.onnx", "/cache/0123456789abcdef/manifest.json");

    [Fact]
    public void Fp32_defaults_enable_engine_and_timing_caches_and_an_ep_context_model_with_the_engine_in_a_separate_file()
    {
        var options = TensorRtOptions.ForTarget(new EngineTarget());
        Assert.Equal(new SortedDictionary<string, string>
        {
            ["trt_builder_optimization_level"] = "3",
            ["trt_dump_ep_context_model"] = "1",
            ["trt_engine_cache_enable"] = "1",
            ["trt_ep_context_embed_mode"] = "0",
            ["trt_timing_cache_enable"] = "1",
        }, options);
    }

    [Theory]
    [InlineData(EnginePrecision.Fp16, "trt_fp16_enable")]
    [InlineData(EnginePrecision.Bf16, "trt_bf16_enable")]
    public void Reduced_precision_sets_exactly_its_builder_flag(EnginePrecision precision, string key)
    {
        var options = TensorRtOptions.ForTarget(new EngineTarget { Precision = precision });
        Assert.Equal("1", options[key]);
        Assert.Single(options.Keys, k => k is "trt_fp16_enable" or "trt_bf16_enable" or "trt_int8_enable");
    }

    [Fact]
    public void Workspace_builder_level_and_profiles_map_to_ort_names_and_syntax()
    {
        var ids = new ShapeProfile("ids", [1, 16], [4, 128], [8, 512]);
        var options = TensorRtOptions.ForTarget(new EngineTarget
        {
            Profiles = [Image, ids], WorkspaceBytes = 2L << 30, BuilderOptimizationLevel = 5, TimingCache = false,
        });
        Assert.Equal("2147483648", options["trt_max_workspace_size"]);
        Assert.Equal("5", options["trt_builder_optimization_level"]);
        Assert.Equal("0", options["trt_timing_cache_enable"]);
        Assert.Equal("x:1x3x64x64,ids:1x16", options["trt_profile_min_shapes"]);
        Assert.Equal("x:8x3x64x64,ids:4x128", options["trt_profile_opt_shapes"]);
        Assert.Equal("x:8x3x64x64,ids:8x512", options["trt_profile_max_shapes"]);
    }

    [Fact]
    public void Static_models_get_no_profile_keys_because_ort_needs_all_three_or_none()
    {
        var options = TensorRtOptions.ForTarget(new EngineTarget());
        Assert.DoesNotContain(options.Keys, k => k.StartsWith("trt_profile_", StringComparison.Ordinal));
    }

    [Fact]
    public void The_build_map_adds_device_ctx_path_and_timing_path_but_never_an_engine_cache_path()
    {
        var options = TensorRtOptions.ForBuild(new EngineTarget { Profiles = [Image] }, Layout);
        Assert.Equal("0", options["device_id"]);
        Assert.Equal("/cache/0123456789abcdef/m_ctx.onnx", options["trt_ep_context_file_path"]);
        Assert.Equal("/cache/0123456789abcdef", options["trt_timing_cache_path"]);
        // An absolute engine cache path would end up in the ctx model, which ORT then refuses to load.
        Assert.DoesNotContain("trt_engine_cache_path", options.Keys);
        Assert.All(options.Values, v => Assert.NotEqual("", v)); // ORT rejects empty values
    }

    [Fact]
    public void Without_a_timing_cache_there_is_no_timing_cache_path()
    {
        var options = TensorRtOptions.ForBuild(new EngineTarget { TimingCache = false }, Layout);
        Assert.DoesNotContain("trt_timing_cache_path", options.Keys);
    }

    [Fact]
    public void All_on_tensorrt_disables_the_cpu_fallback_and_is_otherwise_absent()
    {
        Assert.Equal("1", TensorRtOptions.SessionEntries(new EngineTarget { AllOnTensorRt = true })["session.disable_cpu_ep_fallback"]);
        Assert.Empty(TensorRtOptions.SessionEntries(new EngineTarget()));
    }

    [Theory]
    [InlineData("fp32", EnginePrecision.Fp32)]
    [InlineData("FP16", EnginePrecision.Fp16)]
    [InlineData("bfloat16", EnginePrecision.Bf16)]
    public void Precision_names_parse(string text, EnginePrecision expected) => Assert.Equal(expected, EngineTarget.ParsePrecision(text));

    [Fact]
    public void Unknown_precision_and_out_of_range_builder_levels_are_MF6003()
    {
        Assert.Equal(DiagnosticCode.EngineTargetInvalid, Assert.Throws<ModelForgeException>(() => EngineTarget.ParsePrecision("int4")).Code);
        Assert.Equal(DiagnosticCode.EngineTargetInvalid, Assert.Throws<ModelForgeException>(() => new EngineTarget { BuilderOptimizationLevel = 6 }.Validated()).Code);
        Assert.Equal(DiagnosticCode.EngineTargetInvalid, Assert.Throws<ModelForgeException>(() => new EngineTarget { WorkspaceBytes = 0 }.Validated()).Code);
        Assert.Equal(DiagnosticCode.EngineTargetInvalid, Assert.Throws<ModelForgeException>(() => EngineTarget.ParseRequirement("rocm")).Code);
    }

    [Theory]
    [InlineData(100900, "10.9.0")]
    [InlineData(101401, "10.14.1")]
    [InlineData(8601, "8.6.1")]
    public void TensorRt_versions_format_as_major_minor_patch(int encoded, string expected) => Assert.Equal(expected, NativeVersions.FormatTensorRt(encoded));

    [Theory]
    [InlineData(13000, "13.0")]
    [InlineData(12090, "12.9")]
    public void Cuda_versions_format_as_major_minor(int encoded, string expected) => Assert.Equal(expected, NativeVersions.FormatCuda(encoded));
}
