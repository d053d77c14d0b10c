using Onnx;

namespace ModelForge.Optimize.Onnx;

/// <summary>
/// The element type of every value of a graph: the declared types (inputs, outputs, initializers, value_info) first,
/// then, in node order (ONNX graphs are topologically sorted), each remaining node output by its op's type rule.
/// Enough for the precision rewrites, which only need to know which values are float32; a value no rule types is
/// left out (and so treated as not float).
/// </summary>
internal static class OnnxTypes
{
    /// <summary>Ops whose outputs are int64 whatever their inputs.</summary>
    private static readonly HashSet<string> Int64Outputs = ["Shape", "Size", "NonZero", "ArgMax", "ArgMin"];

    /// <summary>Ops whose outputs are bool.</summary>
    private static readonly HashSet<string> BoolOutputs =
        ["Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf"];

    public static Dictionary<string, int> Infer(GraphProto graph)
    {
        var types = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var value in graph.Input.Concat(graph.Output).Concat(graph.ValueInfo))
            if (value.Type?.TensorType is { ElemType: > 0 } tensor) types[value.Name] = tensor.ElemType;
        foreach (var initializer in graph.Initializer) types[initializer.Name] = initializer.DataType;
        foreach (var node in graph.Node)
        {
            for (var i = 0; i < node.Output.Count; i++)
            {
                var output = node.Output[i];
                if (output.Length == 0 || types.ContainsKey(output)) continue;
                if (OutputType(node, i, types) is { } type) types[output] = type;
            }
        }
        return types;
    }

    private static int? OutputType(NodeProto node, int index, Dictionary<string, int> types)
    {
        int? Input(int i) => i < node.Input.Count && types.TryGetValue(node.Input[i], out var t) ? t : null;
        int? Attribute(string name) => node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? (int)a.I : null;
        if (node.Domain is not ("" or "ai.onnx")) return null;
        return node.OpType switch
        {
            _ when Int64Outputs.Contains(node.OpType) => ElementTypes.Int64,
            _ when BoolOutputs.Contains(node.OpType) => ElementTypes.Bool,
            "Cast" => Attribute("to"),
            "CastLike" => Input(1),
            "Constant" => node.Attribute.FirstOrDefault(a => a.Name == "value")?.T?.DataType
                ?? (node.Attribute.Any(a => a.Name is "value_float" or "value_floats") ? ElementTypes.Float : ElementTypes.Int64),
            "ConstantOfShape" => node.Attribute.FirstOrDefault(a => a.Name == "value")?.T?.DataType ?? ElementTypes.Float,
            "TopK" or "Unique" or "MaxPool" when index > 0 => ElementTypes.Int64,
            "Where" => Input(1),
            "OneHot" => Input(2),
            "DynamicQuantizeLinear" => index == 0 ? ElementTypes.UInt8 : index == 1 ? ElementTypes.Float : ElementTypes.UInt8,
            "QuantizeLinear" => Input(2) ?? ElementTypes.UInt8,
            "DequantizeLinear" => Input(1),
            "MatMulInteger" or "ConvInteger" => ElementTypes.Int32,
            "RandomNormal" or "RandomUniform" => Attribute("dtype") ?? ElementTypes.Float,
            "RandomNormalLike" or "RandomUniformLike" or "EyeLike" or "Bernoulli" => Attribute("dtype") ?? Input(0),
            "Multinomial" => Attribute("dtype") ?? ElementTypes.Int32,
            _ => Input(0),
        };
    }
}
