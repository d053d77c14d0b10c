using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using ModelForge.Validate.Compare;

namespace ModelForge.Validate.Reports;

/// <summary>
/// The report as JUnit XML, the format CI test reporters read (GitHub Actions test-reporter actions, Azure Pipelines
/// PublishTestResults, GitLab's junit artifacts). The mapping:
/// <list type="bullet">
/// <item><c>&lt;testsuites name="modelforge.validate"&gt;</c>, one <c>&lt;testsuite name="onnxruntime-cpu batch 8"&gt;</c>
/// per candidate run (candidate × batch size), with the run's settings as <c>&lt;properties&gt;</c>.</item>
/// <item>One <c>&lt;testcase classname="modelforge.validate.onnxruntime-cpu" name="logits (batch 8)"&gt;</c> per output.
/// A failing output has <c>&lt;failure type="AccuracyMismatch" message="FailureReason"&gt;</c> whose text holds
/// the statistics and the worst mismatches.</item>
/// <item>An unavailable candidate is one testcase <c>name="&lt;candidate&gt; (batch N)"</c> with
/// <c>&lt;failure type="CandidateUnavailable" message="reason"&gt;</c>: the gate counts it as not passed, so it is a
/// failure, not <c>&lt;skipped&gt;</c> (which reporters show as harmless).</item>
/// <item>A failed run none of whose outputs failed (e.g. the session failed before producing outputs) is one testcase
/// <c>name="&lt;candidate&gt; (batch N)"</c> with <c>&lt;failure type="RunFailed"&gt;</c>.</item>
/// <item><c>time</c> is seconds: a suite's is the run's inference time; outputs come from one session run, so each
/// testcase gets an equal share of it. <c>errors</c> is always 0.</item>
/// <item>An optional candidate that was not run because its provider cannot run here (<see cref="ValidationReport.Skipped"/>)
/// is a <c>&lt;testsuite name="&lt;candidate&gt; skipped"&gt;</c> of one testcase <c>name="&lt;candidate&gt; (batch 1, 8)"</c> with
/// <c>&lt;skipped message="reason"/&gt;</c>: optional candidates do not count against the gate, so reporters may show them
/// as harmless, but they show them. The suites' and the root's <c>skipped</c> attributes count them.</item>
/// <item>The <c>model</c> and <c>onnx</c> properties name the files as the report's reader finds them (for a build, in the
/// published output folder).</item>
/// </list>
/// Characters XML cannot carry (most control characters) are written as U+FFFD.
/// </summary>
public static class JUnitReport
{
    public const string AccuracyMismatch = "AccuracyMismatch";
    public const string CandidateUnavailable = "CandidateUnavailable";
    public const string RunFailed = "RunFailed";

    public static void Write(ValidationReport report, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(stream);

        var suites = report.Runs.Select(run => Suite(report, run))
            .Concat(report.Skipped.Select(skipped => SkippedSuite(report, skipped)))
            .ToList();
        var root = new XElement("testsuites",
            new XAttribute("name", "modelforge.validate"),
            new XAttribute("tests", Sum(suites, "tests")),
            new XAttribute("failures", Sum(suites, "failures")),
            new XAttribute("errors", 0),
            new XAttribute("skipped", Sum(suites, "skipped")),
            new XAttribute("time", ReportFormat.Seconds(report.Runs.Aggregate(TimeSpan.Zero, (t, r) => t + r.InferenceTime))),
            new XAttribute("timestamp", Timestamp(report.FinishedAt)),
            suites);

        var settings = new XmlWriterSettings
        {
            Encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
            Indent = true,
            IndentChars = "  ",
            NewLineChars = "\n",
            NewLineHandling = NewLineHandling.Replace,
            CloseOutput = false,
        };
        using (var xml = XmlWriter.Create(stream, settings))
            new XDocument(new XDeclaration("1.0", "utf-8", null), root).Save(xml);
        stream.WriteByte((byte)'\n');
        stream.Flush();
    }

