using System.Text.RegularExpressions;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Model;

/// <summary>
/// A declared model input: <c>NAME:DTYPE[DIMS]</c>, DIMS comma-separated ints or symbolic names
/// (<c>input:float32[batch,3,224,224]</c>). Named dims stay dynamic in the ONNX model; ints are static.
/// </summary>
public sealed partial record InputSpec(string Name, DataType DataType, IReadOnlyList<Dim> Dims)
{
    [GeneratedRegex(@"^\s*(?<name>[A-Za-z_][A-Za-z0-9_.\-]*)\s*:\s*(?<dtype>[A-Za-z0-9]+)\s*\[(?<dims>[^\]]*)\]\s*$")]
    private static partial Regex SpecPattern();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex SymbolPattern();

    public static InputSpec Parse(string text)
    {
        var match = SpecPattern().Match(text);
        if (!match.Success)
            throw Invalid(text, "is not of the form NAME:DTYPE[DIMS]");
        var dtypeName = match.Groups["dtype"].Value;
        var dataType = DataTypes.FromName(dtypeName)
            ?? throw Invalid(text, $"has unknown dtype '{dtypeName}' (use float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8 or bool)");
        var dimsText = match.Groups["dims"].Value.Trim();
        var dims = new List<Dim>();
        if (dimsText.Length > 0)
        {
            foreach (var part in dimsText.Split(',').Select(p => p.Trim()))
            {
                if (long.TryParse(part, out var size) && size >= 0) dims.Add(Dim.Of(size));
                else if (SymbolPattern().IsMatch(part)) dims.Add(Dim.Named(part));
                else throw Invalid(text, $"has dim '{part}', which is neither a non-negative int nor a symbolic name");
            }
        }
        return new InputSpec(match.Groups["name"].Value, dataType, dims);
    }

    private static ModelForgeException Invalid(string text, string problem) =>
        new(DiagnosticCode.InputSpecInvalid, $"input spec '{text}' {problem}", null,
            "write inputs as NAME:DTYPE[DIMS], e.g. --input input:float32[batch,3,224,224]");

    public TensorType Type => new(DataType, Dims);

    public override string ToString() => $"{Name}:{DataType.Name()}[{string.Join(",", Dims)}]";
}
