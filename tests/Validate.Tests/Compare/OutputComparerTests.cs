using ModelForge.Model;
using ModelForge.Validate.Compare;
using ModelForge.Model.Tensors;

namespace ModelForge.Validate.Tests.Compare;

public class OutputComparerTests
{
    private static readonly ToleranceSettings Defaults = ToleranceSettings.Default;

    private static OutputComparison Compare(HostTensor expected, HostTensor actual, ToleranceSettings? settings = null) =>
        OutputComparer.Compare("y", expected, actual, settings ?? Defaults);

    private static HostTensor F32(float[] values, params long[] shape) =>
        HostTensor.FromFloats(values, shape.Length == 0 ? [values.Length] : shape);

    private static HostTensor F64(double[] values) => HostTensor.Create<double>(DataType.Float64, [values.Length], values);

    private static HostTensor F16(params float[] values) =>
        HostTensor.Create<Half>(DataType.Float16, [values.Length], values.Select(v => (Half)v).ToArray());

    private static HostTensor BF16(params float[] values) =>
        HostTensor.Create<ushort>(DataType.BFloat16, [values.Length],
            values.Select(v => (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)).ToArray());

    private static HostTensor Bools(params byte[] values) => new(DataType.Bool, [values.Length], values);

    private static float[] Ramp(int n) => Enumerable.Range(0, n).Select(i => (float)Math.Sin(i * 0.37) * 3).ToArray();

    private static void AssertAllFinite(ErrorStatistics s)
    {
        double[] values =
        [
            s.MaxAbsError, s.MeanAbsError, s.MedianAbsError, s.P99AbsError,
            s.MaxRelError, s.MeanRelError, s.MedianRelError, s.P99RelError, s.CosineSimilarity,
        ];
        Assert.All(values, v => Assert.True(double.IsFinite(v), $"statistic {v} is not finite in {s}"));
    }

    // ---- identical / perturbed -------------------------------------------------------------------------------------

    [Fact]
    public void Identical_outputs_pass_with_zero_errors()
    {
        var values = Ramp(6);
        var result = Compare(F32(values, 2, 3), F32(values, 2, 3));

        Assert.True(result.Passed);
        Assert.Null(result.FailureReason);
        Assert.Empty(result.WorstMismatches);
        var s = result.Statistics!;
        Assert.Equal(6, s.ElementCount);
        Assert.Equal(0, s.MismatchCount);
        Assert.Equal(0, s.MaxAbsError);
        Assert.Equal(0, s.MaxRelError);
        Assert.Equal(1, s.CosineSimilarity, 12);
        Assert.Equal(6, result.Histogram!.ExactCount);
        Assert.Empty(result.Histogram.Counts);
        Assert.Equal(new Tolerance(1e-4, 1e-3), result.Tolerance);
    }

    [Fact]
    public void One_element_beyond_tolerance_fails_and_is_named_by_its_index()
    {
        var expected = Ramp(10);
        var actual = (float[])expected.Clone();
        actual[8] += 0.5f;   // [1,3] in a [2,5] tensor

        var result = Compare(F32(expected, 2, 5), F32(actual, 2, 5));

        Assert.False(result.Passed);
        Assert.Equal(1, result.Statistics!.MismatchCount);
        var worst = Assert.Single(result.WorstMismatches);
        Assert.Equal([1L, 3L], worst.Index);
        Assert.Equal(expected[8], worst.Expected, 6);
        Assert.Equal(actual[8], worst.Actual, 6);
        Assert.Equal(0.5, worst.AbsError, 5);
        Assert.StartsWith("1 of 10 elements differ beyond atol=1.00e-04 rtol=1.00e-03; the worst of them is off by 5.0e-01 at [1,3]", result.FailureReason);
    }

