namespace ModelForge.Validate.Compare;

/// <summary>Elementwise closeness: |actual − expected| ≤ Atol + Rtol·|expected| (numpy.allclose / torch.allclose).</summary>
public sealed record Tolerance(double Atol, double Rtol)
{
    public bool Accepts(double expected, double actual) => Math.Abs(actual - expected) <= Atol + Rtol * Math.Abs(expected);

    public override string ToString() => FormattableString.Invariant($"atol={Atol:0.00e+00} rtol={Rtol:0.00e+00}");
}
