using ModelForge.Optimize.Int8;

namespace ModelForge.Optimize.Tests.Int8;

/// <summary>The calibrators and the quantization arithmetic against ranges and parameters computed by hand.</summary>
public sealed class CalibratorTests
{
    private const int Bins = HistogramCalibrator.Bins;

    [Fact]
    public void Minmax_takes_the_extremes_over_every_batch_and_skips_nan()
    {
        var calibrator = new MinMaxCalibrator();
        calibrator.Observe([1f, -2f, 3f]);
        calibrator.Observe([0.5f, float.NaN, 7f]);
        Assert.Equal(new ActivationRange(-2f, 7f), calibrator.Range());
    }

    [Fact]
    public void Percentile_clips_at_the_upper_edge_of_the_bin_reaching_the_percentile()
    {
        // 999 values 0.000 … 0.998 and one outlier 100: the width is 100/2048, 0.998 lies in bin 20 and the 99.9th
        // percentile (999 of 1000 values) is reached there, so the threshold is 21 × 100/2048.
        var calibrator = new PercentileCalibrator(99.9);
        calibrator.Observe([.. Enumerable.Range(0, 999).Select(i => i / 1000f), 100f]);
        Assert.Equal(new ActivationRange(0f, (float)(21 * 100.0 / Bins)), calibrator.Range());
    }

    [Fact]
    public void Percentile_clips_each_side_at_the_threshold_of_the_absolute_values()
    {
        var calibrator = new PercentileCalibrator(99.9);
        calibrator.Observe([.. Enumerable.Range(0, 999).Select(i => -i / 1000f), 100f]);
        // The negative side is not clipped: its extreme (-0.998) lies within the threshold.
        Assert.Equal(new ActivationRange(-0.998f, (float)(21 * 100.0 / Bins)), calibrator.Range());
    }

    [Fact]
    public void A_later_batch_beyond_the_histogram_doubles_the_bin_width_without_moving_counts()
    {
        // Batch 1 {1, 2}: width 2/2048, 2 lands in the last bin. Batch 2 {8}: the width doubles twice to 8/2048, bins
        // merge pairwise, and the last bin of batch 1 becomes bin 511, whose upper edge is 512 × 8/2048 = 2.
        var calibrator = new PercentileCalibrator(50);
        calibrator.Observe([1f, 2f]);
        calibrator.Observe([8f]);
        Assert.Equal(new ActivationRange(1f, 2f), calibrator.Range());
    }

    [Fact]
    public void Entropy_keeps_the_whole_range_of_uniform_values()
    {
        // Ten values in the middle of each of the 2048 bins: with all 2048 bins, 128 levels of 16 equal bins
        // reproduce P exactly (divergence 0), so nothing is clipped.
        var values = Enumerable.Range(0, Bins).SelectMany(k => Enumerable.Repeat(k + 0.5f, 10)).ToArray();
        var calibrator = new EntropyCalibrator();
        calibrator.Observe(values);
        Assert.Equal(new ActivationRange(0.5f, Bins - 0.5f), calibrator.Range());
    }

    [Fact]
    public void Entropy_clips_a_lone_outlier()
    {
        var values = Enumerable.Range(0, 20480).Select(i => i / 20480f).Append(1000f).ToArray();
        var calibrator = new EntropyCalibrator();
        calibrator.Observe(values);
        var range = calibrator.Range();
        Assert.Equal(0f, range.Min);
        Assert.InRange(range.Max, 1f, 100f);
        Assert.Equal(new ActivationRange(0, 1000f), Calibrator.Create(CalibrationMethod.MinMax).Also(c => c.Observe(values)).Range());
    }

    [Theory]
    [InlineData(0f, 2.55f, 0, 255, 0.01f, 0)]
    [InlineData(-1f, 3f, 0, 255, 4f / 255, 64)]
    [InlineData(-1f, 3f, -128, 127, 4f / 255, -64)]
    [InlineData(1f, 3f, 0, 255, 3f / 255, 0)]
    [InlineData(0f, 0f, 0, 255, 1f, 0)]
    public void Activation_parameters_are_asymmetric_over_the_range_widened_to_hold_zero(float min, float max, int qmin, int qmax, float scale, int zeroPoint)
    {
        var parameters = QuantParams.Asymmetric(new ActivationRange(min, max), (qmin, qmax));
        Assert.Equal(scale, parameters.Scale, 6);
        Assert.Equal(zeroPoint, parameters.ZeroPoint);
    }

    [Fact]
    public void Weights_are_per_channel_symmetric_with_zero_point_zero()
    {
        var builder = new TinyModels().Constant("w", [1f, -0.5f, 0.25f, 0f], [2, 2]);
        var weight = builder.Build().Graph.Initializer[0];
        var (quantized, scales) = QdqRewriter.QuantizeWeight(weight, 0, 127);
        Assert.Equal([1f / 127, 0.25f / 127], scales);
        Assert.Equal(new sbyte[] { 127, -64, 127, 0 }, quantized.RawData.ToByteArray().Select(b => (sbyte)b));
        var (columns, columnScales) = QdqRewriter.QuantizeWeight(weight, 1, 64);
        Assert.Equal([1f / 64, 0.5f / 64], columnScales);
        Assert.Equal(new sbyte[] { 64, -64, 16, 0 }, columns.RawData.ToByteArray().Select(b => (sbyte)b));
    }

    [Fact]
    public void The_format_reduces_the_weight_range_only_without_vnni()
    {
        var format = QuantizationFormat.ForThisCpu();
        Assert.Equal(ActivationType.UInt8, format.Activations);
        Assert.Equal(!QuantizationFormat.CpuHasVnni() && System.Runtime.Intrinsics.X86.X86Base.IsSupported, format.ReduceRange);
        Assert.Equal(format.ReduceRange ? 64 : 127, format.WeightLimit);
    }
}

internal static class CalibratorTestExtensions
{
    public static Calibrator Also(this Calibrator calibrator, Action<Calibrator> action)
    {
        action(calibrator);
        return calibrator;
    }
}