    [Fact]
    public void The_element_test_is_atol_plus_rtol_times_the_reference()
    {
        // 100 ± 0.1001 passes (1e-4 + 1e-3·100); the test is asymmetric: the reference's magnitude scales it.
        Assert.True(Compare(F64([100.0]), F64([100.1])).Passed);
        Assert.False(Compare(F64([100.0]), F64([100.11])).Passed);
        Assert.True(Compare(F64([0.0]), F64([0.9e-4])).Passed);
        Assert.False(Compare(F64([0.0]), F64([1.1e-4])).Passed);
    }

    [Fact]
    public void Worst_mismatches_are_capped_at_ten_largest_first_ties_by_position()
    {
        var expected = new float[100];
        var actual = Enumerable.Range(0, 100).Select(i => (float)(i % 7)).ToArray();   // errors 0..6, 6 at i = 6, 13, 20, ...

        var result = Compare(F32(expected, 10, 10), F32(actual, 10, 10));

        Assert.Equal(10, result.WorstMismatches.Count);
        Assert.Equal(85, result.Statistics!.MismatchCount);   // the 15 multiples of 7 are exact
        Assert.All(result.WorstMismatches, m => Assert.Equal(6, m.AbsError));
        Assert.Equal([0L, 6L], result.WorstMismatches[0].Index);
        Assert.Equal([1L, 3L], result.WorstMismatches[1].Index);
        Assert.Equal([6L, 9L], result.WorstMismatches[9].Index);   // 6 + 7·9 = 69
    }

    // ---- NaN / Inf --------------------------------------------------------------------------------------------------

    [Fact]
    public void NaN_in_the_candidate_fails_with_a_reason_naming_NaN_and_finite_statistics()
    {
        var expected = Ramp(8);
        var actual = (float[])expected.Clone();
        actual[2] = float.NaN;
        actual[5] = float.NaN;
        actual[6] = float.NaN;

        var result = Compare(F32(expected), F32(actual));

        Assert.False(result.Passed);
        Assert.Equal("3 NaN in the candidate where the reference has numbers", result.FailureReason);
        Assert.Equal(3, result.Statistics!.MismatchCount);
        AssertAllFinite(result.Statistics);
        Assert.Equal(0, result.Statistics.MaxAbsError);   // the other five agree exactly
        Assert.Equal([2L], result.WorstMismatches[0].Index);
        Assert.True(double.IsNaN(result.WorstMismatches[0].Actual));
    }

    [Fact]
    public void NaN_in_the_reference_only_fails()
    {
        var result = Compare(F32([1f, float.NaN]), F32([1f, 2f]));

        Assert.False(result.Passed);
        Assert.Equal("1 NaN in the reference where the candidate has numbers", result.FailureReason);
    }

    [Fact]
    public void NaN_in_the_same_position_passes()
    {
        var result = Compare(F32([1f, float.NaN, 3f]), F32([1f, float.NaN, 3f]));

        Assert.True(result.Passed);
        AssertAllFinite(result.Statistics!);
    }

    [Theory]
    [InlineData(float.PositiveInfinity, float.PositiveInfinity, null)]
    [InlineData(float.NegativeInfinity, float.NegativeInfinity, null)]
    [InlineData(1f, float.PositiveInfinity, "1 Inf in the candidate where the reference is finite")]
    [InlineData(float.NegativeInfinity, -3e38f, "1 Inf in the reference where the candidate is finite")]
    [InlineData(float.PositiveInfinity, float.NegativeInfinity, "1 Inf of the opposite sign to the reference's")]
    [InlineData(float.PositiveInfinity, float.NaN, "1 NaN in the candidate where the reference has numbers")]
    public void Infinities_match_only_the_same_infinity(float expected, float actual, string? reason)
    {
        var result = Compare(F32([0.5f, expected]), F32([0.5f, actual]));

        Assert.Equal(reason is null, result.Passed);
        Assert.Equal(reason, result.FailureReason);
        AssertAllFinite(result.Statistics!);
    }

    // ---- shape / dtype / malformed ----------------------------------------------------------------------------------

