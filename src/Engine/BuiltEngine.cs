using System.Text.Json;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Engine;

/// <summary>
/// What the other stages need from an engine folder (<see cref="EngineLayout.Directory"/>): whether its manifest says
/// the engine was built, and the EP-context model that loads it. Read from <c>manifest.json</c>, which the builder
/// writes last, so a folder without one holds no usable engine.
/// </summary>
public sealed record BuiltEngine(string Directory, bool Built, string? Reason, string? CtxModelPath)
{
    public static BuiltEngine Load(string directory)
    {
        var manifestPath = Path.Combine(directory, EngineLayout.ManifestFileName);
        if (!File.Exists(manifestPath))
            throw new ModelForgeException(DiagnosticCode.FileNotFound,
                $"'{directory}' has no {EngineLayout.ManifestFileName}, so it holds no complete engine build", new SourceLocation(manifestPath),
                "pass the engine folder that modelforge engine printed (an interrupted build leaves no manifest)");
        try
        {
            using var manifest = JsonDocument.Parse(File.ReadAllBytes(manifestPath));
            var root = manifest.RootElement;
            var built = root.GetProperty("status").GetString() == "built";
            var reason = root.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
            var ctx = root.TryGetProperty("ctxModel", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            if (ctx is not null && (Path.IsPathRooted(ctx) || ctx.Contains("..", StringComparison.Ordinal)))
                throw new InvalidDataException($"ctxModel '{ctx}' is not a file name inside the engine folder");
            return new BuiltEngine(directory, built, reason, ctx is null ? null : Path.Combine(directory, ctx));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or InvalidDataException)
        {
            throw new ModelForgeException(new Diagnostic(DiagnosticCode.EngineBuildFailed,
                $"{manifestPath} is not a ModelForge engine manifest: {e.Message}", new SourceLocation(manifestPath),
                "build the engine again with modelforge engine"), e);
        }
    }
}
