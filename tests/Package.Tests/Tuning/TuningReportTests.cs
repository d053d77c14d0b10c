using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using ModelForge.Package.Tuning;
using static ModelForge.Package.Tests.Tuning.TunerTestData;

namespace ModelForge.Package.Tests.Tuning;

public sealed class TuningReportTests
{
    /// <summary>A budgeted quick search with instance gains, an unstable and a failed configuration: every part of the report.</summary>
    private static TuningReport Sample()
    {
        var clock = new FakeClock();
        var probe = new FakeProbe(clock, (b, i) => Curve(b, i, instanceGain: 1.2))
        {
            Jitter = (b, i, w) => b == 2 && w % 2 == 1 ? 1.3 : 1,
            Fails = (b, _) => b == 64,
        };
        return Tune(probe, clock, TuningObjective.ThroughputWithin(400)).Report;
    }

    /// <summary>
    /// tests/Package.Tests/Tuning/Golden/&lt;name&gt;; run with MODELFORGE_UPDATE_GOLDEN=1 to rewrite it after an
    /// intended format change (and review the diff).
    /// </summary>
    private static void CheckGolden(string actual, string name)
    {
        var path = Path.Combine(RepoPaths.Root, "tests", "Package.Tests", "Tuning", "Golden", name);
        if (Environment.GetEnvironmentVariable("MODELFORGE_UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual, new UTF8Encoding(false));
            return;
        }
        Assert.True(File.Exists(path), $"{path} is missing; run the tests with MODELFORGE_UPDATE_GOLDEN=1 to create it");
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), actual);
    }

    [Fact]
    public void Json_matches_the_golden_file() => CheckGolden(TuningReportWriter.ToJson(Sample()), "tuning.json");

    [Fact]
    public void Json_has_every_measurement_the_decision_and_its_reason()
    {
        var report = Sample();
        using var json = JsonDocument.Parse(TuningReportWriter.ToJson(report));
        var root = json.RootElement;

        Assert.Equal("schemaVersion", root.EnumerateObject().First().Name);
        Assert.Equal(report.Measurements.Count, root.GetProperty("measurements").GetArrayLength());
        var decision = root.GetProperty("decision");
        Assert.Equal(report.Config().MaxBatchSize, decision.GetProperty("config").GetProperty("maxBatchSize").GetInt32());
        Assert.False(string.IsNullOrEmpty(decision.GetProperty("reason").GetString()));
        Assert.Equal(2, decision.GetProperty("rules").GetArrayLength());
        Assert.Equal("maxThroughput", root.GetProperty("objective").GetProperty("goal").GetString());
        Assert.Equal(0.5, root.GetProperty("measurement").GetProperty("window").GetDouble());
        Assert.Contains(root.GetProperty("warnings").EnumerateArray(), w => w.GetProperty("code").GetString() == "MF4053");
        Assert.Contains(root.GetProperty("warnings").EnumerateArray(), w => w.GetProperty("code").GetString() == "MF4055");
    }

    [Fact]
    public void Svg_is_well_formed_deterministic_and_has_a_series_per_instance_count()
    {
        var report = Sample();
        var svg = TuningReportWriter.ToSvg(report);

        Assert.Equal(svg, TuningReportWriter.ToSvg(Sample()));
        var document = XDocument.Parse(svg);
        Assert.Equal("svg", document.Root!.Name.LocalName);
        foreach (var instances in report.Measurements.Where(m => m.Succeeded).Select(m => m.InstanceCount).Distinct())
        {
            var name = instances == 1 ? "1 instance" : $"{instances} instances";
            Assert.Contains($"{name}: throughput", svg, StringComparison.Ordinal);
            Assert.Contains($"{name}: p99", svg, StringComparison.Ordinal);
        }
        Assert.Contains("p99 budget 400 ms", svg, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_puts_both_files_in_the_folder()
    {
        var directory = Directory.CreateTempSubdirectory("mf-tuning-").FullName;
        try
        {
            var (json, plot) = TuningReportWriter.Write(Sample(), Path.Combine(directory, "out"));

            Assert.Equal(TuningReportWriter.ToJson(Sample()), File.ReadAllText(json));
            XDocument.Load(plot);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

internal static class TuningReportExtensions
{
    public static BatchingConfig Config(this TuningReport report) => report.Decision.Config;
}
