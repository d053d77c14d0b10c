using ModelForge.Convert.IR;

namespace ModelForge.Convert.Passes;

/// <summary>
/// Merges a Concat into the Concat that reads it when both join along the same axis and nothing else reads the inner
/// one: <c>Concat(a, Concat(b, c), d)</c> → <c>Concat(a, b, c, d)</c>. Each Concat copies its inputs, so the nested form
/// copies b and c twice (Inception's blocks concatenate a concatenation; torch.onnx.export's graph has them merged).
/// </summary>
public sealed class FlattenNestedConcatPass : IGraphPass
{
    public string Name => "FlattenNestedConcat";
    public OptimizeLevel Level => OptimizeLevel.Basic;

    public bool Run(Graph graph, PassContext context)
    {
        var changed = false;
        var consumers = graph.Consumers();
        foreach (var outer in graph.Nodes.Where(n => n.OpType == "Concat" && n.Domain.Length == 0).ToList())
        {
            var axis = Axis(outer);
            for (var i = 0; i < outer.Inputs.Count; i++)
            {
                if (PassHelpers.Producer(outer.Inputs[i], "Concat") is not { } inner || inner.Domain.Length != 0
                    || Axis(inner) != axis || axis is null
                    || PassHelpers.SoleConsumer(graph, consumers, outer.Inputs[i]!) != outer)
                    continue;
                outer.Inputs.RemoveAt(i);
                outer.Inputs.InsertRange(i, inner.Inputs);
                foreach (var input in inner.Inputs.OfType<Value>())
                    consumers[input] = [.. consumers[input].Select(n => n == inner ? outer : n)];
                graph.Nodes.Remove(inner);
                changed = true;
                i--; // the merged inputs may themselves be nested Concats
            }
        }
        return changed;
    }

    /// <summary>The join axis, normalized when the rank is known (−1 and rank−1 are the same axis); null when unknown.</summary>
    private static long? Axis(Node concat)
    {
        var axis = PassHelpers.IntAttribute(concat, "axis", 0);
        var rank = concat.Outputs[0].Type.Shape?.Count;
        return axis >= 0 ? axis : rank is { } r ? axis + r : null;
    }
}
