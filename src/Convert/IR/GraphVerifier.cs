namespace ModelForge.Convert.IR;

/// <summary>
/// Structural invariants every graph must keep, checked after import and before emission: every node input
/// is defined before use (topological order), names are unique, outputs come from the graph, types are known.
/// A violation is a converter bug, not a user error, so it throws <see cref="InvalidOperationException"/>.
/// </summary>
public static class GraphVerifier
{
    public static void Verify(Graph graph)
    {
        var defined = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        var names = new HashSet<string>(StringComparer.Ordinal);
        void Define(Value v, string what)
        {
            if (!names.Add(v.Name)) throw new InvalidOperationException($"duplicate value name '{v.Name}' ({what})");
            defined.Add(v);
        }

        foreach (var input in graph.Inputs) Define(input, "graph input");
        foreach (var init in graph.Initializers) Define(init, "initializer");
        var nodeNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            if (!nodeNames.Add(node.Name)) throw new InvalidOperationException($"duplicate node name '{node.Name}'");
            foreach (var input in node.Inputs)
                if (input is not null && !defined.Contains(input))
                    throw new InvalidOperationException($"node '{node.Name}' ({node.OpType}) uses '{input.Name}' before it is defined");
            foreach (var output in node.Outputs)
            {
                if (output.Producer != node) throw new InvalidOperationException($"'{output.Name}' does not record '{node.Name}' as its producer");
                Define(output, $"output of {node.Name}");
            }
        }
        if (graph.Outputs.Count == 0) throw new InvalidOperationException("graph has no outputs");
        foreach (var output in graph.Outputs)
            if (!defined.Contains(output)) throw new InvalidOperationException($"graph output '{output.Name}' is never defined");
    }
}