    [Fact]
    public void Shape_off_by_one_fails_naming_both_shapes()
    {
        var result = Compare(F32(Ramp(10), 1, 10), F32(Ramp(9), 1, 9));

        Assert.False(result.Passed);
        Assert.Equal("shape [1,9], expected [1,10]", result.FailureReason);
        Assert.Null(result.Statistics);
        Assert.Null(result.Histogram);
        Assert.Empty(result.WorstMismatches);
        Assert.Equal([1L, 9L], result.ActualShape);
        Assert.Equal([1L, 10L], result.ExpectedShape);
    }

    [Fact]
    public void Wrong_dtype_fails_naming_both_types()
    {
        var result = Compare(F32([1f, 2f]), F16(1f, 2f));

        Assert.False(result.Passed);
        Assert.Equal("dtype float16, expected float32", result.FailureReason);
        Assert.Null(result.Statistics);
        Assert.Null(result.Histogram);
        Assert.Equal(DataType.Float16, result.ActualType);
    }

    [Fact]
    public void Wrong_dtype_and_shape_are_both_named()
    {
        var result = Compare(F32([1f, 2f]), F16(1f, 2f, 3f));

        Assert.Equal("dtype float16, expected float32; shape [3], expected [2]", result.FailureReason);
    }

    [Fact]
    public void Malformed_tensors_give_a_verdict_not_an_exception()
    {
        var shortBuffer = new HostTensor(DataType.Float32, [4], new byte[12]);
        var result = Compare(F32([1f, 2f, 3f, 4f]), shortBuffer);
        Assert.False(result.Passed);
        Assert.Equal("the candidate holds 12 bytes, float32[4] needs 16", result.FailureReason);

        var negative = new HostTensor(DataType.Float32, [-1], []);
        Assert.Contains("negative dimension", Compare(negative, negative).FailureReason);

        var strings = new HostTensor(DataType.String, [1], [0]);
        Assert.Equal("dtype string has no numeric comparison", Compare(strings, strings).FailureReason);
    }

    // ---- integers and bool ------------------------------------------------------------------------------------------

    [Fact]
    public void Int64_outputs_are_exact_one_off_by_one_fails()
    {
        var expected = HostTensor.FromInt64s([1, 2, 3, 4, 5, 6], 2, 3);
        var actual = HostTensor.FromInt64s([1, 2, 3, 4, 5, 7], 2, 3);

        var result = Compare(expected, actual, Defaults.WithGlobal(10, 10));   // a global tolerance does not loosen integers

        Assert.False(result.Passed);
        Assert.Equal(ToleranceSettings.Exact, result.Tolerance);
        Assert.Equal(1, result.Statistics!.MismatchCount);
        Assert.Equal(1, result.Statistics.MaxAbsError);
        Assert.Equal(1.0 / 6, result.Statistics.MaxRelError, 12);
        Assert.Equal([1L, 2L], Assert.Single(result.WorstMismatches).Index);
        Assert.Equal("1 of 6 elements differ (exact comparison of int64); the worst of them is off by 1 at [1,2]", result.FailureReason);
        Assert.True(Compare(expected, expected).Passed);
    }

    [Fact]
    public void Int64_beyond_2_pow_53_still_differs_by_exactly_one()
    {
        var result = Compare(HostTensor.FromInt64s([9007199254740993]), HostTensor.FromInt64s([9007199254740992]));

        Assert.False(result.Passed);
        Assert.Equal(1, result.Statistics!.MaxAbsError);
    }

    [Fact]
    public void Bool_outputs_are_exact()
    {
        Assert.True(Compare(Bools(1, 0, 1), Bools(1, 0, 1)).Passed);
        Assert.True(Compare(Bools(1, 0, 1), Bools(2, 0, 255)).Passed);   // any non-zero byte is true

        var result = Compare(Bools(1, 0, 1), Bools(1, 1, 1));
        Assert.False(result.Passed);
        Assert.Equal(1, result.Statistics!.MismatchCount);
        Assert.Equal([1L], Assert.Single(result.WorstMismatches).Index);
        Assert.Contains("exact comparison of bool", result.FailureReason);
    }

    // ---- empty, zeros, denormals ------------------------------------------------------------------------------------

