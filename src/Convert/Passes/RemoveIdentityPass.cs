using ModelForge.Convert.IR;

namespace ModelForge.Convert.Passes;

/// <summary>
/// Removes nodes that compute their input unchanged: Identity, and Dropout in inference (ONNX Dropout without a
/// training_mode input, or with a constant false one, and no mask output in use). The op handlers already lower
/// <c>aten::contiguous</c>, <c>detach</c> and eval-mode <c>aten::dropout</c> to no node at all; this pass removes the
/// Identity of <c>aten::clone</c> (a copy the interpreter keeps apart from its input) and the ones other rewrites or
/// <see cref="Graph.AddOutput"/> leave. An Identity that gives a graph input
/// or initializer its output name must stay (ONNX values have one name). Readers inside If branches and Loop bodies are
/// rewired too (<see cref="Graph.ReplaceAllUses"/>); the Identity nodes that give subgraph outputs are left alone.
/// </summary>
public sealed class RemoveIdentityPass : IGraphPass
{
    public string Name => "RemoveIdentity";
    public OptimizeLevel Level => OptimizeLevel.Basic;

    public bool Run(Graph graph, PassContext context)
    {
        var changed = false;
        foreach (var node in graph.Nodes.ToList())
        {
            if (!IsIdentity(graph, node) || node.Inputs[0] is not { } input) continue;
            var output = node.Outputs[0];
            // A graph output that would need a new Identity anyway (its input is a graph input, initializer or
            // another output) keeps this one.
            if (graph.Outputs.Contains(output) && (input.Producer is null || graph.Outputs.Contains(input))) continue;
            graph.Nodes.Remove(node);
            graph.ReplaceAllUses(output, input);
            changed = true;
        }
        return changed;
    }

    private static bool IsIdentity(Graph graph, Node node) => node.OpType switch
    {
        "Identity" => node.Domain.Length == 0,
        "Dropout" => node.Domain.Length == 0
            && (node.Inputs.Count < 3 || node.Inputs[2] is null || node.Inputs[2]!.Constant is { } training && training.Bytes.Span.IndexOfAnyExcept((byte)0) < 0)
            && (node.Outputs.Count < 2 || !IsRead(graph, node.Outputs[1])),
        _ => false,
    };

    private static bool IsRead(Graph graph, Value value) =>
        graph.Outputs.Contains(value) || graph.Nodes.Any(n => n.Uses.Contains(value));
}
