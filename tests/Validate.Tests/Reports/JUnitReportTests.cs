using System.Xml.Linq;
using ModelForge.Validate.Reports;

namespace ModelForge.Validate.Tests.Reports;

public sealed class JUnitReportTests
{
    private static string Render(ValidationReport report)
    {
        using var stream = new MemoryStream();
        JUnitReport.Write(report, stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static int Int(XElement element, string attribute) => int.Parse((string)element.Attribute(attribute)!, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Matches_golden_file() => Golden.Check(Render(SampleReports.Create()), "report.junit.xml");

    [Fact]
    public void Counts_tests_and_failures_with_unavailable_candidates_as_failures()
    {
        var root = XDocument.Parse(Render(SampleReports.Create())).Root!;

        Assert.Equal("testsuites", root.Name.LocalName);
        var suites = root.Elements("testsuite").ToList();
        Assert.Equal(["onnxruntime-cpu batch 1", "onnxruntime-cpu batch 8", "onnxruntime-cuda batch 1", "onnxruntime-cuda batch 8", "onnxruntime-tensorrt skipped"],
            suites.Select(s => (string)s.Attribute("name")!));
        // 2 + 2 outputs of onnxruntime-cpu, one test per unavailable onnxruntime-cuda run, one for the skipped onnxruntime-tensorrt.
        Assert.Equal(7, Int(root, "tests"));
        Assert.Equal(3, Int(root, "failures"));
        Assert.Equal(1, Int(root, "skipped"));
        foreach (var suite in suites)
        {
            Assert.Equal(suite.Elements("testcase").Count(), Int(suite, "tests"));
            Assert.Equal(suite.Elements("testcase").Count(c => c.Element("failure") is not null), Int(suite, "failures"));
            Assert.Equal(suite.Elements("testcase").Count(c => c.Element("skipped") is not null), Int(suite, "skipped"));
        }

        var cuda = suites[2].Elements("testcase").Single();
        var unavailable = cuda.Element("failure")!;
        Assert.Equal("CandidateUnavailable", (string)unavailable.Attribute("type")!);
        Assert.Equal(SampleReports.CudaReason, (string)unavailable.Attribute("message")!);
        Assert.Equal("modelforge.validate.onnxruntime-cuda", (string)cuda.Attribute("classname")!);
    }

    [Fact]
    public void A_skipped_candidate_is_a_skipped_testcase_with_the_reason()
    {
        var root = XDocument.Parse(Render(SampleReports.Create())).Root!;

        var testCase = Assert.Single(root.Descendants("testcase"), c => c.Element("skipped") is not null);
        Assert.Equal("modelforge.validate.onnxruntime-tensorrt", (string)testCase.Attribute("classname")!);
        Assert.Equal("onnxruntime-tensorrt (batch 1, 8)", (string)testCase.Attribute("name")!);
        Assert.Equal(SampleReports.TensorRtReason, (string)testCase.Element("skipped")!.Attribute("message")!);
        Assert.Null(testCase.Element("failure"));
        var properties = testCase.Parent!.Element("properties")!.Elements("property").ToDictionary(p => (string)p.Attribute("name")!, p => (string)p.Attribute("value")!);
        Assert.Equal("Skipped", properties["status"]);
        Assert.Equal("out/resnet_tiny.onnx", properties["onnx"]);
    }

    [Fact]
    public void Failing_output_carries_its_failure_reason_and_details()
    {
        var root = XDocument.Parse(Render(SampleReports.Create())).Root!;

        var probs = root.Descendants("testcase").Single(c => (string)c.Attribute("name")! == "probs (batch 8)");
        Assert.Equal("modelforge.validate.onnxruntime-cpu", (string)probs.Attribute("classname")!);
        var failure = probs.Element("failure")!;
        Assert.Equal(SampleReports.ProbsReason, (string)failure.Attribute("message")!);
        Assert.Equal("AccuracyMismatch", (string)failure.Attribute("type")!);
        Assert.Contains("mismatches: 5/80", failure.Value);
        Assert.Contains("worst mismatches:", failure.Value);
        Assert.Contains("[3, 7]", failure.Value);

        var logits = root.Descendants("testcase").Single(c => (string)c.Attribute("name")! == "logits (batch 8)");
        Assert.Null(logits.Element("failure"));
    }

    [Fact]
    public void Control_characters_in_messages_do_not_break_the_xml()
    {
        var sample = SampleReports.Create();
        var runs = sample.Runs.ToList();
        runs[2] = runs[2] with { Reason = "bad\u0001reason <&> \"quoted\"" };

        var root = XDocument.Parse(Render(sample with { Runs = runs })).Root!;

        var failure = root.Elements("testsuite").ElementAt(2).Descendants("failure").Single();
        // The message is one line (control characters become spaces); the text keeps a marker where XML cannot go.
        Assert.Equal("bad reason <&> \"quoted\"", (string)failure.Attribute("message")!);
        Assert.Contains("bad\uFFFDreason <&> \"quoted\"", failure.Value);
    }
}
