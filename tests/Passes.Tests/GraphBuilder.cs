using System.Runtime.InteropServices;
using ModelForge.Convert.IR;

namespace ModelForge.Passes.Tests;

/// <summary>Builds small IR graphs for golden pass tests: inputs, constants and nodes in a few readable lines.</summary>
internal sealed class GraphBuilder
{
    public GraphBuilder() => Graph = new Graph { Name = "test" };

    private GraphBuilder(Graph graph) => Graph = graph;

    public Graph Graph { get; }

    /// <summary>A subgraph of this graph (If branch, Loop body): <paramref name="body"/> builds it and returns its outputs.</summary>
    public Graph Subgraph(string name, Func<GraphBuilder, Value[]> body)
    {
        var builder = new GraphBuilder(Graph.CreateSubgraph(name));
        foreach (var output in body(builder)) builder.Graph.AddSubgraphOutput(output, "");
        return builder.Graph;
    }

    /// <summary>An ONNX If on <paramref name="condition"/> with one output per branch output.</summary>
    public IReadOnlyList<Value> If(Value condition, Graph thenBranch, Graph elseBranch, params TensorType[] outputTypes) =>
        OpMulti("If", [condition], outputTypes, ("then_branch", thenBranch), ("else_branch", elseBranch));

    /// <summary>A float32 type; dims are ints (static) or strings (named symbolic dims such as "batch").</summary>
    public static TensorType F32(params object[] shape) => TensorType.Of(DataType.Float32, Dims(shape));
    public static TensorType I64(params object[] shape) => TensorType.Of(DataType.Int64, Dims(shape));

    private static Dim[] Dims(object[] shape) => shape.Select(d => d switch
    {
        string symbol => Dim.Named(symbol),
        int size => Dim.Of(size),
        long size => Dim.Of(size),
        _ => throw new ArgumentException($"dim {d} is neither an int nor a name"),
    }).ToArray();

    public Value Input(string name, TensorType type) => Graph.AddInput(name, type);

    public Value Floats(string name, long[] shape, params float[] values) =>
        Graph.AddInitializer(name, new ConstantData(DataType.Float32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray()));

    public Value Scalar(string name, float value) => Floats(name, [], value);

    public Value Longs(string name, long[] shape, params long[] values) =>
        Graph.AddInitializer(name, new ConstantData(DataType.Int64, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray()));

    public Value Op(string opType, Value?[] inputs, TensorType outputType, params (string Name, AttributeValue Value)[] attributes) =>
        OpMulti(opType, inputs, [outputType], attributes)[0];

    public IReadOnlyList<Value> OpMulti(string opType, Value?[] inputs, TensorType[] outputTypes, params (string Name, AttributeValue Value)[] attributes)
    {
        var map = new SortedDictionary<string, AttributeValue>(StringComparer.Ordinal);
        foreach (var (name, value) in attributes) map[name] = value;
        return Graph.AddNode(opType, inputs, outputTypes, map, "", null).Outputs;
    }

    public Graph Return(params Value[] outputs)
    {
        for (var i = 0; i < outputs.Length; i++) Graph.AddOutput(outputs[i], outputs.Length == 1 ? "output" : $"output_{i}");
        GraphVerifier.Verify(Graph);
        return Graph;
    }
}
