using ModelForge.Ops.Tests.Infrastructure;
using Onnx;

namespace ModelForge.Ops.Tests;

/// <summary>
/// aten::scaled_dot_product_attention (PyTorch 2.6 fixtures) becomes plain ONNX ops at every opset: no contrib
/// domain, one Softmax per attention, the causal mask a Where; and the converted graph matches libtorch. With
/// <see cref="ConvertOptions.FusedAttention"/>, the cases ONNX Runtime's MultiHeadAttention computes exactly become that
/// one op, the others stay plain, and all still match libtorch.
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

    private static ModelProto Fused(string kind, string name, int opset = 17) =>
        ParityCheck.Run(FixtureCase.Load(kind, name), opset, options: o => o with { FusedAttention = true });

    [Theory]
    [InlineData("sdpa")]
    [InlineData("sdpa_scale")]
    [InlineData("sdpa_causal")]
    [InlineData("sdpa_float_mask")]
    [InlineData("sdpa_bool_mask_const")]
    [InlineData("sdpa_bool_key_padding")]
    [InlineData("sdpa_gqa")]
    [InlineData("sdpa_gqa_causal_scale")]
    public void With_fused_attention_sdpa_becomes_one_MultiHeadAttention_that_matches_libtorch(string fixture)
    {
        foreach (var opset in new[] { 13, 20 })
        {
            var model = Fused("ops", fixture, opset);
            var fused = Assert.Single(model.Graph.Node, n => n.OpType == "MultiHeadAttention");
            Assert.Equal("com.microsoft", fused.Domain);
            Assert.Contains(model.OpsetImport, o => o.Domain == "com.microsoft" && o.Version == 1);
            Assert.Equal(0, Count(model, "Softmax"));
            Assert.Equal(fixture.Contains("causal") ? 1 : 0, fused.Attribute.Single(a => a.Name == "unidirectional").I);
        }
    }

    [Theory]
    [InlineData("sdpa_3d")]            // no head dim: the fused op takes [B, H, L, E] heads
    [InlineData("sdpa_causal_cross")]  // causal with 3 queries and 6 keys: its causal mask is aligned bottom-right, PyTorch's top-left
    [InlineData("sdpa_fp16_causal")]   // float16: ONNX Runtime's CPU kernel is float32 only
    public void With_fused_attention_the_cases_it_would_compute_differently_stay_plain(string fixture)
    {
        var model = Fused("ops", fixture);
        Assert.All(model.Graph.Node, n => Assert.True(n.Domain is "" or "ai.onnx", $"{n.OpType} is in domain {n.Domain}"));
        Assert.DoesNotContain(model.OpsetImport, o => o.Domain == "com.microsoft");
        Assert.Equal(1, Count(model, "Softmax"));
    }

    [Fact]
    public void With_fused_attention_the_llama_decoder_runs_one_MultiHeadAttention_per_block_and_matches_libtorch()
    {
        var model = Fused("models", "llama_decoder_small");
        Assert.Equal(2, Count(model, "MultiHeadAttention"));
        Assert.Equal(0, Count(model, "Softmax"));
    }

    [Fact]
    public void Llama_decoder_has_one_plain_attention_per_block()
    {
        var model = ParityCheck.Run(FixtureCase.Load("models", "llama_decoder_small"), opset: 17);
        Assert.All(model.Graph.Node, n => Assert.True(n.Domain is "" or "ai.onnx", $"{n.OpType} is in domain {n.Domain}"));
        Assert.Equal(2, Count(model, "Softmax"));
    }
}
