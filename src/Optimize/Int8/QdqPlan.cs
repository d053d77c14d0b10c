using Onnx;

namespace ModelForge.Optimize.Int8;

/// <summary>A constant weight quantized per channel along <paramref name="Axis"/>.</summary>
public sealed record QuantizedWeight(string Name, int Axis);

/// <summary>A constant bias quantized to int32 with scale = input scale × weight scale (per channel).</summary>
public sealed record QuantizedBias(string Name, string Input, string Weight);

/// <summary>
/// What static int8 quantization changes in a graph, decided from the graph alone (before calibration):
/// the nodes that run in int8, the activation tensors that get a QuantizeLinear/DequantizeLinear pair (in the order
/// they first appear), groups of tensors that must share one scale, the constant weights and biases, and the Relus
/// folded into their producer (the producer writes the Relu's output; its quantized range starting at 0 does the clamp).
/// </summary>
public sealed class QdqPlan
{
    /// <summary>Ops that get int8 kernels in ONNX Runtime when wrapped in QDQ.</summary>
    public static readonly IReadOnlySet<string> ComputeOps = new HashSet<string> { "Conv", "Gemm", "MatMul", "Add", "Concat", "AveragePool", "GlobalAveragePool" };

    /// <summary>Ops that pass int8 data through unchanged when their input already is: the output shares the input's scale.</summary>
    public static readonly IReadOnlySet<string> PassThroughOps = new HashSet<string> { "MaxPool", "Flatten", "Reshape" };

    public List<int> QuantizedNodes { get; } = [];
    public List<string> Activations { get; } = [];
    public List<QuantizedWeight> Weights { get; } = [];
    public List<QuantizedBias> Biases { get; } = [];

    /// <summary>
    /// Graph outputs quantized all the same, because ORT fuses their producer only with a QuantizeLinear after it (Conv,
    /// Add, Concat, pooling; Gemm and MatMul have float-output integer kernels and are left alone): the producer writes
    /// <c>NAME_prequant</c> and the DequantizeLinear writes the graph output, so its name stays.
    /// </summary>
    public HashSet<string> QuantizedGraphOutputs { get; } = new(StringComparer.Ordinal);

    /// <summary>Indices of the nodes kept float by name (<see cref="For"/>'s <c>floatNodes</c>): they read and write float tensors.</summary>
    public HashSet<int> KeptFloat { get; } = [];

    /// <summary>Producer node index → the index of the Relu folded into it.</summary>
    public Dictionary<int, int> FoldedRelus { get; } = [];

    /// <summary>Tensor → the tensor whose scale it shares (a union-find forest; <see cref="ScaleOwner"/> finds the root).</summary>
    public Dictionary<string, string> SharedScale { get; } = new(StringComparer.Ordinal);

    public string ScaleOwner(string tensor)
    {
        while (SharedScale.TryGetValue(tensor, out var parent) && parent != tensor) tensor = parent;
        return tensor;
    }

