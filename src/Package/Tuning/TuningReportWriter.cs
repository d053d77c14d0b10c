using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using ModelForge.Core.Diagnostics;
using OxyPlot;
using OxyPlot.Annotations;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;

namespace ModelForge.Package.Tuning;

/// <summary>
/// Writes a <see cref="TuningReport"/> as <c>tuning.json</c> and <c>tuning.svg</c>. Both are deterministic: the same
/// report gives the same bytes.
/// <list type="bullet">
/// <item>JSON: indented UTF-8 (no BOM), camelCase property names in declaration order with <c>schemaVersion</c> first,
/// enums as camelCase strings, durations (<c>…Seconds</c> properties and the measurement settings' times) in seconds.</item>
/// <item>SVG: throughput (solid, left axis) and p99 latency (dashed, right axis) against batch size (log₂ axis), one
/// series pair per instance count, the p99 budget as a horizontal line and the chosen configuration marked. Drawn with
/// OxyPlot.Core's SvgExporter, which is fully managed (ScottPlot and OxyPlot's PNG exporters need SkiaSharp's native
/// library, which a build machine need not have).</item>
/// </list>
/// </summary>
public static class TuningReportWriter
{
    public const string JsonFileName = "tuning.json";
    public const string PlotFileName = "tuning.svg";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NewLine = "\n",
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase), new SecondsConverter() },
    };

    /// <summary>Writes <c>tuning.json</c> and <c>tuning.svg</c> into <paramref name="directory"/> (created if needed); returns their paths.</summary>
    public static (string Json, string Plot) Write(TuningReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        var json = Path.Combine(directory, JsonFileName);
        var plot = Path.Combine(directory, PlotFileName);
        try
        {
            Directory.CreateDirectory(directory);
            File.WriteAllText(json, ToJson(report), new UTF8Encoding(false));
            File.WriteAllText(plot, ToSvg(report), new UTF8Encoding(false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelForgeException(new Diagnostic(DiagnosticCode.OutputNotWritable, $"cannot write the tuning report to '{directory}': {e.Message}",
                new SourceLocation(directory), "choose a folder you can write to"), e);
        }
        return (json, plot);
    }

    public static string ToJson(TuningReport report) => JsonSerializer.Serialize(report, JsonOptions) + "\n";

    public static string ToSvg(TuningReport report, int width = 900, int height = 540)
    {
        var model = new PlotModel
        {
            Title = $"{report.Model}: throughput and p99 latency vs batch size ({report.ExecutionProvider}, {report.Cores} cores)",
            TitleFontSize = 14,
        };
        // Below the plot, in rows: the SVG exporter measures text roughly, and a legend at the side gets clipped.
        model.Legends.Add(new Legend { LegendPosition = LegendPosition.BottomCenter, LegendPlacement = LegendPlacement.Outside, LegendOrientation = LegendOrientation.Horizontal });
        model.Axes.Add(new LogarithmicAxis { Position = AxisPosition.Bottom, Base = 2, Title = "batch size", MajorGridlineStyle = LineStyle.Dot });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Key = "throughput", Title = "throughput (inferences/s), solid", Minimum = 0, MajorGridlineStyle = LineStyle.Dot, AxisTitleDistance = 12 });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Right, Key = "p99", Title = "p99 latency (ms), dashed", Minimum = 0, AxisTitleDistance = 12 });
        var ok = report.Measurements.Where(m => m.Succeeded).ToList();
        var palette = OxyPalettes.HueDistinct(Math.Max(2, ok.Select(m => m.InstanceCount).Distinct().Count()));
        var colour = 0;
        foreach (var group in ok.GroupBy(m => m.InstanceCount).OrderBy(g => g.Key))
        {
            var points = group.OrderBy(m => m.BatchSize).ToList();
            var color = palette.Colors[colour++];
            var name = ConfigSearch.Instances(group.Key);
            var throughput = new LineSeries { Title = $"{name}: throughput", YAxisKey = "throughput", Color = color, MarkerType = MarkerType.Circle, MarkerSize = 3 };
            throughput.Points.AddRange(points.Select(m => new DataPoint(m.BatchSize, m.ThroughputPerSecond)));
            var latency = new LineSeries { Title = $"{name}: p99", YAxisKey = "p99", Color = color, LineStyle = LineStyle.Dash, MarkerType = MarkerType.Square, MarkerSize = 3 };
            latency.Points.AddRange(points.Select(m => new DataPoint(m.BatchSize, m.P99Milliseconds)));
            model.Series.Add(throughput);
            model.Series.Add(latency);
        }
        if (report.Objective.P99BudgetMilliseconds is { } budget)
            model.Annotations.Add(new LineAnnotation { Type = LineAnnotationType.Horizontal, Y = budget, YAxisKey = "p99", Color = OxyColors.Red, LineStyle = LineStyle.Dot, Text = $"p99 budget {budget:0.###} ms" });
        if (report.Decision is { BatchSize: { } batch, ThroughputPerSecond: var chosen } && ok.Count > 0)
            model.Annotations.Add(new PointAnnotation { X = batch, Y = chosen, YAxisKey = "throughput", Shape = MarkerType.Diamond, Size = 7, Fill = OxyColors.Black, Text = "chosen" });
        if (ok.Count == 0)
            model.Subtitle = "no successful measurements to plot";
        var exporter = new SvgExporter { Width = width, Height = height };
        return exporter.ExportToString(model);
    }

    /// <summary>TimeSpans as seconds (numbers), like every other duration in the report.</summary>
    private sealed class SecondsConverter : JsonConverter<TimeSpan>
    {
        public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => TimeSpan.FromSeconds(reader.GetDouble());
        public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) => writer.WriteNumberValue(value.TotalSeconds);
    }
}
