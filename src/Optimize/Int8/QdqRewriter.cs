using System.Runtime.InteropServices;
using Google.Protobuf;
using ModelForge.Optimize.Onnx;
using Onnx;

namespace ModelForge.Optimize.Int8;

/// <summary>
/// Rewrites a graph by a <see cref="QdqPlan"/> into ONNX Runtime's QDQ form: after each planned activation a
/// QuantizeLinear → DequantizeLinear pair that every consumer reads from; each weight replaced by an int8 initializer
/// (per-channel symmetric, zero point 0) and a DequantizeLinear with its axis; each bias by an int32 initializer with
/// scale = input scale × weight scale and a DequantizeLinear. ONNX Runtime's graph optimizer then fuses
/// DQ → op → Q groups into its integer kernels (QLinearConv, QGemm, QLinearMatMul/MatMulIntegerToFloat, QLinearAdd, …).
/// </summary>
internal static class QdqRewriter
{
    public static void Rewrite(GraphProto graph, QdqPlan plan, IReadOnlyDictionary<string, QuantParams> activations, QuantizationFormat format)
    {
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var activationType = format.Activations == ActivationType.UInt8 ? TensorProto.Types.DataType.Uint8 : TensorProto.Types.DataType.Int8;
        var replaced = new Dictionary<string, string>(StringComparer.Ordinal); // float tensor → the DequantizeLinear output nodes read instead
        var prologue = new List<NodeProto>();
        var weightScales = new Dictionary<string, float[]>(StringComparer.Ordinal);

        foreach (var weight in plan.Weights.DistinctBy(w => w.Name))
        {
            var tensor = initializers[weight.Name];
            var (quantized, scales) = QuantizeWeight(tensor, weight.Axis, format.WeightLimit);
            weightScales[weight.Name] = scales;
            graph.Initializer.Add(quantized);
            graph.Initializer.Add(FloatTensor(weight.Name + "_scale", scales, [scales.Length]));
            graph.Initializer.Add(ZeroPoints(weight.Name + "_zero_point", TensorProto.Types.DataType.Int8, scales.Length, 1));
            prologue.Add(Dequantize(weight.Name, quantized.Name, weight.Axis));
            replaced[weight.Name] = weight.Name + "_dequantized";
        }
        var biasNames = new Dictionary<(string Bias, string Input), string>();
        foreach (var bias in plan.Biases.DistinctBy(b => (b.Name, b.Input)))
        {
            var name = biasNames.Count(b => b.Key.Bias == bias.Name) == 0 ? bias.Name : $"{bias.Name}_{biasNames.Count}";
            var inputScale = activations[plan.ScaleOwner(bias.Input)].Scale;
            var scales = weightScales[bias.Weight].Select(s => inputScale * s).ToArray();
            var quantized = QuantizeBias(initializers[bias.Name], name + "_quantized", scales);
            graph.Initializer.Add(quantized);
            graph.Initializer.Add(FloatTensor(name + "_scale", scales, [scales.Length]));
            graph.Initializer.Add(ZeroPoints(name + "_zero_point", TensorProto.Types.DataType.Int32, scales.Length, 4));
            prologue.Add(Dequantize(name, quantized.Name, 0));
            biasNames[(bias.Name, bias.Input)] = name + "_dequantized";
        }

        var quantizedNodes = plan.QuantizedNodes.ToHashSet();
        var folded = plan.FoldedRelus.Values.ToHashSet();
        var planned = plan.Activations.ToHashSet(StringComparer.Ordinal);
        var rewritten = new List<NodeProto>(prologue);
        void QuantizeActivation(string tensor)
        {
            if (!planned.Contains(tensor)) return;
            var parameters = activations[plan.ScaleOwner(tensor)];
            var isOutput = plan.QuantizedGraphOutputs.Contains(tensor);
            graph.Initializer.Add(FloatTensor(tensor + "_scale", [parameters.Scale], []));
            graph.Initializer.Add(ZeroPoint(tensor + "_zero_point", activationType, parameters.ZeroPoint));
            rewritten.Add(Node("QuantizeLinear", tensor + "_QuantizeLinear", [isOutput ? tensor + "_prequant" : tensor, tensor + "_scale", tensor + "_zero_point"], tensor + "_quantized"));
            rewritten.Add(Node("DequantizeLinear", tensor + "_DequantizeLinear", [tensor + "_quantized", tensor + "_scale", tensor + "_zero_point"], isOutput ? tensor : tensor + "_dequantized"));
            if (!isOutput) replaced[tensor] = tensor + "_dequantized";
        }
        foreach (var input in graph.Input) QuantizeActivation(input.Name);
        for (var i = 0; i < graph.Node.Count; i++)
        {
            if (folded.Contains(i)) continue;
            var node = graph.Node[i];
            if (plan.FoldedRelus.TryGetValue(i, out var relu)) node.Output[0] = graph.Node[relu].Output[0];
            var firstInput = node.Input.Count > 0 ? node.Input[0] : "";
            for (var j = 0; j < node.Input.Count; j++)
            {
                if (quantizedNodes.Contains(i) && j == 2 && biasNames.TryGetValue((node.Input[j], firstInput), out var bias))
                    node.Input[j] = bias;
                else if (replaced.TryGetValue(node.Input[j], out var dequantized))
                    node.Input[j] = dequantized;
            }
            var outputs = node.Output.ToList();
            for (var j = 0; j < outputs.Count; j++)
                if (plan.QuantizedGraphOutputs.Contains(outputs[j])) node.Output[j] = outputs[j] + "_prequant";
            rewritten.Add(node);
            foreach (var output in outputs) QuantizeActivation(output);
        }
        graph.Node.Clear();
        graph.Node.AddRange(rewritten);

        var used = graph.Node.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        var unusedFloats = plan.Weights.Select(w => w.Name).Concat(plan.Biases.Select(b => b.Name)).Where(n => !used.Contains(n)).ToHashSet(StringComparer.Ordinal);
        foreach (var tensor in graph.Initializer.Where(t => unusedFloats.Contains(t.Name)).ToList()) graph.Initializer.Remove(tensor);
    }

