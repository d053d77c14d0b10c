using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace ModelForge.Optimize.Tests.Int8;

/// <summary>Small fp32 ONNX models, one per quantization pattern, built node by node with seeded weights.</summary>
internal sealed class TinyModels
{
    private readonly GraphProto _graph = new() { Name = "tiny" };
    private readonly Random _random;

    public TinyModels(int seed = 1) => _random = new Random(seed);

    public TinyModels Input(string name, params object[] dims)
    {
        _graph.Input.Add(ValueInfo(name, dims));
        return this;
    }

    public TinyModels Output(string name)
    {
        _graph.Output.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 } } });
        return this;
    }

    public TinyModels Weight(string name, params long[] dims)
    {
        var count = (int)dims.Aggregate(1L, (a, d) => a * d);
        var fanIn = count / dims[0];
        var values = Enumerable.Range(0, count).Select(_ => (float)((_random.NextDouble() * 2 - 1) / Math.Sqrt(fanIn))).ToArray();
        return Constant(name, values, dims);
    }

    public TinyModels Constant(string name, float[] values, long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = 1, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return this;
    }

    public TinyModels Ints(string name, params long[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = 7, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        tensor.Dims.Add(values.Length);
        _graph.Initializer.Add(tensor);
        return this;
    }

    public TinyModels Node(string op, string[] inputs, string output, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{_graph.Node.Count}" };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        foreach (var (name, value) in attributes)
        {
            node.Attribute.Add(value switch
            {
                long[] ints => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints, Ints = { ints } },
                float f => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = f },
                _ => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = System.Convert.ToInt64(value) },
            });
        }
        _graph.Node.Add(node);
        return this;
    }

    public ModelProto Build(int opset = 17)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = _graph.Clone() };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    private static ValueInfoProto ValueInfo(string name, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
            shape.Dim.Add(dim is string symbol ? new TensorShapeProto.Types.Dimension { DimParam = symbol } : new TensorShapeProto.Types.Dimension { DimValue = System.Convert.ToInt64(dim) });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }

    // ---- the patterns ----

    /// <summary>Conv → Relu → Conv (+ bias) → MaxPool → GlobalAveragePool → Flatten → Gemm.</summary>
    public static ModelProto ConvNet() => new TinyModels()
        .Input("x", "batch", 3, 16, 16)
        .Weight("w1", 8, 3, 3, 3).Weight("b1", 8).Weight("w2", 8, 8, 3, 3).Weight("b2", 8).Weight("fc_w", 10, 8).Weight("fc_b", 10)
        .Node("Conv", ["x", "w1", "b1"], "c1", ("pads", new long[] { 1, 1, 1, 1 }))
        .Node("Relu", ["c1"], "r1")
        .Node("Conv", ["r1", "w2", "b2"], "c2", ("pads", new long[] { 1, 1, 1, 1 }))
        .Node("Relu", ["c2"], "r2")
        .Node("MaxPool", ["r2"], "p1", ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }))
        .Node("GlobalAveragePool", ["p1"], "g")
        .Node("Flatten", ["g"], "f")
        .Node("Gemm", ["f", "fc_w", "fc_b"], "y", ("transB", 1L))
        .Output("y").Build();

    /// <summary>A residual block: Conv → Relu → Conv, Add with the input, Relu, AveragePool.</summary>
    public static ModelProto Residual() => new TinyModels(2)
        .Input("x", "batch", 4, 8, 8)
        .Weight("w1", 4, 4, 3, 3).Weight("b1", 4).Weight("w2", 4, 4, 3, 3).Weight("b2", 4)
        .Node("Conv", ["x", "w1", "b1"], "c1", ("pads", new long[] { 1, 1, 1, 1 }))
        .Node("Relu", ["c1"], "r1")
        .Node("Conv", ["r1", "w2", "b2"], "c2", ("pads", new long[] { 1, 1, 1, 1 }))
        .Node("Add", ["c2", "x"], "s")
        .Node("Relu", ["s"], "r2")
        .Node("AveragePool", ["r2"], "y", ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }))
        .Output("y").Build();

    /// <summary>Two Conv branches concatenated on channels, then a 1×1 Conv.</summary>
    public static ModelProto Concat() => new TinyModels(3)
        .Input("x", "batch", 3, 8, 8)
        .Weight("wa", 4, 3, 1, 1).Weight("wb", 4, 3, 3, 3).Weight("wc", 6, 8, 1, 1)
        .Node("Conv", ["x", "wa"], "a")
        .Node("Conv", ["x", "wb"], "b", ("pads", new long[] { 1, 1, 1, 1 }))
        .Node("Concat", ["a", "b"], "cat", ("axis", 1L))
        .Node("Conv", ["cat", "wc"], "y")
        .Output("y").Build();

    /// <summary>MatMul with a constant weight, Add of a second MatMul, Reshape, MatMul to the output.</summary>
    public static ModelProto MatMul() => new TinyModels(4)
        .Input("x", "batch", 16)
        .Weight("w1", 16, 32).Weight("w2", 16, 32).Weight("w3", 32, 8).Ints("shape", -1, 32)
        .Node("MatMul", ["x", "w1"], "m1")
        .Node("MatMul", ["x", "w2"], "m2")
        .Node("Add", ["m1", "m2"], "s")
        .Node("Reshape", ["s", "shape"], "r")
        .Node("MatMul", ["r", "w3"], "y")
        .Output("y").Build();

    /// <summary>Gemm → Relu as the graph output: the Gemm keeps a float output, so the Relu must stay.</summary>
    public static ModelProto GemmRelu() => new TinyModels(5)
        .Input("x", "batch", 16)
        .Weight("w", 8, 16).Weight("b", 8)
        .Node("Gemm", ["x", "w", "b"], "g", ("transB", 1L))
        .Node("Relu", ["g"], "y")
        .Output("y").Build();

    /// <summary>Nothing static int8 quantizes: Tanh and Sub.</summary>
    public static ModelProto Elementwise() => new TinyModels()
        .Input("x", "batch", 4)
        .Node("Tanh", ["x"], "t")
        .Node("Sub", ["t", "x"], "y")
        .Output("y").Build();

    private static readonly long[] Same3x3 = [1, 1, 1, 1];

    /// <summary>EfficientNet's SiLU: Conv, Sigmoid of it, Mul of the two, then a 1×1 Conv.</summary>
    public static ModelProto Silu() => new TinyModels(6)
        .Input("x", "batch", 4, 8, 8)
        .Weight("w1", 8, 4, 3, 3).Weight("b1", 8).Weight("w2", 4, 8, 1, 1)
        .Node("Conv", ["x", "w1", "b1"], "c1", ("pads", Same3x3))
        .Node("Sigmoid", ["c1"], "gate")
        .Node("Mul", ["c1", "gate"], "silu")
        .Node("Conv", ["silu", "w2"], "y")
        .Output("y").Build();

    /// <summary>
    /// Squeeze-and-excitation: GlobalAveragePool → 1×1 Conv → Relu → 1×1 Conv → Sigmoid, whose [batch, C, 1, 1] gate
    /// scales the Conv's channels (a broadcasting Mul), then a 1×1 Conv.
    /// </summary>
    public static ModelProto SqueezeExcitation() => new TinyModels(7)
        .Input("x", "batch", 4, 8, 8)
        .Weight("w0", 8, 4, 3, 3).Weight("b0", 8).Weight("w1", 4, 8, 1, 1).Weight("b1", 4).Weight("w2", 8, 4, 1, 1).Weight("b2", 8).Weight("w3", 4, 8, 1, 1)
        .Node("Conv", ["x", "w0", "b0"], "c", ("pads", Same3x3))
        .Node("GlobalAveragePool", ["c"], "squeezed")
        .Node("Conv", ["squeezed", "w1", "b1"], "s1")
        .Node("Relu", ["s1"], "r")
        .Node("Conv", ["r", "w2", "b2"], "s2")
        .Node("Sigmoid", ["s2"], "gate")
        .Node("Mul", ["c", "gate"], "excited")
        .Node("Conv", ["excited", "w3"], "y")
        .Output("y").Build();

    /// <summary>
    /// MobileNetV2's ReLU6 as Clip(0, max) after a Conv and after a depthwise Conv, then a 1×1 Conv. The bound is 0.3,
    /// not 6, so that on these inputs the upper clamp really cuts values.
    /// </summary>
    public static ModelProto ClipFromZero() => new TinyModels(8)
        .Input("x", "batch", 4, 8, 8)
        .Weight("w1", 8, 4, 1, 1).Weight("b1", 8).Weight("w2", 8, 1, 3, 3).Weight("b2", 8).Weight("w3", 4, 8, 1, 1)
        .Constant("low", [0f], []).Constant("high", [0.3f], [])
        .Node("Conv", ["x", "w1", "b1"], "c1")
        .Node("Clip", ["c1", "low", "high"], "r1")
        .Node("Conv", ["r1", "w2", "b2"], "c2", ("pads", Same3x3), ("group", 8L))
        .Node("Clip", ["c2", "low", "high"], "r2")
        .Node("Conv", ["r2", "w3"], "y")
        .Output("y").Build();

    /// <summary>Conv → LeakyRelu(0.1) → Conv.</summary>
    public static ModelProto LeakyRelu() => new TinyModels(9)
        .Input("x", "batch", 4, 8, 8)
        .Weight("w1", 8, 4, 3, 3).Weight("b1", 8).Weight("w2", 4, 8, 1, 1)
        .Node("Conv", ["x", "w1", "b1"], "c1", ("pads", Same3x3))
        .Node("LeakyRelu", ["c1"], "l", ("alpha", 0.1f))
        .Node("Conv", ["l", "w2"], "y")
        .Output("y").Build();
}
