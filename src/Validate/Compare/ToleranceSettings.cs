using ModelForge.Model;

namespace ModelForge.Validate.Compare;

/// <summary>
/// The tolerances of one validation run: a default per floating-point element type, overrides per output name,
/// and an optional top-k requirement for classifier outputs. Integer and bool outputs are always compared exactly.
/// </summary>
public sealed record ToleranceSettings
{
    /// <summary>Exact equality (integer and bool outputs, and element types with no numeric view).</summary>
    public static Tolerance Exact { get; } = new(0, 0);

    /// <summary>
    /// float32/float64: atol 1e-4, rtol 1e-3 (room for TF32 and reordered reductions on the GPU side);
    /// float16: atol 1e-2, rtol 1e-2; bfloat16: atol 5e-2, rtol 5e-2; integers and bool exact.
    /// </summary>
    public static ToleranceSettings Default { get; } = new();

    public Tolerance Float32 { get; init; } = new(1e-4, 1e-3);

    public Tolerance Float64 { get; init; } = new(1e-4, 1e-3);

    /// <summary>
    /// float16 has an 11-bit significand, about 3 significant decimal digits (unit roundoff 2^-11 ≈ 4.9e-4):
    /// 1e-2 leaves room for ~20 ulps of accumulated rounding.
    /// </summary>
    public Tolerance Float16 { get; init; } = new(1e-2, 1e-2);

    /// <summary>
    /// bfloat16 has an 8-bit significand, about 2 significant decimal digits (unit roundoff 2^-8 ≈ 3.9e-3):
    /// 5e-2 leaves room for ~13 ulps of accumulated rounding.
    /// </summary>
    public Tolerance BFloat16 { get; init; } = new(5e-2, 5e-2);

    /// <summary>
    /// Tolerances by output name (ordinal). They win over the element-type defaults and over <see cref="WithGlobal"/>,
    /// but apply to floating-point outputs only: integer and bool outputs stay exact.
    /// </summary>
    public IReadOnlyDictionary<string, Tolerance> PerOutput { get; init; } = new Dictionary<string, Tolerance>(StringComparer.Ordinal);

    /// <summary>
    /// When set (and positive), every float output of rank 2, read as [rows, classes], must also have the same top-k
    /// index set in every row (an additional requirement on top of the elementwise check, not a replacement for it).
    /// Outputs of another rank or an integer/bool type are not top-k checked. Values ≤ 0 mean "not set".
    /// </summary>
    public int? TopK { get; init; }

    /// <summary>
    /// When set, the candidate was written in a reduced precision (fp16, int8) and each float output is judged by the
    /// quantization metrics against these bars (cosine, SQNR, top-k agreement; docs/precision.md) instead of the
    /// elementwise tolerance, whose statistics are still reported. NaN and Inf where the reference has numbers fail either way.
    /// </summary>
    public PrecisionGate? Precision { get; init; }

    /// <summary>The tolerance for an output: exact for integer/bool; else the per-output override; else the type default.</summary>
    public Tolerance For(string output, DataType type)
    {
        if (!type.IsFloatingPoint())
            return Exact;
        if (PerOutput.TryGetValue(output, out var overridden))
            return overridden;
        return type switch
        {
            DataType.Float32 => Float32,
            DataType.Float64 => Float64,
            DataType.Float16 => Float16,
            DataType.BFloat16 => BFloat16,
            _ => Exact,
        };
    }

    /// <summary>
    /// A global <c>--atol</c>/<c>--rtol</c> from the command line: replaces the default of <b>every</b> floating-point
    /// type (float32, float64, float16 and bfloat16), so the value the user typed is the value the report shows for
    /// every float output. A null leaves that half of each default as it is. Per-output overrides still win;
    /// integer and bool outputs stay exact.
    /// </summary>
    public ToleranceSettings WithGlobal(double? atol, double? rtol)
    {
        Tolerance Replace(Tolerance t) => new(atol ?? t.Atol, rtol ?? t.Rtol);
        return this with
        {
            Float32 = Replace(Float32),
            Float64 = Replace(Float64),
            Float16 = Replace(Float16),
            BFloat16 = Replace(BFloat16),
        };
    }
}

/// <summary>The bars a candidate in precision <paramref name="Name"/> must reach (see <see cref="ToleranceSettings.Precision"/>).</summary>
public sealed record PrecisionGate(string Name, QuantizationThresholds Thresholds);
