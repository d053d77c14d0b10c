using OxyPlot;

namespace ModelForge.Package.Tuning;

/// <summary>
/// Exports an OxyPlot model to SVG the way the tuning plots are (<see cref="TuningReportWriter"/>): fully managed, text
/// measured for the pixel sizes the SVG draws, titles shrunk to fit. For plots made outside this assembly (the build's
/// precision comparison).
/// </summary>
public static class SvgPlot
{
    public const string FontFamily = TuningReportWriter.FontFamily;

    public static string Export(PlotModel model, int width, int height)
    {
        var measurer = new TuningReportWriter.TextMeasurer(width, height);
        model.TitleFontSize = TuningReportWriter.FittingFontSize(measurer, model.Title, model.TitleFontSize, FontWeights.Bold, width);
        if (model.Subtitle is { } subtitle)
            model.SubtitleFontSize = TuningReportWriter.FittingFontSize(measurer, subtitle, model.SubtitleFontSize, FontWeights.Normal, width);
        return new SvgExporter { Width = width, Height = height, TextMeasurer = measurer }.ExportToString(model);
    }
}
