using ModelForge.Engine;
using ModelForge.Model;
using ModelForge.Pipeline.Spec;

namespace ModelForge.Pipeline.Stages;

/// <summary>
/// TensorRT engines for <c>model.onnx</c>, copied into <c>engine/</c>, when the spec has a <c>tensorrt</c> section.
/// Where TensorRT cannot run the stage is skipped (an error, MF6001, with <c>require</c>), and the next build with the
/// same inputs on a machine where it runs builds again.
/// </summary>
public sealed class EngineStage : IBuildStage
{
    /// <summary>The manifest keeps the verdict; the log gets the probe's reason, which names this machine's paths.</summary>
    public const string SkippedReason = "TensorRT cannot run here";

    public string Name => "engine";

    public bool RunsFor(ModelSpec spec) => spec.TensorRt is not null;

    public string Detail(ModelSpec spec) => $"TensorRT {EngineTarget.NameOf(spec.TensorRt!.Precision)}";

    public StageOutcome Run(BuildContext context)
    {
        var spec = context.Spec;
        var result = EngineBuilder.Build(RequestFor(spec, spec.TensorRt!, context.OnnxPath, context.Settings));
        if (result.Status == EngineBuildStatus.Skipped)
        {
            context.Reporter.Info($"engine: {result.Reason}");
            return new StageOutcome.Skipped(SkippedReason);
        }
        var engineDirectory = Path.Combine(context.StagingDirectory, BuildPipeline.EngineFolder);
        CopyDirectory(result.Layout.Directory, engineDirectory);
        context.EngineDirectory = engineDirectory;
        return new StageOutcome.Done($"built for {result.Manifest.Gpu?.Name ?? "unknown GPU"} (TensorRT {result.Manifest.TensorRtVersion ?? "?"})");
    }

    /// <summary>A skip for want of TensorRT does not stand once TensorRT runs here.</summary>
    public bool StillStands(StageOutcome previous) => previous is not StageOutcome.Skipped || !EngineProbe.TensorRt.Available;

    /// <summary>The spec's <c>tensorrt</c> section and dim ranges as an engine request, into the settings' cache (default ~/.cache/modelforge/engines).</summary>
    public static EngineRequest RequestFor(ModelSpec spec, TensorRtSpec trt, string onnxPath, BuildSettings settings) =>
        new(onnxPath, spec.Inputs, TargetFor(trt, ProfilesFor(spec)))
        {
            CacheRoot = settings.EngineCacheRoot ?? DefaultCache(),
            Required = trt.Require ? [EngineRequirement.TensorRt] : [],
            Force = settings.Force,
        };

    /// <summary>The builder settings of a <c>tensorrt</c> section (or of <c>modelforge engine</c>'s options, which make one).</summary>
    public static EngineTarget TargetFor(TensorRtSpec trt, IReadOnlyList<ShapeProfile> profiles) => new()
    {
        Precision = trt.Precision,
        Profiles = profiles,
        WorkspaceBytes = trt.WorkspaceMb * 1024 * 1024,
        BuilderOptimizationLevel = trt.BuilderLevel,
        TimingCache = trt.TimingCache,
        AllOnTensorRt = trt.AllOnTensorRt,
    };

    /// <summary>One profile per input with symbolic dims, from the spec's dim ranges; the batch dim defaults to 1..8 without one.</summary>
    public static IReadOnlyList<ShapeProfile> ProfilesFor(ModelSpec spec) => ShapeProfiles.Resolve(spec.Inputs, spec.Dims, EngineTarget.DefaultMaxBatch);

    /// <summary>The engine cache builds share (engines are keyed by content, so reuse is safe): ~/.cache/modelforge/engines.</summary>
    private static string DefaultCache()
    {
        var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(cache, "modelforge", "engines");
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
