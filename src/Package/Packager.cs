using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Package.KServe;
using ModelForge.Package.Processing;
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
    /// <summary>Where the tuning decision is recorded and reused (<see cref="TuningLock"/>); null: measure every time, record nothing.</summary>
    public string? LockPath { get; init; }
    public TuningLockMode LockMode { get; init; } = TuningLockMode.Reuse;
    /// <summary>Pre- and post-processing around the model: a Triton ensemble (and a fused model on request) and a generated TorchServe handler; null: the bare model.</summary>
    public ProcessingOptions? Processing { get; init; }
    /// <summary>
    /// A tuning of this very model with these targets, already measured (a build's precision stage tunes each candidate
    /// it chooses between): used where the tuner would measure; a matching tuning lock still wins.
    /// </summary>
    public TuningResult? Measured { get; init; }
}

/// <param name="Warnings">What the bundles may get wrong without a server refusing them (e.g. MF4012), and a stale tuning lock (MF4057); the tuner's own warnings are in <paramref name="Tuning"/>.</param>
/// <param name="ReusedLock">The decision came from the tuning lock: nothing was measured.</param>
/// <param name="TritonVersion">The version added to <see cref="TritonOptions.Repository"/>; null without one.</param>
public sealed record PackagingResult(BatchingConfig Batching, TuningReport? Tuning, IReadOnlyList<string> Written, IReadOnlyList<Diagnostic> Warnings,
    bool ReusedLock = false, TritonVersionWrite? TritonVersion = null)
{
    /// <summary>With pre-/post-processing and a repository: the versions added to the steps, the fused model and the ensemble (the model's own is <see cref="TritonVersion"/>).</summary>
    public IReadOnlyList<TritonVersionWrite> TritonProcessingVersions { get; init; } = [];

    /// <summary>Every version added to the repository, the model's first.</summary>
    public IEnumerable<TritonVersionWrite> TritonVersions => TritonVersion is null ? [] : TritonProcessingVersions.Prepend(TritonVersion);
}

