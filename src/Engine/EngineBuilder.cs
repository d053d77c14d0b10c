using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Runtime;
using Onnx;

namespace ModelForge.Engine;

/// <summary>A build request: the ONNX model, its declared inputs, the target (profiles resolved), where to cache.</summary>
public sealed record EngineRequest(string OnnxPath, IReadOnlyList<InputSpec> Inputs, EngineTarget Target)
{
    /// <summary>Cache root; null means <see cref="EngineLayout.DefaultCacheRoot"/>.</summary>
    public string? CacheRoot { get; init; }

    /// <summary>Providers that must be usable: a failed probe for one of them is <see cref="DiagnosticCode.EngineProviderUnavailable"/>.</summary>
    public IReadOnlyList<EngineRequirement> Required { get; init; } = [];

    /// <summary>Write into a cache root that holds files ModelForge did not write (nothing there is deleted either way).</summary>
    public bool Force { get; init; }
}

/// <summary>
/// The outcome of the engine stage. <see cref="EngineBuildStatus.Skipped"/> carries the probe's reason and writes
/// nothing (a skipped run must never replace the manifest of a build made on a GPU machine sharing the cache);
/// <see cref="EngineBuildStatus.Built"/> has written <see cref="EngineLayout.ManifestPath"/>.
/// </summary>
public sealed record EngineBuildResult(EngineBuildStatus Status, EngineLayout Layout, EngineManifest Manifest, ProbeResult Cuda)
{
    public string? Reason => Manifest.Reason;
    /// <summary>Things worth telling the user that do not fail the build (e.g. why no ctx model is recorded).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>
/// Builds TensorRT engines through ONNX Runtime's TensorRT provider into a content-keyed cache folder
/// (<see cref="EngineLayout"/>), or reports the stage as skipped when the probe says TensorRT cannot run here.
/// </summary>
public static class EngineBuilder
{
    public static string ToolVersion => typeof(EngineBuilder).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
    public static string OrtVersion => OrtHost.Version;

    public static EngineBuildResult Build(EngineRequest request, Func<DateTimeOffset>? clock = null)
    {
        clock ??= () => DateTimeOffset.UtcNow;
        var onnxPath = Path.GetFullPath(request.OnnxPath);
        if (!File.Exists(onnxPath))
            throw new ModelForgeException(DiagnosticCode.FileNotFound, $"ONNX model '{onnxPath}' does not exist", new SourceLocation(onnxPath),
                "convert the model first (modelforge convert), or check the path");
        var target = request.Target.Validated();
        CheckInputs(onnxPath, request.Inputs, target);

        var engineOptions = TensorRtOptions.ForTarget(target);
        var key = EngineCacheKey.Compute(onnxPath, engineOptions, OrtVersion);
        var layout = EngineLayout.For(request.CacheRoot ?? EngineLayout.DefaultCacheRoot(onnxPath), key, onnxPath);
        // Refused even where TensorRT is missing and nothing would be written: the same command must not start
        // writing into someone's folder on the GPU machine.
        if (!request.Force) layout.EnsureCacheRootIsOurs();
        var manifest = new EngineManifest
        {
            Status = EngineBuildStatus.Skipped,
            ToolVersion = ToolVersion,
            OnnxRuntimeVersion = OrtVersion,
            OnnxFileName = Path.GetFileName(onnxPath),
            OnnxSha256 = key.OnnxSha256,
            CacheKey = key.Hex,
            Precision = EngineTarget.NameOf(target.Precision),
            ProviderOptions = ManifestOptions(target),
            SessionOptions = TensorRtOptions.SessionEntries(target),
            Profiles = target.Profiles,
            CreatedAt = clock(),
        };

        foreach (var required in request.Required.Distinct())
        {
            var probe = EngineProbe.For(required);
            if (!probe.Available)
                throw new ModelForgeException(DiagnosticCode.EngineProviderUnavailable,
                    $"{EngineProbe.ProviderName(required)} is required (--require {(required == EngineRequirement.Cuda ? "cuda" : "tensorrt")}) but cannot run here: {probe.Reason}",
                    null, "run on a machine with an NVIDIA GPU and the CUDA/TensorRT libraries the ONNX Runtime package links, or drop --require");
        }

        var cuda = EngineProbe.Cuda;
        var trt = EngineProbe.TensorRt;
        if (!trt.Available)
            return new EngineBuildResult(EngineBuildStatus.Skipped, layout, manifest with { Reason = trt.Reason }, cuda);
        return BuildEngine(onnxPath, target, layout, manifest, cuda, clock);
    }