    [Fact]
    public void Empty_tensors_pass_with_zero_statistics()
    {
        var empty = F32([], 0, 10);
        var result = Compare(empty, F32([], 0, 10), Defaults with { TopK = 5 });

        Assert.True(result.Passed);
        var s = result.Statistics!;
        Assert.Equal(0, s.ElementCount);
        Assert.Equal(0, s.MismatchCount);
        Assert.Equal(new ErrorStatistics(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), s);
        Assert.Empty(result.Histogram!.Counts);
        Assert.Equal(0, result.Histogram.ExactCount);
        Assert.Equal(new TopKAgreement(5, 0, 0), result.TopK);

        Assert.True(Compare(HostTensor.FromInt64s([], 0), HostTensor.FromInt64s([], 0)).Passed);
    }

    [Fact]
    public void Zeros_and_denormals_in_the_reference_pass_with_finite_statistics()
    {
        float[] expected = [0f, 1e-40f, -1e-40f, 0f, 1e-40f, 2f];
        float[] actual = [0f, 0f, -2e-40f, 1e-41f, 1.1e-40f, 2f];

        var result = Compare(F32(expected), F32(actual));

        Assert.True(result.Passed);
        AssertAllFinite(result.Statistics!);
        Assert.True(result.Statistics!.MaxRelError < 1e-30, $"{result.Statistics.MaxRelError}");   // relative to atol
        Assert.True(result.Statistics.CosineSimilarity > 0.99);
    }

    [Fact]
    public void Zero_atol_relative_errors_at_denormal_references_stay_finite()
    {
        var settings = Defaults with { Float32 = new Tolerance(0, 1e-3) };

        var result = Compare(F32([0f, 1e-40f, 0f]), F32([0f, 2e-40f, 1e-30f]), settings);

        Assert.False(result.Passed);   // with atol = 0 a tiny absolute difference at zero is a real difference
        AssertAllFinite(result.Statistics!);
        Assert.Equal(1e-30 / 1.1754943508222875e-38, result.Statistics!.MaxRelError, 1e-3 * 1e-30 / 1.1754943508222875e-38);
    }

    [Fact]
    public void Relative_error_near_zero_is_measured_against_atol()
    {
        // |e| < atol: rel = |a − e| / atol, so a passing element at zero has rel ≤ 1 (not 1e30).
        var result = Compare(F32([0f]), F32([5e-5f]));

        Assert.True(result.Passed);
        Assert.Equal(0.5, result.Statistics!.MaxRelError, 6);
    }

    [Fact]
    public void Float64_extremes_do_not_overflow_the_cosine()
    {
        var result = Compare(F64([1e300, -1e300, 1e-310]), F64([1e300, -1e300, 1e-310]));

        Assert.True(result.Passed);
        Assert.Equal(1, result.Statistics!.CosineSimilarity, 12);

        var overflow = Compare(F64([1.5e308]), F64([-1.5e308]));   // |a − e| overflows to +Inf
        Assert.False(overflow.Passed);
        Assert.Equal(-1, overflow.Statistics!.CosineSimilarity, 12);
    }

    [Fact]
    public void Cosine_of_one_zero_vector_is_zero_and_of_two_is_one()
    {
        Assert.Equal(1, Compare(F32([0f, 0f]), F32([0f, 0f])).Statistics!.CosineSimilarity);
        Assert.Equal(0, Compare(F32([0f, 0f]), F32([1f, 0f])).Statistics!.CosineSimilarity);
        Assert.Equal(-1, Compare(F32([1f, 2f]), F32([-1f, -2f])).Statistics!.CosineSimilarity, 12);
    }

    // ---- half precision ---------------------------------------------------------------------------------------------

    [Fact]
    public void Float16_default_tolerance_accepts_a_few_ulps_that_float32_would_reject()
    {
        Assert.True(Compare(F16(1f, -2f), F16(1.005f, -2f)).Passed);    // 1.0048828125 in fp16
        Assert.False(Compare(F32([1f, -2f]), F32([1.0048828125f, -2f])).Passed);
        Assert.False(Compare(F16(1f, -2f), F16(1.05f, -2f)).Passed);
        Assert.Equal(new Tolerance(1e-2, 1e-2), Compare(F16(1f), F16(1f)).Tolerance);
    }

