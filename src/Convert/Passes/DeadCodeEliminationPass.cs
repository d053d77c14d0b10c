using ModelForge.Convert.IR;

namespace ModelForge.Convert.Passes;

/// <summary>
/// Removes nodes none of whose outputs reach a graph output, and initializers nothing reads. ONNX nodes have no
/// side effects, so liveness is plain reachability backwards from the outputs. Subgraphs (If branches, Loop bodies) are
/// left as they are; the outer values they read are live.
/// </summary>
public sealed class DeadCodeEliminationPass : IGraphPass
{
    public string Name => "DeadCodeElimination";
    public OptimizeLevel Level => OptimizeLevel.Basic;

    public bool Run(Graph graph, PassContext context)
    {
        var live = new HashSet<Value>(graph.Outputs, ReferenceEqualityComparer.Instance);
        var liveNodes = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        for (var i = graph.Nodes.Count - 1; i >= 0; i--)
        {
            var node = graph.Nodes[i];
            if (!node.Outputs.Any(live.Contains)) continue;
            liveNodes.Add(node);
            live.UnionWith(node.Uses); // a value read only inside an If branch or Loop body is live too
        }
        var removedNodes = graph.Nodes.RemoveAll(n => !liveNodes.Contains(n));
        var removedInitializers = graph.Initializers.RemoveAll(i => !live.Contains(i));
        graph.ValueInfo.RemoveAll(v => !live.Contains(v));
        return removedNodes + removedInitializers > 0;
    }
}
