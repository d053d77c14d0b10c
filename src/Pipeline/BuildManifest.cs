using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using ModelForge.Core.IO;
using ModelForge.Pipeline.Stages;

namespace ModelForge.Pipeline;

/// <summary>
/// The version a build added to an existing Triton repository (<c>package.triton.repository</c>), which lies outside the
/// output folder and so outside <see cref="BuildManifest.Artifacts"/>: the model, the version written, and every version
/// folder of the model after the write. No path: the manifest names nothing of this machine's.
/// </summary>
public sealed record TritonRepositoryRecord(string Model, int VersionWritten, IReadOnlyList<long> VersionsPresent)
{
    /// <summary>With pre-/post-processing: the same for each other model of the chain (the steps, the fused model, the ensemble); null without.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<TritonRepositoryRecord>? ProcessingModels { get; init; }
}

/// <summary>One file of a finished build, relative to the output folder.</summary>
public sealed record BuildArtifact(string Path, long Bytes, string Sha256);

/// <summary>
/// <c>build-manifest.json</c>, written last into the staging folder: what was built from what, with which tool, and
/// the content hash of every artifact. Deterministic (no timestamps, relative paths, sorted artifacts), so the same
/// inputs give a byte-identical manifest. A later build with the same <see cref="InputHash"/> whose artifacts still
/// hash the same has nothing to do. The shape is schemas/build-manifest.schema.json; a manifest of another
/// <see cref="Format"/> (format 1 kept each stage's outcome as a string) is not read, so the build simply runs.
/// </summary>
public sealed record BuildManifest
{
    public const string FileName = "build-manifest.json";
    public const int CurrentFormat = 2;

    public int Format { get; init; } = CurrentFormat;
    public required string Name { get; init; }
    /// <summary>SHA-256 over the tool version, the spec and the content of every file it references.</summary>
    public required string InputHash { get; init; }
    public required IReadOnlyDictionary<string, string> Tools { get; init; }
    public required IReadOnlyDictionary<string, string> Inputs { get; init; }
    /// <summary>What each stage that ran did, by stage name (<see cref="IBuildStage.Name"/>), sorted by name.</summary>
    public required IReadOnlyDictionary<string, StageOutcome> Stages { get; init; }
    public required IReadOnlyList<BuildArtifact> Artifacts { get; init; }
    /// <summary>Null (absent) unless the spec names a Triton repository.</summary>
    public TritonRepositoryRecord? TritonRepository { get; init; }
    /// <summary>Null (absent) unless the spec asks for a precision besides fp32: every candidate's gate measures and latencies, and the one kept.</summary>
    public PrecisionChoice? Precision { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // The precision table's SQNR is +Infinity for identical outputs.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json) + "\n";

    public void Write(string directory) =>
        AtomicFile.Write(Path.Combine(directory, FileName), stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(ToJson())));

    /// <summary>The manifest of a previous build, or null when there is none or it cannot be read (then the build runs).</summary>
    public static BuildManifest? TryLoad(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            var bytes = File.ReadAllBytes(path);
            // The format first: another format's fields need not parse as this one's.
            using (var document = JsonDocument.Parse(bytes))
                if (document.RootElement.ValueKind != JsonValueKind.Object
                    || !document.RootElement.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.Number
                    || !format.TryGetInt32(out var number) || number != CurrentFormat)
                    return null;
            return JsonSerializer.Deserialize<BuildManifest>(bytes, Json);
        }
        catch (Exception e) when (e is JsonException or IOException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>Every file under <paramref name="directory"/> except the manifest itself, sorted by path.</summary>
    public static List<BuildArtifact> Scan(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Select(f => System.IO.Path.GetRelativePath(directory, f).Replace('\\', '/'))
            .Where(p => p != FileName && System.IO.Path.GetFileName(p) != OutputOwnership.MarkerFileName)
            .Order(StringComparer.Ordinal)
            .Select(p => new BuildArtifact(p, new FileInfo(System.IO.Path.Combine(directory, p)).Length, Sha256Of(System.IO.Path.Combine(directory, p))))
            .ToList();

    /// <summary>True when every artifact is present with the size and hash the manifest recorded.</summary>
    public bool ArtifactsIntact(string directory) => Artifacts.All(a =>
    {
        var path = System.IO.Path.Combine(directory, a.Path);
        return File.Exists(path) && new FileInfo(path).Length == a.Bytes && Sha256Of(path) == a.Sha256;
    });

    public static string Sha256Of(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return System.Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