    [Fact]
    public void BFloat16_default_tolerance()
    {
        Assert.True(Compare(BF16(1f, 4f), BF16(1.03125f, 4f)).Passed);
        Assert.False(Compare(BF16(1f, 4f), BF16(1.125f, 4f)).Passed);
    }

    // ---- overrides --------------------------------------------------------------------------------------------------

    [Fact]
    public void Per_output_override_wins_in_the_comparison()
    {
        var settings = Defaults with { PerOutput = new Dictionary<string, Tolerance> { ["logits"] = new(0.6, 0) } };
        var expected = F32([1f, 2f]);
        var actual = F32([1.5f, 2f]);

        Assert.True(OutputComparer.Compare("logits", expected, actual, settings).Passed);
        Assert.False(OutputComparer.Compare("features", expected, actual, settings).Passed);
    }

    [Fact]
    public void Global_override_loosens_and_tightens()
    {
        var expected = F32([1f, 2f]);
        var actual = F32([1.00005f, 2f]);

        Assert.True(Compare(expected, actual).Passed);
        Assert.False(Compare(expected, actual, Defaults.WithGlobal(1e-6, 1e-6)).Passed);
        Assert.True(Compare(F32([1f]), F32([1.5f]), Defaults.WithGlobal(0.6, null)).Passed);
        Assert.True(Compare(F16(1f), F16(1.5f), Defaults.WithGlobal(0.6, null)).Passed);   // all float types
    }

    // ---- top-k ------------------------------------------------------------------------------------------------------

    private static readonly float[] LogitsExpected =
    [
        0.1f, 0.5f, 0.30005f, 0.3f, -1f, 0f,
        2f, 1f, 0f, -1f, -2f, -3f,
    ];

    private static readonly float[] LogitsActual =
    [
        0.1f, 0.5f, 0.3f, 0.30005f, -1f, 0f,   // 2nd and 3rd place swap by 5e-5, within atol
        2f, 1f, 0f, -1f, -2f, -3f,
    ];

    [Fact]
    public void Top_k_disagreement_fails_an_output_that_passes_elementwise()
    {
        var result = Compare(F32(LogitsExpected, 2, 6), F32(LogitsActual, 2, 6), Defaults with { TopK = 2 });

        Assert.False(result.Passed);
        Assert.Equal(new TopKAgreement(2, 2, 1), result.TopK);
        Assert.Equal(0.5, result.TopK!.Rate);
        Assert.Equal("top-2 differs in 1 of 2 rows", result.FailureReason);
        Assert.Equal(0, result.Statistics!.MismatchCount);
        Assert.Empty(result.WorstMismatches);
    }

    [Fact]
    public void Top_k_sets_ignore_order_inside_the_set()
    {
        var result = Compare(F32(LogitsExpected, 2, 6), F32(LogitsActual, 2, 6), Defaults with { TopK = 3 });

        Assert.True(result.Passed);
        Assert.Equal(new TopKAgreement(3, 2, 2), result.TopK);
    }

    [Fact]
    public void Top_k_is_only_computed_when_asked_and_for_rank_2_floats()
    {
        Assert.Null(Compare(F32(LogitsExpected, 2, 6), F32(LogitsActual, 2, 6)).TopK);
        Assert.Null(Compare(F32(LogitsExpected, 2, 3, 2), F32(LogitsActual, 2, 3, 2), Defaults with { TopK = 2 }).TopK);
        var ints = HostTensor.FromInt64s([1, 2, 3, 4], 2, 2);
        Assert.Null(Compare(ints, ints, Defaults with { TopK = 1 }).TopK);
    }

