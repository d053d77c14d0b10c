using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Validate.Compare;
using ModelForge.Model.Tensors;

namespace ModelForge.Validate.Tests.Compare;

public class QuantizationMetricsTests
{
    [Fact]
    public void Cosine_and_sqnr_match_hand_computed_values()
    {
        // ref (1, 2, 3), out (1, 2, 4): dot 17, |ref|² 14, |out|² 21, noise² 1.
        var metrics = QuantizationMetrics.Of(HostTensor.FromFloats([1, 2, 3], 3), HostTensor.FromFloats([1, 2, 4], 3));
        Assert.Equal(17 / Math.Sqrt(14 * 21), metrics.Cosine, 12);
        Assert.Equal(0.991460, metrics.Cosine, 6);
        Assert.Equal(10 * Math.Log10(14), metrics.SqnrDb, 12);
        Assert.Equal(11.4613, metrics.SqnrDb, 4);
        Assert.Null(metrics.Top1);
    }

    [Fact]
    public void Identical_outputs_have_cosine_1_and_infinite_sqnr_and_zero_outputs_are_handled()
    {
        var same = QuantizationMetrics.Of(HostTensor.FromFloats([0.5f, -2], 2), HostTensor.FromFloats([0.5f, -2], 2));
        Assert.Equal((1.0, double.PositiveInfinity), (same.Cosine, same.SqnrDb));
        var zeros = QuantizationMetrics.Of(HostTensor.FromFloats([0, 0], 2), HostTensor.FromFloats([0, 0], 2));
        Assert.Equal(1.0, zeros.Cosine);
        var oneZero = QuantizationMetrics.Of(HostTensor.FromFloats([1, 0], 2), HostTensor.FromFloats([0, 0], 2));
        Assert.Equal((0.0, 0.0), (oneZero.Cosine, oneZero.SqnrDb));
        Assert.Equal(-1.0, QuantizationMetrics.Of(HostTensor.FromFloats([1, 2], 2), HostTensor.FromFloats([-1, -2], 2)).Cosine, 12);
    }

    [Fact]
    public void Top_k_agreement_counts_rows_whose_reference_top_class_the_candidate_ranks_first_or_in_its_top_5()
    {
        // 4 rows of 7 classes. Reference's top class: 0, 1, 2, 3.
        float[] reference =
        [
            9, 1, 1, 1, 1, 1, 1,
            1, 9, 1, 1, 1, 1, 1,
            1, 1, 9, 1, 1, 1, 1,
            1, 1, 1, 9, 1, 1, 1,
        ];
        float[] candidate =
        [
            9, 1, 1, 1, 1, 1, 1, // top-1 agrees
            8, 7, 1, 1, 1, 1, 1, // class 1 ranked 2nd: in the top 5
            8, 7, 0, 6, 5, 4, 3, // class 2 ranked last: not in the top 5
            1, 1, 1, 9, 1, 1, 1, // agrees
        ];
        var metrics = QuantizationMetrics.Of(HostTensor.FromFloats(reference, 4, 7), HostTensor.FromFloats(candidate, 4, 7));
        Assert.Equal(0.5, metrics.Top1);
        Assert.Equal(0.75, metrics.Top5);
    }

    [Fact]
    public void Top_5_needs_more_than_5_classes_and_the_accumulator_sums_over_samples()
    {
        var accumulator = new QuantizationMetricsAccumulator();
        accumulator.Add(HostTensor.FromFloats([1, 2, 3], 1, 3), HostTensor.FromFloats([1, 2, 3], 1, 3));
        accumulator.Add(HostTensor.FromFloats([3, 2, 1], 1, 3), HostTensor.FromFloats([1, 2, 3], 1, 3));
        var metrics = accumulator.Result();
        Assert.Equal(0.5, metrics.Top1);
        Assert.Null(metrics.Top5);
        // Over both samples: dot 14 + 10 = 24, |ref|² = |out|² = 28, noise² 0 + 8.
        Assert.Equal(24.0 / 28, metrics.Cosine, 12);
        Assert.Equal(10 * Math.Log10(28.0 / 8), metrics.SqnrDb, 12);
    }

    [Fact]
    public void Default_thresholds_pass_and_fail_by_each_metric()
    {
        var good = new QuantizationMetrics(0.995, 25, 0.95, 1);
        Assert.Empty(QuantizationThresholds.Int8.Failures(good));
        Assert.Equal(["cosine 0.995 is below 0.999", "SQNR 25 dB is below 30 dB", "top-1 agreement 0.95 is below 0.99"],
            QuantizationThresholds.Fp16.Failures(good));
        // Top-k thresholds do not apply to outputs that are not classifiers.
        Assert.Empty(QuantizationThresholds.Int8.Failures(new QuantizationMetrics(0.999, 40, null, null)));
        var overridden = QuantizationThresholds.Int8 with { MinCosine = 0.999, MinTop1 = null };
        Assert.Equal(["cosine 0.995 is below 0.999"], overridden.Failures(good with { Top1 = 0.1 }));
    }

