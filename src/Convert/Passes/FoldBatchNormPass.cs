using ModelForge.Convert.IR;

namespace ModelForge.Convert.Passes;

/// <summary>
/// Folds an inference BatchNormalization into the Conv or Gemm that feeds it:
/// with s = scale / √(var + ε), W' = W·s per output channel and b' = (b − mean)·s + B. Needs float32 constants for
/// the weight, bias and all four BatchNorm inputs, and the Conv/Gemm output read by the BatchNorm alone. For Gemm the
/// BatchNorm runs on [N, C] (BatchNorm1d after Linear), the bias must be absent or of shape [C]/[1,C], and transA is
/// not allowed. A folded weight is a <see cref="ScaledWeight"/>: the archive weight and the per-channel factors, multiplied
/// chunk by chunk when the model is written, so folded weights are never resident as a whole (conversion memory with
/// folding stays that of <c>--optimize basic</c>).
/// </summary>
public sealed class FoldBatchNormPass : IGraphPass
{
    public string Name => "FoldBatchNorm";
    public OptimizeLevel Level => OptimizeLevel.All;

    public bool Run(Graph graph, PassContext context)
    {
        var changed = false;
        var consumers = graph.Consumers();
        foreach (var bn in graph.Nodes.Where(n => n.OpType == "BatchNormalization" && n.Domain.Length == 0).ToList())
        {
            if (bn.Outputs.Count != 1 || bn.Inputs.Count < 5 || PassHelpers.IntAttribute(bn, "training_mode", 0) != 0) continue;
            var producer = bn.Inputs[0]?.Producer;
            if (producer is null || producer.OpType is not ("Conv" or "Gemm") || producer.Domain.Length != 0) continue;
            if (PassHelpers.SoleConsumer(graph, consumers, producer.Outputs[0]) != bn) continue;
            if (PassHelpers.Floats(bn.Inputs[1]) is not { } gamma || PassHelpers.Floats(bn.Inputs[2]) is not { } beta ||
                PassHelpers.Floats(bn.Inputs[3]) is not { } mean || PassHelpers.Floats(bn.Inputs[4]) is not { } variance) continue;
            var epsilon = PassHelpers.FloatAttribute(bn, "epsilon", 1e-5);
            var channels = gamma.Length;
            var s = new float[channels];
            for (var c = 0; c < channels; c++) s[c] = (float)(gamma[c] / Math.Sqrt(variance[c] + (float)epsilon));
            if (!(producer.OpType == "Conv" ? FoldIntoConv(graph, producer, s, beta, mean) : FoldIntoGemm(graph, producer, s, beta, mean))) continue;
            producer.Outputs[0].Type = bn.Outputs[0].Type;
            graph.Nodes.Remove(bn);
            graph.ReplaceAllUses(bn.Outputs[0], producer.Outputs[0]);
            changed = true;
        }
        return changed;
    }

    private static bool FoldIntoConv(Graph graph, Node conv, float[] s, float[] beta, float[] mean)
    {
        var weightValue = conv.Inputs[1];
        if (weightValue?.Constant is not { ElementType: DataType.Float32 } weightData || weightData.Shape[0] != s.Length) return false;
        var bias = conv.Inputs.Count > 2 && conv.Inputs[2] is { } b ? PassHelpers.Floats(b) : new float[s.Length];
        if (bias is null || bias.Length != s.Length) return false;
        var perChannel = weightData.ElementCount / s.Length;
        SetInputs(graph, conv, weightValue, weightData with { Bytes = new ScaledWeight(weightData.Bytes, s, perChannel).Memory }, FoldedBias(bias, s, beta, mean));
        return true;
    }

    private static bool FoldIntoGemm(Graph graph, Node gemm, float[] s, float[] beta, float[] mean)
    {
        if (PassHelpers.IntAttribute(gemm, "transA", 0) != 0 || gemm.Outputs[0].Type.Shape is not { Count: 2 }) return false;
        var weightValue = gemm.Inputs[1];
        if (weightValue?.Constant is not { ElementType: DataType.Float32, Shape.Length: 2 } weightData) return false;
        var transB = PassHelpers.IntAttribute(gemm, "transB", 0) != 0;
        var n = s.Length;
        if ((transB ? weightData.Shape[0] : weightData.Shape[1]) != n) return false;
        var alpha = (float)PassHelpers.FloatAttribute(gemm, "alpha", 1);
        var gemmBeta = (float)PassHelpers.FloatAttribute(gemm, "beta", 1);
        float[]? bias = new float[n];
        if (gemm.Inputs.Count > 2 && gemm.Inputs[2] is { } c)
        {
            if (c.Constant is not { } cd || cd.ElementCount != n || cd.Shape.Length > 2 || cd.Shape.Length == 2 && cd.Shape[0] != 1) return false;
            bias = PassHelpers.Floats(c);
            if (bias is null) return false;
            for (var i = 0; i < n; i++) bias[i] *= gemmBeta;
        }
        // W' = W·(α·s) per output column: s indexes rows of W [N, K] with transB, else columns of W [K, N].
        var factors = s.Select(f => alpha * f).ToArray();
        var scaled = new ScaledWeight(weightData.Bytes, factors, transB ? weightData.Shape[1] : 1);
        gemm.Attributes.Remove("alpha");
        gemm.Attributes.Remove("beta");
        SetInputs(graph, gemm, weightValue, weightData with { Bytes = scaled.Memory }, FoldedBias(bias, s, beta, mean));
        return true;
    }

    private static ConstantData FoldedBias(float[] bias, float[] s, float[] beta, float[] mean) =>
        PassHelpers.FloatConstant(bias.Select((b, c) => (b - mean[c]) * s[c] + beta[c]).ToArray(), [s.Length]);

    private static void SetInputs(Graph graph, Node node, Value weight, ConstantData newWeight, ConstantData newBias)
    {
        node.Inputs[1] = graph.AddInitializer(weight.Name + "_bnfolded", newWeight);
        var biasValue = graph.AddInitializer(node.Name + "/bias_bnfolded", newBias);
        if (node.Inputs.Count > 2) node.Inputs[2] = biasValue;
        else node.Inputs.Add(biasValue);
    }
}
