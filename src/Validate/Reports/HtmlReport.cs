using System.Globalization;
using System.Net;
using System.Text;
using ModelForge.Validate.Compare;

namespace ModelForge.Validate.Reports;

/// <summary>
/// The report as one self-contained HTML file for people: inline CSS, inline SVG charts, no JavaScript, no external
/// resources (it opens the same from a CI artifact, an e-mail or a file share). A header with the verdict, the model
/// and its inputs; the candidates (with the optional ones that were skipped, and why); the summary table the console shows; then per (candidate, batch size, output) the statistics, a
/// histogram of the absolute errors by decade with the tolerance's atol marked, and the worst mismatches.
/// All report text is HTML-encoded. The output depends only on the report.
/// </summary>
public static class HtmlReport
{
    public static void Write(ValidationReport report, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(stream);

        var html = new StringBuilder();
        var verdict = report.Passed ? "PASSED" : "FAILED";
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append($"<title>{E(verdict)}: ModelForge validation of {E(Path.GetFileName(report.ModelPath))}</title>\n")
            .Append("<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n");

        Header(html, report);
        Summary(html, report);
        for (var r = 0; r < report.Runs.Count; r++)
        {
            var run = report.Runs[r];
            if (run.Status == CandidateStatus.Unavailable)
                continue;
            for (var o = 0; o < run.Outputs.Count; o++)
                OutputSection(html, run, run.Outputs[o], Anchor(r, o));
        }
        html.Append($"<footer>ModelForge {E(report.ToolVersion)} &middot; finished {E(ReportFormat.Timestamp(report.FinishedAt))}</footer>\n");
        html.Append("</body>\n</html>\n");

        var bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(html.ToString());
        stream.Write(bytes);
        stream.Flush();
    }

