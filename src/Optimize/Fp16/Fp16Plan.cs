using ModelForge.Core.Diagnostics;
using ModelForge.Optimize.Onnx;
using Onnx;

namespace ModelForge.Optimize.Fp16;

/// <summary>
/// Which nodes of a model run in float16 under <see cref="Fp16Options"/>: shared by the converter and the overflow
/// check, so the check looks at exactly the nodes the conversion would turn to float16.
/// </summary>
internal sealed class Fp16Plan
{
    /// <summary>
    /// Ops that stay float32 whatever the block list says: quantization ops (their scales are float32 by their
    /// schema before opset 19) and ops whose float output type comes from a <c>dtype</c> attribute.
    /// </summary>
    private static readonly HashSet<string> AlwaysFloat32 =
    [
        "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "ConvInteger", "QLinearConv", "QLinearMatMul",
        "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Bernoulli", "Multinomial", "EyeLike",
    ];

    /// <summary>Ops whose first input may have any type: a float input reaches them as it is, without a Cast.</summary>
    private static readonly HashSet<string> AnyTypeFirstInput = ["Shape", "Size", "Cast"];

    /// <summary>By reference: protobuf messages compare by value, and the converter edits the nodes' inputs.</summary>
    private readonly HashSet<object> _fp16Nodes;

    private Fp16Plan(Dictionary<string, int> types, HashSet<object> fp16Nodes)
    {
        Types = types;
        _fp16Nodes = fp16Nodes;
    }

    /// <summary>Every value's element type, as far as <see cref="OnnxTypes"/> knows it.</summary>
    public Dictionary<string, int> Types { get; }

    public bool IsFloat32(string value) => Types.TryGetValue(value, out var type) && type == ElementTypes.Float;

    public bool RunsInFp16(NodeProto node) => _fp16Nodes.Contains(node);

    /// <summary>Whether the node takes its input <paramref name="index"/> in whatever precision it comes (Shape, Size, Cast).</summary>
    public static bool TakesAnyType(NodeProto node, int index) => index == 0 && AnyTypeFirstInput.Contains(node.OpType);

    /// <summary>Checks the model and the options (MF8022, MF8023) and decides every node's precision.</summary>
    public static Fp16Plan Create(ModelProto model, Fp16Options options)
    {
        RefuseSubgraphs(model.Graph);
        var blocked = CheckBlockList(model.Graph, options.BlockList);
        var nodeBlocked = options.NodeBlockList.ToHashSet(StringComparer.Ordinal);
        var besideRecurrent = TransposesInRecurrentModels(model.Graph);
        var types = OnnxTypes.Infer(model.Graph);
        bool IsFloat(string value) => types.TryGetValue(value, out var type) && type == ElementTypes.Float;
        var fp16 = model.Graph.Node.Where(node =>
                node.Domain is "" or "ai.onnx"
                && node.OpType != "Constant"
                && !blocked.Contains(node.OpType)
                && !AlwaysFloat32.Contains(node.OpType)
                && !nodeBlocked.Contains(node.Name)
                && !besideRecurrent.Contains(node)
                && (node.Input.Any(IsFloat) || node.Output.Any(IsFloat)))
            .ToHashSet<object>(ReferenceEqualityComparer.Instance);
        return new Fp16Plan(types, fp16);
    }

    /// <summary>
    /// In a model with a recurrent op (LSTM, GRU, RNN), every Transpose stays float32 as the recurrent op does: with
    /// float16 Transposes in such a graph, ONNX Runtime's CPU session setup crashes the process (a segmentation fault at
    /// ORT_ENABLE_ALL, seen on the lstm_tagger_small fixture, whose Transposes sit between the layers and around
    /// batch-first inputs; keeping only those next to an LSTM did not avoid it). A Transpose moves data and computes
    /// nothing, so float32 there costs its Casts only.
    /// </summary>
    private static HashSet<NodeProto> TransposesInRecurrentModels(GraphProto graph) =>
        graph.Node.Any(n => RecurrentOps.Contains(n.OpType))
            ? graph.Node.Where(n => n.OpType == "Transpose").ToHashSet<NodeProto>(ReferenceEqualityComparer.Instance)
            : [];

    private static readonly HashSet<string> RecurrentOps = ["LSTM", "GRU", "RNN"];

    private static void RefuseSubgraphs(GraphProto graph)
    {
        var node = graph.Node.FirstOrDefault(n => n.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0));
        if (node is not null)
            throw new ModelForgeException(DiagnosticCode.PrecisionSubgraphUnsupported,
                $"fp16: node '{node.Name}' ({node.OpType}) has a subgraph; the fp16 rewrite does not rewrite subgraphs (If, Loop, Scan)",
                hint: "keep this model in fp32 (scripted control flow becomes If/Loop nodes)");
    }

    /// <summary>The block list as a set, each entry checked to be an ONNX operator or an op type of the model (MF8022).</summary>
    private static HashSet<string> CheckBlockList(GraphProto graph, IReadOnlyCollection<string> blockList)
    {
        var modelOps = graph.Node.Select(n => n.OpType).ToHashSet(StringComparer.Ordinal);
        var unknown = blockList.Where(entry => !OnnxOperators.Names.Contains(entry) && !modelOps.Contains(entry)).ToList();
        if (unknown.Count > 0)
            throw new ModelForgeException(unknown.Select(entry => new Diagnostic(DiagnosticCode.Fp16BlockListInvalid,
                $"fp16 block list: '{entry}' is not an ONNX operator nor an op type of the model",
                Hint: $"op types are spelled as ONNX spells them (case-sensitive); did you mean '{OnnxOperators.Nearest(entry)}'?")).ToList());
        return blockList.ToHashSet(StringComparer.Ordinal);
    }
}
