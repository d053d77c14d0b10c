using ModelForge.Core.Diagnostics;
using ModelForge.Optimize.Onnx;
using Onnx;

namespace ModelForge.Optimize.Dynamic;

/// <summary>How <see cref="DynamicInt8Quantizer"/> quantizes weights.</summary>
public sealed record DynamicInt8Options
{
    /// <summary>
    /// One scale per output column of each weight instead of one per weight. Off by default, as in ONNX Runtime's
    /// <c>quantize_dynamic</c>; per-column scales help weights whose columns differ much in range.
    /// </summary>
    public bool PerChannel { get; init; }

    /// <summary>Node names that stay float32 (the sensitivity pass's way to keep one layer).</summary>
    public IReadOnlyCollection<string> NodesToExclude { get; init; } = [];
}

/// <summary>What <see cref="DynamicInt8Quantizer.Quantize"/> made.</summary>
/// <param name="QuantizedNodes">The MatMul/Gemm nodes now computed in int8, by name.</param>
/// <param name="Float32Nodes">MatMul/Gemm nodes left float32, each with the reason.</param>
public sealed record DynamicInt8Result(ModelProto Model, IReadOnlyList<string> QuantizedNodes, IReadOnlyList<(string Node, string Reason)> Float32Nodes);

/// <summary>
/// Dynamic int8 quantization (docs/precision.md, "int8 (dynamic)"): each MatMul or Gemm whose weight is a constant
/// float32 matrix gets int8 weights (symmetric, zero point 0, scale = max|w| / 127, per tensor or per column) and
/// activations quantized at run time, written in standard ONNX ops as ONNX Runtime's <c>quantize_dynamic</c> writes them:
/// <code>
/// DynamicQuantizeLinear(x) → (x_q, x_scale, x_zp)
/// MatMulInteger(x_q, w_q, x_zp, w_zp) → Cast(float) → Mul(· , Mul(x_scale, w_scale)) [→ Add(bias)]
/// </code>
/// ONNX Runtime's CPU graph optimiser fuses this pattern into its <c>DynamicQuantizeMatMul</c> contrib kernel (the
/// MLAS u8s8 integer GEMM; <c>MatMulIntegerToFloat</c> when the quantized input is shared), so the model runs ORT's
/// fastest dynamic kernel while staying plain ONNX for other runtimes. LSTM and GRU stay float32 (see the docs).
/// </summary>
public static class DynamicInt8Quantizer
{
    private const int Int8Max = 127;

