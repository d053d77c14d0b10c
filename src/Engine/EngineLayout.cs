using System.Text.RegularExpressions;
using ModelForge.Core.IO;

namespace ModelForge.Engine;

/// <summary>
/// Where one build's files live: <c>&lt;cache&gt;/&lt;first 16 hex digits of the cache key&gt;/</c> holds
/// <list type="bullet">
/// <item><c>&lt;model stem&gt;_ctx.onnx</c>: the EP-context model, one <c>EPContext</c> node whose <c>ep_cache_context</c>
/// attribute is the engine's file name (relative to this folder). This is what serving and validate load.</item>
/// <item><c>TensorrtExecutionProvider_TRTKernel_…_sm&lt;CC&gt;.engine</c> and <c>.profile</c>: the engine and its
/// optimisation profile, named by ORT.</item>
/// <item><c>TensorrtExecutionProvider_cache_sm&lt;CC&gt;.timing</c>: the timing cache (when enabled).</item>
/// <item><c>manifest.json</c> (<see cref="EngineManifest"/>): written last, so it exists only for a complete build.</item>
/// </list>
/// Everything in the folder is bound to the GPU architecture and the TensorRT/CUDA versions the manifest records.
/// </summary>
public sealed partial record EngineLayout(string CacheRoot, string Directory, string CtxModelPath, string ManifestPath)
{
    public const string ManifestFileName = "manifest.json";
    public const string CtxSuffix = "_ctx.onnx";

    /// <summary>The layout for a model file under a cache root, keyed by <paramref name="key"/>.</summary>
    public static EngineLayout For(string cacheRoot, EngineCacheKey key, string modelPath)
    {
        var root = Path.GetFullPath(cacheRoot);
        var directory = Path.Combine(root, key.DirectoryName);
        return new EngineLayout(root, directory,
            Path.Combine(directory, Path.GetFileNameWithoutExtension(modelPath) + CtxSuffix),
            Path.Combine(directory, ManifestFileName));
    }

    /// <summary>
    /// The cache root may hold only ModelForge's entries: it is absent, empty, marked (<see cref="OutputOwnership"/>), or,
    /// for a cache written before the marker existed, holds nothing but key folders. Else <c>MF5004</c>.
    /// </summary>
    public void EnsureCacheRootIsOurs()
    {
        var onlyKeyFolders = System.IO.Directory.Exists(CacheRoot) && System.IO.Directory.EnumerateFileSystemEntries(CacheRoot)
            .All(e => System.IO.Directory.Exists(e) && KeyFolder().IsMatch(Path.GetFileName(e)));
        if (!onlyKeyFolders)
            OutputOwnership.EnsureReplaceable(CacheRoot, force: false, "the engine cache", "engines would be written into it",
                "choose another --cache folder (an absent or empty one), or pass --force to write into it anyway (nothing there is deleted)");
    }

    /// <summary>Marks the cache root as ModelForge's once it writes there.</summary>
    public void MarkCacheRoot()
    {
        if (!OutputOwnership.IsMarked(CacheRoot)) OutputOwnership.WriteMarker(CacheRoot);
    }

    [GeneratedRegex("^[0-9a-f]{16}$")]
    private static partial Regex KeyFolder();

    /// <summary>The default cache root when none is given: an <c>engines</c> folder next to the model.</summary>
    public static string DefaultCacheRoot(string modelPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, "engines");
}
