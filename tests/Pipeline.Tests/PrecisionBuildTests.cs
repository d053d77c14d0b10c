using ModelForge.Core.Diagnostics;
using ModelForge.Optimize;
using ModelForge.Pipeline.Spec;
using ModelForge.Pipeline.Stages;

namespace ModelForge.Pipeline.Tests;

/// <summary>
/// <c>onnx.precision</c> in real builds of the small ResNet fixture: each candidate written by the optimizer, gated
/// against native libtorch with its precision's bars, timed in ONNX Runtime, and the fastest that passed published.
/// </summary>
public class PrecisionBuildTests
{
    private static (BuildResult Result, RecordingReporter Reporter) Build(ModelSpec spec)
    {
        var reporter = new RecordingReporter();
        return (BuildPipeline.Run(spec, reporter), reporter);
    }

    private static string OnnxText(string folder) => System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(Path.Combine(folder, BuildPipeline.OnnxFileName)));

    [Fact]
    public void Several_precisions_are_gated_and_timed_and_the_fastest_that_passed_is_published()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec("""
            "dims": { "batch": { "min": 1, "opt": 4, "max": 8 } },
            "validate": { "ranges": { "x": [0, 1] }, "precision": { "int8": { "minTop1": 0.5 } } },
            "onnx": { "precision": ["fp32", "int8", "fp16"], "calibration": { "samples": 16 } }
            """));
        // The fixture's random weights give near-tied logits, so int8 noise swaps the top class of some rows: the
        // top-1 bar is lowered (the spec's override at work), cosine and SQNR keep their int8 defaults.

        var (result, reporter) = Build(spec);

        Assert.Equal(BuildStatus.Built, result.Status);
        Assert.Equal(["convert", "precision", "validate"], reporter.Started);
        var choice = result.Manifest!.Precision!;
        Assert.Equal(["fp32", "int8", "fp16"], choice.Candidates.Select(c => c.Precision));
        Assert.Equal(4, choice.TimedBatch);
        Assert.All(choice.Candidates, c =>
        {
            Assert.True(c.Passed, $"{c.Precision}: {c.Failure}");
            Assert.True(c.LatencyBatch1Ms > 0 && c.LatencyTimedBatchMs > 0, $"{c.Precision} was not timed");
            Assert.InRange(c.MinCosine, 0.99, 1.0 + 1e-9);
        });
        Assert.Null(choice.Candidates[0].MinSqnrDb);               // fp32 is held to the elementwise tolerance
        Assert.All(choice.Candidates.Skip(1), c => Assert.True(c.MinSqnrDb > 20));
        Assert.True(choice.Candidates[2].ModelBytes < 0.6 * choice.Candidates[0].ModelBytes, "fp16 halves the weights");
        Assert.Equal(PrecisionChoice.Fastest(choice.Candidates)!.Precision, choice.Chosen);

        // The published model is the chosen one, and the gate held it to that precision's bars.
        var onnx = OnnxText(spec.OutputDirectory);
        Assert.Equal(choice.Chosen == "int8", onnx.Contains("DequantizeLinear", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(spec.OutputDirectory, "precision")));
        var report = File.ReadAllText(Path.Combine(spec.OutputDirectory, "validation", "report.html"));
        Assert.Contains("<h2>Precision</h2>", report);
        Assert.Contains("<svg", report);
        Assert.Contains($"<b>{choice.Chosen}</b> (kept)", report);
        var manifest = File.ReadAllText(Path.Combine(spec.OutputDirectory, BuildManifest.FileName));
        Assert.Contains("\"chosen\": \"" + choice.Chosen + "\"", manifest);
    }

    [Fact]
    public void When_the_build_tunes_each_passing_precision_is_tuned_and_the_bundles_reuse_the_kept_ones_tuning()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec("""
            "dims": { "batch": { "min": 1, "opt": 2, "max": 4 } },
            "onnx": { "precision": ["fp32", "fp16"] },
            "package": { "tuning": { "level": "quick" }, "triton": {} }
            """));

        var (result, reporter) = Build(spec);

        Assert.Equal(BuildStatus.Built, result.Status);
        var choice = result.Manifest!.Precision!;
        Assert.All(choice.Candidates, c =>
        {
            Assert.NotNull(c.Tuned);
            Assert.InRange(c.Tuned!.BatchSize, 1, 4);                 // the package stage's grid, capped at the batch dim's max
            Assert.True(c.Tuned.ThroughputPerSecond > 0 && c.Tuned.LatencyMs > 0, $"{c.Precision} was not measured");
        });
        Assert.Equal(PrecisionChoice.Fastest(choice.Candidates, new Package.Tuning.TuningObjective())!.Precision, choice.Chosen);
        Assert.Contains("tuned configuration", choice.Reason);

        // The bundles' tuning is the kept candidate's, not a second measurement of the same model.
        Assert.Contains(reporter.Lines, l => l.Contains("reusing the precision stage's tuning", StringComparison.Ordinal));
        using var tuning = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(spec.OutputDirectory, "tuning", "tuning.json")));
        var decision = tuning.RootElement.GetProperty("decision");
        var kept = choice.Candidates.Single(c => c.Precision == choice.Chosen).Tuned!;
        Assert.Equal(kept.BatchSize, decision.GetProperty("batchSize").GetInt32());
        Assert.Equal(kept.ThroughputPerSecond, decision.GetProperty("throughputPerSecond").GetDouble(), 6);
        Assert.Contains("Tuned (batch × instances", File.ReadAllText(Path.Combine(spec.OutputDirectory, "validation", "report.html")));
    }

    [Fact]
    public void When_int8_misses_its_bars_the_sensitivity_pass_keeps_the_fragile_conv_float_and_int8_passes()
    {
        // fixtures/optimize/fragile_layer: one conv reads an activation whose outlier channel per-tensor int8 cannot hold.
        using var workspace = new SpecWorkspace();
        var model = System.Text.Json.JsonSerializer.Serialize(RepoPaths.Fixture("optimize", "fragile_layer", "model.pt"));
        var spec = workspace.Load($$"""
            {
              "source": {{model}},
              "inputs": [ { "name": "x", "dtype": "float32", "shape": ["batch", 3, 16, 16] } ],
              "onnx": { "precision": "int8", "calibration": { "samples": 16 } }
            }
            """);

        var (result, reporter) = Build(spec);

        Assert.Equal(BuildStatus.Built, result.Status);
        var int8 = Assert.Single(result.Manifest!.Precision!.Candidates);
        Assert.True(int8.Passed, int8.Failure);
        var kept = Assert.Single(int8.FloatNodes);
        Assert.Contains("conv3", kept);
        Assert.Contains("kept float by the sensitivity pass", kept);
        Assert.Contains(reporter.Lines, l => l.Contains("the sensitivity pass kept 1 node(s) float", StringComparison.Ordinal));

        var off = workspace.Load(System.IO.File.ReadAllText(spec.SpecPath!).Replace("\"calibration\"", "\"sensitivity\": false, \"calibration\""));
        Assert.Equal(BuildStatus.GateFailed, Build(off).Result.Status);
    }

    [Fact]
    public void A_precision_below_its_bars_fails_the_gate_and_publishes_nothing()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec("""
            "onnx": { "precision": "int8", "sensitivity": { "maxFloatNodes": 0 }, "calibration": { "samples": 8 } },
            "validate": { "precision": { "int8": { "minSqnrDb": 200 } } }
            """));

        var (result, _) = Build(spec);

        Assert.Equal(BuildStatus.GateFailed, result.Status);
        Assert.Equal(DiagnosticCode.AccuracyGateFailed, result.Gate!.Code);
        Assert.Contains("int8: ", result.Gate.Message);
        Assert.Contains("SQNR", result.Gate.Message);
        Assert.False(Directory.Exists(spec.OutputDirectory));
        Assert.True(Directory.Exists(Path.Combine(result.RejectedDirectory!, "precision", "int8")), "the candidate is kept for inspection");
    }

    [Fact]
    public void In_warning_mode_a_failed_precision_is_published_with_a_warning()
    {
        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec("""
            "onnx": { "precision": ["int8"], "sensitivity": false, "calibration": { "samples": 8 } },
            "validate": { "onFailure": "warning", "precision": { "int8": { "minSqnrDb": 200 } } }
            """));

        var (result, _) = Build(spec);

        Assert.Equal(BuildStatus.Built, result.Status);
        Assert.Equal(DiagnosticCode.AccuracyGateFailed, result.Gate!.Code);
        Assert.Equal(DiagnosticSeverity.Warning, result.Gate.Severity);
        Assert.Equal("int8", result.Manifest!.Precision!.Chosen);
        Assert.Contains("DequantizeLinear", OnnxText(spec.OutputDirectory));
    }
}

