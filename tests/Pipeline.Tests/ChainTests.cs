using System.Text.Json;
using ModelForge.Convert;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Package.Processing;
using ModelForge.Pipeline.Spec;
using ModelForge.Pipeline.Stages;
using ModelForge.Validate.Compare;
using Xunit.Abstractions;

namespace ModelForge.Pipeline.Tests;

/// <summary>
/// The spec's <c>preprocess</c>/<c>postprocess</c>/<c>fused</c>, and the chain's accuracy gate on resnet18_small:
/// libtorch fed by the C# preprocessing and followed by the C# postprocessing, against the ensemble's steps and the
/// fused model in ONNX Runtime.
/// </summary>
public sealed class ChainTests(ITestOutputHelper output)
{
    private const string Processing = """
        "preprocess": { "layout": "hwc", "channelOrder": "bgr", "size": [96, 80], "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] },
        "postprocess": { "softmax": true, "topK": 3, "argmax": true, "labels": "labels.txt" },
        "fused": true
        """;

    [Fact]
    public void Spec_sections_map_to_processing_options()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec($$"""
            "package": { "tuning": { "level": "off" }, "triton": {}, {{Processing}} }
            """));

        var processing = spec.Package!.Processing!;
        Assert.Equal(new ImagePreprocess
        {
            Layout = ImageLayout.Hwc, ChannelOrder = ChannelOrder.Bgr, Height = 96, Width = 80, Mean = processing.Preprocess!.Mean, Std = processing.Preprocess.Std,
        }, processing.Preprocess);
        Assert.Equal([0.485f, 0.456f, 0.406f], processing.Preprocess.Mean);
        Assert.Equal([0.229f, 0.224f, 0.225f], processing.Preprocess.Std);
        var labels = Path.Combine(workspace.Directory, "labels.txt");
        Assert.Equal(new ClassifierPostprocess { Softmax = true, TopK = 3, Argmax = true, LabelFile = labels }, processing.Postprocess);
        Assert.True(processing.Fused);
        // The label file's content is part of the build's input hash.
        Assert.Contains(labels, spec.Package.ReferencedFiles);
    }

    [Theory]
    [InlineData("\"fused\": true", "nothing to fuse")]
    [InlineData("\"preprocess\": { \"layout\": \"hw\" }", "$.package.preprocess.layout")]
    [InlineData("\"preprocess\": { \"size\": [96] }", "$.package.preprocess.size")]
    [InlineData("\"postprocess\": { \"topK\": 0 }", "$.package.postprocess.topK")]
    public void Bad_processing_sections_are_MF7001(string section, string expected)
    {
        using var workspace = new SpecWorkspace();
        var error = Assert.Throws<ModelForgeException>(() => workspace.Load(SpecWorkspace.ResNetSpec($$"""
            "package": { "tuning": { "level": "off" }, {{section}} }
            """)));
        Assert.All(error.Diagnostics, d => Assert.Equal(DiagnosticCode.SpecInvalid, d.Code));
        Assert.Contains(error.Diagnostics, d => d.Message.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Build_gates_the_chain_and_writes_the_ensemble_fused_model_and_handler()
    {
        using var workspace = new SpecWorkspace();
        File.WriteAllLines(Path.Combine(workspace.Directory, "labels.txt"), Enumerable.Range(0, 10).Select(i => $"class_{i}"));
        var spec = workspace.Load(SpecWorkspace.ResNetSpec($$"""
            "outputs": ["logits"], "dims": { "batch": { "min": 1, "opt": 4, "max": 8 } },
            "package": { "tuning": { "level": "off" }, "triton": {}, "torchserve": {}, {{Processing}} }
            """));
        var reporter = new RecordingReporter();
        var result = BuildPipeline.Run(spec, reporter);

        Assert.Equal(BuildStatus.Built, result.Status);
        Assert.IsType<StageOutcome.Done>(reporter.Finished.Single(f => f.Stage == "chain").Outcome);
        var triton = Path.Combine(spec.OutputDirectory, "triton");
        Assert.Equal(["model", "model_ensemble", "model_fused", "model_postprocess", "model_preprocess"], Directory.GetDirectories(triton).Select(Path.GetFileName).Order());
        Assert.True(File.Exists(Path.Combine(spec.OutputDirectory, "torchserve", "model_handler.py")));
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(spec.OutputDirectory, "validation", ChainStage.ReportFileName)));
        Assert.True(report.RootElement.GetProperty("passed").GetBoolean());
        var comparisons = report.RootElement.GetProperty("comparisons").EnumerateArray().ToList();
        // Batches 1 and 4; the ensemble: x, logits and four outputs; the fused model: four outputs.
        Assert.Equal(2 * (6 + 4), comparisons.Count);
        foreach (var line in reporter.Lines.Where(l => l.StartsWith("chain:", StringComparison.Ordinal))) output.WriteLine(line);
        // The manifest records the chain stage and the label file as the schema says.
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(spec.OutputDirectory, BuildManifest.FileName)));
        Assert.Equal("done", manifest.RootElement.GetProperty("stages").GetProperty("chain").GetProperty("status").GetString());
        Assert.Contains(manifest.RootElement.GetProperty("inputs").EnumerateObject(), p => p.Name.EndsWith("labels.txt", StringComparison.Ordinal));
        using var schema = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "schemas", "build-manifest.schema.json")));
        Assert.Contains("chain", schema.RootElement.GetProperty("properties").GetProperty("stages").GetProperty("propertyNames").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void A_chain_added_to_a_triton_repository_records_every_models_version_in_the_manifest()
    {
        using var workspace = new SpecWorkspace();
        File.WriteAllLines(Path.Combine(workspace.Directory, "labels.txt"), Enumerable.Range(0, 10).Select(i => $"class_{i}"));
        var spec = workspace.Load(SpecWorkspace.ResNetSpec($$"""
            "outputs": ["logits"],
            "package": { "tuning": { "level": "off" }, "triton": { "repository": "repo" }, {{Processing}} }
            """));

        Assert.Equal(BuildStatus.Built, BuildPipeline.Run(spec, new RecordingReporter()).Status);

        var record = BuildManifest.TryLoad(spec.OutputDirectory)!.TritonRepository!;
        Assert.Equal(("model", 1), (record.Model, record.VersionWritten));
        // Steps first, the ensemble last: the order the repository's folders were written in.
        Assert.Equal(["model_preprocess", "model_postprocess", "model_fused", "model_ensemble"], record.ProcessingModels!.Select(m => m.Model));
        Assert.All(record.ProcessingModels!, m =>
        {
            Assert.Equal(1, m.VersionWritten);
            Assert.Equal([1L], m.VersionsPresent);
            Assert.True(Directory.Exists(Path.Combine(workspace.Directory, "repo", m.Model, "1")), m.Model);
        });
    }

    /// <summary>The gate's own numbers: every tensor well within the default float32 tolerance, and a preprocessing that drifts is caught at its step.</summary>
    [Fact]
    public void Chain_parity_passes_and_catches_a_drifted_step()
    {
        var directory = Directory.CreateTempSubdirectory("modelforge-chain-").FullName;
        try
        {
            var input = InputSpec.Parse("x:float32[batch,3,64,64]");
            var onnx = Path.Combine(directory, "model.onnx");
            using (var converted = ModelConverter.Convert(SpecWorkspace.ResNetModel, new ConvertOptions([input]))) converted.WriteTo(onnx);
            var options = new ProcessingOptions
            {
                Preprocess = new ImagePreprocess { ChannelOrder = ChannelOrder.Bgr, Height = 96, Width = 80, Mean = [0.485f, 0.456f, 0.406f], Std = [0.229f, 0.224f, 0.225f] },
                Postprocess = new ClassifierPostprocess { Softmax = true, TopK = 3, Argmax = true },
                Fused = true,
            };
            var plan = ProcessingPlan.Resolve(options, onnx, null);
            var files = ProcessingFiles.Write(plan, "model", Path.Combine(directory, "processing"));
            var tolerance = ToleranceSettings.Default.Float32;
            var comparisons = ChainParity.Compare(plan, files, SpecWorkspace.ResNetModel, onnx, [input], [1, 3], new Dictionary<string, long>(), 0, tolerance);
            foreach (var c in comparisons) output.WriteLine($"{c.Candidate} batch {c.BatchSize} {c.Tensor}: max abs diff {c.MaxAbsDiff:0.00e+00}, {c.Mismatches} outside {tolerance}");
            Assert.All(comparisons, c => Assert.True(c.Passed, $"{c.Candidate} batch {c.BatchSize} {c.Tensor}: {c.Mismatches} mismatches, max {c.MaxAbsDiff}"));
            Assert.Equal(new[] { ChainParity.Ensemble, ChainParity.Fused }, comparisons.Select(c => c.Candidate).Distinct());

            // The same chain with a preprocessing model made for another mean: the ensemble's first tensor, x, fails.
            var drifted = ProcessingPlan.Resolve(options with { Preprocess = options.Preprocess with { Mean = [0.5f, 0.456f, 0.406f] } }, onnx, null);
            var driftedFiles = ProcessingFiles.Write(drifted, "model", Path.Combine(directory, "drifted"));
            var failed = ChainParity.Compare(plan, files with { PreprocessPath = driftedFiles.PreprocessPath }, SpecWorkspace.ResNetModel, onnx, [input], [2],
                new Dictionary<string, long>(), 0, tolerance).Where(c => !c.Passed).ToList();
            Assert.Equal("x", failed[0].Tensor);
            Assert.All(failed, c => Assert.Equal(ChainParity.Ensemble, c.Candidate));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
