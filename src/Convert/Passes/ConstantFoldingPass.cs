using ModelForge.Convert.IR;

namespace ModelForge.Convert.Passes;

/// <summary>
/// Evaluates nodes whose inputs are all constants and replaces their outputs with initializers, and does shape
/// arithmetic on static dims: <c>Shape</c>/<c>Size</c> of a value whose dims are known, and <c>Gather</c> of static
/// entries of a <c>Shape</c>, become constants even when the value itself is computed at run time. Results over
/// <see cref="PassContext.MaxFoldedBytes"/> are left to the runtime, so large weights are never materialised here, except
/// the Transpose of a weight nothing else reads, which replaces the weight (<see cref="ReplacesItsOnlyInput"/>).
/// Folded ops: Identity, Shape, Size, Gather, Unsqueeze, Squeeze, Reshape, Flatten, Concat, Cast, Transpose, Slice,
/// ConstantOfShape, Neg, Sqrt, Reciprocal, Floor, Ceil, Add, Sub, Mul, Div, Min, Max (int64, int32, float32, float64
/// with broadcasting), ReduceMin/ReduceMax over every axis. An If whose condition is a constant is replaced by the
/// branch it takes. <see cref="Evaluate"/> applies the same rules on demand while the interpreter runs.
/// </summary>
public sealed class ConstantFoldingPass : IGraphPass
{
    public string Name => "ConstantFolding";
    public OptimizeLevel Level => OptimizeLevel.Basic;

