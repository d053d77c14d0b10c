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
using ModelForge.Package.Tuning.Traffic;

namespace ModelForge.Package.Tuning;

/// <summary>
/// Writes a <see cref="TuningReport"/> as <c>tuning.json</c> and <c>tuning.svg</c>. Both are deterministic: the same
/// report gives the same bytes.
/// <list type="bullet">
/// <item>JSON: indented UTF-8 (no BOM), camelCase property names in declaration order with <c>schemaVersion</c> first,
/// enums as camelCase strings, durations (<c>…Seconds</c> properties and the measurement settings' times) in seconds.</item>
/// <item>SVG: titled with the model's name; throughput (solid, left axis) and p99 latency (dashed, right axis) against
/// batch size (log₂ axis, a tick at every measured batch size), one series pair per instance count, the chosen
/// configuration marked, and the p99 budget as a dotted red line, or stated in the subtitle when it lies far above every
/// measured p99. Labels are laid out for Arial's metrics with room to spare, so none is cut at the exported size. Drawn with
/// OxyPlot.Core's SvgExporter, which is fully managed (ScottPlot and OxyPlot's PNG exporters need SkiaSharp's native
/// library, which a build machine need not have).</item>
/// </list>
/// </summary>
public static class TuningReportWriter
{
    public const string JsonFileName = "tuning.json";
    public const string PlotFileName = "tuning.svg";
    /// <summary>Written next to them when the report has a traffic plan (<see cref="TrafficPlot"/>).</summary>
    public const string TrafficPlotFileName = "traffic.svg";

