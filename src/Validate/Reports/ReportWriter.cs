using ModelForge.Core.IO;

namespace ModelForge.Validate.Reports;

/// <summary>The files <see cref="ReportWriter.WriteAll"/> wrote, as full paths.</summary>
public sealed record ReportPaths(string Json, string JUnit, string Html)
{
    public IReadOnlyList<string> All => [Json, JUnit, Html];
}

/// <summary>Writes the file reports of a validation run next to each other.</summary>
public static class ReportWriter
{
    public const string JsonFileName = "report.json";
    public const string JUnitFileName = "report.junit.xml";
    public const string HtmlFileName = "report.html";

    /// <summary>
    /// Writes report.json, report.junit.xml and report.html into <paramref name="directory"/> (created if missing),
    /// each atomically: a reader sees the previous file or the complete new one, never a partial report.
    /// </summary>
    public static ReportPaths WriteAll(ValidationReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrEmpty(directory);

        var full = Path.GetFullPath(directory);
        var paths = new ReportPaths(
            Path.Combine(full, JsonFileName),
            Path.Combine(full, JUnitFileName),
            Path.Combine(full, HtmlFileName));
        AtomicFile.Write(paths.Json, stream => JsonReport.Write(report, stream));
        AtomicFile.Write(paths.JUnit, stream => JUnitReport.Write(report, stream));
        AtomicFile.Write(paths.Html, stream => HtmlReport.Write(report, stream));
        return paths;
    }
}
