using ModelForge.Convert.IR;

namespace ModelForge.Convert.Passes;

/// <summary>
/// Records every intermediate value (a node output that is not a graph output) whose rank is known in
/// <see cref="Graph.ValueInfo"/>, so the emitted model carries ONNX <c>value_info</c> type and shape annotations:
/// runtimes and tools (ONNX Runtime's planner, TensorRT's parser, Netron) see shapes without running inference.
/// Dims the converter could not track are emitted without value or name.
/// </summary>
public sealed class ValueInfoPass : IGraphPass
{
    public string Name => "ValueInfo";
    public OptimizeLevel Level => OptimizeLevel.Basic;

    public bool Run(Graph graph, PassContext context)
    {
        var outputs = new HashSet<Value>(graph.Outputs, ReferenceEqualityComparer.Instance);
        var before = graph.ValueInfo.Count;
        graph.ValueInfo.Clear();
        graph.ValueInfo.AddRange(graph.Nodes.SelectMany(n => n.Outputs).Where(v => !outputs.Contains(v) && v.Type.HasRank));
        var changed = before > 0 || graph.ValueInfo.Count > 0;
        foreach (var subgraph in graph.Nodes.SelectMany(n => n.Subgraphs))
            changed |= Run(subgraph, context); // each subgraph annotates its own values
        return changed;
    }
}