    /// <summary>Also the tuning lock's (<see cref="TuningLock"/>), so a report read back from a lock is written out byte for byte as it was.</summary>
    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NewLine = "\n",
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase), new SecondsConverter() },
    };

    /// <summary>
    /// Writes <c>tuning.json</c> and <c>tuning.svg</c> into <paramref name="directory"/> (created if needed), and
    /// <c>traffic.svg</c> when the report has a traffic plan; returns the paths of the first two.
    /// </summary>
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
            if (report.Traffic is not null)
                File.WriteAllText(Path.Combine(directory, TrafficPlotFileName), TrafficPlot.ToSvg(report), new UTF8Encoding(false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelForgeException(new Diagnostic(DiagnosticCode.OutputNotWritable, $"cannot write the tuning report to '{directory}': {e.Message}",
                new SourceLocation(directory), "choose a folder you can write to"), e);
        }
        return (json, plot);
    }

    public static string ToJson(TuningReport report) => JsonSerializer.Serialize(report, JsonOptions) + "\n";

    /// <summary>
    /// Fonts the SVG asks for: Arial's metrics (Helvetica, Liberation Sans) are what the text is measured with, so
    /// labels fit where one of them is installed; elsewhere a wider sans-serif still fits (<see cref="TextMeasurer"/>).
    /// </summary>
    internal const string FontFamily = "Arial, Helvetica, Liberation Sans, sans-serif";

    /// <summary>
    /// The budget line is drawn when the p99 axis can reach it without squeezing the measurements into less than this
    /// share of its height; a budget further above them is stated in the subtitle instead.
    /// </summary>
    internal const double BudgetAxisStretch = 2;

    public static string ToSvg(TuningReport report, int width = 900, int height = 540)
    {
        var ok = report.Measurements.Where(m => m.Succeeded).ToList();
        var budget = report.Objective.P99BudgetMilliseconds;
        var highestP99 = ok.Count == 0 ? 0 : ok.Max(m => m.P99Milliseconds);
        var budgetDrawn = budget is { } limit && ok.Count > 0 && limit <= BudgetAxisStretch * highestP99;
        var subtitle = $"{report.ExecutionProvider}, {report.Cores} cores";
        if (ok.Count == 0)
            subtitle += "; no successful measurements to plot";
        else if (budget is { } b)
            subtitle += budgetDrawn
                ? $"; p99 budget {ConfigSearch.Ms(b)} (dotted red line)"
                : $"; p99 budget {ConfigSearch.Ms(b)}, above the plotted range (the highest p99 measured is {ConfigSearch.Ms(highestP99)})";
        var model = new PlotModel
        {
            Title = $"{report.Model}: throughput and p99 latency vs batch size",
            TitleFontSize = 15,
            Subtitle = subtitle,
            SubtitleFontSize = 12,
            DefaultFont = FontFamily,
            DefaultFontSize = 12,
            // Room at the right for the last batch label and the axis title, which the exporter does not reserve.
            Padding = new OxyThickness(8, 8, 16, 8),
        };
        // Below the plot, in rows: a legend at the side takes width from the plot.
        model.Legends.Add(new Legend { LegendPosition = LegendPosition.BottomCenter, LegendPlacement = LegendPlacement.Outside, LegendOrientation = LegendOrientation.Horizontal });
        // The batch sizes measured, not the whole grid: the quick search often stops long before its end.
        var batches = (ok.Count > 0 ? ok.Select(m => m.BatchSize) : report.BatchSizes).Where(b => b > 0).Distinct().Order().DefaultIfEmpty(1).ToList();
        model.Axes.Add(new BatchAxis(batches)
        {
            Position = AxisPosition.Bottom, Title = "batch size", MajorGridlineStyle = LineStyle.Dot,
            // A quarter of a doubling beyond the outermost batch sizes, so their markers and labels are not cut.
            Minimum = batches[0] / BatchAxis.EdgeFactor, Maximum = batches[^1] * BatchAxis.EdgeFactor,
        });
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Left, Key = "throughput", Title = "throughput (inferences/s), solid", Minimum = 0, MaximumPadding = 0.12,
            MajorGridlineStyle = LineStyle.Dot, AxisTitleDistance = 12,
        });
        var p99Axis = new LinearAxis { Position = AxisPosition.Right, Key = "p99", Title = "p99 latency (ms), dashed", Minimum = 0, MaximumPadding = 0.12, AxisTitleDistance = 12 };
        if (budgetDrawn && budget > highestP99)
            p99Axis.Maximum = budget.Value * 1.12;
        model.Axes.Add(p99Axis);
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
        if (budgetDrawn)
        {
            model.Annotations.Add(new LineAnnotation
            {
                Type = LineAnnotationType.Horizontal, Y = budget!.Value, YAxisKey = "p99", Color = OxyColors.Red, LineStyle = LineStyle.Dot,
            });
            // The label sits just above the line (a budget below every measurement lies on the axis, and a label under it
            // would be cut), at the end away from the chosen configuration's label, so the two never overlap.
            var chosenOnTheRight = report.Decision.BatchSize is { } at && Math.Log(at) > (Math.Log(batches[0]) + Math.Log(batches[^1])) / 2;
            model.Annotations.Add(new TextAnnotation
            {
                Text = $"p99 budget {ConfigSearch.Ms(budget.Value)}", TextColor = OxyColors.Red, YAxisKey = "p99",
                TextPosition = new DataPoint(chosenOnTheRight ? batches[0] / BatchAxis.EdgeFactor : batches[^1] * BatchAxis.EdgeFactor, budget.Value),
                TextHorizontalAlignment = chosenOnTheRight ? HorizontalAlignment.Left : HorizontalAlignment.Right,
                TextVerticalAlignment = VerticalAlignment.Bottom,
                Offset = new ScreenVector(chosenOnTheRight ? 6 : -6, -3),
                Stroke = OxyColors.Undefined, StrokeThickness = 0, Padding = new OxyThickness(0),
            });
        }
        if (report.Decision is { BatchSize: { } batch, ThroughputPerSecond: var chosen } && ok.Count > 0)
            model.Annotations.Add(new PointAnnotation { X = batch, Y = chosen, YAxisKey = "throughput", Shape = MarkerType.Diamond, Size = 7, Fill = OxyColors.Black, Text = "chosen" });
        var measurer = new TextMeasurer(width, height);
        // A long model name shrinks the title rather than running past the edges.
        model.TitleFontSize = FittingFontSize(measurer, model.Title, model.TitleFontSize, FontWeights.Bold, width);
        model.SubtitleFontSize = FittingFontSize(measurer, model.Subtitle, model.SubtitleFontSize, FontWeights.Normal, width);
        var exporter = new SvgExporter { Width = width, Height = height, TextMeasurer = measurer };
        return exporter.ExportToString(model);
    }

    internal static double FittingFontSize(TextMeasurer measurer, string text, double fontSize, double fontWeight, int width)
    {
        var available = width - 32;
        var needed = measurer.MeasureText(text, FontFamily, fontSize, fontWeight).Width;
        return needed <= available ? fontSize : Math.Max(6, Math.Floor(fontSize * available / needed * 10) / 10);
    }

    /// <summary>
    /// A log₂ batch axis whose ticks are the measured batch sizes, 1 included: OxyPlot's own log ticks skip some of
    /// them or add fractions (1.1, 1.2, …) when the range is short. Past 12 sizes only the powers of two are labelled.
    /// </summary>
    private sealed class BatchAxis(IReadOnlyList<int> batches) : LogarithmicAxis
    {
        public static readonly double EdgeFactor = Math.Pow(2, 0.25);

        private readonly List<double> _ticks = (batches.Count > 12 ? batches.Where(b => (b & (b - 1)) == 0) : batches).Select(b => (double)b).ToList();

        public override void GetTickValues(out IList<double> majorLabelValues, out IList<double> majorTickValues, out IList<double> minorTickValues)
        {
            majorLabelValues = majorTickValues = _ticks.Where(t => t >= ActualMinimum && t <= ActualMaximum).ToList();
            minorTickValues = [];
        }

        protected override string FormatValueOverride(double x) => x.ToString("0", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// OxyPlot's managed measurer has Helvetica's metrics but works in points (1/72 in), while the SVG's font sizes are
    /// pixels (1/96 in): alone it measures text at three quarters of its drawn size, and the exporter then cuts labels
    /// (the last legend entry, a title running into the subtitle). This scales its sizes to pixels, and widths by 12 %
    /// more: a viewer without Arial, Helvetica or Liberation Sans falls back to a wider sans-serif (DejaVu Sans).
    /// </summary>
    internal sealed class TextMeasurer(double width, double height) : PdfRenderContext(width, height, OxyColors.Undefined)
    {
        private const double PixelsPerPoint = 96.0 / 72;
        private const double FallbackFontMargin = 1.12;

        public override OxySize MeasureText(string text, string fontFamily, double fontSize, double fontWeight)
        {
            var size = base.MeasureText(text, fontFamily, fontSize, fontWeight);
            return new OxySize(size.Width * PixelsPerPoint * FallbackFontMargin, size.Height * PixelsPerPoint);
        }
    }

    /// <summary>TimeSpans as seconds (numbers), like every other duration in the report.</summary>
    private sealed class SecondsConverter : JsonConverter<TimeSpan>
    {
        public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => TimeSpan.FromSeconds(reader.GetDouble());
        public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) => writer.WriteNumberValue(value.TotalSeconds);
    }
}
