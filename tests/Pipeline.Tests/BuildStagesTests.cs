using System.Text.Json;
using Json.Schema;
using ModelForge.Core.Diagnostics;
using ModelForge.Engine;
using ModelForge.Model;
using ModelForge.Pipeline.Spec;
using ModelForge.Pipeline.Stages;
using BuildContext = ModelForge.Pipeline.Stages.BuildContext;

namespace ModelForge.Pipeline.Tests;

/// <summary>
/// The build as an ordered list of stages: the loop, the outcomes it reports and records, the gate decision and the
/// up-to-date check, with stand-in stages (fast, no model run) and, where it matters, the real ones.
/// </summary>
public class BuildStagesTests
{
    /// <summary>A stage that writes one file and returns what it is told to.</summary>
    private sealed class StandIn(string name, Func<StageOutcome> outcome) : IBuildStage
    {
        public int Runs { get; private set; }
        public Func<StageOutcome, bool> Stands { get; init; } = _ => true;
        public Func<StageOutcome, IEnumerable<Diagnostic>> Repeats { get; init; } = _ => [];

        public string Name => name;
        public bool RunsFor(ModelSpec spec) => true;
        public string Detail(ModelSpec spec) => "stand-in";

        public StageOutcome Run(BuildContext context)
        {
            Runs++;
            File.WriteAllText(Path.Combine(context.StagingDirectory, name + ".txt"), name);
            return outcome();
        }

        public bool StillStands(StageOutcome previous) => Stands(previous);
        public IEnumerable<Diagnostic> Repeat(ModelSpec spec, StageOutcome previous) => Repeats(previous);
    }

    private static readonly Diagnostic Mismatch = new(DiagnosticCode.AccuracyGateFailed, "accuracy gate failed for model: too far", null, "loosen it",
        DiagnosticSeverity.Warning);

    private static ModelSpec StandInSpec(SpecWorkspace workspace)
    {
        var source = Path.Combine(workspace.Directory, "model.pt");
        if (!File.Exists(source)) File.WriteAllText(source, "not a model: the stand-in stages never read it");
        return new ModelSpec
        {
            Name = "model",
            SourcePath = source,
            Inputs = [InputSpec.Parse("x:float32[batch,3]")],
            OutputDirectory = Path.Combine(workspace.Directory, "out", "model"),
        };
    }

    private static (BuildResult Result, RecordingReporter Reporter) Build(ModelSpec spec, params IBuildStage[] stages)
    {
        var reporter = new RecordingReporter();
        return (BuildPipeline.Run(spec, reporter, new BuildSettings(), stages), reporter);
    }

    [Fact]
    public void TheStagesAreConvertPrecisionEngineValidateChainPackageAndTheSpecSaysWhichRun()
    {
        Assert.Equal(["convert", "precision", "engine", "validate", "chain", "package"], BuildPipeline.Stages.Select(s => s.Name));

        using var workspace = new SpecWorkspace();
        var plain = workspace.Load(SpecWorkspace.ResNetSpec());
        var full = workspace.Load(SpecWorkspace.ResNetSpec("\"tensorrt\": {}, \"package\": { \"triton\": {} }"));
        Assert.Equal(["convert", "validate"], BuildPipeline.Stages.Where(s => s.RunsFor(plain)).Select(s => s.Name));
        Assert.Equal(["convert", "engine", "validate", "package"], BuildPipeline.Stages.Where(s => s.RunsFor(full)).Select(s => s.Name));
        var processing = workspace.Load(SpecWorkspace.ResNetSpec("\"package\": { \"triton\": {}, \"postprocess\": { \"softmax\": true } }"));
        Assert.Equal(["convert", "validate", "chain", "package"], BuildPipeline.Stages.Where(s => s.RunsFor(processing)).Select(s => s.Name));
        var precision = workspace.Load(SpecWorkspace.ResNetSpec("\"onnx\": { \"precision\": \"int8\" }"));
        Assert.Equal(["convert", "precision", "validate"], BuildPipeline.Stages.Where(s => s.RunsFor(precision)).Select(s => s.Name));
    }

