using Onnx;

/// <summary>Operator counts and weight elements of an ONNX file (the graph ONNX Runtime wrote after optimising).</summary>
sealed record OptimizedGraph(IReadOnlyDictionary<string, int> Ops, long WeightElements)
{
    public static OptimizedGraph Read(string path)
    {
        using var stream = File.OpenRead(path);
        var graph = ModelProto.Parser.ParseFrom(stream).Graph;
        var ops = graph.Node
            .GroupBy(n => n.Domain is "" or "ai.onnx" ? n.OpType : $"{n.Domain}:{n.OpType}")
            .ToDictionary(g => g.Key, g => g.Count());
        var weights = graph.Initializer.Sum(t => t.Dims.Aggregate(1L, (a, b) => a * b));
        return new OptimizedGraph(ops, weights);
    }
}
