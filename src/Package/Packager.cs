using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Package.KServe;
using ModelForge.Package.TorchServe;
using ModelForge.Package.Triton;
using ModelForge.Package.Tuning;

namespace ModelForge.Package;

/// <summary>Which bundles to write and how their batching is chosen.</summary>
public sealed record PackagingTargets
{
    /// <summary>Null: no TorchServe archive.</summary>
    public TorchServeOptions? TorchServe { get; init; }
    /// <summary>Null: no Triton repository.</summary>
    public TritonOptions? Triton { get; init; }
    /// <summary>Null: no KServe manifests; else one InferenceService per bundle written, for this storage URI.</summary>
    public string? KServeStorageUri { get; init; }
    public TuningLevel Tuning { get; init; } = TuningLevel.Quick;
    public TuningObjective Objective { get; init; } = new();
    /// <summary>The largest batch the bundles may accept (the spec's batch-dim max); the tuner's grid stops there.</summary>
    public int? MaxBatch { get; init; }
}

/// <param name="Warnings">What the bundles may get wrong without a server refusing them (e.g. MF4012); the tuner's own warnings are in <paramref name="Tuning"/>.</param>
public sealed record PackagingResult(BatchingConfig Batching, TuningReport? Tuning, IReadOnlyList<string> Written, IReadOnlyList<Diagnostic> Warnings);

/// <summary>
/// Tunes the batching once, then writes every requested bundle into one folder:
/// <c>tuning/</c> (report and plot), <c>torchserve/model-store/NAME.mar</c> + <c>config.properties</c>,
/// <c>triton/NAME/…</c>, and <c>kserve/</c>: <c>storage/{torchserve,triton}/</c> (one folder to upload to the storage URI,
/// each runtime's layout in its subfolder) and <c>inferenceservice-{torchserve,triton}.yaml</c>.
/// </summary>
public static class Packager
{
    public const string TuningFolder = "tuning";
    public const string TorchServeFolder = "torchserve";
    public const string TritonFolder = "triton";
    public const string KServeFolder = "kserve";

    public static PackagingResult Package(PackageRequest request, PackagingTargets targets, string outputDirectory, IProgress<string>? progress = null)
    {
        var written = new List<string>();
        var warnings = new List<Diagnostic>();
        var (batching, tuning) = ChooseBatching(request, targets, progress);
        if (tuning is not null)
            written.AddRange(Pair(TuningReportWriter.Write(tuning, Path.Combine(outputDirectory, TuningFolder))));
        request = request with { Batching = batching };

        if (targets.TorchServe is { } torchServe)
        {
            var store = Path.Combine(outputDirectory, TorchServeFolder, "model-store");
            var archive = TorchServeArchiver.Write(request, store, torchServe);
            var properties = Path.Combine(outputDirectory, TorchServeFolder, "config.properties");
            TorchServeProperties.WriteTo(properties, TorchServeProperties.Standalone(archive.Plan));
            written.Add(archive.Path);
            written.Add(properties);
            warnings.AddRange(archive.Plan.Warnings);
            if (targets.KServeStorageUri is { } uri)
                written.Add(KServeWriter.WriteTorchServe(request, Path.Combine(outputDirectory, KServeFolder), new KServeOptions(uri), torchServe).InferenceServicePath);
        }
        if (targets.Triton is { } triton)
        {
            written.Add(TritonRepositoryWriter.Write(request, Path.Combine(outputDirectory, TritonFolder), triton).ConfigPath);
            if (targets.KServeStorageUri is { } uri)
                written.Add(KServeWriter.WriteTriton(request, Path.Combine(outputDirectory, KServeFolder), new KServeOptions(uri), triton).InferenceServicePath);
        }
        return new PackagingResult(batching, tuning, written, warnings);
    }

    private static (BatchingConfig, TuningReport?) ChooseBatching(PackageRequest request, PackagingTargets targets, IProgress<string>? progress)
    {
        var options = TuningOptions.For(targets.Tuning);
        if (targets.MaxBatch is { } max)
        {
            var grid = options.BatchSizes.Where(b => b <= max).ToList();
            options = options with { BatchSizes = grid.Count > 0 ? grid : [max] };
        }
        if (targets.Tuning == TuningLevel.Off)
        {
            var fallback = TuningOptions.DefaultConfig;
            return (BatchDim.Of(request.Inputs) is not null
                ? fallback with { MaxBatchSize = Math.Min(fallback.MaxBatchSize, targets.MaxBatch ?? fallback.MaxBatchSize) }
                : fallback with { MaxBatchSize = 0 }, null);
        }
        var result = BatchTuner.Tune(request.OnnxPath, request.Inputs, targets.Objective, options, progress, modelName: request.ModelName);
        return (result.Config, result.Report);
    }

    private static IEnumerable<string> Pair((string First, string Second) pair) => [pair.First, pair.Second];
}