    [Fact]
    public void Top_k_ties_go_to_the_lower_index_and_k_is_capped_at_the_columns()
    {
        var tie = F32([1f, 1f, 0f], 1, 3);
        Assert.Equal(new TopKAgreement(1, 1, 1), Compare(tie, tie, Defaults with { TopK = 1 }).TopK);

        var broken = Compare(tie, F32([1f, 1.000001f, 0f], 1, 3), Defaults with { TopK = 1 });
        Assert.Equal(new TopKAgreement(1, 1, 0), broken.TopK);   // {0} vs {1}
        Assert.False(broken.Passed);

        Assert.Equal(new TopKAgreement(3, 1, 1), Compare(tie, tie, Defaults with { TopK = 10 }).TopK);
    }

    [Fact]
    public void Top_k_on_wide_rows_uses_the_same_ranking()
    {
        // 1000 classes, k = 5: the bounded-insertion path. Row 0 agrees; in row 1 the 5th and 6th swap.
        var expected = new float[2000];
        for (var i = 0; i < 2000; i++)
            expected[i] = (i * 7919 % 1000) / 1000f;   // a permutation of 0..0.999 per row
        var actual = (float[])expected.Clone();
        var row1 = actual.AsSpan(1000, 1000);
        int fifth = row1.IndexOf(0.995f), sixth = row1.IndexOf(0.994f);
        (row1[fifth], row1[sixth]) = (0.99405f, 0.99495f);

        var result = Compare(F32(expected, 2, 1000), F32(actual, 2, 1000), Defaults with { TopK = 5 });

        Assert.Equal(new TopKAgreement(5, 2, 1), result.TopK);
        Assert.Equal(new TopKAgreement(6, 2, 2), Compare(F32(expected, 2, 1000), F32(actual, 2, 1000), Defaults with { TopK = 6 }).TopK);
    }

    [Fact]
    public void Top_k_and_elementwise_failures_are_both_named()
    {
        var actual = (float[])LogitsActual.Clone();
        actual[11] = 5f;   // row 1: -3 → 5, now the top-1

        var result = Compare(F32(LogitsExpected, 2, 6), F32(actual, 2, 6), Defaults with { TopK = 1 });

        Assert.Equal("1 of 12 elements differ beyond atol=1.00e-04 rtol=1.00e-03; the worst of them is off by 8.0e+00 at [1,5]; top-1 differs in 1 of 2 rows",
            result.FailureReason);
    }

    // ---- statistics and histogram -----------------------------------------------------------------------------------

    [Fact]
    public void Statistics_on_a_hand_computed_example()
    {
        // errors 0, 0.5, 1, 0.25; relative 0, 0.25, 0.25, 0.03125 (all |e| ≥ atol)
        var result = Compare(F32([1f, 2f, 4f, 8f]), F32([1f, 2.5f, 3f, 8.25f]));

        var s = result.Statistics!;
        Assert.Equal(4, s.ElementCount);
        Assert.Equal(3, s.MismatchCount);
        Assert.Equal(1, s.MaxAbsError);
        Assert.Equal(0.4375, s.MeanAbsError, 12);
        Assert.Equal(0.375, s.MedianAbsError, 12);     // sorted 0, .25, .5, 1: position 1.5
        Assert.Equal(0.985, s.P99AbsError, 12);        // position 2.97: .5 + .97·.5
        Assert.Equal(0.25, s.MaxRelError, 12);
        Assert.Equal(0.1328125, s.MeanRelError, 12);
        Assert.Equal(0.140625, s.MedianRelError, 12);  // sorted 0, .03125, .25, .25
        Assert.Equal(0.25, s.P99RelError, 12);
        Assert.Equal(84 / Math.Sqrt(85 * 84.3125), s.CosineSimilarity, 12);

        Assert.Equal(new long[][] { [2], [1], [3] }, result.WorstMismatches.Select(m => m.Index));
        Assert.Equal([1.0, 0.5, 0.25], result.WorstMismatches.Select(m => m.AbsError));

        var h = result.Histogram!;
        Assert.Equal([0.1, 1, 10], h.Edges);       // 1.0 falls in [1, 10), not [0.1, 1)
        Assert.Equal([2L, 1L], h.Counts);
        Assert.Equal(1, h.ExactCount);
    }

