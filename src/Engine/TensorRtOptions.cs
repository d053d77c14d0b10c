using System.Globalization;
using ModelForge.Runtime;

namespace ModelForge.Engine;

/// <summary>
/// Maps an <see cref="EngineTarget"/> to ORT's TensorRT provider options, spelled exactly as
/// <c>OrtTensorRTProviderOptions.UpdateOptions</c> accepts them (every key below is in the ORT 1.31
/// <c>libonnxruntime_providers_tensorrt.so</c> option table; that binary links TensorRT 10, so the fp16/bf16 builder
/// flags still apply — TensorRT 11 drops them). Pure functions: nothing here loads a native library.
/// <para>
/// ORT resets every option not passed in an <c>UpdateOptions</c> call, and rejects empty values, so the map is complete
/// and leaves keys out rather than passing "" (trt.md §1.1).
/// </para>
/// </summary>
public static class TensorRtOptions
{
    /// <summary>
    /// The options that decide what engine gets built — the part of the cache key that is not the model. Paths are
    /// left out (they are derived from the key); so is <c>device_id</c>, which picks a GPU but does not change the
    /// engine for it.
    /// </summary>
    public static SortedDictionary<string, string> ForTarget(EngineTarget target)
    {
        var options = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["trt_engine_cache_enable"] = "1",
            ["trt_timing_cache_enable"] = Bool(target.TimingCache),
            ["trt_builder_optimization_level"] = Int(target.BuilderOptimizationLevel),
            // EP-context model with the engine in a separate file referenced by a path relative to the ctx model.
            ["trt_dump_ep_context_model"] = "1",
            ["trt_ep_context_embed_mode"] = "0",
        };
        switch (target.Precision)
        {
            case EnginePrecision.Fp16: options["trt_fp16_enable"] = "1"; break;
            case EnginePrecision.Bf16: options["trt_bf16_enable"] = "1"; break;
        }
        if (target.WorkspaceBytes is { } workspace)
            options["trt_max_workspace_size"] = workspace.ToString(CultureInfo.InvariantCulture);
        if (target.Profiles.Count > 0)
        {
            // All three or none: with one of them missing ORT silently ignores the others (trt.md §1.2).
            options["trt_profile_min_shapes"] = Shapes(target.Profiles, p => p.Min);
            options["trt_profile_opt_shapes"] = Shapes(target.Profiles, p => p.Opt);
            options["trt_profile_max_shapes"] = Shapes(target.Profiles, p => p.Max);
        }
        return options;
    }

    /// <summary>
    /// Everything passed to <c>UpdateOptions</c> for a build into <paramref name="layout"/>: <see cref="ForTarget"/> plus
    /// the device and the paths.
    /// <para>
    /// <c>trt_engine_cache_path</c> is deliberately not set. With <c>trt_dump_ep_context_model=1</c> ORT rebases the
    /// engine cache path under the ctx model's folder and writes it into the ctx model as a path relative to that
    /// folder; it must be relative and without "..", or the ctx model is refused at load (trt.md §1.5). Leaving it
    /// unset puts the engines right next to <c>*_ctx.onnx</c>, referenced by their bare file names. The timing cache
    /// path is not rebased, so it is absolute.
    /// </para>
    /// </summary>
    public static SortedDictionary<string, string> ForBuild(EngineTarget target, EngineLayout layout)
    {
        var options = ForTarget(target);
        options["device_id"] = Int(target.DeviceId);
        options["trt_ep_context_file_path"] = layout.CtxModelPath;
        if (target.TimingCache)
            options["trt_timing_cache_path"] = layout.Directory;
        return options;
    }

    /// <summary>
    /// Session config entries. <c>session.disable_cpu_ep_fallback</c> makes session creation fail when a node cannot be
    /// placed on TensorRT, instead of running it on the CPU without a word (trt.md §1.4).
    /// </summary>
    public static SortedDictionary<string, string> SessionEntries(EngineTarget target)
    {
        var entries = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (target.AllOnTensorRt) entries[OrtSessionRequest.DisableCpuFallback] = "1";
        return entries;
    }

    /// <summary>ORT's multi-input profile syntax: <c>a:1x3,b:1x16</c>, inputs in the target's order.</summary>
    private static string Shapes(IReadOnlyList<ShapeProfile> profiles, Func<ShapeProfile, IReadOnlyList<long>> shape) =>
        string.Join(",", profiles.Select(p => ShapeProfile.Format(p.Input, shape(p))));

    private static string Bool(bool value) => value ? "1" : "0";
    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);
}
