using System.Text;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>einsum(equation, tensors)</c> → ONNX Einsum (opset ≥ 12). The equation is normalized: spaces dropped (MaxViT
/// writes <c>"B G H I D, B G H J D -> B G H I J"</c>), every subscript letter renamed to a lower-case one in order of
/// appearance, and an implicit output (no <c>-&gt;</c>) spelled out as torch defines it: the ellipsis, then the
/// letters used once, in alphabetical order.
/// </summary>
[AtenOp("aten::einsum")]
internal static class Einsum
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var tensors = a.Tensors(1, "tensors");
        var equation = a.String(0, "equation").Replace(" ", "", StringComparison.Ordinal);
        var parts = equation.Split("->");
        var inputs = parts[0].Split(',');
        if (inputs.Length != tensors.Count)
            throw c.Error(DiagnosticCode.InvalidOpArguments, $"einsum equation '{equation}' has {inputs.Length} operands, the call passes {tensors.Count}");
        var output = parts.Length > 1 ? parts[1] : ImplicitOutput(inputs);
        var letters = new Dictionary<char, char>();
        string Rename(string term)
        {
            var renamed = new StringBuilder();
            foreach (var ch in term)
            {
                if (!char.IsLetter(ch)) { renamed.Append(ch); continue; }
                if (!letters.TryGetValue(ch, out var to))
                {
                    if (letters.Count == 26) throw c.Error(DiagnosticCode.InvalidOpArguments, $"einsum equation '{equation}' uses more than 26 subscripts");
                    letters[ch] = to = (char)('a' + letters.Count);
                }
                renamed.Append(to);
            }
            return renamed.ToString();
        }
        var normalized = string.Join(",", inputs.Select(Rename)) + "->" + Rename(output);
        var type = tensors[0].Type.ElementType;
        return c.Op("Einsum", tensors.Select(t => c.Cast(t, type)).ToArray(),
            TensorType.Of(type).WithShape(OutputShape(inputs, output, tensors)), ("equation", normalized));
    }

    private static string ImplicitOutput(string[] inputs)
    {
        var counts = inputs.SelectMany(t => t.Where(char.IsLetter)).GroupBy(ch => ch).Where(g => g.Count() == 1).Select(g => g.Key);
        return (inputs.Any(t => t.Contains("...", StringComparison.Ordinal)) ? "..." : "") + new string(counts.Order().ToArray());
    }

    /// <summary>Each output letter takes its size from an operand that has it; the ellipsis dims broadcast.</summary>
    private static IReadOnlyList<Dim>? OutputShape(string[] inputs, string output, IReadOnlyList<Value> tensors)
    {
        var sizes = new Dictionary<char, Dim>();
        IReadOnlyList<Dim>? ellipsis = [];
        for (var t = 0; t < inputs.Length; t++)
        {
            if (tensors[t].Type.Shape is not { } shape) return null;
            var term = inputs[t];
            var dot = term.IndexOf("...", StringComparison.Ordinal);
            var named = term.Replace("...", "", StringComparison.Ordinal);
            var ellipsisRank = shape.Count - named.Length;
            if (dot >= 0) ellipsis = Shapes.Broadcast(ellipsis, shape.Skip(dot).Take(ellipsisRank).ToArray());
            for (var i = 0; i < named.Length; i++)
            {
                var dim = shape[dot >= 0 && i >= dot ? i + ellipsisRank : i];
                if (!sizes.TryGetValue(named[i], out var known) || (known.Value == 1 && dim.Value != 1)) sizes[named[i]] = dim;
            }
        }
        var result = new List<Dim>();
        var outputDot = output.IndexOf("...", StringComparison.Ordinal);
        var outputNamed = output.Replace("...", "", StringComparison.Ordinal);
        for (var i = 0; i <= outputNamed.Length; i++)
        {
            if (i == outputDot) result.AddRange(ellipsis ?? []);
            if (i < outputNamed.Length) result.Add(sizes.TryGetValue(outputNamed[i], out var d) ? d : Shapes.Unknown());
        }
        return result;
    }
}