    private static void Header(StringBuilder html, ValidationReport report)
    {
        var passed = report.Passed;
        html.Append("<header>\n<h1>ModelForge validation report</h1>\n");
        html.Append($"<div class=\"verdict {(passed ? "pass" : "fail")}\">\n<div class=\"word\">{(passed ? "PASSED" : "FAILED")}</div>\n");
        var runsPassed = report.Runs.Count(r => r.Status == CandidateStatus.Passed);
        html.Append($"<div class=\"detail\">{ReportFormat.Integer(runsPassed)} of {ReportFormat.Integer(report.Runs.Count)} candidate runs passed. " +
                    "A candidate that cannot run here counts as not passed." +
                    (report.Skipped.Count == 0 ? "" : $" Not run (optional, cannot run here): {E(string.Join(", ", report.Skipped.Select(s => s.Name)))}.") +
                    "</div>\n");
        if (!passed)
        {
            var culprits = Culprit.For(report);
            if (culprits.Count == 0)
                html.Append("<ul><li>no candidate was run</li></ul>\n");
            else
                html.Append("<ul>\n").AppendJoin("", culprits.Select(c => $"<li>{E(c.ToString())}</li>\n")).Append("</ul>\n");
        }
        html.Append("</div>\n");

        html.Append("<table class=\"facts\">\n");
        Fact(html, "Model", report.ModelPath, mono: true);
        Fact(html, "ONNX file", report.OnnxPath, mono: true);
        Fact(html, "Reference", $"{report.Reference} ({ReportFormat.Seconds(report.ReferenceTime)} s)");
        Fact(html, "Seed", report.Seed.ToString(CultureInfo.InvariantCulture));
        Fact(html, "Batch sizes", ReportFormat.BatchSizes(report.BatchSizes));
        Fact(html, "Finished", ReportFormat.Timestamp(report.FinishedAt));
        Fact(html, "Tool", $"ModelForge {report.ToolVersion}");
        html.Append("</table>\n</header>\n");

        foreach (var section in report.Sections)
            html.Append($"<h2>{E(section.Title)}</h2>\n").Append(section.Html).Append('\n');

        html.Append("<h2>Inputs</h2>\n");
        if (report.Inputs.Count == 0)
        {
            html.Append("<p>No inputs.</p>\n");
        }
        else
        {
            html.Append("<table class=\"grid\">\n<thead><tr><th>Name</th><th>Type</th><th>Dims</th><th>Values</th></tr></thead>\n<tbody>\n");
            foreach (var input in report.Inputs)
                html.Append($"<tr><td class=\"mono\">{E(input.Name)}</td><td>{E(input.ElementType)}</td><td class=\"mono\">{E(input.Dims)}</td><td>{E(input.Source)}</td></tr>\n");
            html.Append("</tbody>\n</table>\n");
        }

        html.Append("<h2>Candidates</h2>\n");
        html.Append("<table class=\"grid\">\n<thead><tr><th>Candidate</th><th class=\"num\">Batch</th><th>Status</th><th>Execution provider</th>" +
                    "<th class=\"num\">Inference (s)</th><th>Options</th></tr></thead>\n<tbody>\n");
        foreach (var run in report.Runs)
        {
            var options = run.Candidate.Options.Count == 0
                ? "-"
                : string.Join("<br>", run.Candidate.Options.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{E(o.Key)}={E(o.Value)}"));
            html.Append($"<tr><td>{E(run.Candidate.Name)}</td><td class=\"num\">{ReportFormat.Integer(run.BatchSize)}</td>" +
                        $"<td>{Badge(ReportFormat.Status(run.Status))}</td><td>{E(run.Candidate.ExecutionProvider)}</td>" +
                        $"<td class=\"num\">{(run.Status == CandidateStatus.Unavailable ? "-" : ReportFormat.Seconds(run.InferenceTime))}</td>" +
                        $"<td class=\"mono small\">{options}</td></tr>\n");
        }
        foreach (var skipped in report.Skipped)
            html.Append($"<tr class=\"skipped\"><td>{E(skipped.Name)}</td><td class=\"num\">-</td><td>{Badge(SkippedStatus)}</td>" +
                        $"<td colspan=\"3\" class=\"skip-reason\">not run: {E(ReportFormat.OneLine(skipped.Reason))}</td></tr>\n");
        html.Append("</tbody>\n</table>\n");
    }

    /// <summary>The badge of an optional candidate that was not run (it does not count against the gate).</summary>
    private const string SkippedStatus = "SKIPPED";

    private static void Summary(StringBuilder html, ValidationReport report)
    {
        html.Append("<h2>Summary</h2>\n");
        html.Append("<table class=\"grid summary\">\n<thead><tr><th>Candidate</th><th class=\"num\">Batch</th><th>Output</th><th>Status</th>" +
                    "<th class=\"num\">Max abs</th><th class=\"num\">Max rel</th><th class=\"num\">P99 abs</th><th class=\"num\">Cosine</th>" +
                    "<th class=\"num\">Mismatches</th><th>Tolerance</th></tr></thead>\n<tbody>\n");
        foreach (var row in SummaryRow.For(report))
        {
            var runIndex = IndexOf(report.Runs, row.Run);
            var output = row.Output is null
                ? "-"
                : $"<a href=\"#{Anchor(runIndex, IndexOf(row.Run.Outputs, row.Output))}\">{E(row.Output.Output)}</a>";
            html.Append($"<tr><td>{E(row.Run.Candidate.Name)}</td><td class=\"num\">{ReportFormat.Integer(row.Run.BatchSize)}</td>" +
                        $"<td class=\"mono\">{output}</td><td>{Badge(row.Status)}</td>");
            if (row.Note is not null)
                html.Append($"<td colspan=\"6\" class=\"note\">{E(row.Note)}</td>");
            else
                html.Append($"<td class=\"num\">{E(row.MaxAbs)}</td><td class=\"num\">{E(row.MaxRel)}</td><td class=\"num\">{E(row.P99Abs)}</td>" +
                            $"<td class=\"num\">{E(row.Cosine)}</td><td class=\"num\">{E(row.Mismatches)}</td><td class=\"mono small\">{E(row.Tolerance)}</td>");
            html.Append("</tr>\n");
        }
        html.Append("</tbody>\n</table>\n");
        html.Append($"<p class=\"verdict-line {(report.Passed ? "pass" : "fail")}\">{E(Culprit.Verdict(report))}</p>\n");
    }

    private static void OutputSection(StringBuilder html, CandidateRun run, OutputComparison output, string anchor)
    {
        html.Append($"<section id=\"{anchor}\" class=\"output {(output.Passed ? "pass" : "fail")}\">\n");
        html.Append($"<h3>{Badge(ReportFormat.Status(output.Passed))} <span class=\"mono\">{E(output.Output)}</span> " +
                    $"<span class=\"where\">{E(run.Candidate.Name)} &middot; batch {ReportFormat.Integer(run.BatchSize)}</span></h3>\n");
        if (!output.Passed)
            html.Append($"<p class=\"reason\">{E(output.FailureReason ?? "failed (no reason given)")}</p>\n");

        html.Append("<div class=\"cols\">\n<table class=\"stats\">\n");
        Stat(html, "Expected", $"{output.ExpectedType} {ReportFormat.Dims(output.ExpectedShape)}");
        Stat(html, "Actual", $"{output.ActualType} {ReportFormat.Dims(output.ActualShape)}");
        Stat(html, output.Precision is null ? "Tolerance" : "Gate", ReportFormat.Gate(output));
        if (output.Precision is { } precision) Stat(html, "Precision metrics", precision.Metrics.ToString());
        if (output.Statistics is { } s)
        {
            var share = s.ElementCount == 0 ? "" : $" ({ReportFormat.Percent((double)s.MismatchCount / s.ElementCount)})";
            Stat(html, "Mismatches", $"{ReportFormat.Integer(s.MismatchCount)} / {ReportFormat.Integer(s.ElementCount)}{share}");
            Stat(html, "Abs error max / p99", $"{ReportFormat.Error(s.MaxAbsError)} / {ReportFormat.Error(s.P99AbsError)}");
            Stat(html, "Abs error mean / median", $"{ReportFormat.Error(s.MeanAbsError)} / {ReportFormat.Error(s.MedianAbsError)}");
            Stat(html, "Rel error max / p99", $"{ReportFormat.Error(s.MaxRelError)} / {ReportFormat.Error(s.P99RelError)}");
            Stat(html, "Rel error mean / median", $"{ReportFormat.Error(s.MeanRelError)} / {ReportFormat.Error(s.MedianRelError)}");
            Stat(html, "Cosine similarity", ReportFormat.Cosine(s.CosineSimilarity));
        }
        else
        {
            Stat(html, "Statistics", "none (shapes or types differ)");
        }
        if (output.TopK is { } topK)
            Stat(html, $"Top-{ReportFormat.Integer(topK.K)} agreement",
                $"{ReportFormat.Integer(topK.AgreeingRows)} / {ReportFormat.Integer(topK.Rows)} rows ({ReportFormat.Percent(topK.Rate)})");
        html.Append("</table>\n");

        html.Append("<figure>\n");
        if (output.Histogram is { } histogram)
        {
            html.Append(HistogramSvg.Render(histogram, output.Tolerance, $"Absolute errors of {output.Output}, {run.Candidate.Name} batch {run.BatchSize}"));
            html.Append("<figcaption>Elements per decade of |actual &minus; expected|; the dashed line is the tolerance&rsquo;s atol.</figcaption>\n");
        }
        else
        {
            html.Append("<p class=\"none\">No error histogram.</p>\n");
        }
        html.Append("</figure>\n</div>\n");

        if (output.WorstMismatches.Count > 0)
        {
            html.Append("<table class=\"grid mismatches\">\n<caption>Worst mismatches (largest absolute error first)</caption>\n")
                .Append("<thead><tr><th>Index</th><th class=\"num\">Expected</th><th class=\"num\">Actual</th><th class=\"num\">Abs err</th><th class=\"num\">Rel err</th></tr></thead>\n<tbody>\n");
            foreach (var m in output.WorstMismatches)
            {
                html.Append($"<tr><td class=\"mono\">{E(ReportFormat.Dims(m.Index))}</td><td class=\"num\">{E(ReportFormat.Value(m.Expected))}</td>" +
                            $"<td class=\"num\">{E(ReportFormat.Value(m.Actual))}</td><td class=\"num\">{E(ReportFormat.Error(m.AbsError))}</td>" +
                            $"<td class=\"num\">{E(ReportFormat.Error(m.RelError))}</td></tr>\n");
            }
            html.Append("</tbody>\n</table>\n");
        }
        html.Append("</section>\n");
    }

    private static void Fact(StringBuilder html, string name, string value, bool mono = false) =>
        html.Append($"<tr><th>{E(name)}</th><td{(mono ? " class=\"mono\"" : "")}>{E(value)}</td></tr>\n");

