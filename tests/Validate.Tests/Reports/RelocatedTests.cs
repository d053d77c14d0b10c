using ModelForge.Validate.Reports;

namespace ModelForge.Validate.Tests.Reports;

/// <summary><see cref="ValidationReport.Relocated"/>: a build's reports name the published files, not the staging folder.</summary>
public sealed class RelocatedTests
{
    private static readonly string Staging = Path.Combine(Path.GetTempPath(), "mf-relocate", ".out.staging-42-0123abcd");
    private static readonly string Output = Path.Combine(Path.GetTempPath(), "mf-relocate", "out");

    [Fact]
    public void Paths_and_messages_under_the_folder_name_the_same_file_in_the_new_one()
    {
        var sample = SampleReports.Create();
        var runs = sample.Runs.ToList();
        runs[2] = runs[2] with
        {
            Reason = $"the engine was not built: '{Path.Combine(Staging, "engine")}' is empty",
            Candidate = runs[2].Candidate with { Options = new Dictionary<string, string> { ["ep_context_file_path"] = Path.Combine(Staging, "engine", "ctx.onnx") } },
        };
        var report = sample with { OnnxPath = Path.Combine(Staging, "model.onnx"), Runs = runs, Skipped = [new SkippedCandidate("onnxruntime-tensorrt", $"no engine in {Staging}")] };

        var moved = report.Relocated(Staging, Output);

        Assert.Equal(Path.Combine(Output, "model.onnx"), moved.OnnxPath);
        Assert.Equal(sample.ModelPath, moved.ModelPath);
        Assert.Equal($"the engine was not built: '{Path.Combine(Output, "engine")}' is empty", moved.Runs[2].Reason);
        Assert.Equal(Path.Combine(Output, "engine", "ctx.onnx"), moved.Runs[2].Candidate.Options["ep_context_file_path"]);
        Assert.Equal($"no engine in {Output}", moved.Skipped[0].Reason);
        Assert.Equal(report.Runs[0].Outputs, moved.Runs[0].Outputs);
    }

    [Fact]
    public void A_longer_name_that_starts_with_the_folder_is_left_alone()
    {
        var sibling = Staging + "-other" + Path.DirectorySeparatorChar + "model.onnx";
        var report = SampleReports.Create() with { OnnxPath = sibling };

        Assert.Equal(sibling, report.Relocated(Staging, Output).OnnxPath);
    }
}
