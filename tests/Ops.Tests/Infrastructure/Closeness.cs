using System.Globalization;

namespace ModelForge.Ops.Tests.Infrastructure;

/// <summary>Elementwise comparison of arrays with numpy.allclose semantics (|a − e| ≤ atol + rtol·|e|).</summary>
public static class Closeness
{
    /// <summary>
    /// Fails unless <paramref name="actual"/> has <paramref name="expected"/>'s shape and dtype family and every element
    /// satisfies |a − e| ≤ atol + rtol·|e|. NaN matches only NaN at the same position; ±Inf only the same ±Inf.
    /// Integer and bool arrays must match exactly.
    /// </summary>
    public static void AssertClose(NdArray expected, NdArray actual, double atol, double rtol, string label)
    {
        string? failure = Compare(expected, actual, atol, rtol, label);
        if (failure is not null) Assert.Fail(failure);
    }

    /// <summary>Like <see cref="AssertClose"/> but returns the failure message (null when close).</summary>
    public static string? Compare(NdArray expected, NdArray actual, double atol, double rtol, string label)
    {
        if (expected.DTypeFamily != actual.DTypeFamily)
            return $"{label}: dtype mismatch: expected {expected.DType}, actual {actual.DType}";
        if (!expected.Shape.SequenceEqual(actual.Shape))
            return $"{label}: shape mismatch: expected {expected.ShapeString}, actual {actual.ShapeString} " +
                   $"(dtypes {expected.DType} / {actual.DType})";

        return expected.DTypeFamily == "float"
            ? CompareFloat(expected, actual, atol, rtol, label)
            : CompareExact(expected, actual, label);
    }

    private static string? CompareFloat(NdArray expected, NdArray actual, double atol, double rtol, string label)
    {
        double[] e = expected.ToDouble();
        double[] a = actual.ToDouble();
        long mismatches = 0;
        long worst = -1;
        double worstScore = double.NegativeInfinity; // how far beyond tolerance (∞ for NaN/Inf mismatches)
        double maxAbs = 0;
        for (long i = 0; i < e.LongLength; i++)
        {
            double ev = e[i], av = a[i];
            bool ok;
            double score;
            if (double.IsNaN(ev) || double.IsNaN(av))
            {
                ok = double.IsNaN(ev) && double.IsNaN(av);
                score = double.PositiveInfinity;
            }
            else if (double.IsInfinity(ev) || double.IsInfinity(av))
            {
                ok = ev == av;
                score = double.PositiveInfinity;
            }
            else
            {
                double err = Math.Abs(av - ev);
                maxAbs = Math.Max(maxAbs, err);
                double tol = atol + rtol * Math.Abs(ev);
                ok = err <= tol;
                score = err - tol;
            }
            if (!ok)
            {
                mismatches++;
                if (worst < 0 || score > worstScore)
                {
                    worst = i;
                    worstScore = score;
                }
            }
        }
        if (mismatches == 0) return null;
        return $"{label}: {mismatches} of {e.LongLength} elements differ beyond atol={F(atol)} rtol={F(rtol)} " +
               $"(shape {expected.ShapeString}, {expected.DType} vs {actual.DType}); worst at {expected.IndexString(worst)}: " +
               $"expected {F(e[worst])}, actual {F(a[worst])}; max abs error {F(maxAbs)}";
    }

    private static string? CompareExact(NdArray expected, NdArray actual, string label)
    {
        long[] e = expected.ToInt64();
        long[] a = actual.ToInt64();
        long mismatches = 0;
        long worst = -1;
        double maxAbs = 0;
        for (long i = 0; i < e.LongLength; i++)
        {
            if (e[i] == a[i]) continue;
            mismatches++;
            double err = Math.Abs((double)a[i] - e[i]);
            if (worst < 0 || err > maxAbs)
            {
                worst = i;
                maxAbs = err;
            }
        }
        if (mismatches == 0) return null;
        return $"{label}: {mismatches} of {e.LongLength} elements differ (exact match required for {expected.DType}, " +
               $"shape {expected.ShapeString}); worst at {expected.IndexString(worst)}: expected {e[worst]}, actual {a[worst]}; " +
               $"max abs error {F(maxAbs)}";
    }

    private static string F(double v) => v.ToString("G9", CultureInfo.InvariantCulture);
}
