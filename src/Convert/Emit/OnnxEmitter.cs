using Google.Protobuf;
using ModelForge.Convert.IR;
using ModelForge.Convert.Ops;
using Onnx;

namespace ModelForge.Convert.Emit;

/// <summary>
/// Writes the IR as an ONNX <see cref="ModelProto"/> (OnnxSharp's protobuf types). Weights are wrapped, not
/// copied: their raw_data points at the archive's mapped memory until the model is written. Everything is
/// emitted in IR order with IR names, so the same input gives byte-identical output.
/// </summary>
public static class OnnxEmitter
{
    public const string ProducerName = "ModelForge";

    public static string ProducerVersion { get; } =
        typeof(OnnxEmitter).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>The IR version that goes with each opset (onnx/helper.py's VERSION_TABLE).</summary>
    public static long IrVersionFor(int opset) => opset switch
    {
        <= 14 => 7,
        <= 18 => 8,
        <= 20 => 9,
        _ => 10,
    };

    public static ModelProto Emit(Graph graph, int opset)
    {
        var model = new ModelProto
        {
            IrVersion = IrVersionFor(opset),
            ProducerName = ProducerName,
            ProducerVersion = ProducerVersion,
            Graph = EmitGraph(graph),
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        // Contrib ops (opt-in fused attention) need their domain imported; com.microsoft is at version 1.
        if (UsesDomain(graph, Graph.MicrosoftDomain))
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = Graph.MicrosoftDomain, Version = 1 });
        return model;
    }

    private static bool UsesDomain(Graph graph, string domain) =>
        graph.Nodes.Any(n => n.Domain == domain || n.Subgraphs.Any(g => UsesDomain(g, domain)));

    /// <summary>A graph, or a subgraph for a node attribute (names are unique model-wide, so outer references resolve).</summary>
    private static GraphProto EmitGraph(Graph graph)
    {
        var proto = new GraphProto { Name = graph.Name };
        proto.Input.AddRange(graph.Inputs.Select(ValueInfo));
        proto.Output.AddRange(graph.Outputs.Select(ValueInfo));
        proto.ValueInfo.AddRange(graph.ValueInfo.Select(ValueInfo));
        proto.Initializer.AddRange(graph.Initializers.Select(i => Tensor(i.Name, i.Constant!)));
        foreach (var node in graph.Nodes)
        {
            var nodeProto = new NodeProto { Name = node.Name, OpType = node.OpType, Domain = node.Domain };
            nodeProto.Input.AddRange(node.Inputs.Select(i => i?.Name ?? ""));
            nodeProto.Output.AddRange(node.Outputs.Select(o => o.Name));
            nodeProto.Attribute.AddRange(node.Attributes.Select(a => Attribute(a.Key, a.Value)));
            proto.Node.Add(nodeProto);
        }
        return proto;
    }

    private static ValueInfoProto ValueInfo(Value value)
    {
        var tensorType = new TypeProto.Types.Tensor { ElemType = (int)value.Type.ElementType };
        if (value.Type.Shape is { } shape)
        {
            tensorType.Shape = new TensorShapeProto();
            foreach (var dim in shape)
            {
                var dimension = new TensorShapeProto.Types.Dimension();
                if (dim.Value is { } size) dimension.DimValue = size;
                else if (dim.Symbol is { } symbol && symbol != Shapes.UnknownSymbol) dimension.DimParam = symbol;
                tensorType.Shape.Dim.Add(dimension);
            }
        }
        return new ValueInfoProto { Name = value.Name, Type = new TypeProto { TensorType = tensorType } };
    }

    private static TensorProto Tensor(string name, ConstantData data)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)data.ElementType };
        tensor.Dims.AddRange(data.Shape);
        tensor.RawData = UnsafeByteOperations.UnsafeWrap(data.Bytes);
        return tensor;
    }

    private static AttributeProto Attribute(string name, AttributeValue value)
    {
        var attribute = new AttributeProto { Name = name };
        switch (value.Value)
        {
            case long l: attribute.Type = AttributeProto.Types.AttributeType.Int; attribute.I = l; break;
            case double d: attribute.Type = AttributeProto.Types.AttributeType.Float; attribute.F = (float)d; break;
            case string s: attribute.Type = AttributeProto.Types.AttributeType.String; attribute.S = ByteString.CopyFromUtf8(s); break;
            case long[] ls: attribute.Type = AttributeProto.Types.AttributeType.Ints; attribute.Ints.AddRange(ls); break;
            case double[] ds: attribute.Type = AttributeProto.Types.AttributeType.Floats; attribute.Floats.AddRange(ds.Select(d => (float)d)); break;
            case string[] ss: attribute.Type = AttributeProto.Types.AttributeType.Strings; attribute.Strings.AddRange(ss.Select(ByteString.CopyFromUtf8)); break;
            case ConstantData c: attribute.Type = AttributeProto.Types.AttributeType.Tensor; attribute.T = Tensor("", c); break;
            case Graph g: attribute.Type = AttributeProto.Types.AttributeType.Graph; attribute.G = EmitGraph(g); break;
            default: throw new InvalidOperationException($"attribute '{name}' has unsupported value type {value.Value.GetType().Name}");
        }
        return attribute;
    }
}
