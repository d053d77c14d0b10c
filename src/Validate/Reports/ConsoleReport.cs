using System.Globalization;
using System.Text;

namespace ModelForge.Validate.Reports;

/// <summary>
/// The plain-text report for a terminal or CI log: a short header (with the optional candidates that were skipped, and
/// why), one table row per (candidate, batch size,
/// output), and a final verdict line ("PASSED: …" or "FAILED: …" naming every culprit). Column widths come from
/// the content; no colors; lines end with "\n" whatever the platform; the output depends only on the report.
/// </summary>
public static class ConsoleReport
{
    private static readonly string[] Headers =
        ["CANDIDATE", "BATCH", "OUTPUT", "STATUS", "MAX ABS", "MAX REL", "P99 ABS", "COSINE", "MISMATCHES", "TOLERANCE"];

    /// <summary>Right-aligned columns (numbers); the rest are left-aligned.</summary>
    private static readonly bool[] RightAligned = [false, true, false, false, true, true, true, true, true, false];

    private const string Gap = "  ";

    public static void Write(ValidationReport report, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(writer);

        var text = new StringBuilder();
        text.Append($"ModelForge {report.ToolVersion} validation: {report.ModelPath} -> {report.OnnxPath}\n");
        text.Append($"Reference: {report.Reference} ({ReportFormat.Seconds(report.ReferenceTime)} s)\n");
        text.Append($"Seed: {report.Seed.ToString(CultureInfo.InvariantCulture)}; batch sizes: {ReportFormat.BatchSizes(report.BatchSizes)}; " +
                    $"finished {ReportFormat.Timestamp(report.FinishedAt)}\n");
        foreach (var input in report.Inputs)
            text.Append($"Input {input.Name}: {input.ElementType} {input.Dims}, {input.Source}\n");
        foreach (var skipped in report.Skipped)
            text.Append($"{skipped.Name}: skipped ({ReportFormat.OneLine(skipped.Reason)})\n");
        text.Append('\n');

        var rows = SummaryRow.For(report);
        var cells = rows.Select(r => new[]
        {
            r.Run.Candidate.Name, r.Run.BatchSize.ToString(CultureInfo.InvariantCulture), r.OutputName, r.Status,
            r.MaxAbs, r.MaxRel, r.P99Abs, r.Cosine, r.Mismatches, r.Tolerance,
        }).ToList();

        var widths = Headers.Select(h => h.Length).ToArray();
        foreach (var row in cells)
            for (var i = 0; i < row.Length; i++)
                widths[i] = Math.Max(widths[i], row[i].Length);

        AppendRow(text, Headers, widths, note: null);
        AppendRow(text, widths.Select(w => new string('-', w)).ToArray(), widths, note: null);
        for (var i = 0; i < rows.Count; i++)
            AppendRow(text, cells[i], widths, rows[i].Note);

        text.Append('\n');
        text.Append(Culprit.Verdict(report)).Append('\n');
        writer.Write(text.ToString());
        writer.Flush();
    }

    /// <summary>
    /// A run-wide note (an unavailability reason) replaces the statistics columns after STATUS, which are all "-"
    /// for such a row; it is the last thing on the line, so it never pushes other columns out of line.
    /// </summary>
    private static void AppendRow(StringBuilder text, string[] cells, int[] widths, string? note)
    {
        var line = new StringBuilder();
        var last = note is null ? cells.Length : 4;
        for (var i = 0; i < last; i++)
        {
            if (i > 0)
                line.Append(Gap);
            line.Append(RightAligned[i] ? cells[i].PadLeft(widths[i]) : cells[i].PadRight(widths[i]));
        }
        if (note is not null)
            line.Append(Gap).Append(note);
        text.Append(line.ToString().TrimEnd()).Append('\n');
    }
}
