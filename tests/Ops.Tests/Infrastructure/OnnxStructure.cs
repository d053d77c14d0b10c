using Onnx;

namespace ModelForge.Ops.Tests.Infrastructure;

/// <summary>
/// Structural checks on an emitted ONNX model, independent of the converter's own verifier: the default-domain
/// opset import, declared inputs in order, every node input defined before use, unique value and node names.
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
        var nodeNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            Assert.True(nodeNames.Add(node.Name), $"node name '{node.Name}' is used twice");
            foreach (var input in node.Input.Where(i => i.Length > 0))
                Assert.True(defined.Contains(input), $"node '{node.Name}' ({node.OpType}) uses '{input}' before it is defined");
            foreach (var output in node.Output)
                Assert.True(defined.Add(output), $"value '{output}' is defined twice");
        }
        foreach (var output in graph.Output)
            Assert.True(defined.Contains(output.Name), $"graph output '{output.Name}' is never defined");
    }
}
