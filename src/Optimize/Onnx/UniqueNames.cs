using Onnx;

namespace ModelForge.Optimize.Onnx;

/// <summary>Fresh value and node names for nodes a rewrite adds: never one the graph already uses.</summary>
internal sealed class UniqueNames(GraphProto graph)
{
    private readonly HashSet<string> _used = graph.Node.SelectMany(n => n.Output.Append(n.Name))
        .Concat(graph.Input.Select(i => i.Name)).Concat(graph.Initializer.Select(i => i.Name)).Concat(graph.ValueInfo.Select(v => v.Name))
        .ToHashSet(StringComparer.Ordinal);

    public string Next(string wanted)
    {
        var name = wanted;
        for (var i = 1; !_used.Add(name); i++) name = $"{wanted}_{i}";
        return name;
    }
}