    /// <summary>The options recorded in the manifest: what defines the engine, plus the device; no machine-specific paths.</summary>
    internal static SortedDictionary<string, string> ManifestOptions(EngineTarget target)
    {
        var options = TensorRtOptions.ForTarget(target);
        options["device_id"] = target.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return options;
    }

    /// <summary>
    /// The declared inputs must be the model's: ORT drops a profile naming an unknown input with only a warning and
    /// then builds at the first run instead of at session creation (trt.md §1.2). Checked with a CPU session so it
    /// also fails where TensorRT is absent.
    /// </summary>
    private static void CheckInputs(string onnxPath, IReadOnlyList<InputSpec> inputs, EngineTarget target)
    {
        if (inputs.Count == 0 && target.Profiles.Count == 0) return;
        var request = new OrtSessionRequest(onnxPath, OrtFailure.CannotLoad(DiagnosticCode.EngineBuildFailed, onnxPath)) { Optimization = GraphOptimizationLevel.ORT_DISABLE_ALL };
        IReadOnlyList<string> names;
        using (var session = OrtHost.Open(request)) names = session.InputNames.ToList();
        var declared = inputs.Select(i => i.Name).Concat(target.Profiles.Select(p => p.Input)).Distinct().ToList();
        var unknown = declared.Where(n => !names.Contains(n)).ToList();
        if (unknown.Count > 0 || (inputs.Count > 0 && inputs.Count != names.Count))
            throw new ModelForgeException(DiagnosticCode.InputSpecMismatch,
                $"the engine inputs ({string.Join(", ", declared)}) do not match the ONNX model's inputs ({string.Join(", ", names)})",
                new SourceLocation(onnxPath), "declare the same --input list used for convert");
    }

    /// <summary>Runs only where TensorRT loads: builds (or reuses) the engine, warms it up, records it.</summary>
    private static EngineBuildResult BuildEngine(string onnxPath, EngineTarget target, EngineLayout layout, EngineManifest manifest, ProbeResult cuda,
        Func<DateTimeOffset> clock)
    {
        Directory.CreateDirectory(layout.Directory);
        layout.MarkCacheRoot();
        // The manifest is the "build complete" marker and is written last: delete any older one first, so a build
        // interrupted from here on leaves engine files but no manifest that looks complete.
        File.Delete(layout.ManifestPath);
        var stopwatch = Stopwatch.StartNew();
        var started = DateTime.UtcNow;

        // With explicit profiles (or static shapes) the engine is built or loaded from the cache right here.
        var session = OrtHost.Open(new OrtSessionRequest(onnxPath, Failure($"TensorRT could not build an engine for '{onnxPath}'", target))
        {
            Provider = OrtProvider.TensorRt,
            ProviderOptions = TensorRtOptions.ForBuild(target, layout),
            SessionEntries = TensorRtOptions.SessionEntries(target),
            LogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        });

        IReadOnlyList<string> inputNames, outputNames;
        using (session)
        {
            inputNames = session.InputNames.ToList();
            outputNames = session.OutputNames.ToList();
            foreach (var (stage, shapes) in WarmUpShapes(session, target))
                OrtErrors.Guard(() => WarmUp(session, shapes), () => Failure(
                    $"the engine failed its warm-up run at the {stage} shapes ({string.Join(", ", shapes.Select(s => ShapeProfile.Format(s.Key, s.Value)))})", target));
        }

        var notes = new List<string>();
        var gpu = NativeVersions.Gpu(target.DeviceId);
        var files = CollectFiles(layout, inputNames, outputNames, started, notes, out var ctxModel);
        var built = manifest with
        {
            Status = EngineBuildStatus.Built,
            TensorRtVersion = NativeVersions.TensorRt(),
            CudaVersion = NativeVersions.CudaRuntime(),
            Gpu = gpu,
            CtxModel = ctxModel,
            Files = files,
            CreatedAt = clock(),
            BuildSeconds = stopwatch.Elapsed.TotalSeconds,
        };
        built.WriteTo(layout.ManifestPath);
        return new EngineBuildResult(EngineBuildStatus.Built, layout, built, cuda) { Notes = notes };
    }

    /// <summary>How the build reports an ONNX Runtime failure (<see cref="OrtErrors.ToDiagnostic"/> adds ORT's words after <paramref name="what"/>).</summary>
    private static OrtFailure Failure(string what, EngineTarget target) => new(DiagnosticCode.EngineBuildFailed, what, null, Hint(target));

    private static string Hint(EngineTarget target) => target.AllOnTensorRt
        ? "a node TensorRT cannot run fails the build with --all-on-tensorrt; drop it to let those nodes fall back to the CPU"
        : "check the profiles against the model's inputs and the GPU's free memory (--workspace-mb limits the builder)";

