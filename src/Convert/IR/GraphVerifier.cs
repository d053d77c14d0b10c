namespace ModelForge.Convert.IR;

/// <summary>
/// Structural invariants every graph must keep, checked after import and before emission: every node input
/// is defined before use (topological order), names are unique, outputs come from the graph, types are known.
/// Subgraphs (If branches, Loop bodies) are checked the same way; they may read values the enclosing graphs define
/// before the node that holds them, and must give the node what its op needs (matching outputs and dtypes).
/// A violation is a converter bug, not a user error, so it throws <see cref="InvalidOperationException"/>.
/// </summary>
public static class GraphVerifier
{
    public static void Verify(Graph graph)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var nodeNames = new HashSet<string>(StringComparer.Ordinal);
        VerifyGraph(graph, new HashSet<Value>(ReferenceEqualityComparer.Instance), names, nodeNames);
        if (graph.Outputs.Count == 0) throw new InvalidOperationException("graph has no outputs");
    }

    /// <param name="visible">Values defined in enclosing scopes; extended with this graph's own as they are defined.</param>
    private static void VerifyGraph(Graph graph, HashSet<Value> visible, HashSet<string> names, HashSet<string> nodeNames)
    {
        var where = graph.Parent is null ? "" : $" in subgraph '{graph.Name}'";
        if (graph.Parent is not null && graph.Initializers.Count > 0)
            throw new InvalidOperationException($"subgraph '{graph.Name}' has initializers (they belong to the main graph)");
        foreach (var input in graph.Inputs) Define(input, "graph input" + where, visible, names);
        foreach (var init in graph.Initializers) Define(init, "initializer", visible, names);
        foreach (var node in graph.Nodes)
        {
            if (!nodeNames.Add(node.Name)) throw new InvalidOperationException($"duplicate node name '{node.Name}'");
            foreach (var input in node.Inputs)
                if (input is not null && !visible.Contains(input))
                    throw new InvalidOperationException($"node '{node.Name}' ({node.OpType}){where} uses '{input.Name}' before it is defined");
            foreach (var subgraph in node.Subgraphs)
            {
                if (subgraph.Parent != graph)
                    throw new InvalidOperationException($"subgraph '{subgraph.Name}' of node '{node.Name}' was not created by the graph holding the node");
                // A copy: what one branch defines is not visible to the other branch or after the node.
                VerifyGraph(subgraph, new HashSet<Value>(visible, ReferenceEqualityComparer.Instance), names, nodeNames);
            }
            VerifyControlFlow(node);
            foreach (var output in node.Outputs)
            {
                if (output.Producer != node) throw new InvalidOperationException($"'{output.Name}' does not record '{node.Name}' as its producer");
                Define(output, $"output of {node.Name}", visible, names);
            }
        }
        foreach (var output in graph.Outputs)
            if (!visible.Contains(output)) throw new InvalidOperationException($"graph output '{output.Name}'{where} is never defined");
    }

    private static void Define(Value v, string what, HashSet<Value> defined, HashSet<string> names)
    {
        if (!names.Add(v.Name)) throw new InvalidOperationException($"duplicate value name '{v.Name}' ({what})");
        defined.Add(v);
    }

    /// <summary>If: two branches without inputs, each giving the node's outputs; Loop: a body taking (iteration, condition, state…) and giving (condition, state…, scan outputs…).</summary>
    private static void VerifyControlFlow(Node node)
    {
        if (node.Domain.Length != 0) return;
        switch (node.OpType)
        {
            case "If":
                foreach (var branchName in new[] { "then_branch", "else_branch" })
                {
                    if (!node.Attributes.TryGetValue(branchName, out var attribute) || attribute.Value is not Graph branch)
                        throw new InvalidOperationException($"If '{node.Name}' has no {branchName} subgraph");
                    if (branch.Inputs.Count != 0)
                        throw new InvalidOperationException($"If '{node.Name}' {branchName} takes inputs");
                    ExpectOutputs(node, branchName, branch.Outputs, node.Outputs);
                }
                break;
            case "Loop":
                if (!node.Attributes.TryGetValue("body", out var bodyAttribute) || bodyAttribute.Value is not Graph body)
                    throw new InvalidOperationException($"Loop '{node.Name}' has no body subgraph");
                var state = node.Inputs.Count - 2;
                if (state < 0 || body.Inputs.Count != state + 2)
                    throw new InvalidOperationException($"Loop '{node.Name}' body takes {body.Inputs.Count} inputs for {Math.Max(state, 0)} loop-carried values (expected iteration number, condition, then each value)");
                if (body.Outputs.Count < 1 + state || body.Outputs[0].Type.ElementType != DataType.Bool)
                    throw new InvalidOperationException($"Loop '{node.Name}' body must give a bool condition, then {state} loop-carried value(s)");
                ExpectOutputs(node, "body", body.Outputs.Skip(1).Take(state).ToList(), node.Outputs.Take(state).ToList());
                break;
        }
    }

    private static void ExpectOutputs(Node node, string subgraph, IReadOnlyList<Value> given, IReadOnlyList<Value> expected)
    {
        if (given.Count != expected.Count)
            throw new InvalidOperationException($"{node.OpType} '{node.Name}' {subgraph} gives {given.Count} outputs for {expected.Count}");
        for (var i = 0; i < given.Count; i++)
            if (given[i].Type.ElementType != expected[i].Type.ElementType)
                throw new InvalidOperationException(
                    $"{node.OpType} '{node.Name}' {subgraph} output {i} '{given[i].Name}' is {given[i].Type.ElementType.Name()}, the node's '{expected[i].Name}' is {expected[i].Type.ElementType.Name()}");
    }
}
