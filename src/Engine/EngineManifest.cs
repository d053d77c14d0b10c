using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using ModelForge.Core.IO;

namespace ModelForge.Engine;

public enum EngineBuildStatus
{
    Built,
    Skipped,
}

/// <summary>The GPU an engine is bound to, as CUDA reports it; compute capability as "8.6".</summary>
public sealed record GpuInfo(string Name, string ComputeCapability);

/// <summary>One file of a build, relative to the build's folder, with its SHA-256 and size.</summary>
public sealed record EngineFile(string Role, string Name, string Sha256, long Bytes)
{
    public const string EngineRole = "engine";
    public const string ProfileRole = "profile";
    public const string CtxModelRole = "ctx-model";
    public const string TimingCacheRole = "timing-cache";
}

/// <summary>
/// What a build produced and what it is bound to. TensorRT, CUDA and GPU facts come from the libraries the TensorRT
/// provider loaded; where they are not known (a skipped build) they are null, never guessed.
/// </summary>
public sealed record EngineManifest
{
    public const int SchemaVersion = 1;

    public required EngineBuildStatus Status { get; init; }
    /// <summary>Why the build was skipped (the probe's reason); null when built.</summary>
    public string? Reason { get; init; }
    public required string ToolVersion { get; init; }
    public required string OnnxRuntimeVersion { get; init; }
    public string? TensorRtVersion { get; init; }
    public string? CudaVersion { get; init; }
    public GpuInfo? Gpu { get; init; }
    public required string OnnxFileName { get; init; }
    public required string OnnxSha256 { get; init; }
    public required string CacheKey { get; init; }
    public required string Precision { get; init; }
    public required IReadOnlyDictionary<string, string> ProviderOptions { get; init; }
    public required IReadOnlyDictionary<string, string> SessionOptions { get; init; }
    public required IReadOnlyList<ShapeProfile> Profiles { get; init; }
    /// <summary>The ctx model's file name in the build folder; null when none was written.</summary>
    public string? CtxModel { get; init; }
    public IReadOnlyList<EngineFile> Files { get; init; } = [];
    public required DateTimeOffset CreatedAt { get; init; }
    public double? BuildSeconds { get; init; }

    private static readonly JsonWriterOptions Options = new()
    {
        Indented = true,
        NewLine = "\n",
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// Indented UTF-8 JSON, camelCase names in a fixed order (the order is part of the format), absent values as
    /// null rather than left out, options sorted by key, times as UTC ISO 8601, files sorted by name.
    /// </summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, Options))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", SchemaVersion);
            json.WriteString("status", Status == EngineBuildStatus.Built ? "built" : "skipped");
            json.WriteString("reason", Reason);
            json.WriteString("toolVersion", ToolVersion);
            json.WriteString("onnxRuntimeVersion", OnnxRuntimeVersion);
            json.WriteString("tensorRtVersion", TensorRtVersion);
            json.WriteString("cudaVersion", CudaVersion);
            if (Gpu is null) json.WriteNull("gpu");
            else
            {
                json.WriteStartObject("gpu");
                json.WriteString("name", Gpu.Name);
                json.WriteString("computeCapability", Gpu.ComputeCapability);
                json.WriteEndObject();
            }
            json.WriteStartObject("onnx");
            json.WriteString("fileName", OnnxFileName);
            json.WriteString("sha256", OnnxSha256);
            json.WriteEndObject();
            json.WriteString("cacheKey", CacheKey);
            json.WriteString("precision", Precision);
            WriteMap(json, "providerOptions", ProviderOptions);
            WriteMap(json, "sessionOptions", SessionOptions);
            json.WriteStartArray("profiles");
            foreach (var profile in Profiles)
            {
                json.WriteStartObject();
                json.WriteString("input", profile.Input);
                WriteShape(json, "min", profile.Min);
                WriteShape(json, "opt", profile.Opt);
                WriteShape(json, "max", profile.Max);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteString("ctxModel", CtxModel);
            json.WriteStartArray("files");
            foreach (var file in Files.OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                json.WriteStartObject();
                json.WriteString("role", file.Role);
                json.WriteString("name", file.Name);
                json.WriteString("sha256", file.Sha256);
                json.WriteNumber("bytes", file.Bytes);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteString("createdAt", CreatedAt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            if (BuildSeconds is { } seconds) json.WriteNumber("buildSeconds", Math.Round(seconds, 3));
            else json.WriteNull("buildSeconds");
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>Writes the JSON atomically: a reader sees the old manifest, none, or the complete new one.</summary>
    public void WriteTo(string path) =>
        AtomicFile.Write(path, stream => stream.Write(new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(ToJson())));

    private static void WriteMap(Utf8JsonWriter json, string name, IReadOnlyDictionary<string, string> map)
    {
        json.WriteStartObject(name);
        foreach (var (key, value) in map.OrderBy(p => p.Key, StringComparer.Ordinal)) json.WriteString(key, value);
        json.WriteEndObject();
    }

    private static void WriteShape(Utf8JsonWriter json, string name, IReadOnlyList<long> shape)
    {
        json.WriteStartArray(name);
        foreach (var dim in shape) json.WriteNumberValue(dim);
        json.WriteEndArray();
    }
}