    /// <summary>
    /// The plan for <paramref name="graph"/>. Nodes named in <paramref name="floatNodes"/> stay float: they are not
    /// quantized, read their inputs unquantized, and a quantized producer whose output only they read leaves it float
    /// (ORT then runs that producer on dequantized inputs with a float output, which is still a valid pattern).
    /// </summary>
    public static QdqPlan For(GraphProto graph, IReadOnlySet<string>? floatNodes = null)
    {
        var plan = new QdqPlan();
        if (floatNodes is { Count: > 0 })
            for (var i = 0; i < graph.Node.Count; i++)
                if (floatNodes.Contains(graph.Node[i].Name)) plan.KeptFloat.Add(i);
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var graphOutputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var consumers = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < graph.Node.Count; i++)
            foreach (var input in graph.Node[i].Input.Where(n => n.Length > 0))
                (consumers.TryGetValue(input, out var list) ? list : consumers[input] = []).Add(i);
        var floats = FloatTensors.Of(graph);
        var activations = new HashSet<string>(StringComparer.Ordinal);
        var concatInputs = graph.Node.Where(n => n.OpType == "Concat").SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);

        bool IsFloatWeight(string name, int rank) =>
            initializers.TryGetValue(name, out var t) && t.DataType == (int)TensorProto.Types.DataType.Float && (rank < 0 ? t.Dims.Count >= 3 : t.Dims.Count == rank);
        bool IsActivation(string name) => name.Length > 0 && !initializers.ContainsKey(name) && floats.Contains(name);
        void AddActivation(string name)
        {
            if (activations.Add(name)) plan.Activations.Add(name);
        }
        // The node's output, or the output of a Relu that is its only consumer (folded into it).
        string QuantizedOutput(int index)
        {
            var output = graph.Node[index].Output[0];
            if (!graphOutputs.Contains(output) && consumers.TryGetValue(output, out var users) && users.Count == 1 &&
                graph.Node[users[0]] is { OpType: "Relu" } relu && !concatInputs.Contains(relu.Output[0]))
            {
                plan.FoldedRelus[index] = users[0];
                return relu.Output[0];
            }
            return output;
        }
        void Quantize(int index, IEnumerable<string> inputs)
        {
            plan.QuantizedNodes.Add(index);
            foreach (var input in inputs) AddActivation(input);
            var output = QuantizedOutput(index);
            if (!graphOutputs.Contains(output) && consumers.TryGetValue(output, out var readers) && readers.All(plan.KeptFloat.Contains))
            {
                plan.FoldedRelus.Remove(index); // nothing quantizes the output, so the Relu must stay to clamp it
                return;
            }
            if (graphOutputs.Contains(output))
            {
                if (graph.Node[index].OpType is "Gemm" or "MatMul")
                {
                    plan.FoldedRelus.Remove(index); // the output stays float, so the Relu must stay to clamp it
                    return;
                }
                plan.QuantizedGraphOutputs.Add(output);
            }
            AddActivation(output);
        }

        for (var i = 0; i < graph.Node.Count; i++)
        {
            var node = graph.Node[i];
            var inputs = node.Input;
            if (plan.KeptFloat.Contains(i)) continue;
            switch (node.OpType)
            {
                case "Conv" when node.Domain.Length == 0 && IsActivation(inputs[0]) && IsFloatWeight(inputs[1], -1) && HasConstantBias(inputs, 2, IsFloatWeight):
                    plan.Weights.Add(new QuantizedWeight(inputs[1], 0));
                    if (inputs.Count > 2 && inputs[2].Length > 0) plan.Biases.Add(new QuantizedBias(inputs[2], inputs[0], inputs[1]));
                    Quantize(i, [inputs[0]]);
                    break;
                case "Gemm" when IsActivation(inputs[0]) && IsFloatWeight(inputs[1], 2) && HasConstantBias(inputs, 2, IsFloatWeight) &&
                                 Attribute(node, "alpha", 1f) == 1f && Attribute(node, "beta", 1f) == 1f && Attribute(node, "transA", 0) == 0:
                    plan.Weights.Add(new QuantizedWeight(inputs[1], Attribute(node, "transB", 0) == 1 ? 0 : 1));
                    if (inputs.Count > 2 && inputs[2].Length > 0) plan.Biases.Add(new QuantizedBias(inputs[2], inputs[0], inputs[1]));
                    Quantize(i, [inputs[0]]);
                    break;
                case "MatMul" when IsActivation(inputs[0]) && IsFloatWeight(inputs[1], 2):
                    plan.Weights.Add(new QuantizedWeight(inputs[1], 1));
                    Quantize(i, [inputs[0]]);
                    break;
                case "Add" when inputs.All(IsActivation):
                case "AveragePool" or "GlobalAveragePool" when IsActivation(inputs[0]):
                    Quantize(i, [.. inputs]);
                    break;
                case "Concat" when inputs.All(IsActivation):
                    Quantize(i, [.. inputs]);
                    foreach (var tensor in inputs.Append(node.Output[0])) plan.Share(tensor, node.Output[0]);
                    break;
                case var op when PassThroughOps.Contains(op) && node.Output.Count == 1 && activations.Contains(inputs[0]) && !graphOutputs.Contains(node.Output[0]):
                    Quantize(i, []);
                    plan.Share(node.Output[0], inputs[0]);
                    break;
            }
        }
        return plan;
    }

    /// <summary>Joins the scale groups of <paramref name="tensor"/> and <paramref name="other"/>.</summary>
    private void Share(string tensor, string other)
    {
        var (a, b) = (ScaleOwner(tensor), ScaleOwner(other));
        SharedScale.TryAdd(b, b);
        if (a != b) SharedScale[a] = b;
    }

    private static bool HasConstantBias(IList<string> inputs, int index, Func<string, int, bool> isFloatWeight) =>
        inputs.Count <= index || inputs[index].Length == 0 || isFloatWeight(inputs[index], 1);

    internal static long Attribute(NodeProto node, string name, long fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } attribute ? attribute.I : fallback;

    internal static float Attribute(NodeProto node, string name, float fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } attribute ? attribute.F : fallback;
}

/// <summary>
/// Which tensors of a graph hold float32: declared (graph inputs, value_info, outputs, initializers) where the model
/// says, else inferred from the producer (ops that compute floats, and ops that keep their first input's type).
/// </summary>
internal static class FloatTensors
{
    private static readonly HashSet<string> FloatResults =
        ["Conv", "Gemm", "MatMul", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization", "Sigmoid", "Tanh",
         "Softmax", "LayerNormalization", "Gelu", "Erf", "HardSigmoid", "HardSwish", "LeakyRelu", "Clip", "Sqrt", "Exp", "Log"];

    private static readonly HashSet<string> KeepsType =
        ["Add", "Sub", "Mul", "Div", "Concat", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Slice",
         "Pad", "Resize", "Split", "ReduceMean", "Max", "Min", "Neg", "Abs", "Pow"];

    public static HashSet<string> Of(GraphProto graph)
    {
        const int Float = (int)TensorProto.Types.DataType.Float;
        var declared = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var info in graph.Input.Concat(graph.ValueInfo).Concat(graph.Output))
            if (info.Type?.TensorType is { } tensor) declared[info.Name] = tensor.ElemType;
        foreach (var initializer in graph.Initializer) declared[initializer.Name] = initializer.DataType;
        var floats = declared.Where(p => p.Value == Float).Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            var isFloat = FloatResults.Contains(node.OpType) ||
                          (KeepsType.Contains(node.OpType) && node.Input.Any(floats.Contains));
            if (!isFloat) continue;
            foreach (var output in node.Output.Take(1).Where(o => !declared.ContainsKey(o))) floats.Add(output);
        }
        return floats;
    }
}
