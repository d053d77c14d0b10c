using System.Runtime.InteropServices;
using ModelForge.Core.Diagnostics;
using ModelForge.Optimize.Int8;
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

    /// <summary>
    /// The weight range; null: <see cref="QuantizationFormat.ForThisCpu"/>, as static int8 chooses it. Activations are
    /// always uint8 here (DynamicQuantizeLinear's only type), so the choice is <see cref="QuantizationFormat.ReduceRange"/>.
    /// </summary>
    public QuantizationFormat? Format { get; init; }
}

/// <summary>What <see cref="DynamicInt8Quantizer.Quantize"/> made.</summary>
/// <param name="QuantizedNodes">The MatMul/Gemm/LSTM nodes now computed in int8, by name.</param>
/// <param name="Float32Nodes">MatMul/Gemm/LSTM nodes left float32, each with the reason.</param>
/// <param name="Format">The weight range used (<c>reduce_range</c> or full) and why.</param>
public sealed record DynamicInt8Result(ModelProto Model, IReadOnlyList<string> QuantizedNodes, IReadOnlyList<(string Node, string Reason)> Float32Nodes,
    QuantizationFormat Format);

/// <summary>
/// Dynamic int8 quantization (docs/precision.md, "int8 (dynamic)"): each MatMul or Gemm whose weight is a constant
/// float32 matrix gets int8 weights (symmetric, zero point 0, scale = max|w| / 127, per tensor or per column) and
/// activations quantized at run time (scale = max|w| / 64 with <c>reduce_range</c>, chosen per CPU as static int8 does), written in standard ONNX ops as ONNX Runtime's <c>quantize_dynamic</c> writes them:
/// <code>
/// DynamicQuantizeLinear(x) → (x_q, x_scale, x_zp)
/// MatMulInteger(x_q, w_q, x_zp, w_zp) → Cast(float) → Mul(· , Mul(x_scale, w_scale)) [→ Add(bias)]
/// </code>
/// ONNX Runtime's CPU graph optimiser fuses this pattern into its <c>DynamicQuantizeMatMul</c> contrib kernel (the
/// MLAS u8s8 integer GEMM; <c>MatMulIntegerToFloat</c> when the quantized input is shared), so the model runs ORT's
/// fastest dynamic kernel while staying plain ONNX for other runtimes. An LSTM with constant weights becomes ORT's
/// <c>com.microsoft.DynamicQuantizeLSTM</c> (ORT-only); GRU stays float32, as ORT has no dynamic int8 GRU kernel.
/// </summary>
public static class DynamicInt8Quantizer
{
    public static DynamicInt8Result Quantize(ModelProto model, DynamicInt8Options? options = null)
    {
        options ??= new DynamicInt8Options();
        OnnxTensors.RequireInlineWeights(model, "dynamic int8");
        RequireOpset(model, 11);
        var quantized = model.Clone();
        var format = options.Format ?? QuantizationFormat.ForThisCpu();
        var rewriter = new Rewriter(quantized.Graph, options, format.WeightLimit);
        var rewritten = quantized.Graph.Node.SelectMany(rewriter.Rewrite).ToList();
        if (rewriter.Done.Count == 0)
            throw new ModelForgeException(DiagnosticCode.DynamicInt8NothingToQuantize,
                rewriter.Kept.Count == 0
                    ? "dynamic int8: the model has no MatMul, Gemm or LSTM node, the only ops dynamic quantization rewrites"
                    : $"dynamic int8: no MatMul, Gemm or LSTM node has a constant float32 weight to quantize ({string.Join("; ", rewriter.Kept.Take(3).Select(k => $"'{k.Node}': {k.Reason}"))})",
                hint: "use static int8 (--precision int8) for convolutional models; dynamic int8 suits Linear-heavy models (transformers, MLPs, LSTMs)");
        quantized.Graph.Node.Clear();
        quantized.Graph.Node.AddRange(rewritten);
        RemoveUnused(quantized.Graph);
        if (rewritten.Any(n => n.Domain == MicrosoftDomain) && quantized.OpsetImport.All(o => o.Domain != MicrosoftDomain))
            quantized.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        return new DynamicInt8Result(quantized, rewriter.Done, rewriter.Kept, format);
    }

    private const string MicrosoftDomain = "com.microsoft";

    /// <summary>Rewrites one node at a time, remembering what it quantized and the activations it already quantized.</summary>
    /// <param name="weightLimit">The largest |q| of a weight: 127, or 64 with <c>reduce_range</c>.</param>
    private sealed class Rewriter(GraphProto graph, DynamicInt8Options options, int weightLimit)
    {
        private readonly Dictionary<string, int> _types = OnnxTypes.Infer(graph);
        private readonly Dictionary<string, TensorProto> _weights = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        private readonly UniqueNames _names = new(graph);
        private readonly HashSet<string> _excluded = options.NodesToExclude.ToHashSet(StringComparer.Ordinal);
        private readonly Dictionary<string, (string Value, string Scale, string ZeroPoint)> _quantizedInputs = new(StringComparer.Ordinal);

