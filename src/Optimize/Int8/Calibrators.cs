namespace ModelForge.Optimize.Int8;

/// <summary>How activation ranges are chosen from the values seen during calibration.</summary>
public enum CalibrationMethod
{
    /// <summary>The smallest and largest value seen.</summary>
    MinMax,
    /// <summary>Clips at a percentile of |x| (<see cref="PercentileCalibrator.DefaultPercentile"/>), per side.</summary>
    Percentile,
    /// <summary>Clips at the |x| threshold whose 128-level quantization loses the least information (KL divergence, TensorRT's method).</summary>
    Entropy,
}

/// <summary>The float range one activation tensor is quantized over.</summary>
public readonly record struct ActivationRange(float Min, float Max);

/// <summary>Collects one activation tensor's values batch by batch and chooses its range.</summary>
public abstract class Calibrator
{
    private float _min = float.PositiveInfinity;
    private float _max = float.NegativeInfinity;

    /// <summary>Whether any finite value was seen.</summary>
    public bool HasValues => _min <= _max;

    public static Calibrator Create(CalibrationMethod method) => method switch
    {
        CalibrationMethod.MinMax => new MinMaxCalibrator(),
        CalibrationMethod.Percentile => new PercentileCalibrator(),
        _ => new EntropyCalibrator(),
    };

    public void Observe(ReadOnlySpan<float> values)
    {
        var (min, max) = (_min, _max);
        foreach (var v in values)
        {
            if (!float.IsFinite(v)) continue;
            if (v < min) min = v;
            if (v > max) max = v;
        }
        (_min, _max) = (min, max);
        ObserveMore(values, MathF.Max(MathF.Abs(min), MathF.Abs(max)));
    }

    /// <summary>The chosen range: (0, 0) when nothing finite was seen.</summary>
    public ActivationRange Range() => HasValues ? Choose(_min, _max) : new ActivationRange(0, 0);

    /// <param name="maxAbs">The largest |x| seen so far, this batch included.</param>
    private protected virtual void ObserveMore(ReadOnlySpan<float> values, float maxAbs) { }

    private protected abstract ActivationRange Choose(float min, float max);
}

public sealed class MinMaxCalibrator : Calibrator
{
    private protected override ActivationRange Choose(float min, float max) => new(min, max);
}

/// <summary>
/// A histogram of |x| in <see cref="Bins"/> equal bins from 0 to <c>Bins × width</c>. The width starts at the first
/// non-zero batch's largest |x| / <see cref="Bins"/> and doubles (adjacent bins merged, so no count moves) whenever a
/// later batch goes beyond the top. A clipping threshold t found on it gives the range (max(min, −t), min(max, t)).
/// </summary>
public abstract class HistogramCalibrator : Calibrator
{
    public const int Bins = 2048;

    private protected readonly long[] Counts = new long[Bins];
    private protected double Width;

    private protected override void ObserveMore(ReadOnlySpan<float> values, float maxAbs)
    {
        if (Width == 0 && maxAbs > 0) Width = maxAbs / (double)Bins;
        while (Width > 0 && maxAbs > Width * Bins)
        {
            for (var i = 0; i < Bins / 2; i++) Counts[i] = Counts[2 * i] + Counts[2 * i + 1];
            Array.Clear(Counts, Bins / 2, Bins / 2);
            Width *= 2;
        }
        foreach (var v in values)
        {
            if (!float.IsFinite(v)) continue;
            var bin = Width == 0 ? 0 : (int)Math.Min(Bins - 1, Math.Abs(v) / Width);
            Counts[bin]++;
        }
    }

    private protected override ActivationRange Choose(float min, float max)
    {
        var threshold = (float)Threshold();
        return new ActivationRange(Math.Max(min, -threshold), Math.Min(max, threshold));
    }

    /// <summary>The |x| clipping threshold.</summary>
    private protected abstract double Threshold();
}

