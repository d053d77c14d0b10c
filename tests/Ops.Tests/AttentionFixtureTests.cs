using ModelForge.Ops.Tests.Infrastructure;
using Onnx;

namespace ModelForge.Ops.Tests;

/// <summary>
/// aten::scaled_dot_product_attention (PyTorch 2.6 fixtures) becomes plain ONNX ops at every opset: no contrib
/// domain, one Softmax per attention, the causal mask a Where; and the converted graph matches libtorch.
/// </summary>
public sealed class AttentionFixtureTests
{
    private static int Count(ModelProto model, string opType) => model.Graph.Node.Count(n => n.OpType == opType);

    [Theory]
    [InlineData(13)]
    [InlineData(17)]
    [InlineData(20)]
    public void Grouped_query_causal_sdpa_is_plain_onnx_at_every_opset(int opset)
    {
        var model = ParityCheck.Run(FixtureCase.Load("ops", "sdpa_gqa_causal_scale"), opset);
        Assert.All(model.Graph.Node, n => Assert.True(n.Domain is "" or "ai.onnx", $"{n.OpType} is in domain {n.Domain}"));
        Assert.Equal(1, Count(model, "Softmax"));
        Assert.Equal(2, Count(model, "MatMul"));
        Assert.Equal(1, Count(model, "Where"));
        Assert.Equal(2, Count(model, "Expand")); // enable_gqa: keys and values, each head repeated for its query heads
    }

    [Fact]
    public void Llama_decoder_has_one_plain_attention_per_block()
    {
        var model = ParityCheck.Run(FixtureCase.Load("models", "llama_decoder_small"), opset: 17);
        Assert.All(model.Graph.Node, n => Assert.True(n.Domain is "" or "ai.onnx", $"{n.OpType} is in domain {n.Domain}"));
        Assert.Equal(2, Count(model, "Softmax"));
    }
}
