namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>pow(x, exponent)</c> for tensor/tensor, tensor/scalar and scalar/tensor → Pow in the promoted type (an integer
/// tensor to a float power is float, as in torch); integer constants fold.
/// </summary>
[AtenOp("aten::pow", "aten::pow_")]
internal static class Pow
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) =>
        Binary.Lower(c, "Pow", a.Get(0), a.Get(1), (x, y) => y >= 0 ? checked((long)Math.Pow(x, y)) : throw new ArgumentException("negative integer power"));
}
