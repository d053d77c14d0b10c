using ModelForge.Ops.Tests.Infrastructure;
using Onnx;

namespace ModelForge.Ops.Tests;

/// <summary>
/// The fusions on patterns as people write them (fixtures/models/layernorm_gelu_handwritten_small: a variance-form and a
/// BERT-form LayerNorm, exact and tanh GELU; mlp_batchnorm1d_small: Linear + BatchNorm1d): converted with the default
/// <c>--optimize all</c>, the graph holds the fused ops, and outputs match libtorch and the saved PyTorch outputs.
/// </summary>
public sealed class FusionFixtureTests
{
    private static int Count(ModelProto model, string opType, Func<NodeProto, bool>? where = null) =>
        model.Graph.Node.Count(n => n.OpType == opType && (where?.Invoke(n) ?? true));

    private static string Approximate(NodeProto gelu) => gelu.Attribute.FirstOrDefault(a => a.Name == "approximate")?.S.ToStringUtf8() ?? "none";

    [Fact]
    public void Hand_written_layernorms_fuse_at_opset_17_and_match_libtorch()
    {
        var model = ParityCheck.Run(FixtureCase.Load("models", "layernorm_gelu_handwritten_small"), opset: 17);
        Assert.Equal(2, Count(model, "LayerNormalization"));
        Assert.Equal(0, Count(model, "ReduceMean"));
        Assert.Equal(0, Count(model, "Sqrt"));
        // No Gelu op before opset 20: the GELU arithmetic stays for ONNX Runtime to fuse.
        Assert.Equal(0, Count(model, "Gelu"));
        Assert.Equal(1, Count(model, "Erf"));
        Assert.Equal(1, Count(model, "Tanh"));
    }

    [Fact]
    public void Hand_written_gelus_fuse_at_opset_20_and_match_libtorch()
    {
        var model = ParityCheck.Run(FixtureCase.Load("models", "layernorm_gelu_handwritten_small"), opset: 20);
        Assert.Equal(2, Count(model, "LayerNormalization"));
        Assert.Equal(1, Count(model, "Gelu", n => Approximate(n) == "none"));
        Assert.Equal(1, Count(model, "Gelu", n => Approximate(n) == "tanh"));
        Assert.Equal(0, Count(model, "Erf") + Count(model, "Tanh") + Count(model, "Pow"));
    }

    [Fact]
    public void Linear_batchnorm1d_folds_into_gemm_and_matches_libtorch()
    {
        var model = ParityCheck.Run(FixtureCase.Load("models", "mlp_batchnorm1d_small"), opset: 17);
        Assert.Equal(0, Count(model, "BatchNormalization"));
        Assert.Equal(2, Count(model, "Gemm"));
    }
}