/// <summary>
/// Tunes the batching once, then writes every requested bundle into one folder:
/// <c>tuning/</c> (report and plot), <c>torchserve/model-store/NAME.mar</c> + <c>config.properties</c>,
/// <c>triton/NAME/…</c> (or the model's next version in an existing repository, <see cref="TritonOptions.Repository"/>), and <c>kserve/</c>: <c>storage/{torchserve,triton}/</c> (one folder to upload to the storage URI,
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
        // Checked before anything is measured or written: a spec that cannot fit the model changes nothing.
        var processing = targets.Processing is { } processingOptions ? ProcessingPlan.Resolve(processingOptions, request.OnnxPath, request.OutputNames) : null;
        var (batching, tuning, reused) = ChooseBatching(request, targets, warnings, progress);
        if (tuning is not null)
        {
            written.AddRange(Pair(TuningReportWriter.Write(tuning, Path.Combine(outputDirectory, TuningFolder))));
            if (tuning.Traffic is not null) written.Add(Path.Combine(outputDirectory, TuningFolder, TuningReportWriter.TrafficPlotFileName));
        }
        request = request with { Batching = batching };
        var processingFiles = processing is null ? null : ProcessingFiles.Write(processing, request.ModelName, Path.Combine(outputDirectory, ProcessingFiles.Folder));
        if (processingFiles is not null)
            written.AddRange(new[] { processingFiles.PreprocessPath, processingFiles.PostprocessPath, processingFiles.FusedPath }.OfType<string>().Concat(processingFiles.FusedDataPaths));

        if (targets.TorchServe is { } torchServe)
        {
            var store = Path.Combine(outputDirectory, TorchServeFolder, "model-store");
            var archiveRequest = processing is null ? request : WithProcessingHandler(request, processing, Path.Combine(outputDirectory, TorchServeFolder), written);
            var archive = TorchServeArchiver.Write(archiveRequest, store, torchServe);
            var properties = Path.Combine(outputDirectory, TorchServeFolder, "config.properties");
            TorchServeProperties.WriteTo(properties, TorchServeProperties.Standalone(archive.Plan));
            written.Add(archive.Path);
            written.Add(properties);
            warnings.AddRange(archive.Plan.Warnings);
            if (targets.KServeStorageUri is { } uri)
                written.Add(KServeWriter.WriteTorchServe(archiveRequest, Path.Combine(outputDirectory, KServeFolder), new KServeOptions(uri), torchServe).InferenceServicePath);
        }
        IReadOnlyList<TritonVersionWrite> tritonVersions = [];
        if (targets.Triton is { } triton)
        {
            triton = WithTunedCores(triton, tuning);
            TritonModel model;
            if (triton.Repository is { } repository)
                model = (tritonVersions = processing is null
                    ? [TritonRepositoryVersions.Add(request, repository, triton)]
                    : TritonRepositoryVersions.AddEnsemble(request, repository, triton, processing, processingFiles!))[0].Model;
            else if (processing is not null)
                model = WriteEnsemble(request, triton, processing, processingFiles!, Path.Combine(outputDirectory, TritonFolder), written);
            else
                written.Add((model = TritonRepositoryWriter.Write(request, Path.Combine(outputDirectory, TritonFolder), triton)).ConfigPath);
            warnings.AddRange(model.Plan.Warnings);
            if (targets.KServeStorageUri is { } uri)
                written.Add(KServeWriter.WriteTriton(request, Path.Combine(outputDirectory, KServeFolder), new KServeOptions(uri), triton,
                    processing is null ? null : (processing, processingFiles!)).InferenceServicePath);
        }
        return new PackagingResult(batching, tuning, written, warnings, reused, tritonVersions.FirstOrDefault()) { TritonProcessingVersions = tritonVersions.Skip(1).ToList() };
    }

    /// <summary>
    /// The generated handler (<see cref="ProcessingHandler"/>) in place of base_handler, with the label file in the archive;
    /// a handler of the user's own is kept: it is theirs to make agree with the ensemble.
    /// </summary>
    private static PackageRequest WithProcessingHandler(PackageRequest request, ProcessingPlan processing, string directory, List<string> written)
    {
        if (request.Handler != "base_handler") return request;
        var handler = ProcessingHandler.Write(processing, request.ModelName, directory);
        written.Add(handler);
        var labels = processing.Postprocess?.LabelFile is { } labelFile ? new[] { labelFile } : [];
        return request with { Handler = handler, ExtraFiles = [.. request.ExtraFiles, .. labels] };
    }

    /// <summary>The ensemble's models (and NAME_fused) in the bundle's <c>triton/</c>; returns the model itself (whose warnings the bundle reports).</summary>
    private static TritonModel WriteEnsemble(PackageRequest request, TritonOptions triton, ProcessingPlan processing, ProcessingFiles files, string repository,
        List<string> written)
    {
        var models = TritonEnsembleWriter.WriteWithFused(request, triton, processing, files, repository);
        written.AddRange(models.Select(m => m.ConfigPath));
        return models.Single(m => m.Plan.ModelName == request.ModelName);
    }

    /// <summary>
    /// The cores the instances share, for <c>intra_op_thread_count</c>: those the tuner measured on (recorded in the
    /// tuning lock, so a reused decision writes the same config), else this machine's; a spec's own value stays.
    /// </summary>
    private static TritonOptions WithTunedCores(TritonOptions triton, TuningReport? tuning) =>
        triton.Settings.Cores is not null ? triton : triton with { Settings = triton.Settings with { Cores = tuning?.Cores ?? Environment.ProcessorCount } };

    private static (BatchingConfig, TuningReport?, bool ReusedLock) ChooseBatching(PackageRequest request, PackagingTargets targets,
        List<Diagnostic> warnings, IProgress<string>? progress)
    {
        if (targets.Objective.Traffic is { } traffic)
        {
            traffic.Validate(targets.Objective.P99BudgetMilliseconds);
            if (targets.Tuning == TuningLevel.Off)
                throw new ModelForgeException(DiagnosticCode.TrafficProfileInvalid, $"traffic profile: {traffic} needs measured service times, and tuning is off",
                    null, "tune (level quick or full) to simulate the traffic, or drop the traffic profile");
        }
        var options = TuningOptionsFor(targets);
        if (targets.Tuning == TuningLevel.Off)
        {
            var fallback = TuningOptions.DefaultConfig;
            return (BatchDim.Of(request.Inputs) is not null
                ? fallback with { MaxBatchSize = Math.Min(fallback.MaxBatchSize, targets.MaxBatch ?? fallback.MaxBatchSize) }
                : fallback with { MaxBatchSize = 0 }, null, false);
        }
        if (targets.LockPath is not { } lockPath)
        {
            var unlocked = Measure(request, targets, options, progress);
            return (unlocked.Config, unlocked.Report, false);
        }

        var key = TuningLockKey.For(request.OnnxPath, request.Inputs, options, targets.Objective);
        var location = new SourceLocation(lockPath);
        if (targets.LockMode != TuningLockMode.Retune && File.Exists(lockPath))
        {
            var recorded = TuningLock.Read(lockPath);
            var changes = recorded.Key.Differences(key);
            if (changes.Count == 0)
            {
                progress?.Report($"reusing the batching decision recorded in {Path.GetFileName(lockPath)}: nothing measured (--retune measures again)");
                // The report of a lock is the model's report under whatever name it was recorded: the bundle's name is this build's.
                var report = recorded.Report with { Model = request.ModelName };
                return (report.Decision.Config, report, true);
            }
            var what = $"the tuning lock '{Path.GetFileName(lockPath)}' no longer matches: {string.Join("; ", changes)}";
            if (targets.LockMode == TuningLockMode.Locked)
                throw new ModelForgeException(DiagnosticCode.TuningLockStale, what, location,
                    "--locked reuses a matching lock and measures nothing; build once without --locked (or with --retune) to record a new decision, and commit it");
            warnings.Add(new Diagnostic(DiagnosticCode.TuningLockStale, what + "; measured again", location,
                "the new decision is recorded in its place; commit it so later builds reuse it", DiagnosticSeverity.Warning));
        }
        else if (targets.LockMode == TuningLockMode.Locked)
            throw new ModelForgeException(DiagnosticCode.TuningLockStale, $"--locked needs a tuning lock, and '{Path.GetFileName(lockPath)}' does not exist", location,
                "build once without --locked to measure and record the decision, and commit the lock");

        var measured = Measure(request, targets, options, progress);
        new TuningLock(key, measured.Report).Write(lockPath);
        progress?.Report($"recorded the decision in {Path.GetFileName(lockPath)}");
        return (measured.Config, measured.Report, false);
    }

    /// <summary>The tuner's options for <paramref name="targets"/>: its level's grid, cut at the largest batch the bundles accept.</summary>
    public static TuningOptions TuningOptionsFor(PackagingTargets targets)
    {
        var options = TuningOptions.For(targets.Tuning);
        if (targets.MaxBatch is not { } max) return options;
        var grid = options.BatchSizes.Where(b => b <= max).ToList();
        return options with { BatchSizes = grid.Count > 0 ? grid : [max] };
    }

    private static TuningResult Measure(PackageRequest request, PackagingTargets targets, TuningOptions options, IProgress<string>? progress)
    {
        if (targets.Measured is not { } measured)
            return BatchTuner.Tune(request.OnnxPath, request.Inputs, targets.Objective, options, progress, modelName: request.ModelName);
        progress?.Report("reusing the precision stage's tuning of this model: nothing measured again");
        return measured with { Report = measured.Report with { Model = request.ModelName } };
    }

    private static IEnumerable<string> Pair((string First, string Second) pair) => [pair.First, pair.Second];
}
