using System.Globalization;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Model.Tensors;

namespace ModelForge.Validate.Compare;

/// <summary>
/// How close a reduced-precision output is to its fp32 reference, in the measures that suit quantization error
/// (docs/precision.md, "Accuracy metrics"). Each covers every element (and row) the accumulator was given.
/// </summary>
/// <param name="Cosine">Cosine similarity of the flattened outputs: 1 when they point the same way (both all zero: 1; one all zero: 0).</param>
/// <param name="SqnrDb">Signal-to-quantization-noise ratio, 10·log10(Σ ref² / Σ (ref − out)²) in dB; +∞ for identical outputs.</param>
/// <param name="Top1">For classifier outputs ([rows, classes], at least 2 classes): the share of rows whose top class is the reference's top class; else null.</param>
/// <param name="Top5">The share of rows whose top-5 classes contain the reference's top class (more than 5 classes only); else null.</param>
public sealed record QuantizationMetrics(double Cosine, double SqnrDb, double? Top1, double? Top5)
{
    public override string ToString()
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"cosine {Cosine:F6}, SQNR {SqnrDb:F2} dB");
        if (Top1 is { } top1) text += string.Create(CultureInfo.InvariantCulture, $", top-1 agreement {top1:P1}");
        if (Top5 is { } top5) text += string.Create(CultureInfo.InvariantCulture, $", top-5 agreement {top5:P1}");
        return text;
    }

    /// <summary>The metrics of one output pair (see <see cref="QuantizationMetricsAccumulator"/> for many).</summary>
    public static QuantizationMetrics Of(HostTensor reference, HostTensor candidate)
    {
        var accumulator = new QuantizationMetricsAccumulator();
        accumulator.Add(reference, candidate);
        return accumulator.Result();
    }
}

/// <summary>
/// Sums what <see cref="QuantizationMetrics"/> needs over many (reference, candidate) pairs of one output, e.g. one per
/// calibration or validation sample, so the metrics describe the whole set as one long vector.
/// </summary>
public sealed class QuantizationMetricsAccumulator
{
    private double _dot, _referenceSquares, _candidateSquares, _noiseSquares;
    private long _elements, _rows, _top1Agreements, _top5Agreements, _top5Rows;

    public void Add(HostTensor reference, HostTensor candidate)
    {
        if (!reference.Shape.SequenceEqual(candidate.Shape))
            throw new ArgumentException($"reference {reference} and candidate {candidate} differ in shape");
        var expected = reference.ToDoubles();
        var actual = candidate.ToDoubles();
        for (var i = 0; i < expected.Length; i++)
        {
            _dot += expected[i] * actual[i];
            _referenceSquares += expected[i] * expected[i];
            _candidateSquares += actual[i] * actual[i];
            var noise = expected[i] - actual[i];
            _noiseSquares += noise * noise;
        }
        _elements += expected.Length;
        if (reference.Shape.Length == 2 && reference.Shape[1] >= 2 && reference.ElementType.IsFloatingPoint())
            AddClassifierRows(expected, actual, (int)reference.Shape[1]);
    }

    private void AddClassifierRows(double[] expected, double[] actual, int classes)
    {
        for (var row = 0; row * classes < expected.Length; row++)
        {
            var referenceTop = TopIndices(expected.AsSpan(row * classes, classes), 1)[0];
            var candidateTop = TopIndices(actual.AsSpan(row * classes, classes), Math.Min(5, classes));
            _rows++;
            if (candidateTop[0] == referenceTop) _top1Agreements++;
            if (classes > 5)
            {
                _top5Rows++;
                if (candidateTop.Contains(referenceTop)) _top5Agreements++;
            }
        }
    }

    /// <summary>The indices of the <paramref name="k"/> largest values, largest first (the lower index wins a tie).</summary>
    private static int[] TopIndices(ReadOnlySpan<double> values, int k)
    {
        var copy = values.ToArray();
        return Enumerable.Range(0, copy.Length).OrderByDescending(i => copy[i]).ThenBy(i => i).Take(k).ToArray();
    }

    public QuantizationMetrics Result()
    {
        if (_elements == 0) throw new InvalidOperationException("no outputs were added");
        var norms = Math.Sqrt(_referenceSquares) * Math.Sqrt(_candidateSquares);
        var cosine = norms > 0 ? _dot / norms : _referenceSquares == _candidateSquares ? 1 : 0;
        var sqnr = _noiseSquares == 0 ? double.PositiveInfinity
            : _referenceSquares == 0 ? double.NegativeInfinity
            : 10 * Math.Log10(_referenceSquares / _noiseSquares);
        return new QuantizationMetrics(cosine, sqnr,
            _rows > 0 ? (double)_top1Agreements / _rows : null,
            _top5Rows > 0 ? (double)_top5Agreements / _top5Rows : null);
    }
}

/// <summary>
/// The least a reduced-precision output must reach (docs/precision.md, "Accuracy metrics" justifies the defaults).
/// A null threshold is not checked; top-k thresholds apply to classifier outputs only.
/// </summary>
public sealed record QuantizationThresholds(double MinCosine, double? MinSqnrDb, double? MinTop1, double? MinTop5)
{
    /// <summary>fp16: rounding to an 11-bit significand leaves outputs nearly identical (cosine 0.999 ≈ 27 dB).</summary>
    public static QuantizationThresholds Fp16 { get; } = new(0.999, 30, 0.99, 0.999);

    /// <summary>int8 (static and dynamic): ONNX Runtime's and the literature's usual bars for an int8 model kept in service.</summary>
    public static QuantizationThresholds Int8 { get; } = new(0.99, 20, 0.9, 0.98);

    /// <summary>Checks every threshold is in range (MF8026): cosine in [-1, 1], agreements in [0, 1], SQNR finite.</summary>
    public QuantizationThresholds Validated()
    {
        var problems = new List<Diagnostic>();
        void Check(string name, double? value, double min, double max)
        {
            if (value is { } v && !(v >= min && v <= max))
                problems.Add(new Diagnostic(DiagnosticCode.QuantizationThresholdInvalid,
                    string.Create(CultureInfo.InvariantCulture, $"quantization threshold {name} = {v} is {(max == double.MaxValue ? "not a finite number" : $"outside [{min}, {max}]")}"),
                    Hint: max == double.MaxValue ? $"give {name} as a finite number" : $"give {name} as a number in [{min}, {max}]"));
        }
        Check("min cosine", MinCosine, -1, 1);
        Check("min SQNR (dB)", MinSqnrDb, double.MinValue, double.MaxValue);
        Check("min top-1 agreement", MinTop1, 0, 1);
        Check("min top-5 agreement", MinTop5, 0, 1);
        if (problems.Count > 0) throw new ModelForgeException(problems);
        return this;
    }

    /// <summary>What <paramref name="metrics"/> misses, one sentence per threshold not reached; empty when it passes.</summary>
    public IReadOnlyList<string> Failures(QuantizationMetrics metrics)
    {
        var failures = new List<string>();
        void Check(string name, double? value, double? min, string unit = "")
        {
            if (value is { } v && min is { } m && !(v >= m))
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{name} {v:G6}{unit} is below {m:G6}{unit}"));
        }
        Check("cosine", metrics.Cosine, MinCosine);
        Check("SQNR", metrics.SqnrDb, MinSqnrDb, " dB");
        Check("top-1 agreement", metrics.Top1, MinTop1);
        Check("top-5 agreement", metrics.Top5, MinTop5);
        return failures;
    }
}
