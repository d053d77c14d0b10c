using ModelForge.Validate.Reports;

namespace ModelForge.Validate.Tests.Reports;

public sealed class ConsoleReportTests
{
    private static string Render(ValidationReport report)
    {
        using var writer = new StringWriter();
        ConsoleReport.Write(report, writer);
        return writer.ToString();
    }

    [Fact]
    public void Matches_golden_file() => Golden.Check(Render(SampleReports.Create()), "console.txt");

    [Fact]
    public void Final_line_names_every_culprit_with_candidate_batch_and_reason()
    {
        var lastLine = Render(SampleReports.Create()).TrimEnd('\n').Split('\n')[^1];

        Assert.StartsWith("FAILED: ", lastLine);
        Assert.Contains($"onnxruntime-cpu batch 8 output \"probs\": {SampleReports.ProbsReason}", lastLine);
        Assert.Contains($"onnxruntime-cuda batch 1, 8 unavailable: {SampleReports.CudaReason}", lastLine);
        Assert.DoesNotContain("logits", lastLine);
    }

    [Fact]
    public void Table_rows_are_aligned_and_plain_ascii()
    {
        var lines = Render(SampleReports.Create()).Split('\n');
        var header = Array.FindIndex(lines, l => l.StartsWith("CANDIDATE", StringComparison.Ordinal));
        var statusColumn = lines[header].IndexOf("STATUS", StringComparison.Ordinal);
        var rows = lines.Skip(header + 2).TakeWhile(l => l.Length > 0).ToList();

        Assert.Equal(6, rows.Count);
        Assert.All(rows, row => Assert.Matches("^(PASS|FAIL|UNAVAILABLE) ", row[statusColumn..]));
        Assert.All(lines, line => Assert.All(line, c => Assert.InRange(c, ' ', '~')));
    }

    [Fact]
    public void Passing_report_ends_with_passed()
    {
        var sample = SampleReports.Create();
        var report = sample with { Runs = [sample.Runs[0]] };

        var lastLine = Render(report).TrimEnd('\n').Split('\n')[^1];

        Assert.True(report.Passed);
        Assert.Equal("PASSED: all 2 output checks of 1 candidate(s) at batch size(s) 1 within tolerance", lastLine);
    }

    [Fact]
    public void Report_without_runs_fails()
    {
        var report = SampleReports.Create() with { Runs = [] };

        Assert.EndsWith("FAILED: no candidate was run\n", Render(report));
    }
}