    [Fact]
    public void Histogram_clamps_errors_below_1e_12_into_the_first_bin()
    {
        var result = Compare(F64([1, 1, 1, 1]), F64([1, 1 + 1e-15, 1.002, 1]));

        var h = result.Histogram!;
        Assert.Equal(1e-12, h.Edges[0]);
        Assert.Equal(1e-2, h.Edges[^1]);
        Assert.Equal(10, h.Counts.Length);
        Assert.Equal(1, h.Counts[0]);
        Assert.Equal(1, h.Counts[^1]);
        Assert.Equal(2, h.ExactCount);
    }

    [Theory]
    [InlineData(-11)]
    [InlineData(-7)]
    [InlineData(-3)]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(5)]
    public void Histogram_puts_a_power_of_ten_in_its_decade_and_the_double_below_it_in_the_previous(int k)
    {
        var power = double.Parse($"1e{k}", System.Globalization.CultureInfo.InvariantCulture);

        var h = Compare(F64([0, 0]), F64([power, Math.BitDecrement(power)])).Histogram!;

        Assert.Equal([power / 10, power, power * 10], h.Edges, (x, y) => Math.Abs(x - y) <= 1e-15 * Math.Abs(y));
        Assert.Equal([1L, 1L], h.Counts);
    }

    [Fact]
    public void Histogram_is_deterministic_with_exact_power_of_ten_edges()
    {
        var random = new Random(7);
        var expected = Enumerable.Range(0, 5000).Select(_ => (float)random.NextDouble()).ToArray();
        var actual = expected.Select(v => v + (float)(Math.Pow(10, -random.Next(1, 9)) * random.NextDouble())).ToArray();

        var first = Compare(F32(expected), F32(actual)).Histogram!;
        var second = Compare(F32(expected), F32(actual)).Histogram!;

        Assert.Equal(first.Edges, second.Edges);
        Assert.Equal(first.Counts, second.Counts);
        Assert.Equal(first.ExactCount, second.ExactCount);
        Assert.Equal(first.Counts.Length + 1, first.Edges.Length);
        Assert.Equal(5000, first.Counts.Sum() + first.ExactCount);
        for (var i = 0; i < first.Edges.Length; i++)
        {
            var decade = (int)Math.Round(Math.Log10(first.Edges[i]));
            Assert.Equal(double.Parse($"1e{decade}", System.Globalization.CultureInfo.InvariantCulture), first.Edges[i]);
        }
    }

    [Theory]
    [InlineData(0.5, 2.0)]
    [InlineData(0.0, 0.0)]
    [InlineData(1.0, 4.0)]
    [InlineData(0.99, 3.96)]
    public void Quantile_interpolates_linearly(double q, double value) =>
        Assert.Equal(value, OutputComparer.Quantile([0, 1, 2, 3, 4, 99], 5, q), 12);

    // ---- model-sized outputs (speed is measured by bench/validate-bench.sh, not here) ------------------------------

    [Fact]
    public void Model_sized_outputs_with_a_relative_drift_pass_with_top5()
    {
        var random = new Random(1);
        var expected = new float[8 * 2048 * 7 * 7];
        for (var i = 0; i < expected.Length; i++)
            expected[i] = (float)(random.NextDouble() * 4 - 2);
        var actual = expected.Select(v => v * (1 + 1e-5f)).ToArray();
        var logitsE = expected.AsSpan(0, 8000).ToArray();
        var logitsA = actual.AsSpan(0, 8000).ToArray();

        var features = Compare(F32(expected, 8, 2048, 7, 7), F32(actual, 8, 2048, 7, 7));
        var logits = Compare(F32(logitsE, 8, 1000), F32(logitsA, 8, 1000), Defaults with { TopK = 5 });
        Assert.True(features.Passed, features.FailureReason);
        Assert.True(logits.Passed, logits.FailureReason);
        Assert.Equal(new TopKAgreement(5, 8, 8), logits.TopK);
    }
}
