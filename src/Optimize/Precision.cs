namespace ModelForge.Optimize;

/// <summary>The numeric precision an ONNX model is rewritten to run in. fp32 is the converter's own output.</summary>
public enum Precision
{
    Fp32,
    Fp16,
    /// <summary>Static int8: weights and activations quantized with QuantizeLinear/DequantizeLinear pairs, activation ranges from calibration.</summary>
    Int8,
    /// <summary>Dynamic int8: weights int8, activations quantized at run time (Linear/MatMul/RNN-heavy models).</summary>
    Int8Dynamic,
}

public static class PrecisionNames
{
    private static readonly (string Name, Precision Value)[] Names =
        [("fp32", Precision.Fp32), ("fp16", Precision.Fp16), ("int8", Precision.Int8), ("int8-dynamic", Precision.Int8Dynamic)];

    /// <summary>Every accepted spelling, in the order help texts list them.</summary>
    public static IReadOnlyList<string> All { get; } = [.. Names.Select(n => n.Name)];

    public static string Name(this Precision precision) => Names.First(n => n.Value == precision).Name;

    public static bool TryParse(string text, out Precision precision)
    {
        foreach (var (name, value) in Names)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
            {
                precision = value;
                return true;
            }
        }
        precision = Precision.Fp32;
        return false;
    }
}
