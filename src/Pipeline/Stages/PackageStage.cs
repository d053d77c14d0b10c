using ModelForge.Model;
using ModelForge.Package;
using ModelForge.Package.Tuning;
using ModelForge.Pipeline.Spec;

namespace ModelForge.Pipeline.Stages;

/// <summary>
/// Batch tuning and the serving bundles the spec's <c>package</c> section asks for (<c>tuning/</c>, <c>torchserve/</c>,
/// <c>triton/</c>, <c>kserve/</c>), serving the engine when one was built.
/// </summary>
public sealed class PackageStage : IBuildStage
{
    public string Name => "package";

    public bool RunsFor(ModelSpec spec) => spec.Package is not null;

    public string Detail(ModelSpec spec)
    {
        var package = spec.Package!;
        var kinds = new[] { package.TorchServe is null ? null : "TorchServe", package.Triton is null ? null : "Triton", package.KServeStorageUri is null ? null : "KServe" };
        return string.Join(" + ", kinds.OfType<string>()) + $", tuning {package.Tuning.ToString().ToLowerInvariant()}";
    }

    public StageOutcome Run(BuildContext context)
    {
        var spec = context.Spec;
        var package = spec.Package!;
        var request = RequestFor(spec.Name, package, context.OnnxPath, spec.SourcePath, spec.Inputs, spec.OutputNames, context.EngineDirectory) with
        {
            // SOURCE_DATE_EPOCH, else the model's own time: never the build's, so rebuilding the same inputs gives the same bytes.
            Timestamp = BundleTimestamp.Resolve(null, spec.SourcePath),
        };
        var targets = TargetsFor(spec) with
        {
            LockPath = spec.TuningLockPath,
            LockMode = context.Settings.TuningLock,
            Measured = context.Precision?.ChosenTuning,
        };
        var result = Packager.Package(request, targets, context.StagingDirectory,
            new Progress<string>(line => context.Reporter.Info("package: " + line.Trim())));
        // Bundle warnings (MF4012) are no verdict on the build: reported at the spec, and the stage is done.
        foreach (var warning in result.Warnings)
            context.Reporter.Warn(warning with { Location = warning.Location ?? BuildPipeline.SpecLocation(spec) });
        // Printed, not only recorded in tuning.json: CI logs and the MSBuild task see MSBuild-format warnings.
        foreach (var warning in result.Tuning?.Warnings ?? []) context.Reporter.Warn(warning.ToDiagnostic(BuildPipeline.SpecLocation(spec)));
        foreach (var line in result.TritonVersions.SelectMany(added => added.Describe(package.Triton!.VersionPolicy))) context.Reporter.Info("package: " + line);
        if (result.TritonVersion is { } added)
            context.TritonRepository = new TritonRepositoryRecord(spec.Name, added.Version, added.VersionsPresent)
            {
                ProcessingModels = result.TritonProcessingVersions.Count == 0 ? null
                    : result.TritonProcessingVersions.Select(v => new TritonRepositoryRecord(v.Model.Plan.ModelName, v.Version, v.VersionsPresent)).ToList(),
            };
        // The same summary whether measured or reused from the lock: the manifest of a rebuild must not differ.
        return new StageOutcome.Done(BatchTuner.Describe(result.Batching));
    }

    /// <summary>A <c>package</c> section (or <c>modelforge package</c>'s options, which make one) as the request every bundle writer reads.</summary>
    public static PackageRequest RequestFor(string modelName, PackageSpec package, string onnxPath, string? torchScriptPath,
        IReadOnlyList<InputSpec> inputs, IReadOnlyList<string>? outputNames, string? engineDirectory) => new()
    {
        ModelName = modelName,
        Version = package.Version,
        OnnxPath = onnxPath,
        TorchScriptPath = torchScriptPath,
        Inputs = inputs,
        OutputNames = outputNames,
        Batching = TuningOptions.DefaultConfig,
        Device = DeviceFor(package.Device, engineDirectory),
        Handler = package.Handler,
        ExtraFiles = package.ExtraFiles,
        RequirementsFile = package.RequirementsFile,
        // With an engine, Triton serves its EP-context model through the TensorRT accelerator (the writer reads the precision from the engine).
        EngineDirectory = engineDirectory,
    };

    /// <summary>A build's bundles and tuning: the spec's <c>package</c> section, the tuner's grid capped at the batch dim's max.</summary>
    public static PackagingTargets TargetsFor(ModelSpec spec)
    {
        var batchDim = BatchDim.Of(spec.Inputs);
        var maxBatch = batchDim is not null && spec.Dims.TryGetValue(batchDim, out var range) ? (int)range.Max : (int?)null;
        return TargetsFor(spec.Package!, maxBatch);
    }

    /// <summary>Which bundles to write and how to tune them; <paramref name="maxBatch"/> caps the tuner's grid (the batch dim's max).</summary>
    public static PackagingTargets TargetsFor(PackageSpec package, int? maxBatch) => new()
    {
        TorchServe = package.TorchServe,
        Triton = package.Triton,
        KServeStorageUri = package.KServeStorageUri,
        Processing = package.Processing,
        Tuning = package.Tuning,
        Objective = new TuningObjective(P99BudgetMilliseconds: package.LatencyBudgetMs, Traffic: package.Traffic),
        MaxBatch = maxBatch,
    };

    /// <summary>An engine is bound to the GPU it was built on: with one, the bundles serve on the GPU whatever was asked.</summary>
    public static DeviceKind DeviceFor(DeviceKind requested, string? engineDirectory) => engineDirectory is not null ? DeviceKind.Gpu : requested;
}
