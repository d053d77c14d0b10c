using Onnx;

namespace ModelForge.Ops.Tests.Infrastructure;

/// <summary>
/// Structural checks on an emitted ONNX model, independent of the converter's own verifier: the default-domain
/// opset import, declared inputs in order, every node input defined before use (in subgraphs: in scope), unique value
/// and node names model-wide.
/// </summary>
public static class OnnxStructure
{
    public static void AssertWellFormed(ModelProto model, IReadOnlyList<string> declaredInputs, int opset)
    {
        Assert.Contains(model.OpsetImport, o => o.Domain == "" && o.Version == opset);
        Assert.Equal("ModelForge", model.ProducerName);
        var graph = model.Graph;
        Assert.Equal(declaredInputs, graph.Input.Select(i => i.Name).ToArray());
        Assert.NotEmpty(graph.Output);

        var defined = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in graph.Input.Select(i => i.Name).Concat(graph.Initializer.Select(i => i.Name)))
            Assert.True(defined.Add(name), $"value '{name}' is defined twice");
        var names = new HashSet<string>(defined, StringComparer.Ordinal);
        AssertNodes(graph, defined, names, new HashSet<string>(StringComparer.Ordinal));
    }

    /// <param name="visible">Values in scope: this graph's and, for a subgraph (If branch, Loop body), those the enclosing graphs define before it.</param>
    /// <param name="names">Every value name so far, model-wide: a subgraph must not shadow an outer name.</param>
    private static void AssertNodes(GraphProto graph, HashSet<string> visible, HashSet<string> names, HashSet<string> nodeNames)
    {
        foreach (var node in graph.Node)
        {
            Assert.True(nodeNames.Add(node.Name), $"node name '{node.Name}' is used twice");
            foreach (var input in node.Input.Where(i => i.Length > 0))
                Assert.True(visible.Contains(input), $"node '{node.Name}' ({node.OpType}) uses '{input}' before it is defined");
            foreach (var attribute in node.Attribute.Where(a => a.Type == AttributeProto.Types.AttributeType.Graph))
            {
                var scope = new HashSet<string>(visible, StringComparer.Ordinal);
                foreach (var name in attribute.G.Input.Select(i => i.Name).Concat(attribute.G.Initializer.Select(i => i.Name)))
                {
                    Assert.True(names.Add(name), $"value '{name}' in subgraph '{attribute.G.Name}' is defined twice");
                    scope.Add(name);
                }
                AssertNodes(attribute.G, scope, names, nodeNames);
            }
            foreach (var output in node.Output)
            {
                Assert.True(names.Add(output), $"value '{output}' is defined twice");
                visible.Add(output);
            }
        }
        foreach (var output in graph.Output)
            Assert.True(visible.Contains(output.Name), $"graph output '{output.Name}' is never defined");
    }
}