    private static void Stat(StringBuilder html, string name, string value) =>
        html.Append($"<tr><th>{E(name)}</th><td>{E(value)}</td></tr>\n");

    private static string Badge(string status) => $"<span class=\"badge {status.ToLowerInvariant()}\">{E(status)}</span>";

    private static string Anchor(int run, int output) =>
        $"run{run.ToString(CultureInfo.InvariantCulture)}-output{output.ToString(CultureInfo.InvariantCulture)}";

    private static int IndexOf<T>(IReadOnlyList<T> list, T item) where T : class
    {
        for (var i = 0; i < list.Count; i++)
            if (ReferenceEquals(list[i], item))
                return i;
        return -1;
    }

    internal static string E(string text) => WebUtility.HtmlEncode(text);

    private const string Css = """
        :root { color-scheme: light; }
        body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; font-size: 14px;
               color: #1f2328; background: #fff; margin: 24px auto; max-width: 1120px; padding: 0 16px; line-height: 1.4; }
        h1 { font-size: 22px; margin: 0 0 12px; }
        h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
        h3 { font-size: 15px; margin: 0 0 8px; }
        .mono, .num, td.note { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 13px; }
        .small { font-size: 12px; }
        .verdict { border-radius: 8px; padding: 14px 18px; margin: 0 0 16px; border: 2px solid; }
        .verdict .word { font-size: 40px; font-weight: 800; letter-spacing: 0.04em; line-height: 1.1; }
        .verdict .detail { margin-top: 4px; }
        .verdict ul { margin: 8px 0 0; padding-left: 20px; }
        .verdict.pass { background: #dafbe1; border-color: #1a7f37; color: #0f5323; }
        .verdict.fail { background: #ffebe9; border-color: #cf222e; color: #82071e; }
        .verdict-line { font-weight: 600; margin: 8px 0; }
        .verdict-line.pass { color: #1a7f37; } .verdict-line.fail { color: #cf222e; }
        table { border-collapse: collapse; }
        table.facts th { text-align: left; padding: 2px 16px 2px 0; color: #57606a; font-weight: 600; vertical-align: top; }
        table.facts td { padding: 2px 0; word-break: break-all; }
        table.grid { width: 100%; margin: 4px 0 8px; }
        table.grid th, table.grid td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
        table.grid thead th { background: #f6f8fa; white-space: nowrap; font-family: inherit; font-size: 13px; }
        table.grid tbody tr:nth-child(even) td { background: #fafbfc; }
        table.grid .num { text-align: right; white-space: nowrap; }
        table.grid caption { text-align: left; font-weight: 600; padding: 4px 0; }
        td.note { color: #82071e; }
        td.skip-reason { color: #57606a; }
        .badge { display: inline-block; font-size: 11px; font-weight: 700; padding: 1px 6px; border-radius: 10px; color: #fff; font-family: inherit; }
        .badge.pass { background: #1a7f37; } .badge.fail { background: #cf222e; } .badge.unavailable { background: #9a6700; } .badge.skipped { background: #6e7781; }
        section.output { border: 1px solid #d0d7de; border-left: 6px solid; border-radius: 6px; padding: 12px 16px; margin: 16px 0; }
        section.output.pass { border-left-color: #1a7f37; } section.output.fail { border-left-color: #cf222e; }
        .where { color: #57606a; font-weight: normal; }
        .reason { color: #82071e; font-weight: 600; margin: 0 0 8px; }
        .cols { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
        table.stats th { text-align: left; padding: 2px 12px 2px 0; color: #57606a; font-weight: 600; white-space: nowrap; }
        table.stats td { padding: 2px 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 13px; white-space: nowrap; }
        figure { margin: 0; }
        figcaption { color: #57606a; font-size: 12px; }
        svg.histogram { display: block; }
        .none { color: #57606a; }
        table.mismatches { width: auto; }
        footer { margin: 32px 0 8px; color: #57606a; font-size: 12px; }

        """;
}