    [Fact]
    public void EachOutcomeIsReportedAndRecordedInTheManifestAsItIs()
    {
        using var workspace = new SpecWorkspace();
        var spec = StandInSpec(workspace);
        StageOutcome[] outcomes =
        [
            new StageOutcome.Done(),
            new StageOutcome.Skipped("no tool here"),
            new StageOutcome.Failed("too far", DiagnosticSeverity.Warning) { Diagnostics = [Mismatch] },
            new StageOutcome.Done("3 bundles"),
        ];
        string[] names = ["convert", "engine", "validate", "package"];

        var (result, reporter) = Build(spec, names.Select((n, i) => new StandIn(n, () => outcomes[i])).ToArray<IBuildStage>());

        Assert.Equal(BuildStatus.Built, result.Status);
        Assert.Equal(names, reporter.Started);
        Assert.Equal(names.Zip(outcomes), reporter.Finished);
        Assert.Equal(["done", "skipped: no tool here", "failed (warning): too far", "3 bundles"], reporter.Finished.Select(f => f.Outcome.Text));
        Assert.Same(Mismatch, Assert.Single(reporter.Warnings));
        Assert.Same(Mismatch, result.Gate);

        var loaded = BuildManifest.TryLoad(spec.OutputDirectory)!;
        Assert.Equal(new StageOutcome.Skipped("no tool here"), loaded.Stages["engine"]);
        Assert.Equal(new StageOutcome.Done("3 bundles"), loaded.Stages["package"]);
        Assert.Equal(new StageOutcome.Done(), loaded.Stages["convert"]);
        var failed = Assert.IsType<StageOutcome.Failed>(loaded.Stages["validate"]);
        Assert.Equal(("too far", DiagnosticSeverity.Warning), (failed.Summary, failed.Severity));

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(spec.OutputDirectory, BuildManifest.FileName)));
        var stages = json.RootElement.GetProperty("stages");
        Assert.Equal(["convert", "engine", "package", "validate"], stages.EnumerateObject().Select(p => p.Name));
        Assert.Equal("""{"status":"skipped","reason":"no tool here"}""", Compact(stages.GetProperty("engine")));
        Assert.Equal("""{"status":"failed","summary":"too far","severity":"warning"}""", Compact(stages.GetProperty("validate")));
        Assert.Equal("""{"status":"done"}""", Compact(stages.GetProperty("convert")));
        Assert.Equal(2, json.RootElement.GetProperty("format").GetInt32());
    }

    [Fact]
    public void TheWrittenManifestMatchesItsSchema()
    {
        using var workspace = new SpecWorkspace();
        var spec = StandInSpec(workspace);
        Build(spec, new StandIn("convert", () => new StageOutcome.Done()), new StandIn("engine", () => new StageOutcome.Skipped("no GPU")),
            new StandIn("validate", () => new StageOutcome.Failed("too far", DiagnosticSeverity.Warning) { Diagnostics = [Mismatch] }),
            new StandIn("package", () => new StageOutcome.Done("max batch 8")));
        var schema = JsonSchema.FromText(File.ReadAllText(Path.Combine(RepoPaths.Root, "schemas", "build-manifest.schema.json")));

        using var written = JsonDocument.Parse(File.ReadAllText(Path.Combine(spec.OutputDirectory, BuildManifest.FileName)));
        var result = schema.Evaluate(written.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });

        Assert.True(result.IsValid, string.Join("\n", (result.Details ?? []).Where(d => d.Errors is not null)
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"))));
        // A build that added a version to a Triton repository records it as the schema says.
        var withRepository = BuildManifest.TryLoad(spec.OutputDirectory)! with { TritonRepository = new TritonRepositoryRecord("model", 4, [1, 3, 4]) };
        using (var recorded = JsonDocument.Parse(withRepository.ToJson()))
        {
            Assert.True(schema.Evaluate(recorded.RootElement).IsValid);
            Assert.Equal("""{"model":"model","versionWritten":4,"versionsPresent":[1,3,4]}""", Compact(recorded.RootElement.GetProperty("tritonRepository")));
        }
        // With pre-/post-processing, every model of the chain.
        var withChain = BuildManifest.TryLoad(spec.OutputDirectory)! with
        {
            TritonRepository = new TritonRepositoryRecord("model", 2, [1, 2]) { ProcessingModels = [new TritonRepositoryRecord("model_ensemble", 2, [1, 2])] },
        };
        using (var recorded = JsonDocument.Parse(withChain.ToJson()))
        {
            Assert.True(schema.Evaluate(recorded.RootElement).IsValid);
            Assert.Equal("""{"model":"model","versionWritten":2,"versionsPresent":[1,2],"processingModels":[{"model":"model_ensemble","versionWritten":2,"versionsPresent":[1,2]}]}""",
                Compact(recorded.RootElement.GetProperty("tritonRepository")));
        }
        // So does a build that chose a precision, with SQNR +Infinity for an output that came out identical.
        var withPrecision = BuildManifest.TryLoad(spec.OutputDirectory)! with
        {
            Precision = new PrecisionChoice("fp16", 8, "CPUExecutionProvider", "fp16 is the fastest precision that passed the gate",
            [
                new PrecisionCandidate("fp32", true, null, 2.5, 9.1, 1, null, 1, 1, 3e-6, 4_000_000) { Tuned = new PrecisionTuning(16, 1, 30.5, 41.2, 520, true) },
                new PrecisionCandidate("fp16", true, null, 2.4, 8.7, 1, double.PositiveInfinity, 1, 1, 0, 2_000_000) { FloatNodes = ["softmax: kept float32 by the fp16 block list"] },
                new PrecisionCandidate("int8", false, "output: int8: cosine 0.97 is below 0.99", null, null, 0.97, 14.2, null, null, null, 1_000_000),
            ]),
        };
        using (var recorded = JsonDocument.Parse(withPrecision.ToJson()))
        {
            var evaluation = schema.Evaluate(recorded.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
            Assert.True(evaluation.IsValid, string.Join("\n", (evaluation.Details ?? []).Where(d => d.Errors is not null)
                .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"))));
            Assert.Equal("Infinity", recorded.RootElement.GetProperty("precision").GetProperty("candidates")[1].GetProperty("minSqnrDb").GetString());
            Assert.Equal(16, recorded.RootElement.GetProperty("precision").GetProperty("candidates")[0].GetProperty("tuned").GetProperty("batchSize").GetInt32());
        }
        using var old = JsonDocument.Parse("""{ "format": 1, "name": "m", "inputHash": "sha256:00", "tools": {}, "inputs": {}, "stages": { "convert": "done" }, "artifacts": [] }""");
        Assert.False(schema.Evaluate(old.RootElement).IsValid);
    }

    [Fact]
    public void AFailedStageInErrorModeEndsTheBuildBeforeTheStagesAfterItAndPublishesNothing()
    {
        using var workspace = new SpecWorkspace();
        var spec = StandInSpec(workspace);
        var gate = Mismatch with { Severity = DiagnosticSeverity.Error };
        var package = new StandIn("package", () => new StageOutcome.Done());

        var (result, reporter) = Build(spec, new StandIn("convert", () => new StageOutcome.Done()),
            new StandIn("validate", () => new StageOutcome.Failed("too far", DiagnosticSeverity.Error) { Diagnostics = [gate] }), package);

        Assert.Equal(BuildStatus.GateFailed, result.Status);
        Assert.Equal(["convert", "validate"], reporter.Started);
        Assert.Equal(0, package.Runs);
        Assert.Empty(reporter.Warnings);
        Assert.Equal(gate.Message, result.Gate!.Message);
        Assert.Equal($"the artifacts and reports are in {result.RejectedDirectory} (the output folder keeps the previous bundle); loosen it", result.Gate.Hint);
        Assert.True(File.Exists(Path.Combine(result.RejectedDirectory!, "validate.txt")));
        Assert.False(Directory.Exists(spec.OutputDirectory));
    }

    [Fact]
    public void AnUnchangedBuildAsksEachStageWhetherItsRecordedOutcomeStillStands()
    {
        using var workspace = new SpecWorkspace();
        var spec = StandInSpec(workspace);
        var standing = new StandIn("engine", () => new StageOutcome.Skipped("no GPU"));
        Assert.Equal(BuildStatus.Built, Build(spec, standing).Result.Status);
        Assert.Equal(BuildStatus.UpToDate, Build(spec, standing).Result.Status);

        // The same recorded outcome, read back typed, no longer stands: the build runs again.
        var fallen = new StandIn("engine", () => new StageOutcome.Skipped("no GPU")) { Stands = previous => previous is not StageOutcome.Skipped };
        Assert.Equal(BuildStatus.Built, Build(spec, fallen).Result.Status);
        Assert.Equal(1, fallen.Runs);

        // A recorded failure in warning mode is said again by the build that finds nothing to do.
        var warned = new StandIn("validate", () => new StageOutcome.Failed("too far", DiagnosticSeverity.Warning) { Diagnostics = [Mismatch] })
        {
            Repeats = previous => previous is StageOutcome.Failed failed ? [Mismatch with { Message = "again: " + failed.Summary }] : [],
        };
        var elsewhere = spec with { OutputDirectory = Path.Combine(workspace.Directory, "out", "warned") };
        Assert.Equal(BuildStatus.Built, Build(elsewhere, warned).Result.Status);
        var (again, reporter) = Build(elsewhere, warned);
        Assert.Equal(BuildStatus.UpToDate, again.Status);
        Assert.Equal("again: too far", Assert.Single(reporter.Warnings).Message);
    }

    [Fact]
    public void TheRealStagesReadTheirRecordedOutcomesTyped()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec());
        var engine = new EngineStage();
        Assert.True(engine.StillStands(new StageOutcome.Done("built for some GPU (TensorRT 10)")));
        Assert.Equal(!EngineProbe.TensorRt.Available, engine.StillStands(new StageOutcome.Skipped(EngineStage.SkippedReason)));

        var validate = new ValidateStage();
        Assert.Empty(validate.Repeat(spec, new StageOutcome.Done("passed")));
        var warning = Assert.Single(validate.Repeat(spec, new StageOutcome.Failed("onnxruntime-cpu batch 1: output too far", DiagnosticSeverity.Warning)));
        Assert.Equal((DiagnosticCode.AccuracyGateFailed, DiagnosticSeverity.Warning), (warning.Code, warning.Severity));
        Assert.Contains("(unchanged since the last build): onnxruntime-cpu batch 1: output too far", warning.Message);
        Assert.Equal(spec.SpecPath, warning.Location!.File);
    }

    [Fact]
    public void AnOldFormatManifestIsNoManifestAndTheBuildRuns()
    {
        using var workspace = new SpecWorkspace();
        var spec = StandInSpec(workspace);
        var convert = new StandIn("convert", () => new StageOutcome.Done());
        var built = Build(spec, convert).Result.Manifest!;

        // What format 1 wrote for the same build: the same hash and artifacts, each stage's outcome a string.
        var path = Path.Combine(spec.OutputDirectory, BuildManifest.FileName);
        var formatOne = new
        {
            format = 1, name = built.Name, inputHash = built.InputHash, tools = built.Tools, inputs = built.Inputs,
            stages = new Dictionary<string, string> { ["convert"] = "done" },
            artifacts = built.Artifacts.Select(a => new { path = a.Path, bytes = a.Bytes, sha256 = a.Sha256 }),
        };
        File.WriteAllText(path, JsonSerializer.Serialize(formatOne));
        Assert.Null(BuildManifest.TryLoad(spec.OutputDirectory));

        var (again, reporter) = Build(spec, convert);
        Assert.Equal(BuildStatus.Built, again.Status);
        Assert.Equal(["convert"], reporter.Started);
        Assert.Equal(BuildManifest.CurrentFormat, BuildManifest.TryLoad(spec.OutputDirectory)!.Format);

        // A current format number over stages it cannot read is no manifest either.
        File.WriteAllText(path, JsonSerializer.Serialize(formatOne with { format = BuildManifest.CurrentFormat }));
        Assert.Null(BuildManifest.TryLoad(spec.OutputDirectory));
    }

    [Fact]
    public void AnEngineStageThatCannotRunHereIsRecordedAsSkippedWithItsReason()
    {
        if (EngineProbe.TensorRt.Available) return; // a TensorRT machine builds the engine for real
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec("\"tensorrt\": {}"));
        var reporter = new RecordingReporter();

        var result = BuildPipeline.Run(spec, reporter);

        Assert.Equal(BuildStatus.Built, result.Status);
        Assert.Equal(["convert", "engine", "validate"], reporter.Started);
        Assert.Equal(new StageOutcome.Skipped(EngineStage.SkippedReason), reporter.Finished[1].Outcome);
        Assert.Contains(reporter.Lines, l => l.StartsWith("engine: ", StringComparison.Ordinal) && l.Contains(EngineProbe.TensorRt.Reason!, StringComparison.Ordinal));
        Assert.Equal(new StageOutcome.Skipped("TensorRT cannot run here"), BuildManifest.TryLoad(spec.OutputDirectory)!.Stages["engine"]);
        Assert.False(Directory.Exists(Path.Combine(spec.OutputDirectory, BuildPipeline.EngineFolder)));
        // Still no TensorRT: the skip stands and the unchanged build does nothing.
        Assert.Equal(BuildStatus.UpToDate, BuildPipeline.Run(spec, new RecordingReporter()).Status);
    }

    private static string Compact(JsonElement element) => JsonSerializer.Serialize(element);
}
