using ModelForge.Core.Diagnostics;
using ModelForge.Package.Tuning;
using ModelForge.Pipeline.Spec;

namespace ModelForge.Pipeline.Tests;

/// <summary>Real builds of the small ResNet fixture: real conversion, real libtorch and ONNX Runtime in the gate.</summary>
public class BuildPipelineTests
{
    private static (BuildResult Result, RecordingReporter Reporter) Build(ModelSpec spec, BuildSettings? settings = null)
    {
        var reporter = new RecordingReporter();
        return (BuildPipeline.Run(spec, reporter, settings), reporter);
    }

    /// <summary>
    /// The reports were written in the staging folder, which is renamed when the build is published or rejected: each of
    /// them names the ONNX file where it now lies, in <paramref name="folder"/>, and none names the staging folder.
    /// </summary>
    private static void AssertReportsNameTheFolder(string folder)
    {
        var onnx = Path.Combine(Path.GetFullPath(folder), BuildPipeline.OnnxFileName);
        var validation = Path.Combine(folder, BuildPipeline.ValidationFolder);
        using (var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(validation, "report.json"))))
            Assert.Equal(onnx, json.RootElement.GetProperty("onnxPath").GetString());
        var junit = System.Xml.Linq.XDocument.Load(Path.Combine(validation, "report.junit.xml"));
        Assert.All(junit.Descendants("property").Where(p => (string?)p.Attribute("name") == "onnx"), p => Assert.Equal(onnx, (string?)p.Attribute("value")));
        Assert.Contains(System.Net.WebUtility.HtmlEncode(onnx), File.ReadAllText(Path.Combine(validation, "report.html")));
        foreach (var report in Directory.GetFiles(validation))
            Assert.DoesNotContain(".staging-", File.ReadAllText(report), StringComparison.Ordinal);
    }

    [Fact]
    public void AFirstBuildPublishesTheBundleAndANoChangeBuildDoesNothing()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec());

        var (first, firstReport) = Build(spec);
        Assert.Equal(BuildStatus.Built, first.Status);
        Assert.Equal(["convert", "validate"], firstReport.Started);
        Assert.Equal("passed", first.Manifest!.Stages["validate"].Text);
        var onnx = Path.Combine(spec.OutputDirectory, BuildPipeline.OnnxFileName);
        Assert.True(File.Exists(onnx));
        Assert.True(File.Exists(Path.Combine(spec.OutputDirectory, "validation", "report.html")));
        Assert.Equal(BuildManifest.Scan(spec.OutputDirectory), first.Manifest.Artifacts);
        AssertReportsNameTheFolder(spec.OutputDirectory);
        var writtenAt = File.GetLastWriteTimeUtc(onnx);

        var (second, secondReport) = Build(spec);
        Assert.Equal(BuildStatus.UpToDate, second.Status);
        Assert.Empty(secondReport.Started);
        Assert.Equal(writtenAt, File.GetLastWriteTimeUtc(onnx));
        Assert.Equal(first.Manifest.InputHash, second.Manifest!.InputHash);
    }

    [Fact]
    public void AChangedModelOrADamagedArtifactRebuilds()
    {
        using var workspace = new SpecWorkspace();
        var model = Path.Combine(workspace.Directory, "net.pt");
        File.Copy(SpecWorkspace.ResNetModel, model);
        var spec = workspace.Load(SpecWorkspace.ResNetSpec().Replace(System.Text.Json.JsonSerializer.Serialize(SpecWorkspace.ResNetModel), "\"net.pt\""));
        var first = Build(spec).Result;

        File.Copy(RepoPaths.Fixture("models", "mobilenet_v2_025", "model.pt"), model, overwrite: true);
        var second = Build(spec).Result;
        Assert.Equal(BuildStatus.Built, second.Status);
        Assert.NotEqual(first.Manifest!.InputHash, second.Manifest!.InputHash);

        File.AppendAllText(Path.Combine(spec.OutputDirectory, BuildPipeline.OnnxFileName), "tampered");
        var (third, report) = Build(spec);
        Assert.Equal(BuildStatus.Built, third.Status);
        Assert.Contains(report.Lines, l => l.Contains("an artifact changed", StringComparison.Ordinal));
        Assert.True(third.Manifest!.ArtifactsIntact(spec.OutputDirectory));
    }

    [Fact]
    public void AnImpossibleToleranceFailsTheGateAndKeepsThePreviousBundle()
    {
        using var workspace = new SpecWorkspace();
        var good = workspace.Load(SpecWorkspace.ResNetSpec());
        var previous = Build(good).Result.Manifest!;
        var strict = workspace.Load(SpecWorkspace.ResNetSpec("\"validate\": { \"atol\": 0, \"rtol\": 0 }"));

        var (result, _) = Build(strict);

        Assert.Equal(BuildStatus.GateFailed, result.Status);
        Assert.Equal(DiagnosticCode.AccuracyGateFailed, result.Gate!.Code);
        Assert.Equal(DiagnosticSeverity.Error, result.Gate.Severity);
        Assert.Contains("output", result.Gate.Message);
        Assert.True(File.Exists(Path.Combine(result.RejectedDirectory!, "validation", "report.json")));
        AssertReportsNameTheFolder(result.RejectedDirectory!);
        Assert.False(File.Exists(Path.Combine(result.RejectedDirectory!, BuildManifest.FileName)));
        Assert.Equal(previous.InputHash, BuildManifest.TryLoad(strict.OutputDirectory)!.InputHash);
        Assert.True(previous.ArtifactsIntact(strict.OutputDirectory));
    }

    [Fact]
    public void InWarningModeAMismatchIsAWarningAndTheBundleIsPublished()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec("\"validate\": { \"atol\": 0, \"rtol\": 0, \"onFailure\": \"warning\" }"));

        var (result, report) = Build(spec);
        Assert.Equal(BuildStatus.Built, result.Status);
        Assert.Equal(DiagnosticSeverity.Warning, Assert.Single(report.Warnings).Severity);
        Assert.StartsWith("failed", result.Manifest!.Stages["validate"].Text, StringComparison.Ordinal);
        Assert.Contains(": warning MF3004: ", report.Warnings[0].Format());

        // The unchanged build does nothing but still says the bundle failed its gate.
        var (again, againReport) = Build(spec);
        Assert.Equal(BuildStatus.UpToDate, again.Status);
        Assert.Equal(DiagnosticCode.AccuracyGateFailed, Assert.Single(againReport.Warnings).Code);

        // Switching the gate to error (the MSBuild property does it on the command line) is a change: it rebuilds and fails.
        var gated = spec with { Validation = spec.Validation with { OnFailure = GateMode.Error } };
        Assert.Equal(BuildStatus.GateFailed, Build(gated).Result.Status);
    }

    [Fact]
    public void TuningWarningsAreReportedAsWarningsNotOnlyRecordedInTuningJson()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec("""
            "dims": { "batch": { "min": 1, "opt": 1, "max": 2 } },
            "package": { "tuning": { "level": "quick", "latencyBudgetMs": 0.001 }, "triton": {} }
            """));

        var (result, report) = Build(spec);

        Assert.Equal(BuildStatus.Built, result.Status);
        var unmet = Assert.Single(report.Warnings, w => w.Code == DiagnosticCode.TuningLatencyBudgetUnmet);
        Assert.Equal(DiagnosticSeverity.Warning, unmet.Severity);
        Assert.StartsWith($"{spec.SpecPath}: warning MF4051: no measured configuration meets the p99 budget of 0.001 ms", unmet.Format(), StringComparison.Ordinal);
        var recorded = File.ReadAllText(Path.Combine(spec.OutputDirectory, "tuning", "tuning.json"));
        Assert.All(report.Warnings.Where(w => w.Code != DiagnosticCode.AccuracyGateFailed), w => Assert.Contains($"\"{w.Code.AsString()}\"", recorded));
    }

    [Fact]
    public void LeftoversOfAKilledBuildAreRemovedAndNeverTrusted()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec());
        var parent = Path.GetDirectoryName(spec.OutputDirectory)!;
        var leftover = Path.Combine(parent, $".{Path.GetFileName(spec.OutputDirectory)}.staging-1-0123");
        Directory.CreateDirectory(leftover);
        File.WriteAllText(Path.Combine(leftover, BuildPipeline.OnnxFileName), "half-written");

        Assert.Equal(BuildStatus.Built, Build(spec).Result.Status);

        Assert.False(Directory.Exists(leftover));
        Assert.Equal([Path.GetFileName(spec.OutputDirectory)], Directory.GetDirectories(parent).Select(Path.GetFileName));
    }

    [Fact]
    public void TheInputHashAndTheWatchedFilesCoverTheFilesInsideAnExtraDirectoryButNotItsPythonCache()
    {
        using var workspace = new SpecWorkspace();
        var vocabulary = Path.Combine(workspace.Directory, "assets", "vocab.txt");
        var cached = Path.Combine(workspace.Directory, "assets", "__pycache__", "handler.cpython-312.pyc");
        Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
        File.WriteAllText(vocabulary, "cat\ndog\n");
        File.WriteAllText(cached, "compiled");
        var spec = workspace.Load(SpecWorkspace.ResNetSpec("""
            "package": { "torchserve": { "extraFiles": ["assets"] } }
            """));
        var before = BuildPipeline.InputHash(spec);

        File.WriteAllText(cached, "compiled again");
        Assert.Equal(before, BuildPipeline.InputHash(spec));
        // The spec tunes (quick by default), so its tuning lock, which the build reads when there is one, is watched too.
        var tuningLock = Path.Combine(workspace.Directory, "model.tuning.lock.json");
        Assert.Equal(new[] { spec.SpecPath!, Path.GetFullPath(SpecWorkspace.ResNetModel), vocabulary, tuningLock }.Order(StringComparer.Ordinal),
            BuildPipeline.InputPaths(spec));

        File.WriteAllText(vocabulary, "cat\ndog\nbird\n");
        Assert.NotEqual(before, BuildPipeline.InputHash(spec));
    }

    [Fact]
    public void AnOutputFolderHoldingTheModelIsRefused()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec()) with { OutputDirectory = workspace.Directory };

        var error = Assert.Throws<ModelForgeException>(() => Build(spec));

        Assert.Equal(DiagnosticCode.OutputFolderUnsafe, error.Code);
        Assert.True(File.Exists(Path.Combine(workspace.Directory, "model.modelforge.json")));
    }

    [Fact]
    public void AnOutputFolderHoldingTheTritonRepositoryIsRefused()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec("""
            "package": { "tuning": { "level": "off" }, "triton": { "repository": "out/model/models" } }
            """));

        var error = Assert.Throws<ModelForgeException>(() => Build(spec));

        Assert.Equal(DiagnosticCode.OutputFolderUnsafe, error.Code);
        Assert.Contains("models", error.Diagnostics[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheSameInputsGiveTheSameBundleBytes()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec("""
            "dims": { "batch": { "min": 1, "opt": 2, "max": 4 } },
            "package": { "tuning": { "level": "off" }, "torchserve": { "handler": "image_classifier" }, "triton": {}, "kserve": { "storageUri": "s3://models/resnet" } }
            """));
        var elsewhere = spec with { OutputDirectory = Path.Combine(workspace.Directory, "out", "again") };

        var (first, report) = Build(spec);
        Build(elsewhere);

        Assert.Equal(["convert", "validate", "package"], report.Started);
        Assert.Equal("max batch 4, preferred [], queue delay 100 µs, 1 instance", first.Manifest!.Stages["package"].Text);
        foreach (var artifact in new[] { BuildPipeline.OnnxFileName, "torchserve/model-store/model.mar", "triton/model/config.pbtxt", "triton/model/1/model.onnx",
                     "kserve/inferenceservice-triton.yaml", "kserve/inferenceservice-torchserve.yaml", "kserve/storage/torchserve/model-store/model.mar",
                     "kserve/storage/triton/model/config.pbtxt" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(spec.OutputDirectory, artifact)), File.ReadAllBytes(Path.Combine(elsewhere.OutputDirectory, artifact)));
        // The 64×64 model with image_classifier (224×224): the package stage reports MF4012 at the spec, and goes on.
        var warning = Assert.Single(report.Warnings);
        Assert.Equal(DiagnosticCode.TorchServeHandlerInputMismatch, warning.Code);
        Assert.Equal(spec.SpecPath, warning.Location?.File);
        Assert.Contains("max_batch_size: 4", File.ReadAllText(Path.Combine(spec.OutputDirectory, "triton", "model", "config.pbtxt")));
        Assert.Equal(BuildPipeline.InputHash(spec), BuildPipeline.InputHash(elsewhere));
    }

    /// <summary>
    /// Tuning measures, yet two builds from a clean output publish the same bundle bytes: the first records its decision
    /// in the tuning lock next to the spec, the second reuses it. Only the validation reports differ (they say when the
    /// gate ran and how long each candidate took), and with them their hashes in the manifest.
    /// </summary>
    [Fact]
    public void TwoTunedBuildsFromACleanOutputGiveTheSameBundleBytesThroughTheTuningLock()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec("""
            "dims": { "batch": { "min": 1, "opt": 1, "max": 2 } },
            "package": { "tuning": { "level": "quick" }, "torchserve": {}, "triton": {}, "kserve": { "storageUri": "s3://models/resnet" } }
            """));
        var lockPath = Path.Combine(workspace.Directory, "model.tuning.lock.json");
        Assert.Equal(lockPath, spec.TuningLockPath);
        static Dictionary<string, byte[]> Bundle(string folder) => Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f))
            .Where(f => !f.StartsWith(BuildPipeline.ValidationFolder + "/", StringComparison.Ordinal) && f != BuildManifest.FileName)
            .ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(folder, f)));

        var (first, _) = Build(spec);
        var firstBundle = Bundle(spec.OutputDirectory);
        Directory.Delete(spec.OutputDirectory, recursive: true);
        var (second, secondReport) = Build(spec);

        Assert.True(File.Exists(lockPath));
        Assert.Contains(secondReport.Lines, line => line.Contains("reusing the batching decision recorded in model.tuning.lock.json", StringComparison.Ordinal));
        var secondBundle = Bundle(spec.OutputDirectory);
        Assert.Equal(firstBundle.Keys.Order(), secondBundle.Keys.Order());
        Assert.Contains("triton/model/config.pbtxt", secondBundle.Keys);
        Assert.Contains("tuning/tuning.json", secondBundle.Keys);
        Assert.All(firstBundle, file => Assert.True(file.Value.AsSpan().SequenceEqual(secondBundle[file.Key]), $"{file.Key} differs"));
        Assert.Equal(first.Manifest!.Stages["package"].Text, second.Manifest!.Stages["package"].Text);
        Assert.Equal(first.Manifest.Inputs, second.Manifest.Inputs);

        // The lock is not in the input hash, but the manifest records it: unchanged is up to date, deleted rebuilds and records a new one.
        Assert.Equal(BuildStatus.UpToDate, Build(spec).Result.Status);
        File.Delete(lockPath);
        var (rebuilt, rebuiltReport) = Build(spec);
        Assert.Equal(BuildStatus.Built, rebuilt.Status);
        Assert.Contains(rebuiltReport.Lines, line => line.Contains("model.tuning.lock.json changed since the last build; rebuilding", StringComparison.Ordinal));
        Assert.True(File.Exists(lockPath));
        // --retune measures again although nothing changed.
        var (retuned, retunedReport) = Build(spec, new BuildSettings { TuningLock = TuningLockMode.Retune });
        Assert.Equal(BuildStatus.Built, retuned.Status);
        Assert.DoesNotContain(retunedReport.Lines, line => line.Contains("reusing", StringComparison.Ordinal));
    }

    [Fact]
    public void AModelWithExternalDataIsPackagedWithItsDataFileAndTheManifestCoversIt()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec("""
            "onnx": { "externalData": true },
            "package": { "tuning": { "level": "off" }, "torchserve": { "serializedModel": "onnx" }, "triton": {} }
            """));

        var (first, report) = Build(spec);
        Assert.Equal(["convert", "validate", "package"], report.Started);
        var data = BuildPipeline.OnnxFileName + ".data";
        foreach (var path in new[] { data, "triton/model/1/" + data })
        {
            var artifact = Assert.Single(first.Manifest!.Artifacts, a => a.Path == path);
            Assert.Equal(BuildManifest.Sha256Of(Path.Combine(spec.OutputDirectory, path)), artifact.Sha256);
        }
        using (var mar = System.IO.Compression.ZipFile.OpenRead(Path.Combine(spec.OutputDirectory, "torchserve", "model-store", "model.mar")))
            Assert.NotNull(mar.GetEntry(data));

        // The data file is part of the bundle: damaging it rebuilds, as damaging model.onnx does.
        File.AppendAllText(Path.Combine(spec.OutputDirectory, data), "tampered");
        var (second, rebuilt) = Build(spec);
        Assert.Equal(BuildStatus.Built, second.Status);
        Assert.Contains(rebuilt.Lines, l => l.Contains("an artifact changed", StringComparison.Ordinal));
        Assert.True(second.Manifest!.ArtifactsIntact(spec.OutputDirectory));
    }
}