        public List<string> Done { get; } = [];
        public List<(string Node, string Reason)> Kept { get; } = [];

        /// <summary>The nodes that replace <paramref name="node"/>: itself when it is not quantized.</summary>
        public IEnumerable<NodeProto> Rewrite(NodeProto node)
        {
            if (node.OpType is not ("MatMul" or "Gemm" or "LSTM") || node.Domain is not ("" or "ai.onnx")) return [node];
            var reason = _excluded.Contains(node.Name) ? "excluded by name"
                : node.OpType == "LSTM" ? WhyNotLstm(node) : WhyNotMatMul(node);
            if (reason is not null)
            {
                Kept.Add((node.Name, reason));
                return [node];
            }
            Done.Add(node.Name);
            return node.OpType == "LSTM" ? [QuantizeLstm(node)] : QuantizeMatMul(node).ToList();
        }

        private string? WhyNotMatMul(NodeProto node)
        {
            if (!IsFloat32(node.Input[0])) return "its input is not float32";
            if (!_weights.TryGetValue(node.Input[1], out var weight)) return "its weight is not a constant";
            if (weight.DataType != ElementTypes.Float || weight.Dims.Count != 2) return "its weight is not a float32 matrix";
            if (node.OpType == "Gemm" && (Attribute(node, "transA", 0) != 0 || Attribute(node, "alpha", 1f) != 1f || Attribute(node, "beta", 1f) != 1f))
                return "Gemm with transA, alpha or beta";
            return null;
        }

        private string? WhyNotLstm(NodeProto node)
        {
            if (!IsFloat32(node.Input[0])) return "its input is not float32";
            if (!_weights.TryGetValue(node.Input[1], out var w) || !_weights.TryGetValue(node.Input[2], out var r)) return "its weights are not constants";
            if (w.DataType != ElementTypes.Float || r.DataType != ElementTypes.Float || w.Dims.Count != 3 || r.Dims.Count != 3)
                return "its weights are not float32 [directions, 4·hidden, n] tensors";
            if (Attribute(node, "layout", 0) != 0) return "LSTM with layout=1 (DynamicQuantizeLSTM takes sequence-first input only)";
            return null;
        }

        private bool IsFloat32(string value) => _types.TryGetValue(value, out var type) && type == ElementTypes.Float;

