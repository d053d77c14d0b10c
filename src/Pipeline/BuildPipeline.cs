using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using ModelForge.Convert;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.IO;
using ModelForge.Engine;
using ModelForge.Model;
using ModelForge.Package;
using ModelForge.Package.Triton;
using ModelForge.Package.Tuning;
using ModelForge.Pipeline.Spec;
using ModelForge.Validate;
using ModelForge.Validate.Reports;
using ModelForge.Validate.Runtime;

namespace ModelForge.Pipeline;

public enum BuildStatus
{
    /// <summary>The bundle was built and published into the output folder.</summary>
    Built,
    /// <summary>The spec, the model and the tool are unchanged and the previous bundle is intact: nothing was done.</summary>
    UpToDate,
    /// <summary>The accuracy gate failed in error mode: nothing was published; the artifacts and reports are in the rejected folder.</summary>
    GateFailed,
}

/// <param name="Gate">The accuracy-gate diagnostic when the gate failed: an error for <see cref="BuildStatus.GateFailed"/>, else a warning.</param>
public sealed record BuildResult(BuildStatus Status, string OutputDirectory, BuildManifest? Manifest, string? RejectedDirectory = null, Diagnostic? Gate = null);

/// <summary>Settings that are not part of the model spec.</summary>
public sealed record BuildSettings
{
    /// <summary>TensorRT engine cache shared by builds (engines are keyed by content, so reuse is safe). Default: ~/.cache/modelforge/engines.</summary>
    public string? EngineCacheRoot { get; init; }

    /// <summary>Replace the output folder (and the rejected-build folder) even when they hold files ModelForge did not write.</summary>
    public bool Force { get; init; }
}

/// <summary>
/// <c>modelforge build</c>: convert → engines (where TensorRT runs) → validate → package → manifest, into a staging folder that
/// is published only when complete (<see cref="StagedOutput"/>). Incremental: the input hash covers the tool, the spec
/// and the content of the model, so an unchanged build with an intact previous bundle does nothing.
/// </summary>
public static class BuildPipeline
{
    public const string OnnxFileName = "model.onnx";
    public const string EngineFolder = "engine";
    public const string ValidationFolder = "validation";

    /// <summary>The version that decides whether old outputs can be reused: the informational version carries the commit.</summary>
    public static string ToolVersion { get; } =
        typeof(BuildPipeline).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static BuildResult Run(ModelSpec spec, IBuildReporter reporter, BuildSettings? settings = null)
    {
        settings ??= new BuildSettings();
        CheckOutputIsSafe(spec);
        // Checked before any work: a build that ends by finding it may not publish would have been wasted.
        OutputOwnership.EnsureReplaceable(spec.OutputDirectory, settings.Force);
        OutputOwnership.EnsureReplaceable(StagedOutput.RejectedDirectory(spec.OutputDirectory), settings.Force, "the rejected-build folder");
        var inputHash = InputHash(spec);
        if (UpToDate(spec, inputHash, reporter) is { } previous)
            return new BuildResult(BuildStatus.UpToDate, spec.OutputDirectory, previous);

        using var staged = StagedOutput.Begin(spec.OutputDirectory, settings.Force);
        var stages = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var onnxPath = Path.Combine(staged.StagingDirectory, OnnxFileName);

        Stage(reporter, "convert", $"{Path.GetFileName(spec.SourcePath)} → {OnnxFileName} (opset {spec.Opset})", () =>
        {
            using var converted = ModelConverter.Convert(spec.SourcePath,
                new ConvertOptions(spec.Inputs, spec.Opset, spec.OutputNames) { Optimize = spec.Optimize, ExternalData = spec.ExternalData });
            converted.WriteTo(onnxPath);
            return stages["convert"] = "done";
        });

        string? engineDirectory = null;
        if (spec.TensorRt is { } trt)
            Stage(reporter, "engine", $"TensorRT {EngineTarget.NameOf(trt.Precision)}", () =>
            {
                var result = EngineBuilder.Build(EngineRequestFor(spec, trt, onnxPath, settings));
                if (result.Status == EngineBuildStatus.Skipped)
                {
                    // The full reason names machine paths; the manifest keeps the verdict, the log the details.
                    reporter.Info($"engine: {result.Reason}");
                    return stages["engine"] = "skipped: TensorRT cannot run here";
                }
                engineDirectory = Path.Combine(staged.StagingDirectory, EngineFolder);
                CopyDirectory(result.Layout.Directory, engineDirectory);
                return stages["engine"] = $"built for {result.Manifest.Gpu?.Name ?? "unknown GPU"} (TensorRT {result.Manifest.TensorRtVersion ?? "?"})";
            });

        ValidationReport? report = null;
        Stage(reporter, "validate", "libtorch vs ONNX Runtime", () =>
        {
            var outcome = Validator.Run(spec.SourcePath, onnxPath, ValidateOptionsFor(spec, engineDirectory));
            report = outcome.Report;
            foreach (var skip in outcome.Skipped) reporter.Info($"validate: {skip.Name} skipped ({skip.Reason})");
            ReportWriter.WriteAll(report, Path.Combine(staged.StagingDirectory, ValidationFolder));
            return stages["validate"] = report.Passed ? "passed" : "failed: " + GateSummary(report);
        });

        Diagnostic? gate = null;
        if (!report!.Passed)
        {
            gate = GateDiagnostic(spec, report);
            if (gate.Severity == DiagnosticSeverity.Error)
            {
                var rejected = staged.Reject();
                return new BuildResult(BuildStatus.GateFailed, spec.OutputDirectory, null, rejected, gate with
                {
                    Hint = $"the artifacts and reports are in {rejected} (the output folder keeps the previous bundle); " +
                           "loosen validate.atol/rtol only if the difference is expected",
                });
            }
            reporter.Warn(gate);
        }

        if (spec.Package is { } package)
            Stage(reporter, "package", PackageDetail(package), () =>
            {
                var result = Packager.Package(PackageRequestFor(spec, package, onnxPath, engineDirectory), PackagingTargetsFor(spec, package, engineDirectory),
                    staged.StagingDirectory, new Progress<string>(line => reporter.Info("package: " + line.Trim())));
                return stages["package"] = BatchTuner.Describe(result.Batching);
            });

        var manifest = new BuildManifest
        {
            Name = spec.Name,
            InputHash = inputHash,
            Tools = ToolVersions(),
            Inputs = InputFiles(spec),
            Stages = stages,
            Artifacts = BuildManifest.Scan(staged.StagingDirectory),
        };
        manifest.Write(staged.StagingDirectory);
        staged.Publish();
        reporter.Info($"wrote {spec.OutputDirectory}");
        return new BuildResult(BuildStatus.Built, spec.OutputDirectory, manifest, Gate: gate);
    }