    /// <summary>Warm-up shapes: min, opt and max of every profile; inputs without a profile keep their static shape.</summary>
    internal static IEnumerable<(string Stage, IReadOnlyDictionary<string, long[]> Shapes)> WarmUpShapes(InferenceSession session, EngineTarget target)
    {
        var stages = target.Profiles.Count == 0
            ? new (string, Func<ShapeProfile, IReadOnlyList<long>>)[] { ("static", p => p.Opt) }
            : [("min", p => p.Min), ("opt", p => p.Opt), ("max", p => p.Max)];
        foreach (var (stage, pick) in stages)
        {
            var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
            foreach (var name in session.InputNames)
            {
                var profile = target.Profiles.FirstOrDefault(p => p.Input == name);
                var dims = session.InputMetadata[name].Dimensions;
                shapes[name] = profile is not null ? pick(profile).ToArray()
                    : dims.All(d => d >= 0) ? dims.Select(d => (long)d).ToArray()
                    : throw new ModelForgeException(DiagnosticCode.EngineBuildFailed, $"input '{name}' is dynamic but has no profile", null, Hint(target));
            }
            yield return (stage, shapes);
        }
    }

    private static void WarmUp(InferenceSession session, IReadOnlyDictionary<string, long[]> shapes)
    {
        var names = session.InputNames;
        var values = new List<OrtValue>();
        try
        {
            foreach (var name in names)
            {
                var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, session.InputMetadata[name].ElementDataType, shapes[name]);
                value.GetTensorMutableRawData().Clear();
                values.Add(value);
            }
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, names, values, session.OutputNames);
        }
        finally
        {
            foreach (var value in values) value.Dispose();
        }
    }

    /// <summary>
    /// The files this build stands on: the ctx model, the engines it references (and their .profile files), the
    /// timing cache. ORT never deletes stale engines (trt.md §1.3), so engines are taken from the ctx model's
    /// references rather than from a directory listing; without a usable ctx model, engines written by this build.
    /// </summary>
    private static List<EngineFile> CollectFiles(EngineLayout layout, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, DateTime started,
        List<string> notes, out string? ctxModel)
    {
        var files = new List<EngineFile>();
        var engines = new List<string>();
        ctxModel = null;
        if (File.Exists(layout.CtxModelPath))
        {
            var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(layout.CtxModelPath));
            var contexts = model.Graph.Node.Where(n => n.OpType == "EPContext").ToList();
            engines.AddRange(contexts.SelectMany(n => n.Attribute).Where(a => a.Name == "ep_cache_context").Select(a => a.S.ToStringUtf8()));
            var whole = contexts.Count == 1 && model.Graph.Node.Count == 1 &&
                        model.Graph.Input.Select(i => i.Name).Order().SequenceEqual(inputs.Order()) &&
                        model.Graph.Output.Select(o => o.Name).Order().SequenceEqual(outputs.Order());
            if (whole) ctxModel = Path.GetFileName(layout.CtxModelPath);
            else notes.Add($"{Path.GetFileName(layout.CtxModelPath)} does not cover the whole model (part of it runs outside TensorRT), so it is not recorded; use --all-on-tensorrt to find the nodes");
        }
        else notes.Add("ONNX Runtime wrote no EP-context model");

        if (ctxModel is null)
            engines = Directory.GetFiles(layout.Directory, "*.engine").Where(f => File.GetLastWriteTimeUtc(f) >= started).Select(Path.GetFileName).OfType<string>().ToList();
        else
            files.Add(Describe(layout, EngineFile.CtxModelRole, ctxModel));

        foreach (var engine in engines.Distinct())
        {
            if (Path.IsPathRooted(engine) || engine.Contains("..", StringComparison.Ordinal) || !File.Exists(Path.Combine(layout.Directory, engine)))
            {
                notes.Add($"engine '{engine}' referenced by the ctx model is not in {layout.Directory}");
                continue;
            }
            files.Add(Describe(layout, EngineFile.EngineRole, engine));
            var profile = Path.ChangeExtension(engine, ".profile");
            if (File.Exists(Path.Combine(layout.Directory, profile))) files.Add(Describe(layout, EngineFile.ProfileRole, profile));
        }
        foreach (var timing in Directory.GetFiles(layout.Directory, "TensorrtExecutionProvider_cache_sm*.timing"))
            files.Add(Describe(layout, EngineFile.TimingCacheRole, Path.GetFileName(timing)));
        return files;
    }

    private static EngineFile Describe(EngineLayout layout, string role, string name)
    {
        var path = Path.Combine(layout.Directory, name);
        return new EngineFile(role, name.Replace('\\', '/'), EngineCacheKey.HashFile(path), new FileInfo(path).Length);
    }
}
