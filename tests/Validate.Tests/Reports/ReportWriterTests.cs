using System.Text.Json;
using System.Xml.Linq;
using ModelForge.Validate.Reports;

namespace ModelForge.Validate.Tests.Reports;

public sealed class ReportWriterTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"modelforge-reports-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void Writes_the_three_reports_and_no_temporary_files()
    {
        var target = Path.Combine(_directory, "nested");

        var paths = ReportWriter.WriteAll(SampleReports.Create(), target);

        Assert.Equal(
            [Path.Combine(target, "report.json"), Path.Combine(target, "report.junit.xml"), Path.Combine(target, "report.html")],
            paths.All);
        Assert.Equal(paths.All.Order(StringComparer.Ordinal), Directory.GetFiles(target).Order(StringComparer.Ordinal));
        using (var json = JsonDocument.Parse(File.ReadAllText(paths.Json)))
            Assert.False(json.RootElement.GetProperty("passed").GetBoolean());
        Assert.Equal("testsuites", XDocument.Load(paths.JUnit).Root!.Name.LocalName);
        Assert.StartsWith("<!DOCTYPE html>", File.ReadAllText(paths.Html));
    }

    [Fact]
    public void Overwrites_earlier_reports()
    {
        var sample = SampleReports.Create();
        ReportWriter.WriteAll(sample, _directory);

        var paths = ReportWriter.WriteAll(sample with { Runs = [sample.Runs[0]] }, _directory);

        using var json = JsonDocument.Parse(File.ReadAllText(paths.Json));
        Assert.True(json.RootElement.GetProperty("passed").GetBoolean());
        Assert.Equal(3, Directory.GetFiles(_directory).Length);
    }
}