    [Fact]
    public void Thresholds_out_of_range_are_MF8026()
    {
        Assert.Same(QuantizationThresholds.Int8, QuantizationThresholds.Int8.Validated());
        var e = Assert.Throws<ModelForgeException>(() => new QuantizationThresholds(1.5, double.NaN, 2, null).Validated());
        Assert.All(e.Diagnostics, d => Assert.Equal(DiagnosticCode.QuantizationThresholdInvalid, d.Code));
        Assert.Equal(3, e.Diagnostics.Count);
        Assert.Contains("min cosine = 1.5 is outside [-1, 1]", e.Diagnostics[0].Message);
        Assert.Contains("min SQNR (dB) = NaN is not a finite number", e.Diagnostics[1].Message);
    }
}

public class PrecisionGateTests
{
    private static readonly ToleranceSettings Int8Gate = ToleranceSettings.Default with { Precision = new PrecisionGate("int8", QuantizationThresholds.Int8) };

    private static float[] Ramp(int n) => Enumerable.Range(0, n).Select(i => (float)Math.Sin(i * 0.37) * 3).ToArray();

    [Fact]
    public void An_output_within_the_int8_bars_passes_though_every_element_is_beyond_the_fp32_tolerance()
    {
        var reference = Ramp(64);
        var candidate = reference.Select(v => v + 0.01f).ToArray();   // 1e-2 off everywhere: SQNR = 10·log10(mean ref² / 1e-4) ≈ 46.5 dB
        var result = OutputComparer.Compare("y", HostTensor.FromFloats(reference, 64), HostTensor.FromFloats(candidate, 64), Int8Gate);
        Assert.True(result.Passed, result.FailureReason);
        Assert.Equal(64, result.Statistics!.MismatchCount);   // the elementwise statistics are still reported
        Assert.Equal("int8", result.Precision!.Name);
        Assert.Equal(10 * Math.Log10(reference.Average(v => (double)v * v) / 1e-4), result.Precision.Metrics.SqnrDb, 1);
        Assert.False(OutputComparer.Compare("y", HostTensor.FromFloats(reference, 64), HostTensor.FromFloats(candidate, 64), ToleranceSettings.Default).Passed);
    }

    [Fact]
    public void An_output_below_a_bar_fails_with_the_metric_that_missed_it()
    {
        var reference = Ramp(64);
        var candidate = reference.Select((v, i) => i % 2 == 0 ? v : -v).ToArray();
        var result = OutputComparer.Compare("y", HostTensor.FromFloats(reference, 64), HostTensor.FromFloats(candidate, 64), Int8Gate);
        Assert.False(result.Passed);
        Assert.Contains("int8: cosine", result.FailureReason);
        Assert.Contains("int8: SQNR", result.FailureReason);
        Assert.Equal("int8: cosine ≥ 0.99, SQNR ≥ 20 dB", ModelForge.Validate.Reports.ReportFormat.Gate(result));
    }

    [Fact]
    public void An_integer_output_may_differ_in_as_many_elements_as_the_top_1_bar_allows()
    {
        static HostTensor Indices(params long[] values) => HostTensor.Create<long>(DataType.Int64, [values.Length], values);
        long[] reference = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        long[] oneFlip = [1, 2, 3, 4, 5, 6, 7, 8, 9, 0];
        long[] twoFlips = [1, 2, 3, 4, 5, 6, 7, 8, 0, 0];
        Assert.True(OutputComparer.Compare("tags", Indices(reference), Indices(oneFlip), Int8Gate).Passed);   // 10 % ≤ 1 − 0.9
        var failed = OutputComparer.Compare("tags", Indices(reference), Indices(twoFlips), Int8Gate);
        Assert.False(failed.Passed);
        Assert.Contains("int8: 20.0 % of the elements differ", failed.FailureReason);
        Assert.False(OutputComparer.Compare("tags", Indices(reference), Indices(oneFlip), ToleranceSettings.Default).Passed);
    }

    [Fact]
    public void Nan_in_the_candidate_fails_the_precision_gate_too()
    {
        var reference = Ramp(8);
        var candidate = (float[])reference.Clone();
        candidate[3] = float.NaN;
        var result = OutputComparer.Compare("y", HostTensor.FromFloats(reference, 8), HostTensor.FromFloats(candidate, 8), Int8Gate);
        Assert.False(result.Passed);
        Assert.Contains("NaN", result.FailureReason);
        Assert.Null(result.Precision);
    }
}
