using System.Globalization;

namespace ModelForge.Package.KServe;

/// <summary>The KServe runtimes ModelForge writes InferenceServices for.</summary>
public enum KServeRuntime
{
    /// <summary><c>kserve-torchserve</c>: a TorchServe archive and config.properties.</summary>
    TorchServe,

    /// <summary><c>kserve-tritonserver</c>: a Triton model repository.</summary>
    Triton,
}

public static class KServeRuntimes
{
    /// <summary>
    /// <c>torchserve</c> or <c>triton</c>: the InferenceService name's suffix (<c>NAME-torchserve</c>), the storage folder
    /// (<c>storage/torchserve/</c>) and the storage URI's last segment (<c>URI/torchserve</c>).
    /// </summary>
    public static string Folder(this KServeRuntime runtime) => runtime == KServeRuntime.Triton ? "triton" : "torchserve";
}

/// <summary>
/// The predictor container's <c>resources</c>: CPU and memory requests and limits, and GPUs (limits only: Kubernetes sets
/// the request of an extended resource to its limit).
/// </summary>
public sealed record PodResources(int CpuRequest, int CpuLimit, long MemoryRequestMiB, long MemoryLimitMiB, int Gpus)
{
    /// <summary>Memory quantities are whole multiples of this.</summary>
    public const long MemoryStepMiB = 256;

    /// <summary>
    /// The resources for a bundle of <paramref name="bundleBytes"/> served by <paramref name="instances"/> Triton instances
    /// or TorchServe workers (the tuned instance count, unless the TorchServe options set the workers). These are
    /// starting points derived from the bundle, not measurements of a cluster; the rule:
    /// <list type="bullet">
    /// <item>CPU request = instances: one core per Triton instance or TorchServe worker. Each runs one batch at a time,
    /// and the tuner measured the instances running side by side; with fewer cores they would take turns, and the tuned
    /// count would buy nothing.</item>
    /// <item>CPU limit = instances + 1: a core on top for the server's own threads (Triton's HTTP/gRPC front end and
    /// batcher; TorchServe's Java front end and the KServe wrapper), so that they do not throttle the instances.</item>
    /// <item>memory request = base + instances × (worker + 2 × bundle size), rounded up to 256 MiB. Every instance loads
    /// its own copy of the weights (Triton's onnxruntime backend opens one session per instance, TorchServe one model per
    /// worker), and ONNX Runtime's optimized weights and activation arena take about as much again. Base: 512 MiB for
    /// Triton (the server and the backend's libraries), 1 GiB for TorchServe (its Java front end and the KServe wrapper);
    /// worker: 512 MiB for a TorchServe worker (a Python process with torch imported), 0 for a Triton instance (a session
    /// inside the server's process).</item>
    /// <item>memory limit = 2 × request: activations grow with the batch and are not modelled here, and a container over
    /// its memory limit is killed, while one over its request is only the first to go under node memory pressure.</item>
    /// <item>GPU bundles: <c>nvidia.com/gpu: 1</c>. The instance count is per GPU, and every instance shares that one.</item>
    /// </list>
    /// The bundle size is what the runtime downloads: the archive or the model repository, weights included.
    /// </summary>
    public static PodResources For(KServeRuntime runtime, int instances, DeviceKind device, long bundleBytes)
    {
        instances = Math.Max(1, instances);
        var (baseMiB, workerMiB) = runtime == KServeRuntime.TorchServe ? (1024L, 512L) : (512L, 0L);
        var bundleMiB = (bundleBytes + (1 << 20) - 1) >> 20;
        var request = RoundUp(baseMiB + instances * (workerMiB + 2 * bundleMiB));
        return new PodResources(instances, instances + 1, request, 2 * request, device == DeviceKind.Gpu ? 1 : 0);
    }

    /// <summary>The total size of the files under <paramref name="directory"/>.</summary>
    public static long SizeOf(string directory) =>
        new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    /// <summary>A Kubernetes quantity: a whole number of cores or GPUs (<c>2</c>), or of MiB (<c>1536Mi</c>).</summary>
    public static string Quantity(long value, string unit = "") => value.ToString(CultureInfo.InvariantCulture) + unit;

    private static long RoundUp(long mebibytes) => (mebibytes + MemoryStepMiB - 1) / MemoryStepMiB * MemoryStepMiB;
}
