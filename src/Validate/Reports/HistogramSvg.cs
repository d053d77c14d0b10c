using System.Globalization;
using System.Text;
using ModelForge.Validate.Compare;

namespace ModelForge.Validate.Reports;

/// <summary>
/// An inline SVG bar chart of an <see cref="ErrorHistogram"/>: one bar per decade of absolute error
/// (<see cref="ErrorHistogram.Edges"/> are the absolute errors at the bin edges, powers of ten as
/// <see cref="OutputComparer"/> makes them, drawn on a log scale and labelled "1e-7"), a separate bar for
/// exact matches on the left, element counts on the y axis (and above each bar), and the tolerance's atol as a
/// dashed vertical line. Every bar has a &lt;title&gt;, which browsers show as a tooltip without any script.
/// </summary>
internal static class HistogramSvg
{
    private const double Width = 640, Height = 300;
    private const double Left = 72, Right = 20, Top = 28, Bottom = 62;
    private const double PlotWidth = Width - Left - Right, PlotHeight = Height - Top - Bottom;

    public static string Render(ErrorHistogram histogram, Tolerance tolerance, string title)
    {
        histogram = WidenToAtol(histogram, tolerance.Atol);
        var bins = Math.Max(0, Math.Min(histogram.Counts.Length, histogram.Edges.Length - 1));
        // Slot 0 is the exact-match bar, then half a slot of gap, then one slot per bin.
        // A narrow histogram keeps slim bars instead of stretching a single bar across the plot.
        var slot = Math.Min(PlotWidth / (bins + 1.5), 64);
        var binsLeft = Left + 1.5 * slot;
        var maxCount = Math.Max(histogram.ExactCount, bins == 0 ? 0 : histogram.Counts.Take(bins).Max());
        var (yMax, yStep) = NiceAxis(maxCount);
        double Y(double count) => Top + PlotHeight - count / yMax * PlotHeight;

        var svg = new StringBuilder();
        svg.Append($"<svg class=\"histogram\" width=\"{N(Width)}\" height=\"{N(Height)}\" " +
                   $"viewBox=\"0 0 {N(Width)} {N(Height)}\" role=\"img\" aria-label=\"{HtmlReport.E(title)}\" " +
                   "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif\" font-size=\"11\">\n");
        svg.Append($"<title>{HtmlReport.E(title)}</title>\n");

        // Horizontal grid lines and y tick labels.
        for (var tick = 0.0; tick <= yMax + yStep / 2; tick += yStep)
        {
            var y = Y(tick);
            svg.Append($"<line x1=\"{N(Left)}\" y1=\"{N(y)}\" x2=\"{N(Width - Right)}\" y2=\"{N(y)}\" stroke=\"{(tick == 0 ? "#57606a" : "#e5e8eb")}\"/>\n");
            svg.Append($"<text x=\"{N(Left - 6)}\" y=\"{N(y + 4)}\" text-anchor=\"end\" fill=\"#57606a\">{Count((long)tick)}</text>\n");
        }
        svg.Append($"<line x1=\"{N(Left)}\" y1=\"{N(Top)}\" x2=\"{N(Left)}\" y2=\"{N(Top + PlotHeight)}\" stroke=\"#57606a\"/>\n");

        var showCounts = slot >= 30;
        // The exact-match bar.
        Bar(svg, Left + slot * 0.1, slot * 0.8, histogram.ExactCount, Y, "#8c959f", $"exact matches: {Count(histogram.ExactCount)}", showCounts);
        svg.Append($"<text x=\"{N(Left + slot / 2)}\" y=\"{N(Top + PlotHeight + 16)}\" text-anchor=\"middle\" fill=\"#1f2328\">exact</text>\n");

        for (var i = 0; i < bins; i++)
        {
            var x = binsLeft + i * slot;
            var tooltip = $"[{EdgeLabel(histogram.Edges[i])}, {EdgeLabel(histogram.Edges[i + 1])}): {Count(histogram.Counts[i])}";
            Bar(svg, x + 1, slot - 2, histogram.Counts[i], Y, "#0969da", tooltip, showCounts);
        }

        // Edge labels, thinned out so they never overlap (about 44 px per label).
        var every = Math.Max(1, (int)Math.Ceiling(44 / slot));
        for (var i = 0; bins > 0 && i <= bins; i += every)
        {
            var x = binsLeft + i * slot;
            svg.Append($"<line x1=\"{N(x)}\" y1=\"{N(Top + PlotHeight)}\" x2=\"{N(x)}\" y2=\"{N(Top + PlotHeight + 4)}\" stroke=\"#57606a\"/>\n");
            svg.Append($"<text x=\"{N(x)}\" y=\"{N(Top + PlotHeight + 16)}\" text-anchor=\"middle\" fill=\"#1f2328\">{HtmlReport.E(EdgeLabel(histogram.Edges[i]))}</text>\n");
        }

        // The atol marker.
        if (bins == 0)
        {
            svg.Append($"<text x=\"{N(Width - Right)}\" y=\"{N(Top - 6)}\" text-anchor=\"end\" fill=\"#cf222e\" font-weight=\"600\">" +
                       $"atol {HtmlReport.E(ReportFormat.Error(tolerance.Atol))} (every error is 0)</text>\n");
        }
        else
        {
            var (x, where) = AtolPosition(histogram.Edges, bins, tolerance.Atol, binsLeft, slot);
            if (x is { } ax)
            {
                var anchor = ax > Left + PlotWidth / 2 ? "end" : "start";
                var dx = anchor == "end" ? -4 : 4;
                svg.Append($"<line x1=\"{N(ax)}\" y1=\"{N(Top - 14)}\" x2=\"{N(ax)}\" y2=\"{N(Top + PlotHeight)}\" stroke=\"#cf222e\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\n");
                svg.Append($"<text x=\"{N(ax + dx)}\" y=\"{N(Top - 6)}\" text-anchor=\"{anchor}\" fill=\"#cf222e\" font-weight=\"600\">" +
                           $"atol {HtmlReport.E(ReportFormat.Error(tolerance.Atol))}{HtmlReport.E(where)}</text>\n");
            }
            else
            {
                svg.Append($"<text x=\"{N(Width - Right)}\" y=\"{N(Top - 6)}\" text-anchor=\"end\" fill=\"#cf222e\" font-weight=\"600\">" +
                           $"atol {HtmlReport.E(ReportFormat.Error(tolerance.Atol))}{HtmlReport.E(where)}</text>\n");
            }
        }

        // Axis titles.
        svg.Append($"<text x=\"{N(Left + PlotWidth / 2)}\" y=\"{N(Height - 14)}\" text-anchor=\"middle\" fill=\"#1f2328\" font-size=\"12\">" +
                   "absolute error |actual &#8722; expected| (decades)</text>\n");
        svg.Append($"<text transform=\"translate(16 {N(Top + PlotHeight / 2)}) rotate(-90)\" text-anchor=\"middle\" fill=\"#1f2328\" font-size=\"12\">elements</text>\n");
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static void Bar(StringBuilder svg, double x, double width, long count, Func<double, double> y, string fill, string tooltip, bool showCount)
    {
        if (count <= 0)
            return;
        var top = y(count);
        var height = Math.Max(1, y(0) - top);
        svg.Append($"<rect x=\"{N(x)}\" y=\"{N(y(0) - height)}\" width=\"{N(width)}\" height=\"{N(height)}\" fill=\"{fill}\"><title>{HtmlReport.E(tooltip)}</title></rect>\n");
        if (showCount)
            svg.Append($"<text x=\"{N(x + width / 2)}\" y=\"{N(y(0) - height - 4)}\" text-anchor=\"middle\" fill=\"#1f2328\" font-size=\"10\">{Count(count)}</text>\n");
    }

    /// <summary>
    /// Adds empty decades so that atol lies inside the drawn range, which shows how far the errors are from it
    /// (up to 12 decades each way; only for bins whose outer edges are positive and finite).
    /// </summary>
    private static ErrorHistogram WidenToAtol(ErrorHistogram histogram, double atol)
    {
        var bins = Math.Min(histogram.Counts.Length, histogram.Edges.Length - 1);
        if (bins <= 0 || !(atol > 0) || !double.IsFinite(atol))
            return histogram;
        var edges = histogram.Edges.Take(bins + 1).ToList();
        var counts = histogram.Counts.Take(bins).ToList();
        for (var added = 0; added < 12 && edges[0] > 0 && double.IsFinite(edges[0]) && atol < edges[0]; added++)
        {
            edges.Insert(0, Decade(edges[0], -1));
            counts.Insert(0, 0);
        }
        for (var added = 0; added < 12 && edges[^1] > 0 && double.IsFinite(edges[^1]) && atol >= edges[^1]; added++)
        {
            edges.Add(Decade(edges[^1], +1));
            counts.Add(0);
        }
        return histogram with { Edges = [.. edges], Counts = [.. counts] };
    }

    /// <summary>The edge a decade below or above: exact powers of ten stay exact (1e-6 → 1e-5, not 9.999…e-6).</summary>
    private static double Decade(double edge, int direction)
    {
        var exponent = Math.Round(Math.Log10(edge));
        var power = double.Parse("1e" + exponent.ToString("0", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return Math.Abs(edge - power) <= 1e-12 * power
            ? double.Parse("1e" + (exponent + direction).ToString("0", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)
            : direction > 0 ? edge * 10 : edge / 10;
    }

    /// <summary>Where atol falls on the bins (log scale within a bin), or why it is not drawn.</summary>
    private static (double? X, string Note) AtolPosition(double[] edges, int bins, double atol, double binsLeft, double slot)
    {
        if (!(atol > 0) || double.IsInfinity(atol))
            return (null, " (not drawn)");
        if (atol < edges[0])
            return (binsLeft, " (below the range)");
        if (atol >= edges[bins])
            return (binsLeft + bins * slot, " (above the range)");
        for (var i = 0; i < bins; i++)
        {
            if (atol >= edges[i] && atol < edges[i + 1])
            {
                var fraction = edges[i] > 0 && double.IsFinite(edges[i + 1]) && edges[i + 1] > edges[i]
                    ? (Math.Log10(atol) - Math.Log10(edges[i])) / (Math.Log10(edges[i + 1]) - Math.Log10(edges[i]))
                    : 0.5;
                return (binsLeft + (i + fraction) * slot, "");
            }
        }
        return (null, " (not drawn)");
    }

    /// <summary>A bin edge: a power of ten as "1e-7" (1 as "1e0"), anything else in three digits; "0", "inf".</summary>
    internal static string EdgeLabel(double edge)
    {
        if (edge == 0)
            return "0";
        if (double.IsPositiveInfinity(edge))
            return "inf";
        if (!double.IsFinite(edge) || edge < 0)
            return ReportFormat.Error(edge);
        var exponent = Math.Round(Math.Log10(edge));
        var power = double.Parse("1e" + exponent.ToString("0", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return power == edge || Math.Abs(edge - power) <= 1e-12 * power
            ? "1e" + exponent.ToString("0", CultureInfo.InvariantCulture)
            : ReportFormat.Error(edge);
    }

    /// <summary>An axis from 0 to a round number at or above <paramref name="max"/>, in 2 to 5 round steps.</summary>
    private static (double Max, double Step) NiceAxis(long max)
    {
        if (max <= 0)
            return (1, 1);
        var raw = max / 4.0;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var normalized = raw / magnitude;
        var step = (normalized <= 1 ? 1 : normalized <= 2 ? 2 : normalized <= 5 ? 5 : 10) * magnitude;
        step = Math.Max(1, Math.Round(step));
        return (Math.Ceiling(max / step) * step, step);
    }

    private static string Count(long count) => count.ToString("#,0", CultureInfo.InvariantCulture);

    private static string N(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);
}