    public bool Run(Graph graph, PassContext context)
    {
        var changed = false;
        var consumers = graph.Consumers();
        // Folded outputs and their constants, applied in one walk at the end (one walk per fold made this pass quadratic:
        // half a second on RAFT's unrolled refinement loop); later nodes already read the constants through it.
        var folds = new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance);
        ConstantData? ConstantOf(Value input) => (folds.TryGetValue(input, out var constant) ? constant : input).Constant;
        foreach (var node in graph.Nodes.ToList())
        {
            if (node is { OpType: "If", Domain: "" } && node.Inputs[0] is { } flag && ConstantOf(flag) is { ElementCount: 1 } condition)
            {
                InlineBranch(graph, node, condition.Bytes.Span.IndexOfAnyExcept((byte)0) >= 0 ? "then_branch" : "else_branch");
                changed = true;
                continue;
            }
            if (node.Domain.Length != 0 || node.Outputs.Count != 1) continue;
            var limit = ReplacesItsOnlyInput(node, consumers) ? long.MaxValue : context.MaxFoldedBytes;
            if (node.Outputs[0].Type is { IsFullyStatic: true } outType &&
                outType.StaticShape().Aggregate(1L, (a, b) => a * b) * SafeSize(outType.ElementType) > limit) continue;
            var folded = TryFold(node, ConstantOf);
            if (folded is null || folded.Bytes.Length > limit) continue;
            var output = node.Outputs[0];
            var constant = graph.AddInitializer(output.Name + "_folded", folded);
            constant.SizeOf = output.SizeOf;
            folds[output] = constant;
        }
        if (folds.Count > 0)
        {
            graph.Nodes.RemoveAll(node => node.Outputs.Count == 1 && folds.ContainsKey(node.Outputs[0]));
            graph.ReplaceReads(folds);
            foreach (var output in graph.Outputs.Where(folds.ContainsKey).ToList()) graph.ReplaceAllUses(output, folds[output]);
            changed = true;
        }
        if (changed) graph.RemoveUnusedInitializers();
        return changed;
    }

    /// <summary>
    /// A Transpose of a weight that nothing else reads (<c>linear</c> on a rank-3 input is MatMul(x, Transpose(W))):
    /// folded at any size, since the transposed copy replaces the weight rather than adding to it, and int8 can only
    /// quantize a MatMul whose weight is a constant.
    /// </summary>
    private static bool ReplacesItsOnlyInput(Node node, Dictionary<Value, List<Node>> consumers) =>
        node.OpType == "Transpose" && node.Inputs is [{ IsInitializer: true } weight]
        && consumers.TryGetValue(weight, out var readers) && readers.Count == 1;

    /// <summary>An If on a constant condition: the taken branch's nodes replace it (names are unique model-wide, so none clash).</summary>
    private static void InlineBranch(Graph graph, Node node, string branchName)
    {
        var branch = (Graph)node.Attributes[branchName].Value;
        foreach (var subgraph in branch.Nodes.SelectMany(n => n.Subgraphs)) subgraph.Parent = graph;
        var index = graph.Nodes.IndexOf(node);
        graph.Nodes.RemoveAt(index);
        graph.Nodes.InsertRange(index, branch.Nodes);
        for (var i = 0; i < node.Outputs.Count; i++) graph.ReplaceAllUses(node.Outputs[i], branch.Outputs[i]);
    }

    private static long SafeSize(DataType type) => type == DataType.String ? 1 : type.SizeInBytes();

    /// <summary>
    /// The value of <paramref name="value"/> at conversion time when it is computed only from constants and static
    /// dims by ops this pass folds (at most <paramref name="budget"/> nodes back), else null. The interpreter asks
    /// this where torch needs a Python number (<c>int(tensor)</c>): a traced detector computes its resize sizes and
    /// anchor counts from the input's shape through small tensors, which are known once the input's dims are.
    /// </summary>
    public static ConstantData? Evaluate(Value value, int budget = 256)
    {
        var known = new Dictionary<Value, ConstantData?>();
        ConstantData? Of(Value v)
        {
            if (v.Constant is not null) return v.Constant;
            if (known.TryGetValue(v, out var seen)) return seen;
            known[v] = null;  // a cycle or a repeated failure stays unknown
            if (v.Producer is not { Domain: "", Outputs.Count: 1 } node || budget-- <= 0) return null;
            return known[v] = TryFold(node, Of);
        }
        return Of(value);
    }

    private static ConstantData? TryFold(Node node, Func<Value, ConstantData?> constantOf)
    {
        var inputs = node.Inputs;
        switch (node.OpType)
        {
            case "Shape": return FoldShape(node);
            case "Size":
                return inputs[0]!.Type.IsFullyStatic
                    ? PassHelpers.LongConstant([inputs[0]!.Type.StaticShape().Aggregate(1L, (a, b) => a * b)], []) : null;
            case "Gather" when inputs[0]?.Producer is { OpType: "Shape" } shape && inputs[1]?.Constant is not null:
                return FoldGatherOfShape(node, shape);
        }
        var constants = inputs.Select(i => i is null ? null : constantOf(i)).ToArray();
        if (inputs.Where((input, i) => input is not null && constants[i] is null).Any()) return null;
        var tensors = constants.Select(c => c is null ? null : FoldTensor.From(c)).ToArray();
        try
        {
            return node.OpType switch
            {
                "Identity" => tensors[0]!.ToConstant(),
                "Unsqueeze" or "Squeeze" or "Flatten" => Reshaped(tensors[0]!, node.Outputs[0].Type),
                "Reshape" => FoldTensor.Reshape(tensors[0]!, tensors[1]!.Longs(), PassHelpers.IntAttribute(node, "allowzero", 0) != 0)?.ToConstant(),
                "Concat" => FoldTensor.Concat(tensors.Select(t => t!).ToArray(), PassHelpers.IntAttribute(node, "axis", 0)).ToConstant(),
                "Gather" => FoldTensor.Gather(tensors[0]!, tensors[1]!, PassHelpers.IntAttribute(node, "axis", 0)).ToConstant(),
                "Transpose" => FoldTensor.Transpose(tensors[0]!, node.Attributes.TryGetValue("perm", out var perm) ? (long[])perm.Value : null).ToConstant(),
                "Slice" => FoldTensor.Slice(tensors[0]!, tensors[1]!.Longs(), tensors[2]!.Longs(),
                    tensors.Length > 3 ? tensors[3]?.Longs() : null, tensors.Length > 4 ? tensors[4]?.Longs() : null).ToConstant(),
                "Cast" => FoldTensor.Cast(tensors[0]!, (DataType)PassHelpers.IntAttribute(node, "to", 0))?.ToConstant(),
                "ConstantOfShape" => FoldTensor.ConstantOfShape(tensors[0]!.Longs(),
                    node.Attributes.TryGetValue("value", out var fill) ? FoldTensor.From((ConstantData)fill.Value) : null)?.ToConstant(),
                "Neg" => FoldTensor.Unary(tensors[0]!, x => -x)?.ToConstant(),
                "Sqrt" => tensors[0]!.Type.IsFloatingPoint() ? FoldTensor.Unary(tensors[0]!, Math.Sqrt)?.ToConstant() : null,
                "Reciprocal" => tensors[0]!.Type.IsFloatingPoint() ? FoldTensor.Unary(tensors[0]!, x => 1 / x)?.ToConstant() : null,
                "Floor" or "Ceil" => tensors[0]!.Type.IsFloatingPoint()
                    ? FoldTensor.Unary(tensors[0]!, node.OpType == "Floor" ? Math.Floor : Math.Ceiling)?.ToConstant() : null,
                "Add" or "Sub" or "Mul" or "Div" or "Min" or "Max" when tensors.Length == 2 =>
                    FoldTensor.Binary(tensors[0]!, tensors[1]!, node.OpType)?.ToConstant(),
                "ReduceMin" or "ReduceMax" when ReducesEveryAxis(node, tensors) =>
                    FoldTensor.ReduceAll(tensors[0]!, node.OpType == "ReduceMax", PassHelpers.IntAttribute(node, "keepdims", 1) != 0)?.ToConstant(),
                _ => null,
            };
        }
        catch (FoldTensor.CannotFold)
        {
            return null;
        }
    }

    /// <summary>No axes (attribute before opset 18, input from it) or all of them.</summary>
    private static bool ReducesEveryAxis(Node node, FoldTensor?[] tensors)
    {
        var rank = tensors[0]!.Shape.Length;
        var axes = tensors.Length > 1 && tensors[1] is { } input ? input.Longs()
            : node.Attributes.TryGetValue("axes", out var attribute) ? (long[])attribute.Value : null;
        return axes is null || axes.Select(a => a < 0 ? a + rank : a).Distinct().Count() == rank;
    }

    private static ConstantData? Reshaped(FoldTensor input, TensorType outputType) =>
        outputType.IsFullyStatic && outputType.StaticShape().Aggregate(1L, (a, b) => a * b) == input.Count
            ? new ConstantData(input.Type, outputType.StaticShape(), input.Bytes) : null;

    /// <summary><c>Shape(x)</c> (opset 15's start/end included) when those dims of x are static.</summary>
    private static ConstantData? FoldShape(Node node)
    {
        if (node.Inputs[0]!.Type.Shape is not { } shape) return null;
        var (start, end) = ShapeRange(node, shape.Count);
        var dims = shape.Skip(start).Take(end - start).ToArray();
        return dims.All(d => d.IsStatic) ? PassHelpers.LongConstant(dims.Select(d => d.Value!.Value).ToArray(), [dims.Length]) : null;
    }

    private static (int Start, int End) ShapeRange(Node shapeNode, int rank)
    {
        static int Clamp(long v, int rank) => (int)Math.Clamp(v < 0 ? v + rank : v, 0, rank);
        return (Clamp(PassHelpers.IntAttribute(shapeNode, "start", 0), rank), Clamp(PassHelpers.IntAttribute(shapeNode, "end", rank), rank));
    }

    /// <summary><c>Gather(Shape(x), indices)</c> when every gathered dim of x is static, even if others are not.</summary>
    private static ConstantData? FoldGatherOfShape(Node gather, Node shapeNode)
    {
        if (shapeNode.Inputs[0]!.Type.Shape is not { } shape || PassHelpers.Longs(gather.Inputs[1]) is not { } indices) return null;
        var (start, end) = ShapeRange(shapeNode, shape.Count);
        var dims = shape.Skip(start).Take(end - start).ToArray();
        var picked = new long[indices.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            var index = indices[i] < 0 ? indices[i] + dims.Length : indices[i];
            if (index < 0 || index >= dims.Length || dims[index].Value is not { } size) return null;
            picked[i] = size;
        }
        return PassHelpers.LongConstant(picked, gather.Inputs[1]!.Constant!.Shape);
    }
}