    private static XElement Suite(ValidationReport report, CandidateRun run)
    {
        var classname = Text($"modelforge.validate.{run.Candidate.Name}");
        var batch = $"(batch {run.BatchSize.ToString(CultureInfo.InvariantCulture)})";
        var cases = new List<XElement>();

        if (run.Status == CandidateStatus.Unavailable)
        {
            cases.Add(TestCase(classname, $"{run.Candidate.Name} {batch}", TimeSpan.Zero,
                Failure(CandidateUnavailable, run.Reason ?? "candidate unavailable",
                    $"{run.Candidate.Name} ({run.Candidate.ExecutionProvider}) cannot run here: {run.Reason ?? "no reason given"}\n" +
                    "An unavailable candidate fails the gate; it is never replaced by another.")));
        }
        else
        {
            var share = run.Outputs.Count == 0 ? TimeSpan.Zero : run.InferenceTime / run.Outputs.Count;
            foreach (var output in run.Outputs)
            {
                cases.Add(TestCase(classname, $"{output.Output} {batch}", share,
                    output.Passed ? null : Failure(AccuracyMismatch, output.FailureReason ?? "failed (no reason given)", Details(output))));
            }
            if (run.Status == CandidateStatus.Failed && run.Outputs.All(o => o.Passed))
            {
                var reason = run.Reason ?? "failed (no reason given)";
                cases.Add(TestCase(classname, $"{run.Candidate.Name} {batch}", run.Outputs.Count == 0 ? run.InferenceTime : TimeSpan.Zero,
                    Failure(RunFailed, reason, reason)));
            }
        }

        var properties = new XElement("properties",
            Property("executionProvider", run.Candidate.ExecutionProvider),
            run.Candidate.Options.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => Property($"option.{o.Key}", o.Value)),
            Property("model", report.ModelPath),
            Property("onnx", report.OnnxPath),
            Property("reference", report.Reference),
            Property("seed", report.Seed.ToString(CultureInfo.InvariantCulture)),
            Property("status", run.Status.ToString()));

