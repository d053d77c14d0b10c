using System.Security.Cryptography;
using System.Text;

namespace ModelForge.Engine;

/// <summary>
/// The key of a build's cache folder. ORT's own engine name hashes the model's file name, tensor names and runtime
/// versions but not the weights or most builder options (trt.md §1.3), so a retrained model with the same names would
/// silently reuse a stale engine. This key is SHA-256 over a canonical text:
/// <code>
/// modelforge-engine-cache/1
/// onnx.sha256=&lt;SHA-256 of the ONNX file's bytes&gt;
/// onnx.file_name=&lt;file name&gt;
/// onnxruntime=&lt;ORT version&gt;
/// &lt;option&gt;=&lt;value&gt;      (every engine-defining option, sorted by key, ordinal)
/// </code>
/// The file name is in it because ORT derives the engine and ctx file names from it: the same bytes under two
/// names would otherwise put two sets of engines in one folder. Paths are not in it (they are derived from the key).
/// </summary>
public sealed record EngineCacheKey(string Hex, string OnnxSha256, string CanonicalText)
{
    public const string Version = "modelforge-engine-cache/1";

    /// <summary>The cache folder name: the first 16 hex digits (64 bits) of the key.</summary>
    public string DirectoryName => Hex[..16];

    public static EngineCacheKey Compute(string onnxPath, IReadOnlyDictionary<string, string> engineOptions, string ortVersion) =>
        Compute(HashFile(onnxPath), Path.GetFileName(onnxPath), engineOptions, ortVersion);

    public static EngineCacheKey Compute(string onnxSha256, string onnxFileName, IReadOnlyDictionary<string, string> engineOptions, string ortVersion)
    {
        var text = new StringBuilder();
        text.Append(Version).Append('\n');
        text.Append("onnx.sha256=").Append(onnxSha256).Append('\n');
        text.Append("onnx.file_name=").Append(onnxFileName).Append('\n');
        text.Append("onnxruntime=").Append(ortVersion).Append('\n');
        foreach (var (key, value) in engineOptions.OrderBy(o => o.Key, StringComparer.Ordinal))
            text.Append(key).Append('=').Append(value).Append('\n');
        var canonical = text.ToString();
        return new EngineCacheKey(System.Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical))), onnxSha256, canonical);
    }

    /// <summary>SHA-256 of a file, streamed (models can be gigabytes), lowercase hex.</summary>
    public static string HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return System.Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
