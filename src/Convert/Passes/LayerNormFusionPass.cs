using System.Globalization;
using ModelForge.Convert.IR;

namespace ModelForge.Convert.Passes;

/// <summary>
/// Recognises layer normalisation spelled out in elementary ops (what opset 13–16 lowering, hand-written LayerNorm
/// modules and channels-last LayerNorm2d produce) and replaces it with one LayerNormalization (opset ≥ 17):
/// <code>
/// mean = ReduceMean(x, axes, keepdims=1); d = Sub(x, mean)
/// var  = ReduceMean(Mul(d', d') | Pow(d', 2), axes, keepdims=1)   d' = d, or another Sub(x, ReduceMean(x, axes))
/// y    = Div(d, Sqrt(Add(var, ε)))  [· scale]  [+ bias]
/// </code>
/// The axes must be the trailing dims of x (LayerNormalization normalises from <c>axis</c> to the end), x float32,
/// ε, scale and bias constants, and scale/bias shaped like the normalised dims (leading 1s allowed). Intermediate
/// values other nodes still read stay (dead-code elimination removes the rest).
/// </summary>
public sealed class LayerNormFusionPass : IGraphPass
{
    public string Name => "LayerNormFusion";
    public OptimizeLevel Level => OptimizeLevel.All;

    public bool Run(Graph graph, PassContext context)
    {
        if (context.Opset < 17) return false;
        var changed = false;
        var consumers = graph.Consumers();
        foreach (var div in graph.Nodes.Where(n => n.OpType == "Div" && n.Domain.Length == 0).ToList())
        {
            if (Match(div) is not { } m) continue;
            var last = div;
            Value? scale = null, bias = null;
            if (PassHelpers.SoleConsumer(graph, consumers, last.Outputs[0]) is { OpType: "Mul" } mul &&
                Other(mul, last.Outputs[0]) is { Constant: not null } s && Normalized(s, m.Shape) is { } scaleData)
            {
                scale = graph.AddInitializer(s.Name + "_ln", scaleData);
                last = mul;
                if (PassHelpers.SoleConsumer(graph, consumers, last.Outputs[0]) is { OpType: "Add" } add &&
                    Other(add, last.Outputs[0]) is { Constant: not null } b && Normalized(b, m.Shape) is { } biasData)
                {
                    bias = graph.AddInitializer(b.Name + "_ln", biasData);
                    last = add;
                }
            }
            scale ??= graph.AddInitializer(div.Name + "/ones",
                PassHelpers.FloatConstant(Enumerable.Repeat(1f, (int)m.Shape.Aggregate(1L, (a, b) => a * b)).ToArray(), m.Shape));
            var attributes = new SortedDictionary<string, AttributeValue>(StringComparer.Ordinal)
            {
                ["axis"] = (long)-m.Shape.Length,
                ["epsilon"] = double.Parse(m.Epsilon.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
            };
            var output = last.Outputs[0];
            var layerNorm = graph.InsertNodeBefore(last, "LayerNormalization", bias is null ? [m.X, scale] : [m.X, scale, bias], [output.Type], attributes);
            graph.Nodes.Remove(last);
            graph.ReplaceAllUses(output, layerNorm.Outputs[0]);
            changed = true;
        }
        return changed;
    }

    private sealed record Matched(Value X, long[] Shape, float Epsilon);

    private static Value? Other(Node binary, Value known) =>
        binary.Inputs is [{ } a, { } b] ? ReferenceEquals(a, known) ? b : ReferenceEquals(b, known) ? a : null : null;

    private static Matched? Match(Node div)
    {
        if (div.Inputs is not [{ } centered, { } deviation]) return null;
        var sub = PassHelpers.Producer(centered, "Sub");
        var sqrt = PassHelpers.Producer(deviation, "Sqrt");
        if (sub?.Inputs is not [{ } x, { } meanValue] || sqrt is null || x.Type.ElementType != DataType.Float32 || x.Type.Shape is not { } shape) return null;
        var mean = PassHelpers.Producer(meanValue, "ReduceMean");
        if (mean is null || !ReferenceEquals(mean.Inputs[0], x) || TrailingAxes(mean, shape.Count) is not { } k) return null;
        var addEps = PassHelpers.Producer(sqrt.Inputs[0], "Add");
        Node? variance = null;
        float epsilon = 0;
        var matched = PassHelpers.EitherOrder(addEps, (v, e) =>
        {
            if (PassHelpers.ScalarFloat(e) is not { } eps || PassHelpers.Producer(v, "ReduceMean") is not { } r) return false;
            (variance, epsilon) = (r, eps);
            return true;
        });
        if (!matched || variance is null || TrailingAxes(variance, shape.Count) != k || !IsSquareOf(variance.Inputs[0], x, k, shape.Count)) return null;
        var normalized = shape.Skip(shape.Count - k).ToArray();
        if (normalized.Any(d => !d.IsStatic)) return null;
        return new Matched(x, normalized.Select(d => d.Value!.Value).ToArray(), epsilon);
    }

    /// <summary>
    /// <c>d·d</c> or <c>Pow(d, 2)</c> with d = x − ReduceMean(x) over the same k trailing axes. d need not be the Sub the
    /// numerator uses: traced code computes <c>x − u</c> once per mention, and <c>x.var()</c> lowers to its own mean and Sub.
    /// </summary>
    private static bool IsSquareOf(Value? square, Value x, int k, int rank) =>
        PassHelpers.Producer(square, "Mul") is { Inputs: [{ } a, { } b] } && ReferenceEquals(a, b) && IsCentered(a, x, k, rank)
        || PassHelpers.Producer(square, "Pow") is { Inputs: [{ } p, { } exponent] } && IsCentered(p, x, k, rank) && PassHelpers.IsScalarFloat(exponent, 2);

    private static bool IsCentered(Value d, Value x, int k, int rank) =>
        PassHelpers.Producer(d, "Sub") is { Inputs: [{ } minuend, { } mean] } && ReferenceEquals(minuend, x)
        && PassHelpers.Producer(mean, "ReduceMean") is { } reduce && ReferenceEquals(reduce.Inputs[0], x) && TrailingAxes(reduce, rank) == k;

    /// <summary>k when the reduction keeps dims and runs over exactly the last k of <paramref name="rank"/> dims.</summary>
    private static int? TrailingAxes(Node reduce, int rank)
    {
        if (PassHelpers.IntAttribute(reduce, "keepdims", 1) != 1 || PassHelpers.ReduceAxes(reduce) is not { Length: > 0 } axes) return null;
        var sorted = axes.Select(a => a < 0 ? a + rank : a).Order().ToArray();
        return sorted.Select((a, i) => a == rank - sorted.Length + i).All(b => b) ? sorted.Length : null;
    }

    /// <summary>The constant reshaped to the normalised dims when it holds exactly them (leading 1s dropped), else null.</summary>
    private static ConstantData? Normalized(Value value, long[] normalized)
    {
        var data = value.Constant!;
        if (data.ElementType != DataType.Float32) return null;
        var dims = data.Shape.SkipWhile(d => d == 1).ToArray();
        var expected = normalized.Skip(normalized.Length - dims.Length).ToArray();
        if (dims.Length > normalized.Length || !dims.SequenceEqual(expected) || data.ElementCount != normalized.Aggregate(1L, (a, b) => a * b)) return null;
        return data with { Shape = normalized };
    }
}
