using ModelForge.Convert.IR;

namespace ModelForge.Convert.Passes;

/// <summary>
/// Recognises GELU written out in elementary ops and replaces it with ONNX Gelu (opset ≥ 20):
/// <code>
/// exact: x · 0.5 · (1 + Erf(x / √2))                                  → Gelu(x)
/// tanh:  x · 0.5 · (1 + Tanh(√(2/π) · (x + 0.044715 · x³)))          → Gelu(x, approximate="tanh")
/// </code>
/// Products and sums match in either operand order; <c>x / √2</c> also as <c>x · (1/√2)</c>, x³ as <c>x·(x·x)</c>,
/// <c>(x·x)·x</c> or <c>Pow(x, 3)</c>, and the 0.5 either on x or on the (1 + …) factor. Below opset 20 ONNX has no
/// Gelu (ONNX Runtime fuses the pattern itself at load time), so the pass does nothing there.
/// </summary>
public sealed class GeluFusionPass : IGraphPass
{
    private const double Sqrt2 = 1.4142135623730951;
    private const double TanhScale = 0.7978845608028654; // √(2/π)

    public string Name => "GeluFusion";
    public OptimizeLevel Level => OptimizeLevel.All;

    public bool Run(Graph graph, PassContext context)
    {
        if (context.Opset < 20) return false;
        var changed = false;
        foreach (var mul in graph.Nodes.Where(n => n.OpType == "Mul" && n.Domain.Length == 0).ToList())
        {
            if (Match(mul) is not ({ } x, var approximate) || !x.Type.ElementType.IsFloatingPoint()) continue;
            var output = mul.Outputs[0];
            var attributes = new SortedDictionary<string, AttributeValue>(StringComparer.Ordinal) { ["approximate"] = approximate };
            var gelu = graph.InsertNodeBefore(mul, "Gelu", [x], [output.Type], attributes);
            graph.Nodes.Remove(mul);
            graph.ReplaceAllUses(output, gelu.Outputs[0]);
            changed = true;
        }
        return changed;
    }

    /// <summary>The final product: (x·0.5)·(1 + core) or x·((1 + core)·0.5), with core an Erf or Tanh term of the same x.</summary>
    private static (Value? X, string Approximate) Match(Node mul)
    {
        (Value? X, string Approximate) result = (null, "");
        PassHelpers.EitherOrder(mul, (p, q) =>
        {
            // (x·0.5)·(1 + core(x))
            if (PassHelpers.Producer(p, "Mul") is { } half && PassHelpers.EitherOrder(half, (x, c) => PassHelpers.IsScalarFloat(c, 0.5)) &&
                OnePlusCore(q) is ({ } x1, var a1) && half.Inputs.Contains(x1))
            {
                result = (x1, a1);
                return true;
            }
            // x·((1 + core(x))·0.5)
            var found = false;
            PassHelpers.EitherOrder(PassHelpers.Producer(q, "Mul"), (sum, c) =>
            {
                if (!PassHelpers.IsScalarFloat(c, 0.5) || OnePlusCore(sum) is not ({ } x2, var a2) || !ReferenceEquals(x2, p)) return false;
                result = (x2, a2);
                return found = true;
            });
            return found;
        });
        return result;
    }

    /// <summary><c>1 + Erf(x/√2)</c> → (x, "none"); <c>1 + Tanh(√(2/π)(x + 0.044715x³))</c> → (x, "tanh").</summary>
    private static (Value? X, string Approximate) OnePlusCore(Value value)
    {
        (Value? X, string Approximate) result = (null, "");
        PassHelpers.EitherOrder(PassHelpers.Producer(value, "Add"), (core, one) =>
        {
            if (!PassHelpers.IsScalarFloat(one, 1)) return false;
            if (PassHelpers.Producer(core, "Erf") is { } erf && ErfArgument(erf.Inputs[0]) is { } x) result = (x, "none");
            else if (PassHelpers.Producer(core, "Tanh") is { } tanh && TanhArgument(tanh.Inputs[0]) is { } y) result = (y, "tanh");
            return result.X is not null;
        });
        return result;
    }

    /// <summary>x from <c>x / √2</c> or <c>x · (1/√2)</c>.</summary>
    private static Value? ErfArgument(Value? value)
    {
        if (PassHelpers.Producer(value, "Div") is { Inputs: [{ } x, { } c] } && PassHelpers.IsScalarFloat(c, Sqrt2)) return x;
        Value? found = null;
        PassHelpers.EitherOrder(PassHelpers.Producer(value, "Mul"), (x, c) => PassHelpers.IsScalarFloat(c, 1 / Sqrt2) && (found = x) is not null);
        return found;
    }

    /// <summary>x from <c>√(2/π) · (x + 0.044715 · x³)</c>.</summary>
    private static Value? TanhArgument(Value? value)
    {
        Value? found = null;
        PassHelpers.EitherOrder(PassHelpers.Producer(value, "Mul"), (sum, c) =>
            PassHelpers.IsScalarFloat(c, TanhScale) &&
            PassHelpers.EitherOrder(PassHelpers.Producer(sum, "Add"), (x, cubic) =>
                PassHelpers.EitherOrder(PassHelpers.Producer(cubic, "Mul"), (cube, k) =>
                    PassHelpers.IsScalarFloat(k, 0.044715) && IsCube(cube, x) && (found = x) is not null)));
        return found;
    }

    private static bool IsCube(Value cube, Value x) =>
        PassHelpers.Producer(cube, "Pow") is { Inputs: [{ } b, { } e] } && ReferenceEquals(b, x) && PassHelpers.IsScalarFloat(e, 3)
        || PassHelpers.EitherOrder(PassHelpers.Producer(cube, "Mul"), (a, square) =>
            ReferenceEquals(a, x) && PassHelpers.Producer(square, "Mul") is { Inputs: [{ } s0, { } s1] } && ReferenceEquals(s0, x) && ReferenceEquals(s1, x));
}
