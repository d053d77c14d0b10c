using System.Globalization;
using OxyPlot;
using OxyPlot.Annotations;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;
using static ModelForge.Package.Tuning.ConfigSearch;

namespace ModelForge.Package.Tuning.Traffic;

/// <summary>
/// <c>traffic.svg</c>: the chosen configuration's predicted p50 (solid) and p99 (dashed) latency on the left axis and
/// its utilisation (dotted, right axis) against the request rate, with the p99 budget, the declared rate and the
/// saturation rate marked. Same text measuring and fonts as <c>tuning.svg</c>, same bytes for the same report.
/// </summary>
public static class TrafficPlot
{
    public static string ToSvg(TuningReport report, int width = 900, int height = 540)
    {
        var plan = report.Traffic ?? throw new ArgumentException("the report has no traffic plan", nameof(report));
        var profile = report.Objective.Traffic!;
        var budget = report.Objective.P99BudgetMilliseconds!.Value;
        var chosen = plan.Chosen;
        // Near saturation p99 grows without bound; the axis stops at twice the budget so the budget stays readable.
        var latencyTop = Math.Min(plan.Curve.Max(p => p.P99Milliseconds), 2 * budget);
        var model = new PlotModel
        {
            Title = $"{report.Model}: predicted latency and utilisation vs request rate",
            TitleFontSize = 15,
            Subtitle = $"{Instances(chosen.InstanceCount)}, max batch {chosen.MaxBatchSize}, preferred [{string.Join(", ", chosen.PreferredBatchSizes)}], " +
                       $"queue delay {chosen.MaxQueueDelayMicroseconds} µs; {TrafficProfile.Name(profile.Arrival)} arrivals; " +
                       $"margin to saturation {plan.MarginToSaturation.ToString("P0", CultureInfo.InvariantCulture)}",
            SubtitleFontSize = 12,
            DefaultFont = TuningReportWriter.FontFamily,
            DefaultFontSize = 12,
            Padding = new OxyThickness(8, 8, 16, 8),
        };
        model.Legends.Add(new Legend { LegendPosition = LegendPosition.BottomCenter, LegendPlacement = LegendPlacement.Outside, LegendOrientation = LegendOrientation.Horizontal });
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Bottom, Title = "request rate (requests/s)", Minimum = 0, Maximum = chosen.SaturationRequestsPerSecond * 1.05,
            MajorGridlineStyle = LineStyle.Dot,
        });
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Left, Key = "latency", Title = "predicted latency (ms): p50 solid, p99 dashed", Minimum = 0,
            Maximum = Math.Max(latencyTop, budget) * 1.12, MajorGridlineStyle = LineStyle.Dot, AxisTitleDistance = 12,
        });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Right, Key = "utilisation", Title = "utilisation (%), dotted", Minimum = 0, Maximum = 105, AxisTitleDistance = 12 });
        var blue = OxyColor.FromRgb(0x1f, 0x77, 0xb4);
        var p50 = new LineSeries { Title = "p50", YAxisKey = "latency", Color = blue, MarkerType = MarkerType.Circle, MarkerSize = 3 };
        var p99 = new LineSeries { Title = "p99", YAxisKey = "latency", Color = blue, LineStyle = LineStyle.Dash, MarkerType = MarkerType.Square, MarkerSize = 3 };
        var utilisation = new LineSeries { Title = "utilisation", YAxisKey = "utilisation", Color = OxyColors.Gray, LineStyle = LineStyle.Dot, MarkerType = MarkerType.Triangle, MarkerSize = 3 };
        foreach (var point in plan.Curve)
        {
            p50.Points.Add(new DataPoint(point.RequestsPerSecond, point.P50Milliseconds));
            p99.Points.Add(new DataPoint(point.RequestsPerSecond, point.P99Milliseconds));
            utilisation.Points.Add(new DataPoint(point.RequestsPerSecond, 100 * point.Utilisation));
        }
        model.Series.Add(p50);
        model.Series.Add(p99);
        model.Series.Add(utilisation);
        model.Annotations.Add(new LineAnnotation
        {
            Type = LineAnnotationType.Horizontal, Y = budget, YAxisKey = "latency", Color = OxyColors.Red, LineStyle = LineStyle.Dot,
            Text = $"p99 budget {Ms(budget)}", TextColor = OxyColors.Red, TextHorizontalAlignment = HorizontalAlignment.Left, TextLinePosition = 0.02,
        });
        model.Annotations.Add(Vertical(profile.RequestsPerSecond, $"declared {TrafficPlanner.Rate(profile.RequestsPerSecond)}", OxyColors.Black, 0.98));
        model.Annotations.Add(Vertical(chosen.SaturationRequestsPerSecond, $"saturation {TrafficPlanner.Rate(chosen.SaturationRequestsPerSecond)}", OxyColors.DarkRed, 0.55));
        var measurer = new TuningReportWriter.TextMeasurer(width, height);
        model.TitleFontSize = TuningReportWriter.FittingFontSize(measurer, model.Title, model.TitleFontSize, FontWeights.Bold, width);
        model.SubtitleFontSize = TuningReportWriter.FittingFontSize(measurer, model.Subtitle, model.SubtitleFontSize, FontWeights.Normal, width);
        return new SvgExporter { Width = width, Height = height, TextMeasurer = measurer }.ExportToString(model);
    }

    private static LineAnnotation Vertical(double x, string text, OxyColor color, double at) => new()
    {
        Type = LineAnnotationType.Vertical, X = x, YAxisKey = "latency", Color = color, LineStyle = LineStyle.LongDash,
        Text = text, TextColor = color, TextLinePosition = at, TextOrientation = AnnotationTextOrientation.Vertical,
        TextHorizontalAlignment = HorizontalAlignment.Right,
    };
}