    /// <summary>Per-channel symmetric int8: scale_c = max|w_c| / limit (1 for an all-zero channel), q = clamp(round(w / scale_c), ±limit).</summary>
    internal static (TensorProto Quantized, float[] Scales) QuantizeWeight(TensorProto weight, int axis, int limit)
    {
        var values = OnnxTensors.FloatValues(weight);  // in place: a weight mapped from external data is not copied
        var dims = weight.Dims.ToArray();
        var channels = (int)dims[axis];
        var inner = dims.Skip(axis + 1).Aggregate(1L, (a, d) => a * d);
        int ChannelOf(int index) => (int)(index / inner % channels);
        var maxAbs = new float[channels];
        for (var i = 0; i < values.Length; i++) maxAbs[ChannelOf(i)] = Math.Max(maxAbs[ChannelOf(i)], Math.Abs(values[i]));
        var scales = maxAbs.Select(m => m > 0 ? m / limit : 1f).ToArray();
        var quantized = new byte[values.Length];
        for (var i = 0; i < values.Length; i++)
            quantized[i] = (byte)(sbyte)Math.Clamp(Math.Round(values[i] / scales[ChannelOf(i)], MidpointRounding.ToEven), -limit, limit);
        return (OnnxTensors.Owning(weight.Name + "_quantized", ElementTypes.Int8, quantized, dims), scales);
    }

    private static TensorProto QuantizeBias(TensorProto bias, string name, float[] scales)
    {
        var values = Floats(bias);
        var quantized = new int[values.Length];
        for (var i = 0; i < values.Length; i++)
            quantized[i] = (int)Math.Clamp(Math.Round(values[i] / (double)scales[i], MidpointRounding.ToEven), int.MinValue, int.MaxValue);
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int32, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(quantized.AsSpan())) };
        tensor.Dims.Add(values.Length);
        return tensor;
    }

    internal static float[] Floats(TensorProto tensor) =>
        tensor.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray() : [.. tensor.FloatData];

    private static NodeProto Dequantize(string name, string quantized, int axis)
    {
        var node = Node("DequantizeLinear", name + "_DequantizeLinear", [quantized, name + "_scale", name + "_zero_point"], name + "_dequantized");
        node.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = axis });
        return node;
    }

    private static NodeProto Node(string op, string name, string[] inputs, string output)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        return node;
    }

    private static TensorProto FloatTensor(string name, float[] values, long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    private static TensorProto ZeroPoint(string name, TensorProto.Types.DataType type, int value) =>
        new() { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom([unchecked((byte)value)]) };

    private static TensorProto ZeroPoints(string name, TensorProto.Types.DataType type, int count, int elementSize)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(new byte[count * elementSize]) };
        tensor.Dims.Add(count);
        return tensor;
    }
}