public sealed class PercentileCalibrator(double percentile = PercentileCalibrator.DefaultPercentile) : HistogramCalibrator
{
    /// <summary>ONNX Runtime's default for its percentile calibrator.</summary>
    public const double DefaultPercentile = 99.999;

    /// <summary>The upper edge of the first bin where the cumulative count reaches the percentile of all values.</summary>
    private protected override double Threshold()
    {
        var total = Counts.Sum();
        // Less a relative 1e-12, so a percentile like 99.9 (not exact in binary) is reached by the count it names.
        var target = percentile / 100.0 * total * (1 - 1e-12);
        long cumulative = 0;
        for (var i = 0; i < Bins; i++)
        {
            cumulative += Counts[i];
            if (cumulative >= target) return (i + 1) * Width;
        }
        return Bins * Width;
    }
}

/// <summary>
/// TensorRT's entropy calibration: for every candidate threshold of i bins (128 ≤ i ≤ 2048), P is the histogram's first
/// i bins with everything beyond added to the last one, Q is those i bins merged into 128 levels and spread back over
/// the bins that held values; the threshold is i × width for the i with the least KL(P‖Q) (both smoothed so no bin is empty).
/// </summary>
public sealed class EntropyCalibrator : HistogramCalibrator
{
    public const int Levels = 128;
    private const double SmoothingEpsilon = 1e-4;

    private protected override double Threshold()
    {
        var best = Bins;
        var bestDivergence = double.PositiveInfinity;
        var p = new double[Bins];
        var q = new double[Bins];
        var beyond = new long[Bins + 1];
        for (var i = Bins - 1; i >= 0; i--) beyond[i] = beyond[i + 1] + Counts[i];
        for (var i = Levels; i <= Bins; i++)
        {
            for (var j = 0; j < i; j++) p[j] = Counts[j];
            p[i - 1] += beyond[i];
            Quantize(i, q);
            var divergence = Divergence(p.AsSpan(0, i), q.AsSpan(0, i));
            if (divergence < bestDivergence)
            {
                bestDivergence = divergence;
                best = i;
            }
        }
        return best * Width;
    }

    /// <summary>The first <paramref name="bins"/> counts merged into <see cref="Levels"/> levels (the last takes the rest) and spread over their non-empty bins.</summary>
    private void Quantize(int bins, double[] q)
    {
        var perLevel = bins / Levels;
        for (var level = 0; level < Levels; level++)
        {
            var start = level * perLevel;
            var stop = level == Levels - 1 ? bins : start + perLevel;
            long sum = 0;
            var nonEmpty = 0;
            for (var j = start; j < stop; j++)
            {
                sum += Counts[j];
                if (Counts[j] != 0) nonEmpty++;
            }
            for (var j = start; j < stop; j++) q[j] = Counts[j] == 0 ? 0 : (double)sum / nonEmpty;
        }
    }

    private static double Divergence(Span<double> p, Span<double> q)
    {
        if (!Smooth(p) || !Smooth(q)) return double.PositiveInfinity;
        double divergence = 0;
        for (var j = 0; j < p.Length; j++)
            if (p[j] > 0) divergence += p[j] * Math.Log(p[j] / q[j]);
        return divergence;
    }

    /// <summary>Normalises to sum 1 and moves ε of mass into every empty bin; false when all bins are empty.</summary>
    private static bool Smooth(Span<double> distribution)
    {
        double total = 0;
        var empty = 0;
        foreach (var v in distribution)
        {
            total += v;
            if (v == 0) empty++;
        }
        var nonEmpty = distribution.Length - empty;
        if (nonEmpty == 0) return false;
        var taken = SmoothingEpsilon * empty / nonEmpty;
        for (var j = 0; j < distribution.Length; j++)
            distribution[j] = distribution[j] == 0 ? SmoothingEpsilon : distribution[j] / total - taken;
        return true;
    }
}
