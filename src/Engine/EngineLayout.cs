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
public sealed record EngineLayout(string CacheRoot, string Directory, string CtxModelPath, string ManifestPath)
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

    /// <summary>The default cache root when none is given: an <c>engines</c> folder next to the model.</summary>
    public static string DefaultCacheRoot(string modelPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, "engines");
}
