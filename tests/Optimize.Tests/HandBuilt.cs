using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace ModelForge.Optimize.Tests;

/// <summary>Tiny ONNX models written by hand for the cases no fixture has (overflowing activations, subgraphs).</summary>
internal static class HandBuilt
{
    public static ValueInfoProto Float(string name, params long[] dims)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = new TensorShapeProto() };
        tensor.Shape.Dim.AddRange(dims.Select(d => new TensorShapeProto.Types.Dimension { DimValue = d }));
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }

    public static TensorProto Weight(string name, float value, params long[] dims)
    {
        var count = (int)dims.Aggregate(1L, (a, d) => a * d);
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims);
        tensor.FloatData.AddRange(Enumerable.Repeat(value, count));
        return tensor;
    }

    /// <summary>A weight of seeded values in [-scale, scale), stored as raw bytes (as converters write them).</summary>
    public static TensorProto RandomWeight(string name, int seed, float scale, params long[] dims)
    {
        var random = new Random(seed);
        var values = Enumerable.Range(0, (int)dims.Aggregate(1L, (a, d) => a * d)).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale).ToArray();
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    public static NodeProto Node(string opType, string name, string[] inputs, params string[] outputs)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    /// <summary>A model of one graph: x in, the nodes, y out, at opset 17.</summary>
    public static ModelProto Model(ValueInfoProto[] inputs, ValueInfoProto[] outputs, TensorProto[] weights, params NodeProto[] nodes)
    {
        var graph = new GraphProto { Name = "hand_built" };
        graph.Input.AddRange(inputs);
        graph.Output.AddRange(outputs);
        graph.Initializer.AddRange(weights);
        graph.Node.AddRange(nodes);
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model;
    }

    /// <summary>y = Relu(x · W1) · W2 with random W1, W2 [width, width] (4 MiB each at width 1024): weights far larger than the graph.</summary>
    public static ModelProto WideMlp(int width) => Model([Float("x", 2, width)], [Float("y", 2, width)],
        [RandomWeight("w1", 1, 1f / MathF.Sqrt(width), width, width), RandomWeight("w2", 2, 1f / MathF.Sqrt(width), width, width)],
        Node("MatMul", "matmul1", ["x", "w1"], "h"),
        Node("Relu", "relu", ["h"], "r"),
        Node("MatMul", "matmul2", ["r", "w2"], "y"));

    /// <summary>y = Relu(x · W) with every weight <paramref name="weight"/>: x [1, 4], W [4, 4].</summary>
    public static ModelProto MatMulRelu(float weight) => Model([Float("x", 1, 4)], [Float("y", 1, 4)], [Weight("w", weight, 4, 4)],
        Node("MatMul", "matmul", ["x", "w"], "h"),
        Node("Relu", "relu", ["h"], "y"));
}
