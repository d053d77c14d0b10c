using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using ModelForge.Validate.Compare;
using ModelForge.Validate.Reports;

namespace ModelForge.Validate.Tests.Reports;

public sealed class HtmlReportTests
{
    private static string Render(ValidationReport report)
    {
        using var stream = new MemoryStream();
        HtmlReport.Write(report, stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    [Fact]
    public void Shows_the_verdict_and_one_chart_per_compared_output()
    {
        var html = Render(SampleReports.Create());

        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains("<div class=\"word\">FAILED</div>", html);
        Assert.Contains("libcublas.so.13: cannot open shared object file", html);
        // onnxruntime-cpu: 2 outputs at batch 1 and 2 at batch 8; the unavailable candidate has none.
        Assert.Equal(4, Regex.Count(html, "<svg"));
        Assert.Equal(4, Regex.Count(html, "<section "));
    }

    [Fact]
    public void Names_the_skipped_candidates_and_why()
    {
        var html = Render(SampleReports.Create());

        Assert.Contains("Not run (optional, cannot run here): onnxruntime-tensorrt.", html);
        Assert.Matches(new Regex("<tr class=\"skipped\"><td>onnxruntime-tensorrt</td>.*<span class=\"badge skipped\">SKIPPED</span>.*" +
                                 Regex.Escape(WebUtility.HtmlEncode(SampleReports.TensorRtReason))), html);
    }

    [Fact]
    public void Passing_report_says_passed()
    {
        var sample = SampleReports.Create();

        var html = Render(sample with { Runs = [sample.Runs[0]] });

        Assert.Contains("<div class=\"word\">PASSED</div>", html);
        Assert.DoesNotContain("FAILED", html);
    }

    [Fact]
    public void Escapes_report_text()
    {
        const string nasty = "<script>alert(1)</script>";

        var html = Render(SampleReports.Create(probsName: nasty));

        Assert.DoesNotContain(nasty, html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
    }

    [Fact]
    public void Is_self_contained()
    {
        var html = Render(SampleReports.Create());

        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.DoesNotContain("src=", html);
        Assert.DoesNotContain("url(", html);
        Assert.DoesNotContain("@import", html);
        Assert.DoesNotContain("<link", html);
        Assert.DoesNotContain("<script", html);
        // The only links are in-page anchors to the output sections.
        Assert.All(Regex.Matches(html, "href=\"([^\"]*)\"").Select(m => m.Groups[1].Value), href => Assert.StartsWith("#", href));
    }

    [Fact]
    public void Draws_histograms_without_bins_and_with_an_infinite_last_edge()
    {
        var sample = SampleReports.Create();
        var runs = sample.Runs.ToList();
        var outputs = runs[1].Outputs;
        runs[1] = runs[1] with
        {
            Outputs =
            [
                outputs[0] with { Histogram = new ErrorHistogram([], [], 80) },
                outputs[1] with { Histogram = new ErrorHistogram([1e307, 1e308, double.PositiveInfinity], [1, 2], 77) },
            ],
        };

        var html = Render(sample with { Runs = runs });

        Assert.Contains("(every error is 0)", html);
        Assert.Contains("<title>[1e308, inf): 2</title>", html);
        Assert.Contains(">inf</text>", html);
        Assert.Contains("(below the range)", html);
    }

    [Fact]
    public void Is_deterministic()
    {
        Assert.Equal(Render(SampleReports.Create()), Render(SampleReports.Create()));
    }
}