    private static void Stage(IBuildReporter reporter, string name, string detail, Func<string> body)
    {
        reporter.StageStarted(name, detail);
        var clock = Stopwatch.StartNew();
        var outcome = body();
        reporter.StageFinished(name, outcome, clock.Elapsed);
    }

    /// <summary>
    /// A mismatch is the gate's verdict (MF3004, an error or a warning as the spec says); a required candidate that
    /// cannot run at all is invalid input (MF3003), whatever the gate mode.
    /// </summary>
    private static Diagnostic GateDiagnostic(ModelSpec spec, ValidationReport report)
    {
        var unavailable = report.Runs.FirstOrDefault(r => r.Status == CandidateStatus.Unavailable);
        if (unavailable is not null && report.Runs.All(r => r.Status != CandidateStatus.Failed))
            throw new ModelForgeException(DiagnosticCode.CandidateUnavailable, $"{unavailable.Candidate.Name} cannot run here: {unavailable.Reason}",
                SpecLocation(spec), "build on a machine where that execution provider runs, or drop the tensorrt target");
        return new Diagnostic(DiagnosticCode.AccuracyGateFailed, $"accuracy gate failed for {spec.Name}: {GateSummary(report)}", SpecLocation(spec),
            $"see {Path.Combine(spec.OutputDirectory, ValidationFolder, ReportWriter.HtmlFileName)}; loosen validate.atol/rtol only if the difference is expected",
            spec.Validation.OnFailure == GateMode.Warning ? DiagnosticSeverity.Warning : DiagnosticSeverity.Error);
    }

    /// <summary>
    /// The previous build's manifest when it can be reused as it is: same input hash, every artifact intact, and no
    /// engine that was skipped for want of TensorRT where TensorRT now runs.
    /// </summary>
    private static BuildManifest? UpToDate(ModelSpec spec, string inputHash, IBuildReporter reporter)
    {
        var previous = BuildManifest.TryLoad(spec.OutputDirectory);
        if (previous is null || previous.InputHash != inputHash) return null;
        if (spec.TensorRt is not null && previous.Stages.TryGetValue("engine", out var engine) && engine.StartsWith("skipped", StringComparison.Ordinal)
            && EngineProbe.TensorRt.Available)
            return null;
        if (!previous.ArtifactsIntact(spec.OutputDirectory))
        {
            reporter.Info($"{spec.OutputDirectory}: an artifact changed since the last build; rebuilding");
            return null;
        }
        reporter.Info($"{spec.Name}: up to date ({spec.OutputDirectory})");
        if (previous.Stages.TryGetValue("validate", out var validate) && validate.StartsWith("failed", StringComparison.Ordinal))
            reporter.Warn(new Diagnostic(DiagnosticCode.AccuracyGateFailed, $"accuracy gate failed for {spec.Name} (unchanged since the last build): {validate}",
                SpecLocation(spec), "see the validation report in the output folder", DiagnosticSeverity.Warning));
        return previous;
    }