public class PrecisionChoiceTests
{
    private static PrecisionCandidate Candidate(string precision, bool passed, double timedMs, PrecisionTuning? tuned) =>
        new(precision, passed, passed ? null : "cosine below the bar", 1, timedMs, 0.999, 30, null, null, 0.01, 1000) { Tuned = tuned };

    [Fact]
    public void Tuned_candidates_are_ranked_by_the_objective_at_their_tuned_configuration()
    {
        // int8 is faster than fp16 at the opt batch, but fp16 serves more per second at its tuned configuration; the
        // fastest of all misses the p99 budget there, so it loses under the objective and wins only by the untuned rule.
        var fp32 = Candidate("fp32", true, 10, new PrecisionTuning(8, 1, 40, 45, 200, true));
        var int8 = Candidate("int8", true, 4, new PrecisionTuning(4, 2, 12, 15, 300, true));
        var fp16 = Candidate("fp16", true, 6, new PrecisionTuning(16, 1, 30, 35, 500, true));
        var overBudget = Candidate("int8-dynamic", true, 3, new PrecisionTuning(16, 1, 20, 90, 900, false));
        var objective = new Package.Tuning.TuningObjective(P99BudgetMilliseconds: 50);

        Assert.Equal("fp16", PrecisionChoice.Fastest([fp32, int8, fp16, overBudget], objective)!.Precision);
        Assert.Equal("int8-dynamic", PrecisionChoice.Fastest([fp32, int8, fp16, overBudget])!.Precision);   // untuned rule: the opt batch
        var untuned = Candidate("untuned", true, 1, null);
        Assert.Equal("untuned", PrecisionChoice.Fastest([fp32, int8, fp16, untuned], objective)!.Precision);  // one passed untuned: the opt batch decides
        Assert.Null(PrecisionChoice.Fastest([Candidate("int8", false, 1, null)], objective));
    }
}

