using System.Globalization;
using System.Net;
using System.Text;
using ModelForge.Package.Tuning;
using ModelForge.Validate.Reports;
using OxyPlot;
using OxyPlot.Annotations;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;

namespace ModelForge.Pipeline.Stages;

/// <summary>
/// The precision stage's decision as the validation report shows it: a table (precision, gate verdict, latency at batch
/// 1, at the timed batch and at the tuned configuration when the build tunes, cosine, SQNR, top-1/top-5 agreement, max abs error, size) and a plot of latency against
/// accuracy (cosine), the chosen precision marked and the failed ones hollow.
/// </summary>
public static class PrecisionReport
{
    public const string PlotFileName = "precision.svg";

    public static ReportSection Section(PrecisionChoice choice)
    {
        var html = new StringBuilder();
        var tuned = choice.Candidates.Any(c => c.Tuned is not null);
        html.Append($"<p>Kept <b>{E(choice.Chosen)}</b>: {E(choice.Reason)}. Latency: median per request, one ONNX Runtime session on " +
                    $"{E(choice.ExecutionProvider)} with every core. Accuracy: the worst output and batch against native fp32 libtorch.</p>\n");
        html.Append("<table class=\"grid\">\n<thead><tr><th>Precision</th><th>Gate</th><th class=\"num\">Batch 1</th>" +
                    $"<th class=\"num\">Batch {choice.TimedBatch}</th>{(tuned ? "<th>Tuned (batch × instances: throughput, p50, p99)</th>" : "")}<th class=\"num\">Cosine</th><th class=\"num\">SQNR (dB)</th>" +
                    "<th class=\"num\">Top-1</th><th class=\"num\">Top-5</th><th class=\"num\">Max abs error</th><th class=\"num\">Size (MB)</th><th>Kept float</th></tr></thead>\n<tbody>\n");
        foreach (var c in choice.Candidates)
        {
            var gate = c.Passed ? "passed" : $"failed: {c.Failure}";
            html.Append($"<tr><td>{(c.Precision == choice.Chosen ? $"<b>{E(c.Precision)}</b> (kept)" : E(c.Precision))}</td><td>{E(gate)}</td>" +
                        $"<td class=\"num\">{E(PrecisionChoice.Ms(c.LatencyBatch1Ms))}</td><td class=\"num\">{E(PrecisionChoice.Ms(c.LatencyTimedBatchMs))}</td>" +
                        (tuned ? $"<td>{(c.Tuned is { } t ? E(t.ToString()) : "-")}</td>" : "") +
                        $"<td class=\"num\">{Number(c.MinCosine, "0.000000")}</td><td class=\"num\">{Number(c.MinSqnrDb, "0.0")}</td>" +
                        $"<td class=\"num\">{Percent(c.MinTop1)}</td><td class=\"num\">{Percent(c.MinTop5)}</td>" +
                        $"<td class=\"num\">{Number(c.MaxAbsError, "0.###E+0")}</td><td class=\"num\">{Number(c.ModelBytes / 1e6, "0.00")}</td>" +
                        $"<td>{(c.FloatNodes.Count == 0 ? "-" : E(string.Join("; ", c.FloatNodes)))}</td></tr>\n");
        }
        html.Append("</tbody>\n</table>\n");
        html.Append($"<figure>{Plot(choice)}</figure>\n");
        return new ReportSection("Precision", html.ToString());
    }

    /// <summary>Latency at the timed batch (x) against cosine similarity (y), one labelled point per precision that was timed.</summary>
    public static string Plot(PrecisionChoice choice, int width = 720, int height = 400)
    {
        var model = new PlotModel
        {
            Title = "Precision: latency vs accuracy",
            TitleFontSize = 15,
            Subtitle = $"batch {choice.TimedBatch} on {choice.ExecutionProvider}; filled: passed the gate, hollow: failed; diamond: kept",
            SubtitleFontSize = 12,
            DefaultFont = SvgPlot.FontFamily,
            DefaultFontSize = 12,
            Padding = new OxyThickness(8, 8, 24, 8),
        };
        model.Legends.Add(new Legend { LegendPosition = LegendPosition.BottomCenter, LegendPlacement = LegendPlacement.Outside, LegendOrientation = LegendOrientation.Horizontal });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = $"median latency at batch {choice.TimedBatch} (ms)", Minimum = 0, MaximumPadding = 0.15, MajorGridlineStyle = LineStyle.Dot });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "cosine similarity to fp32 (worst output)", MinimumPadding = 0.15, MaximumPadding = 0.15, MajorGridlineStyle = LineStyle.Dot });
        foreach (var passed in new[] { true, false })
        {
            var series = new ScatterSeries
            {
                Title = passed ? "passed" : "failed",
                MarkerType = MarkerType.Circle, MarkerSize = 5,
                MarkerFill = passed ? OxyColors.SeaGreen : OxyColors.White, MarkerStroke = passed ? OxyColors.SeaGreen : OxyColors.Firebrick, MarkerStrokeThickness = 1.5,
            };
            series.Points.AddRange(choice.Candidates.Where(c => c.Passed == passed && c.LatencyTimedBatchMs is not null)
                .Select(c => new ScatterPoint(c.LatencyTimedBatchMs!.Value, c.MinCosine)));
            if (series.Points.Count > 0) model.Series.Add(series);
        }
        foreach (var c in choice.Candidates.Where(c => c.LatencyTimedBatchMs is not null))
        {
            var kept = c.Precision == choice.Chosen;
            model.Annotations.Add(new PointAnnotation
            {
                X = c.LatencyTimedBatchMs!.Value, Y = c.MinCosine, Text = kept ? $"{c.Precision} (kept)" : c.Precision,
                Shape = kept ? MarkerType.Diamond : MarkerType.None, Size = kept ? 8 : 0, Fill = OxyColors.Black,
                TextVerticalAlignment = VerticalAlignment.Bottom,
            });
        }
        return SvgPlot.Export(model, width, height);
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string Number(double? value, string format) => value is { } v ? E(v.ToString(format, CultureInfo.InvariantCulture)) : "-";

    private static string Percent(double? value) => value is { } v ? E(v.ToString("P1", CultureInfo.InvariantCulture)) : "-";
}