        private IEnumerable<NodeProto> QuantizeMatMul(NodeProto node)
        {
            var input = node.Input[0];
            if (!_quantizedInputs.TryGetValue(input, out var q))
            {
                q = _quantizedInputs[input] = (_names.Next($"{input}_quantized"), _names.Next($"{input}_scale"), _names.Next($"{input}_zero_point"));
                yield return Node("DynamicQuantizeLinear", _names.Next($"{input}_DynamicQuantizeLinear"), [input], [q.Value, q.Scale, q.ZeroPoint]);
            }
            var weight = _weights[node.Input[1]];
            var transposed = node.OpType == "Gemm" && Attribute(node, "transB", 0) == 1;
            // MatMulInteger takes B as [K, N], each output column one channel: Gemm's transB weight [N, K] is stored transposed.
            var (k, n) = transposed ? (weight.Dims[1], weight.Dims[0]) : (weight.Dims[0], weight.Dims[1]);
            var (weightQ, weightScale, weightZeroPoint) = AddQuantized(weight, [k, n], options.PerChannel ? [n] : [],
                transposed ? [1, 0] : [0, 1], (row, column) => options.PerChannel ? (transposed ? row : column) : 0);

            var output = node.Output[0];
            var hasBias = node.OpType == "Gemm" && node.Input.Count > 2 && node.Input[2].Length > 0;
            var integer = _names.Next($"{output}_int32");
            var asFloat = _names.Next($"{output}_int32_float");
            var scale = _names.Next($"{output}_scale");
            var scaled = hasBias ? _names.Next($"{output}_no_bias") : output;
            yield return Node("MatMulInteger", _names.Next($"{node.Name}_MatMulInteger"), [q.Value, weightQ, q.ZeroPoint, weightZeroPoint], [integer]);
            yield return Node("Mul", _names.Next($"{node.Name}_scale"), [q.Scale, weightScale], [scale]);
            var cast = Node("Cast", _names.Next($"{node.Name}_Cast"), [integer], [asFloat]);
            cast.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = ElementTypes.Float });
            yield return cast;
            yield return Node("Mul", _names.Next($"{node.Name}_rescale"), [asFloat, scale], [scaled]);
            if (hasBias) yield return Node("Add", _names.Next($"{node.Name}_bias"), [scaled, node.Input[2]], [output]);
        }

        /// <summary>
        /// LSTM → com.microsoft DynamicQuantizeLSTM, as ONNX Runtime's quantizer writes it: W [D, 4H, I] and R [D, 4H, H]
        /// quantized with one scale per direction (per gate row with <see cref="DynamicInt8Options.PerChannel"/>) and
        /// stored transposed, [D, I, 4H] and [D, H, 4H]; the other inputs and every attribute unchanged.
        /// </summary>
        private NodeProto QuantizeLstm(NodeProto node)
        {
            (string Weight, string Scale, string ZeroPoint) Quantize(TensorProto weight)
            {
                var (directions, gateRows, columns) = (weight.Dims[0], weight.Dims[1], weight.Dims[2]);
                return AddQuantized(weight, [directions, columns, gateRows], options.PerChannel ? [directions, gateRows] : [directions], [0, 2, 1],
                    (flatRow, _) => options.PerChannel ? flatRow : flatRow / (int)gateRows);
            }
            var w = Quantize(_weights[node.Input[1]]);
            var r = Quantize(_weights[node.Input[2]]);
            var quantized = Node("DynamicQuantizeLSTM", _names.Next($"{node.Name}_quant"),
                [node.Input[0], w.Weight, r.Weight, .. Enumerable.Range(3, 5).Select(i => i < node.Input.Count ? node.Input[i] : ""),
                    w.Scale, w.ZeroPoint, r.Scale, r.ZeroPoint],
                node.Output);
            quantized.Domain = MicrosoftDomain;
            quantized.Attribute.AddRange(node.Attribute);
            return quantized;
        }

        /// <summary>
        /// Quantizes <paramref name="weight"/> symmetrically to int8 (zero point 0, scale = max|w| / weightLimit per scale slot)
        /// and adds it, its scales and its zero points as initializers. <paramref name="channelOf"/> maps a source element
        /// (row of the source's last dim, column) to its scale slot; <paramref name="permutation"/> gives, for each stored
        /// dim, the source dim it comes from.
        /// </summary>
        private (string Weight, string Scale, string ZeroPoint) AddQuantized(
            TensorProto weight, long[] storedDims, long[] scaleDims, int[] permutation, Func<int, int, int> channelOf)
        {
            var values = OnnxTensors.FloatValues(weight);
            var columns = (int)weight.Dims[^1];
            var scales = new float[scaleDims.Aggregate(1L, (a, d) => a * d)];
            for (var i = 0; i < values.Length; i++)
            {
                var slot = channelOf(i / columns, i % columns);
                scales[slot] = Math.Max(scales[slot], Math.Abs(values[i]));
            }
            for (var i = 0; i < scales.Length; i++) scales[i] = scales[i] > 0 ? scales[i] / weightLimit : 1f;

            var sourceDims = weight.Dims.Select(d => (int)d).ToArray();
            var storedStrides = Strides(storedDims.Select(d => (int)d).ToArray());
            var bytes = new byte[values.Length];
            var q = MemoryMarshal.Cast<byte, sbyte>(bytes.AsSpan());
            var index = new int[sourceDims.Length];
            for (var i = 0; i < values.Length; i++)
            {
                var rest = i;
                for (var d = sourceDims.Length - 1; d >= 0; d--) { index[d] = rest % sourceDims[d]; rest /= sourceDims[d]; }
                var target = 0;
                for (var d = 0; d < permutation.Length; d++) target += index[permutation[d]] * storedStrides[d];
                var scale = scales[channelOf(i / columns, i % columns)];
                q[target] = (sbyte)Math.Clamp(Math.Round(values[i] / scale, MidpointRounding.ToEven), -weightLimit, weightLimit);
            }
            var quantizedWeight = OnnxTensors.Owning(_names.Next($"{weight.Name}_quantized"), ElementTypes.Int8, bytes, storedDims);
            var scaleTensor = OnnxTensors.Floats(_names.Next($"{weight.Name}_scale"), scales, scaleDims);
            var zeroPoint = OnnxTensors.Int8s(_names.Next($"{weight.Name}_zero_point"), new sbyte[scales.Length], scaleDims);
            graph.Initializer.Add(quantizedWeight);
            graph.Initializer.Add(scaleTensor);
            graph.Initializer.Add(zeroPoint);
            return (quantizedWeight.Name, scaleTensor.Name, zeroPoint.Name);
        }

        private static int[] Strides(int[] dims)
        {
            var strides = new int[dims.Length];
            for (int d = dims.Length - 1, stride = 1; d >= 0; stride *= dims[d], d--) strides[d] = stride;
            return strides;
        }
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