public class PrecisionSpecTests
{
    [Fact]
    public void Precision_calibration_and_bars_are_read_with_their_defaults()
    {
        using var workspace = new SpecWorkspace();
        var plain = workspace.Load(SpecWorkspace.ResNetSpec());
        Assert.False(plain.Precision.Requested);
        Assert.Equal(ValidationSpec.DefaultThresholds, plain.Validation.PrecisionThresholds);

        File.WriteAllBytes(Path.Combine(workspace.Directory, "calib.npz"), []);
        var spec = workspace.Load(SpecWorkspace.ResNetSpec("""
            "onnx": { "precision": ["int8", "fp32"], "calibration": { "data": "calib.npz", "method": "entropy" } },
            "validate": { "precision": { "int8": { "minCosine": 0.98 } } }
            """));
        Assert.Equal([Precision.Int8, Precision.Fp32], spec.Precision.Candidates);
        Assert.Equal(Path.Combine(workspace.Directory, "calib.npz"), spec.Precision.CalibrationData);
        Assert.Equal(Optimize.Int8.CalibrationMethod.Entropy, spec.Precision.CalibrationMethod);
        Assert.Equal(0.98, spec.Validation.PrecisionThresholds[Precision.Int8].MinCosine);
        Assert.Equal(Validate.Compare.QuantizationThresholds.Int8.MinSqnrDb, spec.Validation.PrecisionThresholds[Precision.Int8].MinSqnrDb);
        Assert.Equal("int8", spec.Validation.TolerancesFor(Precision.Int8).Precision!.Name);
        Assert.Null(spec.Validation.TolerancesFor(Precision.Fp32).Precision);
    }

    [Theory]
    [InlineData("\"onnx\": { \"precision\": [\"int8\", \"int8\"] }", DiagnosticCode.SpecInvalid)]
    [InlineData("\"onnx\": { \"precision\": \"int4\" }", DiagnosticCode.SpecInvalid)]
    [InlineData("\"onnx\": { \"precision\": \"int8\", \"calibration\": { \"data\": \"missing.npz\" } }", DiagnosticCode.FileNotFound)]
    [InlineData("\"onnx\": { \"precision\": [\"fp32\", \"int8-dynamic\"] }, \"tensorrt\": { \"allOnTensorRt\": true }", DiagnosticCode.PrecisionUnsupportedByProvider)]
    [InlineData("\"validate\": { \"precision\": { \"int8\": { \"minCosine\": 2 } } }", DiagnosticCode.SpecInvalid)]
    public void Bad_precision_settings_are_diagnostics_that_point_into_the_spec(string extra, DiagnosticCode code)
    {
        using var workspace = new SpecWorkspace();
        var error = Assert.Throws<ModelForgeException>(() => workspace.Load(SpecWorkspace.ResNetSpec(extra)));
        Assert.Equal(code, error.Code);
        Assert.True(error.Diagnostics[0].Location?.Line > 0, error.Message);
    }
}