    public static DynamicInt8Result Quantize(ModelProto model, DynamicInt8Options? options = null)
    {
        options ??= new DynamicInt8Options();
        OnnxTensors.RequireInlineWeights(model, "dynamic int8");
        RequireOpset(model, 11);
        var quantized = model.Clone();
        var graph = quantized.Graph;
        var types = OnnxTypes.Infer(graph);
        var weights = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var names = new UniqueNames(graph);
        var excluded = options.NodesToExclude.ToHashSet(StringComparer.Ordinal);

        var done = new List<string>();
        var kept = new List<(string, string)>();
        var quantizedInputs = new Dictionary<string, (string Value, string Scale, string ZeroPoint)>(StringComparer.Ordinal);
        var rewritten = new List<NodeProto>();
        foreach (var node in graph.Node)
        {
            if (node.OpType is not ("MatMul" or "Gemm") || node.Domain is not ("" or "ai.onnx"))
            {
                rewritten.Add(node);
                continue;
            }
            var reason = excluded.Contains(node.Name) ? "excluded by name" : WhyNot(node, types, weights);
            if (reason is not null)
            {
                kept.Add((node.Name, reason));
                rewritten.Add(node);
                continue;
            }
            var input = node.Input[0];
            if (!quantizedInputs.TryGetValue(input, out var q))
            {
                q = quantizedInputs[input] = (names.Next($"{input}_quantized"), names.Next($"{input}_scale"), names.Next($"{input}_zero_point"));
                rewritten.Add(Node("DynamicQuantizeLinear", names.Next($"{input}_DynamicQuantizeLinear"), [input], [q.Value, q.Scale, q.ZeroPoint]));
            }
            var weight = weights[node.Input[1]];
            var transposed = node.OpType == "Gemm" && Attribute(node, "transB", 0) == 1;
            var (weightQ, weightScale, weightZeroPoint) = QuantizeWeight(weight, transposed, options.PerChannel, names);
            graph.Initializer.Add(weightQ);
            graph.Initializer.Add(weightScale);
            graph.Initializer.Add(weightZeroPoint);

            var output = node.Output[0];
            var hasBias = node.OpType == "Gemm" && node.Input.Count > 2 && node.Input[2].Length > 0;
            var integer = names.Next($"{output}_int32");
            var asFloat = names.Next($"{output}_int32_float");
            var scale = names.Next($"{output}_scale");
            var scaled = hasBias ? names.Next($"{output}_no_bias") : output;
            rewritten.Add(Node("MatMulInteger", names.Next($"{node.Name}_MatMulInteger"), [q.Value, weightQ.Name, q.ZeroPoint, weightZeroPoint.Name], [integer]));
            rewritten.Add(Node("Mul", names.Next($"{node.Name}_scale"), [q.Scale, weightScale.Name], [scale]));
            var cast = Node("Cast", names.Next($"{node.Name}_Cast"), [integer], [asFloat]);
            cast.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = ElementTypes.Float });
            rewritten.Add(cast);
            rewritten.Add(Node("Mul", names.Next($"{node.Name}_rescale"), [asFloat, scale], [scaled]));
            if (hasBias) rewritten.Add(Node("Add", names.Next($"{node.Name}_bias"), [scaled, node.Input[2]], [output]));
            done.Add(node.Name);
        }
        if (done.Count == 0)
            throw new ModelForgeException(DiagnosticCode.DynamicInt8NothingToQuantize,
                kept.Count == 0
                    ? "dynamic int8: the model has no MatMul or Gemm node, the only ops dynamic quantization rewrites"
                    : $"dynamic int8: no MatMul or Gemm node has a constant float32 weight to quantize ({string.Join("; ", kept.Take(3).Select(k => $"'{k.Item1}': {k.Item2}"))})",
                hint: "use static int8 (--precision int8) for convolutional models; dynamic int8 suits Linear-heavy models (transformers, MLPs)");

        graph.Node.Clear();
        graph.Node.AddRange(rewritten);
        RemoveUnused(graph);
        return new DynamicInt8Result(quantized, done, kept);
    }

    /// <summary>Why a MatMul/Gemm stays float32, or null when it can be quantized.</summary>
    private static string? WhyNot(NodeProto node, Dictionary<string, int> types, Dictionary<string, TensorProto> weights)
    {
        if (!types.TryGetValue(node.Input[0], out var inputType) || inputType != ElementTypes.Float) return "its input is not float32";
        if (!weights.TryGetValue(node.Input[1], out var weight)) return "its weight is not a constant";
        if (weight.DataType != ElementTypes.Float || weight.Dims.Count != 2) return "its weight is not a float32 matrix";
        if (node.OpType == "Gemm" && (Attribute(node, "transA", 0) != 0 || Attribute(node, "alpha", 1f) != 1f || Attribute(node, "beta", 1f) != 1f))
            return "Gemm with transA, alpha or beta";
        return null;
    }

    /// <summary>
    /// The weight as a [K, N] int8 matrix (transposed first for Gemm's transB), its scale (scalar, or [N] per column)
    /// and its zero point (0, the same shape): symmetric, as ONNX Runtime quantizes int8 weights.
    /// </summary>
    private static (TensorProto Weight, TensorProto Scale, TensorProto ZeroPoint) QuantizeWeight(
        TensorProto weight, bool transposed, bool perChannel, UniqueNames names)
    {
        var values = OnnxTensors.ReadFloats(weight);
        var (rows, columns) = ((int)weight.Dims[0], (int)weight.Dims[1]);
        var (k, n) = transposed ? (columns, rows) : (rows, columns);
        float At(int row, int column) => transposed ? values[column * columns + row] : values[row * columns + column];

        var scales = new float[perChannel ? n : 1];
        for (var row = 0; row < k; row++)
            for (var column = 0; column < n; column++)
            {
                var slot = perChannel ? column : 0;
                scales[slot] = Math.Max(scales[slot], Math.Abs(At(row, column)));
            }
        for (var i = 0; i < scales.Length; i++) scales[i] = scales[i] > 0 ? scales[i] / Int8Max : 1f;

        var q = new sbyte[k * n];
        for (var row = 0; row < k; row++)
            for (var column = 0; column < n; column++)
                q[row * n + column] = (sbyte)Math.Clamp(Math.Round(At(row, column) / scales[perChannel ? column : 0], MidpointRounding.ToEven), -Int8Max, Int8Max);

        long[] scaleDims = perChannel ? [n] : [];
        return (OnnxTensors.Int8s(names.Next($"{weight.Name}_quantized"), q, [k, n]),
            OnnxTensors.Floats(names.Next($"{weight.Name}_scale"), scales, scaleDims),
            OnnxTensors.Int8s(names.Next($"{weight.Name}_zero_point"), new sbyte[scales.Length], scaleDims));
    }

    private static NodeProto Node(string opType, string name, IEnumerable<string> inputs, IEnumerable<string> outputs)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    private static long Attribute(NodeProto node, string name, long fallback) => node.Attribute.FirstOrDefault(a => a.Name == name)?.I ?? fallback;

    private static float Attribute(NodeProto node, string name, float fallback) => node.Attribute.FirstOrDefault(a => a.Name == name)?.F ?? fallback;

    /// <summary>Drops the float32 weights no node reads any more (the quantized ones replaced them).</summary>
    private static void RemoveUnused(GraphProto graph)
    {
        var read = graph.Node.SelectMany(n => n.Input).Concat(graph.Output.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        var unused = graph.Initializer.Where(t => !read.Contains(t.Name)).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var kept = graph.Initializer.Where(t => !unused.Contains(t.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.AddRange(kept);
        var inputs = graph.Input.Where(i => !unused.Contains(i.Name)).ToList();
        graph.Input.Clear();
        graph.Input.AddRange(inputs);
    }

    /// <summary>DynamicQuantizeLinear needs opset 11; the converter writes 13 or later, so this only guards older models.</summary>
    private static void RequireOpset(ModelProto model, long minimum)
    {
        var opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx");
        if (opset is not null && opset.Version < minimum)
            throw new ModelForgeException(DiagnosticCode.DynamicInt8NothingToQuantize,
                $"dynamic int8: the model is at opset {opset.Version}; DynamicQuantizeLinear needs opset {minimum}",
                hint: $"convert the model at opset {minimum} or later (--opset)");
    }
}