        return new XElement("testsuite",
            new XAttribute("name", Text(ReportFormat.RunTitle(run))),
            new XAttribute("tests", cases.Count),
            new XAttribute("failures", cases.Count(c => c.Element("failure") is not null)),
            new XAttribute("errors", 0),
            new XAttribute("skipped", 0),
            new XAttribute("time", ReportFormat.Seconds(run.InferenceTime)),
            new XAttribute("timestamp", Timestamp(report.FinishedAt)),
            properties,
            cases);
    }

    /// <summary>An optional candidate that was not run: one testcase marked <c>&lt;skipped&gt;</c> with the reason.</summary>
    private static XElement SkippedSuite(ValidationReport report, SkippedCandidate skipped)
    {
        var reason = ReportFormat.OneLine(skipped.Reason);
        var testCase = TestCase(Text($"modelforge.validate.{skipped.Name}"), $"{skipped.Name} (batch {ReportFormat.BatchSizes(report.BatchSizes)})",
            TimeSpan.Zero, new XElement("skipped", new XAttribute("message", Text(reason))));
        return new XElement("testsuite",
            new XAttribute("name", Text($"{skipped.Name} skipped")),
            new XAttribute("tests", 1),
            new XAttribute("failures", 0),
            new XAttribute("errors", 0),
            new XAttribute("skipped", 1),
            new XAttribute("time", ReportFormat.Seconds(TimeSpan.Zero)),
            new XAttribute("timestamp", Timestamp(report.FinishedAt)),
            new XElement("properties",
                Property("model", report.ModelPath),
                Property("onnx", report.OnnxPath),
                Property("reason", reason),
                Property("status", "Skipped")),
            testCase);
    }

    /// <param name="outcome">A <c>&lt;failure&gt;</c> or <c>&lt;skipped&gt;</c> element; null for a passing testcase.</param>
    private static XElement TestCase(string classname, string name, TimeSpan time, XElement? outcome) =>
        new("testcase",
            new XAttribute("classname", classname),
            new XAttribute("name", Text(name)),
            new XAttribute("time", ReportFormat.Seconds(time)),
            outcome);

    private static XElement Failure(string type, string message, string details) =>
        new("failure",
            new XAttribute("message", Text(ReportFormat.OneLine(message))),
            new XAttribute("type", type),
            Text(details));

    private static XElement Property(string name, string value) =>
        new("property", new XAttribute("name", Text(name)), new XAttribute("value", Text(value)));

    /// <summary>The failure text: shapes, tolerance, statistics and the worst mismatches, one fact per line.</summary>
    internal static string Details(OutputComparison output)
    {
        var text = new StringBuilder();
        text.Append($"{output.FailureReason ?? "failed"}\n");
        text.Append($"expected: {output.ExpectedType} {ReportFormat.Dims(output.ExpectedShape)}\n");
        text.Append($"actual:   {output.ActualType} {ReportFormat.Dims(output.ActualShape)}\n");
        text.Append($"{(output.Precision is null ? "tolerance" : "gate")}: {ReportFormat.Gate(output)}\n");
        if (output.Precision is { } precision) text.Append($"precision metrics: {precision.Metrics}\n");
        if (output.Statistics is { } s)
        {
            text.Append($"mismatches: {ReportFormat.Integer(s.MismatchCount)}/{ReportFormat.Integer(s.ElementCount)}\n");
            text.Append($"abs error: max {ReportFormat.Error(s.MaxAbsError)}, mean {ReportFormat.Error(s.MeanAbsError)}, " +
                        $"median {ReportFormat.Error(s.MedianAbsError)}, p99 {ReportFormat.Error(s.P99AbsError)}\n");
            text.Append($"rel error: max {ReportFormat.Error(s.MaxRelError)}, mean {ReportFormat.Error(s.MeanRelError)}, " +
                        $"median {ReportFormat.Error(s.MedianRelError)}, p99 {ReportFormat.Error(s.P99RelError)}\n");
            text.Append($"cosine similarity: {ReportFormat.Cosine(s.CosineSimilarity)}\n");
        }
        if (output.TopK is { } topK)
        {
            text.Append($"top-{ReportFormat.Integer(topK.K)} agreement: {ReportFormat.Integer(topK.AgreeingRows)}/{ReportFormat.Integer(topK.Rows)} rows " +
                        $"({ReportFormat.Percent(topK.Rate)})\n");
        }
        if (output.WorstMismatches.Count > 0)
        {
            text.Append("worst mismatches:\n");
            var rows = output.WorstMismatches.Select(m => new[]
            {
                ReportFormat.Dims(m.Index), ReportFormat.Value(m.Expected), ReportFormat.Value(m.Actual),
                ReportFormat.Error(m.AbsError), ReportFormat.Error(m.RelError),
            }).Prepend(["index", "expected", "actual", "abs err", "rel err"]).ToList();
            var widths = Enumerable.Range(0, 5).Select(i => rows.Max(r => r[i].Length)).ToArray();
            foreach (var row in rows)
                text.Append("  ").Append(string.Join("  ", row.Select((cell, i) => i == 0 ? cell.PadRight(widths[i]) : cell.PadLeft(widths[i]))).TrimEnd()).Append('\n');
        }
        return text.ToString();
    }

    private static int Sum(IEnumerable<XElement> suites, string attribute) =>
        suites.Sum(s => int.Parse((string)s.Attribute(attribute)!, CultureInfo.InvariantCulture));

    /// <summary>JUnit timestamps are xs:dateTime without a zone in most schemas; the value is UTC.</summary>
    private static string Timestamp(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>Replaces characters XML 1.0 cannot contain (they would make the writer throw) with U+FFFD.</summary>
    private static string Text(string text)
    {
        var builder = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                builder.Append(text, i, 2);
                i++;
            }
            else
            {
                builder.Append(XmlConvert.IsXmlChar(text[i]) ? text[i] : '\uFFFD');
            }
        }
        return builder.ToString();
    }
}