    /// <summary>The output folder is replaced as a whole, so it must not hold the spec or the model.</summary>
    private static void CheckOutputIsSafe(ModelSpec spec)
    {
        var output = Path.GetFullPath(spec.OutputDirectory).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        foreach (var file in new[] { spec.SourcePath, spec.SpecPath }.OfType<string>())
            if (Path.GetFullPath(file).StartsWith(output, StringComparison.Ordinal))
                throw new ModelForgeException(DiagnosticCode.OutputFolderUnsafe,
                    $"the output folder '{spec.OutputDirectory}' contains '{file}', and a build replaces its output folder as a whole",
                    SpecLocation(spec), "choose an output folder of its own, e.g. out/" + spec.Name);
    }

    internal static string InputHash(ModelSpec spec)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string text) => hash.AppendData(Encoding.UTF8.GetBytes(text + "\n"));
        Add("modelforge-build/1");
        foreach (var (tool, version) in ToolVersions()) Add($"{tool}={version}");
        // The spec as the user wrote it, or, for a build from a .pt, what the command line declared.
        Add(spec.SpecPath is { } specPath ? Encoding.UTF8.GetString(File.ReadAllBytes(specPath)) : Describe(spec));
        // The gate mode can be overridden on the command line (the MSBuild property), and it decides what a mismatch does.
        Add($"onFailure={spec.Validation.OnFailure}");
        foreach (var (role, sha) in InputFiles(spec)) Add($"{role}={sha}");
        return "sha256:" + System.Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static string Describe(ModelSpec spec) =>
        $"name={spec.Name}\ninputs={string.Join(";", spec.Inputs)}\noutputs={string.Join(";", spec.OutputNames ?? [])}\nopset={spec.Opset}\noptimize={spec.Optimize}\nexternalData={spec.ExternalData}";

    private static SortedDictionary<string, string> ToolVersions() => new(StringComparer.Ordinal)
    {
        ["modelforge"] = ToolVersion,
        ["onnxruntime"] = EngineBuilder.OrtVersion,
    };

    private static SortedDictionary<string, string> InputFiles(ModelSpec spec)
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["source:" + Path.GetFileName(spec.SourcePath)] = BuildManifest.Sha256Of(spec.SourcePath),
        };
        if (spec.SpecPath is { } specPath) files["spec:" + Path.GetFileName(specPath)] = BuildManifest.Sha256Of(specPath);
        foreach (var file in spec.Package?.ReferencedFiles ?? [])
            files["package:" + Path.GetFileName(file)] = File.Exists(file) ? BuildManifest.Sha256Of(file) : "missing";
        return files;
    }

    private static string PackageDetail(PackageSpec package) =>
        string.Join(" + ", new[] { package.TorchServe is null ? null : "TorchServe", package.Triton is null ? null : "Triton", package.KServeStorageUri is null ? null : "KServe" }
            .OfType<string>()) + $", tuning {package.Tuning.ToString().ToLowerInvariant()}";

    private static PackageRequest PackageRequestFor(ModelSpec spec, PackageSpec package, string onnxPath, string? engineDirectory) => new()
    {
        ModelName = spec.Name,
        Version = package.Version,
        OnnxPath = onnxPath,
        TorchScriptPath = spec.SourcePath,
        Inputs = spec.Inputs,
        OutputNames = spec.OutputNames,
        Batching = TuningOptions.DefaultConfig,
        // An engine is bound to the GPU it was built on: the bundle serves it there.
        Device = engineDirectory is not null ? DeviceKind.Gpu : package.Device,
        Handler = package.Handler,
        ExtraFiles = package.ExtraFiles,
        RequirementsFile = package.RequirementsFile,
        EngineDirectory = engineDirectory,
        // SOURCE_DATE_EPOCH, else the model's own time: never the build's, so rebuilding the same inputs gives the same bytes.
        Timestamp = BundleTimestamp.Resolve(null, spec.SourcePath),
    };

    private static PackagingTargets PackagingTargetsFor(ModelSpec spec, PackageSpec package, string? engineDirectory)
    {
        var batchDim = BatchDim.Of(spec.Inputs);
        return new PackagingTargets
        {
            TorchServe = package.TorchServe,
            Triton = package.Triton is { } triton && engineDirectory is not null && spec.TensorRt is { } trt
                ? triton with { TensorRt = new TensorRtAccelerator { Precision = EngineTarget.NameOf(trt.Precision).ToUpperInvariant() } }
                : package.Triton,
            KServeStorageUri = package.KServeStorageUri,
            Tuning = package.Tuning,
            Objective = new TuningObjective(P99BudgetMilliseconds: package.LatencyBudgetMs),
            MaxBatch = batchDim is not null && spec.Dims.TryGetValue(batchDim, out var range) ? (int)range.Max : null,
        };
    }

    private static EngineRequest EngineRequestFor(ModelSpec spec, TensorRtSpec trt, string onnxPath, BuildSettings settings)
    {
        var target = new EngineTarget
        {
            Precision = trt.Precision,
            Profiles = ProfilesFor(spec),
            WorkspaceBytes = trt.WorkspaceMb * 1024 * 1024,
            BuilderOptimizationLevel = trt.BuilderLevel,
            TimingCache = trt.TimingCache,
            AllOnTensorRt = trt.AllOnTensorRt,
        };
        return new EngineRequest(onnxPath, spec.Inputs, target)
        {
            CacheRoot = settings.EngineCacheRoot ?? DefaultEngineCache(),
            Required = trt.Require ? [EngineRequirement.TensorRt] : [],
            Force = settings.Force,
        };
    }

    /// <summary>One profile per input with symbolic dims, from the spec's dim ranges; the engine stage's defaults otherwise.</summary>
    private static IReadOnlyList<ShapeProfile> ProfilesFor(ModelSpec spec)
    {
        var symbolic = spec.Inputs.SelectMany(i => i.Dims).Select(d => d.Symbol).OfType<string>().Distinct().ToList();
        if (symbolic.Count == 0 || !symbolic.All(spec.Dims.ContainsKey))
            return ShapeProfiles.Resolve(spec.Inputs, [], EngineTarget.DefaultMaxBatch);
        long[] Shape(InputSpec input, Func<DimRange, long> pick) =>
            input.Dims.Select(d => d.Symbol is { } s ? pick(spec.Dims[s]) : d.Value!.Value).ToArray();
        return spec.Inputs.Where(i => i.Dims.Any(d => d.Symbol is not null))
            .Select(i => new ShapeProfile(i.Name, Shape(i, r => r.Min), Shape(i, r => r.Opt), Shape(i, r => r.Max)))
            .ToList();
    }

    private static ValidateOptions ValidateOptionsFor(ModelSpec spec, string? engineDirectory)
    {
        var batchDim = BatchDim.Of(spec.Inputs);
        var batches = spec.Validation.Batches
            ?? (batchDim is not null && spec.Dims.TryGetValue(batchDim, out var range) ? new[] { (int)range.Min, (int)range.Opt }.Distinct().ToList() : null);
        var options = new ValidateOptions
        {
            Inputs = spec.Inputs,
            Seed = spec.Validation.Seed,
            Ranges = spec.Validation.Ranges,
            DimValues = spec.Dims.Where(d => d.Key != batchDim).ToDictionary(d => d.Key, d => d.Value.Opt),
            Tolerances = spec.Validation.Tolerances,
            Required = [CandidateKind.Cpu],
            Optional = [CandidateKind.Cuda, CandidateKind.TensorRt],
            EngineDirectory = engineDirectory,
        };
        return batches is null ? options : options with { BatchSizes = batches };
    }

    private static string GateSummary(ValidationReport report)
    {
        var failures = report.Runs.Where(r => r.Status == CandidateStatus.Failed)
            .Select(r => $"{r.Candidate.Name} batch {r.BatchSize}: " +
                         (r.Reason ?? string.Join("; ", r.Outputs.Where(o => !o.Passed).Select(o => $"{o.Output} {o.FailureReason}"))))
            .ToList();
        return failures.Count == 0 ? "no candidate ran" : string.Join(" | ", failures.Take(3)) + (failures.Count > 3 ? $" (+{failures.Count - 3} more)" : "");
    }

    private static SourceLocation SpecLocation(ModelSpec spec) => new(spec.SpecPath ?? spec.SourcePath);

    private static string DefaultEngineCache()
    {
        var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(cache, "modelforge", "engines");
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
