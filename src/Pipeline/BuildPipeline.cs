using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.IO;
using ModelForge.Engine;
using ModelForge.Package.TorchServe;
using ModelForge.Package.Tuning;
using ModelForge.Pipeline.Spec;
using ModelForge.Pipeline.Stages;

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

    /// <summary>Where the convert stage writes each graph pass with its time (<c>--verbose</c>); null for none.</summary>
    public TextWriter? PassTrace { get; init; }

    /// <summary>Reuse the spec's tuning lock while it matches (default), measure again (<c>--retune</c>), or require it (<c>--locked</c>).</summary>
    public TuningLockMode TuningLock { get; init; } = TuningLockMode.Reuse;
}

/// <summary>
/// <c>modelforge build</c>: the stages of <see cref="Stages"/> in order, then the manifest, into a staging folder that
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

    /// <summary>
    /// The whole ordered list; a stage the spec does not ask for (<see cref="IBuildStage.RunsFor"/>) is left out of the
    /// build and of its manifest. Every constraint between stages is written next to the stage it concerns.
    /// </summary>
    public static IReadOnlyList<IBuildStage> Stages { get; } =
    [
        new ConvertStage(),   // first: every later stage reads model.onnx
        new PrecisionStage(), // right after convert: it replaces model.onnx by the chosen precision, which the engine, the
                              // gate and the bundles must all see
        new EngineStage(),    // after convert (builds from model.onnx), before validate: the engine is checked as a candidate of its own
        new ValidateStage(),  // the gate, after everything that makes a model and before everything that ships one: its Failed
                              // outcome in error mode stops the build here (Run), so nothing unvalidated is packaged or published
        new ChainStage(),     // the gate over pre-processing → model → post-processing, with the model's gate and before packaging
        new PackageStage(),   // after the gate; after engine, so that Triton serves the engine that was validated
    ];

    public static BuildResult Run(ModelSpec spec, IBuildReporter reporter, BuildSettings? settings = null) =>
        Run(spec, reporter, settings ?? new BuildSettings(), Stages);

    /// <summary>
    /// Runs <paramref name="stageList"/> in order, each reported and recorded from its <see cref="StageOutcome"/>. A
    /// <see cref="StageOutcome.Failed"/> outcome is the gate decision: as an error it moves the staging folder to the
    /// rejected folder and ends the build (<see cref="BuildStatus.GateFailed"/>); as a warning it is reported and the build goes on.
    /// </summary>
    internal static BuildResult Run(ModelSpec spec, IBuildReporter reporter, BuildSettings settings, IReadOnlyList<IBuildStage> stageList)
    {
        CheckOutputIsSafe(spec);
        // Checked before any work: a build that ends by finding it may not publish would have been wasted.
        OutputOwnership.EnsureReplaceable(spec.OutputDirectory, settings.Force);
        OutputOwnership.EnsureReplaceable(StagedOutput.RejectedDirectory(spec.OutputDirectory), settings.Force, "the rejected-build folder");
        var stages = stageList.Where(s => s.RunsFor(spec)).ToList();
        var inputHash = InputHash(spec);
        if (UpToDate(spec, settings, stages, inputHash, reporter) is { } previous)
            return new BuildResult(BuildStatus.UpToDate, spec.OutputDirectory, previous);

        using var staged = StagedOutput.Begin(spec.OutputDirectory, settings.Force);
        var context = new BuildContext { Spec = spec, Settings = settings, Reporter = reporter, StagingDirectory = staged.StagingDirectory };
        var outcomes = new SortedDictionary<string, StageOutcome>(StringComparer.Ordinal);
        Diagnostic? gate = null;
        foreach (var stage in stages)
        {
            reporter.StageStarted(stage.Name, stage.Detail(spec));
            var clock = Stopwatch.StartNew();
            var outcome = outcomes[stage.Name] = stage.Run(context);
            reporter.StageFinished(stage.Name, outcome, clock.Elapsed);
            if (outcome is not StageOutcome.Failed failed) continue;
            var first = failed.Diagnostics.FirstOrDefault() ?? throw new InvalidOperationException($"the {stage.Name} stage failed without a diagnostic");
            if (failed.Severity == DiagnosticSeverity.Error)
            {
                var rejected = staged.Reject();
                var kept = $"the artifacts and reports are in {rejected} (the output folder keeps the previous bundle)";
                return new BuildResult(BuildStatus.GateFailed, spec.OutputDirectory, null, rejected,
                    first with { Hint = first.Hint is { Length: > 0 } hint ? $"{kept}; {hint}" : kept });
            }
            foreach (var warning in failed.Diagnostics) reporter.Warn(warning);
            gate ??= first;
        }

        var manifest = new BuildManifest
        {
            Name = spec.Name,
            InputHash = inputHash,
            Tools = ToolVersions(),
            Inputs = WithTuningLock(spec, InputFiles(spec)),
            Stages = outcomes,
            Artifacts = BuildManifest.Scan(staged.StagingDirectory),
            TritonRepository = context.TritonRepository,
            Precision = context.Precision,
        };
        manifest.Write(staged.StagingDirectory);
        staged.Publish();
        reporter.Info($"wrote {spec.OutputDirectory}");
        return new BuildResult(BuildStatus.Built, spec.OutputDirectory, manifest, Gate: gate);
    }

    /// <summary>
    /// The previous build's manifest when it can be reused as it is: same input hash, every recorded outcome still
    /// standing (<see cref="IBuildStage.StillStands"/>), and every artifact intact. An old-format manifest is no manifest.
    /// </summary>
    private static BuildManifest? UpToDate(ModelSpec spec, BuildSettings settings, IReadOnlyList<IBuildStage> stages, string inputHash, IBuildReporter reporter)
    {
        var previous = BuildManifest.TryLoad(spec.OutputDirectory);
        if (previous is null || previous.InputHash != inputHash) return null;
        if (spec.Tunes && settings.TuningLock == TuningLockMode.Retune) return null;
        // The lock is not in the input hash (the first build writes it, which would make the second build run again):
        // the manifest records the lock the bundle was built with, and a lock deleted or edited since means rebuilding.
        if (spec.Tunes && !WithTuningLock(spec, new Dictionary<string, string>()).SequenceEqual(previous.Inputs.Where(i => i.Key.StartsWith(TuningLockRole, StringComparison.Ordinal))))
        {
            reporter.Info($"{Path.GetFileName(spec.TuningLockPath)} changed since the last build; rebuilding");
            return null;
        }
        var recorded = stages.Where(s => previous.Stages.ContainsKey(s.Name)).Select(s => (Stage: s, Outcome: previous.Stages[s.Name])).ToList();
        if (recorded.Any(r => !r.Stage.StillStands(r.Outcome))) return null;
        if (!previous.ArtifactsIntact(spec.OutputDirectory))
        {
            reporter.Info($"{spec.OutputDirectory}: an artifact changed since the last build; rebuilding");
            return null;
        }
        reporter.Info($"{spec.Name}: up to date ({spec.OutputDirectory})");
        foreach (var (stage, outcome) in recorded)
            foreach (var warning in stage.Repeat(spec, outcome))
                reporter.Warn(warning);
        return previous;
    }

    /// <summary>The output folder is replaced as a whole, so it must not hold the spec, the model or the Triton repository the build adds to.</summary>
    private static void CheckOutputIsSafe(ModelSpec spec)
    {
        var output = Path.GetFullPath(spec.OutputDirectory).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        foreach (var file in new[] { spec.SourcePath, spec.SpecPath, spec.Package?.Triton?.Repository }.OfType<string>())
            // With a separator added, a repository that is the output folder itself counts too.
            if ((Path.GetFullPath(file) + Path.DirectorySeparatorChar).StartsWith(output, StringComparison.Ordinal))
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
        // So is the tuning level (build --tune): a CI smoke build with tuning off must not pass for a tuned bundle.
        Add($"tuning={spec.Package?.Tuning}");
        foreach (var (role, sha) in InputFiles(spec)) Add($"{role}={sha}");
        return "sha256:" + System.Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static string Describe(ModelSpec spec) =>
        $"name={spec.Name}\ninputs={string.Join(";", spec.Inputs)}\n" +
        $"dims={string.Join(";", spec.Dims.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => $"{d.Key}={d.Value}"))}\n" +
        $"outputs={string.Join(";", spec.OutputNames ?? [])}\nopset={spec.Opset}\noptimize={spec.Optimize}\nexternalData={spec.ExternalData}";

    private static SortedDictionary<string, string> ToolVersions() => new(StringComparer.Ordinal)
    {
        ["modelforge"] = ToolVersion,
        ["onnxruntime"] = EngineBuilder.OrtVersion,
    };

    /// <summary>The manifest's <c>inputs</c>: the SHA-256 of every file the build reads (<see cref="ReadFiles"/>), by its role and name.</summary>
    private static SortedDictionary<string, string> InputFiles(ModelSpec spec)
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        // Two files of one name would clash in the archive too; the package stage refuses that with its own diagnostic.
        foreach (var (key, path) in ReadFiles(spec)) files[key] = File.Exists(path) ? BuildManifest.Sha256Of(path) : "missing";
        return files;
    }

    /// <summary>
    /// The absolute paths of every file the build reads, sorted and without repeats: what the input hash covers, and,
    /// when the build tunes, the tuning lock (outside the hash, but a changed or deleted one rebuilds all the same). What
    /// MSBuild must watch (<c>build --dependency-file</c>) to know when to run the build again.
    /// </summary>
    public static IReadOnlyList<string> InputPaths(ModelSpec spec) =>
        ReadFiles(spec).Select(f => f.Path).Concat(spec.Tunes && spec.TuningLockPath is { } lockPath ? [lockPath] : [])
            .Select(Path.GetFullPath).Distinct().Order(StringComparer.Ordinal).ToList();

    /// <summary>
    /// Every file the build reads, keyed by role and a name that does not depend on where the tree is (so a moved tree
    /// keeps its hash): the model, the spec, and each file the bundles copy (handler, requirements, extra files, and
    /// each file inside an extra directory, as the archive takes them).
    /// </summary>
    private static IEnumerable<(string Key, string Path)> ReadFiles(ModelSpec spec)
    {
        yield return ("source:" + Path.GetFileName(spec.SourcePath), spec.SourcePath);
        if (spec.SpecPath is { } specPath) yield return ("spec:" + Path.GetFileName(specPath), specPath);
        foreach (var file in spec.Package?.ReferencedFiles ?? [])
        {
            if (!Directory.Exists(file))
            {
                yield return ("package:" + Path.GetFileName(file), file);
                continue;
            }
            foreach (var entry in TorchServeArchiver.ExtraFileEntries(file))
                yield return ($"package:{Path.GetFileName(Path.TrimEndingDirectorySeparator(file))}/{entry.EntryName}", entry.SourcePath);
        }
    }

    private const string TuningLockRole = "tuning-lock:";

    /// <summary><paramref name="files"/> and, when the build tunes, the tuning lock as it is now (<c>missing</c> when there is none).</summary>
    private static SortedDictionary<string, string> WithTuningLock(ModelSpec spec, IReadOnlyDictionary<string, string> files)
    {
        var result = new SortedDictionary<string, string>(files.ToDictionary(), StringComparer.Ordinal);
        if (spec.Tunes && spec.TuningLockPath is { } lockPath)
            result[TuningLockRole + Path.GetFileName(lockPath)] = File.Exists(lockPath) ? BuildManifest.Sha256Of(lockPath) : "missing";
        return result;
    }

    /// <summary>Where a diagnostic about the build points: the spec, or the model for a build from a .pt.</summary>
    internal static SourceLocation SpecLocation(ModelSpec spec) => new(spec.SpecPath ?? spec.SourcePath);
}
