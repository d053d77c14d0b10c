using System.Globalization;
using ModelForge.Model;
using ModelForge.Model.Tensors;

namespace ModelForge.Validate.Compare;

/// <summary>
/// Compares one output of a candidate (ONNX) with the native reference and produces a verdict with statistics.
/// </summary>
/// <remarks>
/// <para><b>Element test.</b> Floats: an element passes when |a − e| ≤ atol + rtol·|e| (numpy/torch <c>allclose</c>,
/// asymmetric: e is the reference). NaN passes only against NaN in the same position; ±Inf passes only against the
/// same infinity; anything else involving NaN/Inf fails. Integer and bool outputs must be equal (with a reduced-precision
/// gate, <see cref="ToleranceSettings.Precision"/>, up to 1 − its top-1 bar of their elements may differ; bool: any non-zero
/// byte is true).</para>
/// <para><b>Statistics</b> (<see cref="ErrorStatistics"/>): <c>ElementCount</c> is the number of elements of the
/// tensor and <c>MismatchCount</c> the number of failing elements (NaN/Inf ones included). The error figures and the
/// cosine similarity are over the elements where both values are finite; with none (e.g. an empty tensor) they are
/// all 0 and the cosine is 1. Median and p99 interpolate linearly between order statistics (numpy's default
/// <c>quantile</c>).</para>
/// <para><b>Relative error</b> = |a − e| / max(|e|, floor), where floor = atol when atol &gt; 0, else the smallest
/// normal value of the element type (2^-126 for float32/bfloat16, 2^-14 for float16, 2^-1022 for float64, 1 for
/// integers/bool). For |e| ≥ atol it is the usual relative error; below atol, where the atol term decides the element
/// test anyway, it is the error relative to atol. So zeros and denormals in the reference give finite values (a
/// passing element near zero has a relative error of at most 1 + rtol) instead of the 1e30-size numbers of the
/// |e| + ε definitions. This differs from torch.onnx's |a − e| / (|e| + 1e-7) and Polygraphy's ε = 2.2e-16.</para>
/// <para><b>Cosine similarity</b> over the finite pairs, computed on copies scaled by their max magnitude (no
/// overflow or underflow for float64 extremes); 1 when both are all-zero, 0 when exactly one is.</para>
/// <para><b>Histogram</b> of the non-zero finite absolute errors in decades [10^k, 10^(k+1)); exact matches go to
/// <c>ExactCount</c>. The edges are the powers of ten from the decade of the smallest error (but not below 1e-12)
/// to the one above the largest; the first bin also holds errors below 1e-12 and the last one errors ≥ 1e308.
/// No non-zero errors: no bins.</para>
/// <para><b>Top-k</b> (<see cref="ToleranceSettings.TopK"/>): for rank-2 float outputs, per row the set of the k
/// largest values' column indices (k capped at the column count; NaN ranks above every number as in
/// <c>torch.topk</c>; ties go to the lower index; <see cref="TopKAgreement.K"/> is that capped k). It is an additional
/// requirement: the output passes only when the elementwise test passes and every row agrees.</para>
/// <para><b>Worst mismatches</b>: up to 10 failing elements, largest absolute error first (NaN/Inf failures first of
/// all), ties by position; empty when no element fails.</para>
/// </remarks>
public static class OutputComparer
{
    public const int MaxWorstMismatches = 10;

    private const int MinDecade = -12;
    private const int MaxDecade = 308;

    /// <summary>10^k for k in [MinDecade, MaxDecade + 1], correctly rounded (10^309 is +Inf).</summary>
    private static readonly double[] DecadeEdges = Enumerable.Range(MinDecade, MaxDecade - MinDecade + 2)
        .Select(k => double.Parse("1e" + k.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture))
        .ToArray();

