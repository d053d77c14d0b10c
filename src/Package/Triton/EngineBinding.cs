using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using ModelForge.Core.Diagnostics;
using ModelForge.Engine;
using Onnx;

namespace ModelForge.Package.Triton;

/// <summary>
/// What a Triton repository needs from a <c>modelforge engine</c> folder: the EP-context model (served as
/// <c>model.onnx</c>), the engine files it references (copied next to it, since ORT resolves <c>ep_cache_context</c>
/// relative to the ctx model and Triton's onnxruntime backend loads the model from its path), the accelerator settings,
/// and the GPU/TensorRT the engine is bound to, read from the engine's <c>manifest.json</c>.
/// </summary>
internal sealed record EngineBinding(
    string Directory,
    string CtxModelPath,
    IReadOnlyList<string> FileNames,
    string Precision,
    long? WorkspaceBytes,
    string? TensorRtVersion,
    string? CudaVersion,
    string? OnnxRuntimeVersion,
    string? GpuName,
    string? ComputeCapability,
    IReadOnlyDictionary<string, (long Min, long Max)> BatchRanges)
{
    public static EngineBinding Load(string directory)
    {
        var built = BuiltEngine.Load(directory);
        var manifestPath = Path.Combine(directory, EngineLayout.ManifestFileName);
        if (!built.Built || built.CtxModelPath is null)
            throw Unusable($"engine folder '{directory}' holds no built engine ({built.Reason ?? "the manifest names no ctx model"}): " +
                "a Triton TensorRT bundle needs a built engine", manifestPath,
                "build the engine on the serving GPU with modelforge engine, or package without --engine");
        PackageChecks.RequireFile(built.CtxModelPath, "the engine's EP-context model", "build the engine again with modelforge engine");

        using var manifest = JsonDocument.Parse(File.ReadAllBytes(manifestPath));
        var root = manifest.RootElement;
        var files = new List<string>();
        if (root.TryGetProperty("files", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var file in list.EnumerateArray())
            {
                var role = file.GetProperty("role").GetString();
                var name = file.GetProperty("name").GetString() ?? "";
                if (role is not (EngineFile.EngineRole or EngineFile.ProfileRole)) continue;
                if (name.Length == 0 || name != Path.GetFileName(name) || name is "." or "..")
                    throw Unusable($"engine manifest file name '{name}' is not a plain file name inside the engine folder", manifestPath,
                        "build the engine again with modelforge engine");
                PackageChecks.RequireFile(Path.Combine(directory, name), $"engine file ({role})", "build the engine again with modelforge engine");
                files.Add(name);
            }
        }
        foreach (var referenced in ReferencedEngines(built.CtxModelPath))
        {
            if (!files.Contains(referenced, StringComparer.Ordinal))
                throw Unusable($"the ctx model references engine file '{referenced}', which the engine manifest does not list: " +
                    "the ctx model and its engine must be packaged together", built.CtxModelPath, "build the engine again with modelforge engine");
        }
        files.Sort(StringComparer.Ordinal);

        long? workspace = null;
        if (root.TryGetProperty("providerOptions", out var options) && options.TryGetProperty("trt_max_workspace_size", out var ws)
            && long.TryParse(ws.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var bytes))
            workspace = bytes;
        var ranges = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        if (root.TryGetProperty("profiles", out var profiles) && profiles.ValueKind == JsonValueKind.Array)
        {
            foreach (var profile in profiles.EnumerateArray())
            {
                var min = profile.GetProperty("min");
                var max = profile.GetProperty("max");
                if (min.GetArrayLength() > 0 && max.GetArrayLength() > 0)
                    ranges[profile.GetProperty("input").GetString() ?? ""] = (min[0].GetInt64(), max[0].GetInt64());
            }
        }
        var gpu = root.TryGetProperty("gpu", out var g) && g.ValueKind == JsonValueKind.Object ? g : (JsonElement?)null;
        return new EngineBinding(directory, built.CtxModelPath, files,
            (String(root, "precision") ?? "fp32").ToUpperInvariant(), workspace,
            String(root, "tensorRtVersion"), String(root, "cudaVersion"), String(root, "onnxRuntimeVersion"),
            gpu is { } gi ? String(gi, "name") : null, gpu is { } gc ? String(gc, "computeCapability") : null, ranges);
    }

    /// <summary>One line for config.pbtxt and KServe annotations: what this engine runs on, and nothing else.</summary>
    public string Describe() =>
        $"GPU {GpuName ?? "unknown"} (compute capability {ComputeCapability ?? "unknown"}), TensorRT {TensorRtVersion ?? "unknown"}, " +
        $"CUDA {CudaVersion ?? "unknown"}, ONNX Runtime {OnnxRuntimeVersion ?? "unknown"}";

    /// <summary>The engine files the ctx model's EPContext nodes point at (embed_mode 0); embedded engines need none.</summary>
    private static List<string> ReferencedEngines(string ctxModelPath)
    {
        ModelProto model;
        try
        {
            using var stream = File.OpenRead(ctxModelPath);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ModelForgeException(new Diagnostic(DiagnosticCode.PackageOnnxUnreadable,
                $"'{ctxModelPath}' is not a readable ONNX model: {e.Message}", new SourceLocation(ctxModelPath),
                "build the engine again with modelforge engine"), e);
        }
        var names = new List<string>();
        foreach (var node in model.Graph?.Node ?? [])
        {
            if (node.OpType != "EPContext") continue;
            var embed = node.Attribute.FirstOrDefault(a => a.Name == "embed_mode")?.I ?? 1;
            var context = node.Attribute.FirstOrDefault(a => a.Name == "ep_cache_context");
            if (embed == 0 && context is not null) names.Add(context.S.ToStringUtf8());
        }
        return names;
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static ModelForgeException Unusable(string message, string file, string hint) =>
        new(DiagnosticCode.PackageEngineUnusable, message, new SourceLocation(file), hint);
}
