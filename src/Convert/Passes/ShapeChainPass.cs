using ModelForge.Convert.IR;

namespace ModelForge.Convert.Passes;

/// <summary>
/// Simplifies the Shape → Gather → Unsqueeze → Concat → Reshape chains that <c>x.view(x.size(0), …)</c> lowers to
/// when a dim is dynamic:
/// <list type="bullet">
/// <item>A shape entry <c>Unsqueeze(Gather(Shape(s), i))</c> that reads the same dim the Reshape's data has at that
/// position (same tensor and index, or the same named symbolic dim) becomes the constant 0, which Reshape reads as
/// "copy this dim" (allowzero=0). Once every entry is constant, constant folding turns the Concat into one shape.</item>
/// <item><c>Reshape(Reshape(x, a), b)</c> with b constant and free of 0s → <c>Reshape(x, b)</c>.</item>
/// <item>A Reshape whose output shape equals its input shape dim for dim is removed.</item>
/// </list>
/// </summary>
public sealed class ShapeChainPass : IGraphPass
{
    public string Name => "ShapeChain";
    public OptimizeLevel Level => OptimizeLevel.Basic;

    public bool Run(Graph graph, PassContext context)
    {
        var changed = false;
        var consumers = graph.Consumers();
        foreach (var reshape in graph.Nodes.Where(n => n.OpType == "Reshape" && n.Domain.Length == 0).ToList())
        {
            if (PassHelpers.IntAttribute(reshape, "allowzero", 0) != 0 || reshape.Inputs is not [{ } data, { } shape]) continue;
            changed |= CopyDynamicDims(graph, reshape, data, shape);
            if (PassHelpers.Producer(data, "Reshape") is { Inputs: [{ } inner, _] } &&
                PassHelpers.Longs(reshape.Inputs[1]) is { } target && !target.Contains(0) && PassHelpers.SoleConsumer(graph, consumers, data) == reshape)
            {
                reshape.Inputs[0] = data = inner;
                changed = true;
            }
            if (data.Type.Shape is { } from && reshape.Outputs[0].Type.Shape is { } to && from.Count == to.Count &&
                from.Zip(to).All(p => PassHelpers.SameDim(p.First, p.Second)))
            {
                graph.Nodes.Remove(reshape);
                graph.ReplaceAllUses(reshape.Outputs[0], data);
                changed = true;
            }
        }
        return changed;
    }

    /// <summary>Replaces the Concat entries that restate the data's own dim with 0 (in a new Concat: the old one may be shared).</summary>
    private static bool CopyDynamicDims(Graph graph, Node reshape, Value data, Value shape)
    {
        if (PassHelpers.Producer(shape, "Concat") is not { } concat || data.Type.Shape is not { } dataShape) return false;
        var parts = concat.Inputs.ToList();
        var replaced = false;
        for (var i = 0; i < parts.Count && i < dataShape.Count; i++)
        {
            if (parts[i] is not { } part || part.Type.Shape is not [{ Value: 1 }]) return false; // entries must be one dim each
            if (SourceDim(part) is { } dim && (ReferenceEquals(dim.Source, data) && dim.Index == i || PassHelpers.SameDim(dim.Dim, dataShape[i])))
            {
                parts[i] = graph.AddInitializer(concat.Name + "/copy_dim", PassHelpers.LongConstant([0], [1]));
                replaced = true;
            }
        }
        if (!replaced) return false;
        var attributes = new SortedDictionary<string, AttributeValue>(concat.Attributes, StringComparer.Ordinal);
        reshape.Inputs[1] = graph.InsertNodeBefore(reshape, "Concat", parts, [shape.Type], attributes).Outputs[0];
        return true;
    }

    /// <summary>For <c>Unsqueeze(Gather(Shape(s), i), [0])</c>: s, i and the dim s has there.</summary>
    private static (Value Source, long Index, Dim Dim)? SourceDim(Value part)
    {
        if (PassHelpers.Producer(part, "Unsqueeze") is not { Inputs: [{ } scalar, ..] } unsqueeze ||
            (unsqueeze.Inputs.Count > 1 ? PassHelpers.Longs(unsqueeze.Inputs[1]) : unsqueeze.Attributes.GetValueOrDefault("axes")?.Value as long[]) is not [0])
            return null;
        if (PassHelpers.Producer(scalar, "Gather") is not { Inputs: [{ } shapeValue, { } indexValue] } gather ||
            PassHelpers.IntAttribute(gather, "axis", 0) != 0 || PassHelpers.Longs(indexValue) is not [var index] ||
            PassHelpers.Producer(shapeValue, "Shape") is not { Inputs: [{ } source] } shapeNode ||
            shapeNode.Attributes.ContainsKey("start") || shapeNode.Attributes.ContainsKey("end") || source.Type.Shape is not { } sourceShape)
            return null;
        if (index < 0) index += sourceShape.Count;
        return index >= 0 && index < sourceShape.Count ? (source, index, sourceShape[(int)index]) : null;
    }
}