    /// <summary>
    /// expected = the native reference output, actual = the candidate's. Never throws for any data (NaN, Inf, empty
    /// tensors, mismatched shapes or types, malformed buffers): everything is a verdict.
    /// </summary>
    public static OutputComparison Compare(string output, HostTensor expected, HostTensor actual, ToleranceSettings settings)
    {
        var tolerance = settings.For(output, expected.ElementType);
        try
        {
            return CompareCore(output, expected, actual, settings, tolerance);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return Failed(output, expected, actual, tolerance, $"comparison failed: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private static OutputComparison CompareCore(
        string output, HostTensor expected, HostTensor actual, ToleranceSettings settings, Tolerance tolerance)
    {
        var problems = new List<string>();
        if (actual.ElementType != expected.ElementType)
            problems.Add($"dtype {actual.ElementType.Name()}, expected {expected.ElementType.Name()}");
        if (!actual.Shape.AsSpan().SequenceEqual(expected.Shape))
            problems.Add($"shape {actual.ShapeText}, expected {expected.ShapeText}");
        if (problems.Count > 0)
            return Failed(output, expected, actual, tolerance, string.Join("; ", problems));

        var type = expected.ElementType;
        if (!type.IsFloatingPoint() && !type.IsInteger() && type != DataType.Bool)
            return Failed(output, expected, actual, tolerance, $"dtype {type.Name()} has no numeric comparison");
        if ((LayoutProblem("reference", expected) ?? LayoutProblem("candidate", actual)) is { } layout)
            return Failed(output, expected, actual, tolerance, layout);

        return type.IsFloatingPoint()
            ? CompareElements(output, expected, actual, settings, tolerance, isFloat: true)
            : CompareElements(output, expected, actual, settings, tolerance, isFloat: false);
    }

    private static string? LayoutProblem(string who, HostTensor t)
    {
        if (t.Shape.Any(d => d < 0))
            return $"the {who} has a negative dimension in {t.ShapeText}";
        long count;
        try
        {
            count = t.Shape.Aggregate(1L, (a, d) => checked(a * d));
        }
        catch (OverflowException)
        {
            return $"the {who} shape {t.ShapeText} is too large";
        }
        if (count > Array.MaxLength)
            return $"the {who} has {count} elements, more than one comparison can hold";
        var bytes = count * t.ElementType.SizeInBytes();
        return t.Data.LongLength == bytes
            ? null
            : $"the {who} holds {t.Data.LongLength} bytes, {t.ElementType.Name()}{t.ShapeText} needs {bytes}";
    }

    private static OutputComparison CompareElements(
        string output, HostTensor expected, HostTensor actual, ToleranceSettings settings, Tolerance tolerance, bool isFloat)
    {
        var type = expected.ElementType;
        var ei = isFloat ? null : ExactValues(expected);
        var ai = isFloat ? null : ExactValues(actual);
        var e = ei is null ? expected.ToDoubles() : Array.ConvertAll(ei, v => (double)v);
        var a = ai is null ? actual.ToDoubles() : Array.ConvertAll(ai!, v => (double)v);
        var n = e.Length;
        var floor = tolerance.Atol > 0 ? tolerance.Atol : SmallestNormal(type);

        var absErr = new double[n];   // the first `finite` entries are used
        var relErr = new double[n];
        var finite = 0;
        double sumAbs = 0, sumRel = 0, maxMagE = 0, maxMagA = 0;
        long nanCandidate = 0, nanReference = 0, infCandidate = 0, infReference = 0, infSign = 0, valueMismatches = 0;
        var worstValue = -1.0;
        var worstValueAt = -1;
        var worst = new WorstList(MaxWorstMismatches);

        for (var i = 0; i < n; i++)
        {
            double ev = e[i], av = a[i];
            if (isFloat && !(double.IsFinite(ev) && double.IsFinite(av)))
            {
                bool en = double.IsNaN(ev), an = double.IsNaN(av);
                if (en && an)
                    continue;
                if (an) nanCandidate++;
                else if (en) nanReference++;
                else if (ev == av) continue;   // same infinity
                else if (double.IsInfinity(ev) && double.IsInfinity(av)) infSign++;
                else if (double.IsInfinity(av)) infCandidate++;
                else infReference++;
                worst.Offer(double.PositiveInfinity, i, ev, av, Math.Abs(av - ev), Math.Abs(av - ev) / Math.Max(Math.Abs(ev), floor));
                continue;
            }

            // Integers: the exact difference (int64 beyond 2^53 would round to 0 as doubles).
            var d = isFloat ? Math.Abs(av - ev) : (double)Int128.Abs((Int128)ai![i] - ei![i]);
            var r = d / Math.Max(Math.Abs(ev), floor);
            absErr[finite] = d;
            relErr[finite] = r;
            finite++;
            sumAbs += d;
            sumRel += r;
            maxMagE = Math.Max(maxMagE, Math.Abs(ev));
            maxMagA = Math.Max(maxMagA, Math.Abs(av));

            var fails = isFloat ? !tolerance.Accepts(ev, av) : ai![i] != ei![i];
            if (!fails)
                continue;
            valueMismatches++;
            if (d > worstValue)
            {
                worstValue = d;
                worstValueAt = i;
            }
            worst.Offer(d, i, ev, av, d, r);
        }

        var cosine = Cosine(e, a, maxMagE, maxMagA);
        Array.Sort(absErr, 0, finite);
        Array.Sort(relErr, 0, finite);
        var mismatchCount = nanCandidate + nanReference + infCandidate + infReference + infSign + valueMismatches;
        var statistics = new ErrorStatistics(
            n, mismatchCount,
            finite == 0 ? 0 : absErr[finite - 1], finite == 0 ? 0 : sumAbs / finite,
            Quantile(absErr, finite, 0.5), Quantile(absErr, finite, 0.99),
            finite == 0 ? 0 : relErr[finite - 1], finite == 0 ? 0 : sumRel / finite,
            Quantile(relErr, finite, 0.5), Quantile(relErr, finite, 0.99),
            cosine);
        var histogram = Histogram(absErr, finite);

        TopKAgreement? topK = null;
        if (isFloat && settings.TopK is > 0 and var k && expected.Shape.Length == 2)
            topK = TopKAgreementOf(e, a, expected.Shape[0], expected.Shape[1], k);

        var reasons = new List<string>();
        if (nanCandidate > 0) reasons.Add($"{nanCandidate} NaN in the candidate where the reference has numbers");
        if (nanReference > 0) reasons.Add($"{nanReference} NaN in the reference where the candidate has numbers");
        if (infCandidate > 0) reasons.Add($"{infCandidate} Inf in the candidate where the reference is finite");
        if (infReference > 0) reasons.Add($"{infReference} Inf in the reference where the candidate is finite");
        if (infSign > 0) reasons.Add($"{infSign} Inf of the opposite sign to the reference's");
        PrecisionVerdict? precision = null;
        if (isFloat && settings.Precision is { } gate)
        {
            // NaN/Inf failures were counted above; the metrics need finite values, and those already fail.
            if (mismatchCount == valueMismatches)
            {
                precision = new PrecisionVerdict(gate.Name, QuantizationMetrics.Of(expected, actual), gate.Thresholds);
                reasons.AddRange(precision.Failures.Select(f => $"{gate.Name}: {f}"));
            }
        }
        else if (!isFloat && settings.Precision is { Thresholds.MinTop1: { } bar } integerGate && n > 0 && valueMismatches > 0)
        {
            // An integer output of a reduced-precision model (an argmax, a class index) flips where float logits nearly
            // tie: like top-1 agreement, a share of its elements may differ.
            var differing = (double)valueMismatches / n;
            // Compared as agreement against the bar itself: 1 − 0.9 is not 0.1 in binary floating point.
            if ((double)(n - valueMismatches) / n < bar)
                reasons.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{integerGate.Name}: {differing:P1} of the elements differ, more than the {1 - bar:P1} the top-1 bar allows"));
        }
        else if (valueMismatches > 0)
        {
            var how = isFloat ? $"beyond {tolerance}" : $"(exact comparison of {type.Name()})";
            var at = IndexText(MultiIndex(worstValueAt, expected.Shape));
            reasons.Add($"{valueMismatches} of {n} elements differ {how}; the worst of them is off by {FormatError(worstValue, isFloat)} at {at}");
        }
        if (topK is not null && topK.AgreeingRows != topK.Rows)
            reasons.Add($"top-{topK.K} differs in {topK.Rows - topK.AgreeingRows} of {topK.Rows} rows");

        var passed = reasons.Count == 0;
        return new OutputComparison(
            output, passed, passed ? null : string.Join("; ", reasons),
            type, expected.Shape, actual.ElementType, actual.Shape, tolerance,
            statistics, histogram, worst.ToMismatches(expected.Shape), topK) { Precision = precision };
    }

    private static OutputComparison Failed(string output, HostTensor expected, HostTensor actual, Tolerance tolerance, string reason) =>
        new(output, false, reason, expected.ElementType, expected.Shape, actual.ElementType, actual.Shape, tolerance,
            null, null, [], null);

    private static long[] ExactValues(HostTensor t)
    {
        var values = t.ToInt64s();
        if (t.ElementType == DataType.Bool)
        {
            for (var i = 0; i < values.Length; i++)
                values[i] = values[i] != 0 ? 1 : 0;
        }
        return values;
    }

    private static double SmallestNormal(DataType type) => type switch
    {
        DataType.Float32 or DataType.BFloat16 => 1.1754943508222875e-38,   // 2^-126
        DataType.Float16 => 6.103515625e-05,                                 // 2^-14
        DataType.Float64 => 2.2250738585072014e-308,                         // 2^-1022
        _ => 1,
    };

    private static double Cosine(double[] e, double[] a, double maxMagE, double maxMagA)
    {
        // Scale both by their largest finite magnitude: sums of squares neither overflow (float64 near 1e308) nor
        // underflow (denormals).
        double se = maxMagE > 0 ? 1 / maxMagE : 1, sa = maxMagA > 0 ? 1 / maxMagA : 1;
        if (double.IsInfinity(se) || double.IsInfinity(sa))
        {
            // 1/denormal overflows: divide instead of multiplying by the reciprocal.
            return CosineDividing(e, a, maxMagE > 0 ? maxMagE : 1, maxMagA > 0 ? maxMagA : 1);
        }
        double dot = 0, ne = 0, na = 0;
        for (var i = 0; i < e.Length; i++)
        {
            if (!double.IsFinite(e[i]) || !double.IsFinite(a[i]))
                continue;
            double x = e[i] * se, y = a[i] * sa;
            dot += x * y;
            ne += x * x;
            na += y * y;
        }
        return CosineOf(dot, ne, na);
    }

    private static double CosineDividing(double[] e, double[] a, double me, double ma)
    {
        double dot = 0, ne = 0, na = 0;
        for (var i = 0; i < e.Length; i++)
        {
            if (!double.IsFinite(e[i]) || !double.IsFinite(a[i]))
                continue;
            double x = e[i] / me, y = a[i] / ma;
            dot += x * y;
            ne += x * x;
            na += y * y;
        }
        return CosineOf(dot, ne, na);
    }

    private static double CosineOf(double dot, double ne, double na)
    {
        if (ne == 0 && na == 0)
            return 1;
        if (ne == 0 || na == 0)
            return 0;
        return Math.Clamp(dot / (Math.Sqrt(ne) * Math.Sqrt(na)), -1, 1);
    }

    /// <summary>The q-quantile of sorted[0..count), interpolating linearly (numpy's default); 0 when empty.</summary>
    internal static double Quantile(double[] sorted, int count, double q)
    {
        if (count == 0)
            return 0;
        var position = q * (count - 1);
        var lo = (int)Math.Floor(position);
        var hi = Math.Min(lo + 1, count - 1);
        double low = sorted[lo], high = sorted[hi], fraction = position - lo;
        if (fraction == 0 || low == high)
            return low;
        return low + (high - low) * fraction;   // high may be +Inf (float64 overflow): then +Inf, honestly
    }

    private static ErrorHistogram Histogram(double[] sortedAbs, int count)
    {
        var exact = 0;
        while (exact < count && sortedAbs[exact] == 0)
            exact++;
        if (exact == count)
            return new ErrorHistogram([], [], exact);
        var low = Decade(sortedAbs[exact]);
        var high = Decade(sortedAbs[count - 1]) + 1;
        var counts = new long[high - low];
        for (var i = exact; i < count; i++)
            counts[Decade(sortedAbs[i]) - low]++;
        var edges = DecadeEdges.AsSpan(low - MinDecade, high - low + 1).ToArray();
        return new ErrorHistogram(edges, counts, exact);
    }

    /// <summary>k with 10^k ≤ d &lt; 10^(k+1), clamped to [MinDecade, MaxDecade]; d &gt; 0.</summary>
    private static int Decade(double d)
    {
        if (d < DecadeEdges[0])
            return MinDecade;
        if (d >= DecadeEdges[MaxDecade - MinDecade])
            return MaxDecade;
        var k = Math.Clamp((int)Math.Floor(Math.Log10(d)), MinDecade, MaxDecade);
        // Math.Log10 may be off by one next to a power of ten: settle against the exact edges.
        while (k > MinDecade && d < DecadeEdges[k - MinDecade])
            k--;
        while (k < MaxDecade && d >= DecadeEdges[k + 1 - MinDecade])
            k++;
        return k;
    }

    private static TopKAgreement TopKAgreementOf(double[] e, double[] a, long rows, long columns, int k)
    {
        var kk = (int)Math.Min(k, columns);
        long agreeing = 0;
        if (kk == 0)
            return new TopKAgreement(kk, rows, rows);
        var cols = (int)columns;
        var bufferE = new int[cols];
        var bufferA = new int[cols];
        for (long r = 0; r < rows; r++)
        {
            var offset = (int)(r * cols);
            var topE = TopIndices(e.AsSpan(offset, cols), kk, bufferE);
            var topA = TopIndices(a.AsSpan(offset, cols), kk, bufferA);
            if (topE.SequenceEqual(topA))
                agreeing++;
        }
        return new TopKAgreement(kk, rows, agreeing);
    }

    /// <summary>NaN above every number (torch.topk), then larger value, then lower index.</summary>
    private static bool Ranks(double x, int i, double y, int j)
    {
        var c = (double.IsNaN(x), double.IsNaN(y)) switch
        {
            (true, true) => 0,
            (true, false) => 1,
            (false, true) => -1,
            _ => x > y ? 1 : x < y ? -1 : 0,
        };
        return c > 0 || (c == 0 && i < j);
    }

    /// <summary>The column indices of the k top-ranked values, ascending (a set).</summary>
    private static ReadOnlySpan<int> TopIndices(ReadOnlySpan<double> row, int k, int[] buffer)
    {
        if ((long)k * 8 >= row.Length)
        {
            for (var i = 0; i < row.Length; i++)
                buffer[i] = i;
            var values = row.ToArray();
            Array.Sort(buffer, (i, j) => i == j ? 0 : Ranks(values[i], i, values[j], j) ? -1 : 1);
        }
        else
        {
            // Bounded insertion: buffer[0..filled) is ranked best first. Scanning by ascending index means an equal
            // value never displaces an earlier one.
            var filled = 0;
            for (var i = 0; i < row.Length; i++)
            {
                if (filled == k && !Ranks(row[i], i, row[buffer[k - 1]], buffer[k - 1]))
                    continue;
                var p = filled == k ? k - 1 : filled++;
                while (p > 0 && Ranks(row[i], i, row[buffer[p - 1]], buffer[p - 1]))
                {
                    buffer[p] = buffer[p - 1];
                    p--;
                }
                buffer[p] = i;
            }
        }
        Array.Sort(buffer, 0, k);
        return buffer.AsSpan(0, k);
    }

    internal static long[] MultiIndex(long flat, long[] shape)
    {
        var index = new long[shape.Length];
        for (var d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] == 0)
                continue;
            index[d] = flat % shape[d];
            flat /= shape[d];
        }
        return index;
    }

    private static string IndexText(long[] index) => "[" + string.Join(",", index) + "]";

    private static string FormatError(double d, bool isFloat) =>
        isFloat ? d.ToString("0.0#e+00", CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The worst failing elements seen so far: sorted by key descending, then position ascending.</summary>
    private sealed class WorstList(int capacity)
    {
        private readonly List<(double Key, int Flat, double Expected, double Actual, double Abs, double Rel)> _items = new(capacity + 1);

        public void Offer(double key, int flat, double expected, double actual, double abs, double rel)
        {
            if (_items.Count == capacity && !(key > _items[^1].Key))
                return;
            var p = _items.Count;
            while (p > 0 && key > _items[p - 1].Key)
                p--;
            _items.Insert(p, (key, flat, expected, actual, abs, rel));
            if (_items.Count > capacity)
                _items.RemoveAt(_items.Count - 1);
        }

        public IReadOnlyList<Mismatch> ToMismatches(long[] shape) =>
            _items.Select(m => new Mismatch(MultiIndex(m.Flat, shape), m.Expected, m.Actual, m.Abs, m.Rel)).ToArray();
    }
}
