using System.Text;
using System.Text.Json;
using ModelForge.Validate.Reports;

namespace ModelForge.Validate.Tests.Reports;

public sealed class JsonReportTests
{
    private static string Render(ValidationReport report)
    {
        using var stream = new MemoryStream();
        JsonReport.Write(report, stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    [Fact]
    public void Matches_golden_file() => Golden.Check(Render(SampleReports.Create()), "report.json");

    [Fact]
    public void Parses_back_with_the_verdict_and_everything_in_the_report()
    {
        using var json = JsonDocument.Parse(Render(SampleReports.Create()));
        var root = json.RootElement;

        Assert.Equal(1, root.GetProperty("schemaVersion").GetInt32());
        Assert.Equal("schemaVersion", root.EnumerateObject().First().Name);
        Assert.False(root.GetProperty("passed").GetBoolean());
        Assert.Equal("2026-03-14T15:09:26Z", root.GetProperty("finishedAt").GetString());
        Assert.Equal(0.25, root.GetProperty("referenceTimeSeconds").GetDouble());

        var runs = root.GetProperty("runs");
        Assert.Equal(4, runs.GetArrayLength());
        Assert.Equal("unavailable", runs[2].GetProperty("status").GetString());
        Assert.Equal(SampleReports.CudaReason, runs[2].GetProperty("reason").GetString());
        Assert.Equal(0.04825, runs[1].GetProperty("inferenceTimeSeconds").GetDouble());
        Assert.Equal("ORT_ENABLE_ALL", runs[0].GetProperty("options").GetProperty("graph_optimization_level").GetString());

        var probs = runs[1].GetProperty("outputs")[1];
        Assert.False(probs.GetProperty("passed").GetBoolean());
        Assert.Equal(SampleReports.ProbsReason, probs.GetProperty("failureReason").GetString());
        Assert.Equal(9, probs.GetProperty("histogram").GetProperty("counts").GetArrayLength());
        Assert.Equal(5, probs.GetProperty("worstMismatches").GetArrayLength());
        Assert.Equal(0.031, probs.GetProperty("statistics").GetProperty("maxAbsError").GetDouble());
        Assert.Equal(JsonValueKind.Null, runs[0].GetProperty("outputs")[0].GetProperty("failureReason").ValueKind);

        var skipped = Assert.Single(root.GetProperty("skipped").EnumerateArray());
        Assert.Equal("onnxruntime-tensorrt", skipped.GetProperty("candidate").GetString());
        Assert.Equal(SampleReports.TensorRtReason, skipped.GetProperty("reason").GetString());
    }

    [Fact]
    public void Skipped_is_an_empty_list_when_every_candidate_ran()
    {
        using var json = JsonDocument.Parse(Render(SampleReports.Create() with { Skipped = [] }));

        Assert.Equal(0, json.RootElement.GetProperty("skipped").GetArrayLength());
    }

    [Fact]
    public void Non_finite_numbers_are_strings()
    {
        var sample = SampleReports.Create();
        var runs = sample.Runs.ToList();
        var failing = runs[1].Outputs[1];
        var statistics = failing.Statistics! with { MaxRelError = double.PositiveInfinity, CosineSimilarity = double.NegativeInfinity };
        runs[1] = runs[1] with { Outputs = [runs[1].Outputs[0], failing with { Statistics = statistics }] };

        using var json = JsonDocument.Parse(Render(sample with { Runs = runs }));
        var probs = json.RootElement.GetProperty("runs")[1].GetProperty("outputs")[1];

        Assert.Equal("Infinity", probs.GetProperty("statistics").GetProperty("maxRelError").GetString());
        Assert.Equal("-Infinity", probs.GetProperty("statistics").GetProperty("cosineSimilarity").GetString());
        var nan = probs.GetProperty("worstMismatches")[0];
        Assert.Equal(0.25, nan.GetProperty("expected").GetDouble());
        Assert.Equal("NaN", nan.GetProperty("actual").GetString());
        Assert.Equal("NaN", nan.GetProperty("absError").GetString());

        // The spelling System.Text.Json reads back as doubles when asked to.
        var options = new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
        Assert.True(double.IsNaN(nan.GetProperty("actual").Deserialize<double>(options)));
        Assert.True(double.IsPositiveInfinity(probs.GetProperty("statistics").GetProperty("maxRelError").Deserialize<double>(options)));
    }

    [Fact]
    public void Leaves_the_stream_open()
    {
        using var stream = new MemoryStream();
        JsonReport.Write(SampleReports.Create(), stream);

        Assert.True(stream.CanWrite);
    }
}
