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

    /// <summary>The labels of the batch axis: the numbers centred under the plot (the y axes' labels are anchored at their side).</summary>
    private static List<string> BatchLabels(XDocument svg) =>
        svg.Descendants().Where(e => e.Name.LocalName == "text" && (string?)e.Attribute("text-anchor") == "middle"
                                     && (string?)e.Attribute("dominant-baseline") == "hanging" && e.Value.All(char.IsAsciiDigit))
            .Select(e => e.Value).ToList();

    private static string Title(XDocument svg) =>
        svg.Descendants().First(e => e.Name.LocalName == "text" && (string?)e.Attribute("font-weight") == "700").Value;

    [Fact]
    public void Svg_names_the_model_ticks_every_measured_batch_size_and_draws_the_budget()
    {
        var report = Sample() with { Model = "resnet18_small" };
        var svg = XDocument.Parse(TuningReportWriter.ToSvg(report));

        Assert.StartsWith("resnet18_small: ", Title(svg), StringComparison.Ordinal);
        var measured = report.Measurements.Where(m => m.Succeeded).Select(m => m.BatchSize).Distinct().Order().ToList();
        Assert.Equal(1, measured[0]);
        Assert.Equal(measured.Select(b => b.ToString(System.Globalization.CultureInfo.InvariantCulture)), BatchLabels(svg));
        // The budget (400 ms) lies within the measured p99s: a line with its label, and the subtitle says which line it is.
        Assert.Contains(svg.Descendants(), e => e.Name.LocalName == "text" && e.Value == "p99 budget 400 ms");
        Assert.Contains(svg.Descendants(), e => e.Name.LocalName == "text" && e.Value.Contains("p99 budget 400 ms (dotted red line)", StringComparison.Ordinal));
    }

    [Fact]
    public void A_budget_far_above_every_measured_p99_is_stated_in_the_subtitle()
    {
        var report = Sample();
        var highest = report.Measurements.Where(m => m.Succeeded).Max(m => m.P99Milliseconds);
        var far = report with { Objective = report.Objective with { P99BudgetMilliseconds = 100 * highest } };

        var texts = XDocument.Parse(TuningReportWriter.ToSvg(far)).Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value).ToList();

        Assert.Contains(texts, t => t.Contains($"p99 budget {100 * highest:0.###} ms, above the plotted range", StringComparison.Ordinal));
        Assert.DoesNotContain(texts, t => t.StartsWith("p99 budget", StringComparison.Ordinal));
    }

    [Fact]
    public void Svg_labels_fit_inside_the_picture()
    {
        // Every horizontal label, at a width estimated from Arial's character widths (rounded up), lies inside the
        // 900 px wide picture: a long model name shrinks the title instead of running past the edges.
        var report = Sample() with { Model = "bert-base-multilingual-cased-finetuned-squad2-int8-calibrated-on-wikipedia-and-bookcorpus-2024" };
        var svg = XDocument.Parse(TuningReportWriter.ToSvg(report));
        var width = double.Parse((string)svg.Root!.Attribute("width")!, System.Globalization.CultureInfo.InvariantCulture);
        foreach (var text in svg.Descendants().Where(e => e.Name.LocalName == "text" && !((string)e.Attribute("transform")!).Contains("rotate", StringComparison.Ordinal)))
        {
            var at = System.Text.RegularExpressions.Regex.Match((string)text.Attribute("transform")!, @"translate\(([-0-9.]+),");
            var x = double.Parse(at.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            var size = double.Parse((string)text.Attribute("font-size")!, System.Globalization.CultureInfo.InvariantCulture);
            var estimate = size * text.Value.Sum(ArialEm) * ((string?)text.Attribute("font-weight") == "700" ? 1.08 : 1);
            var (left, right) = (string?)text.Attribute("text-anchor") switch
            {
                "middle" => (x - estimate / 2, x + estimate / 2),
                "end" => (x - estimate, x),
                _ => (x, x + estimate),
            };
            Assert.True(left >= 0 && right <= width, $"'{text.Value}' spans {left:0} to {right:0} px of {width} px");
        }
    }

    /// <summary>A character's advance in Arial, in em, rounded up by class.</summary>
    private static double ArialEm(char c) => c switch
    {
        'i' or 'j' or 'l' or '.' or ',' or ':' or ';' or '\'' or '|' or '!' => 0.28,
        'f' or 't' or 'r' or ' ' or '-' or '(' or ')' or '[' or ']' or '/' => 0.36,
        'm' or 'w' => 0.84,
        'M' or 'W' => 0.9,
        _ when char.IsUpper(c) => 0.73,
        _ => 0.56,
    };

    [Fact]
    public void Warnings_become_msbuild_format_diagnostics_with_a_hint()
    {
        var warning = Sample().Warnings.First(w => w.Code == "MF4053");

        var diagnostic = warning.ToDiagnostic(new ModelForge.Core.Diagnostics.SourceLocation("model.onnx"));

        Assert.Equal(ModelForge.Core.Diagnostics.DiagnosticCode.TuningMeasurementUnstable, diagnostic.Code);
        Assert.StartsWith($"model.onnx: warning MF4053: {warning.Message}", diagnostic.Format(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(diagnostic.Hint));
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
