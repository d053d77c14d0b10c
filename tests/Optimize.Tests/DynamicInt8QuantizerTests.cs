using ModelForge.Core.Diagnostics;
using ModelForge.Optimize.Dynamic;
using ModelForge.Optimize.Int8;
using ModelForge.Optimize.Onnx;
using ModelForge.Runtime;
using ModelForge.Validate.Compare;
using Onnx;

namespace ModelForge.Optimize.Tests;

[Collection(TestModelsCollection.Name)]
public sealed class DynamicInt8QuantizerTests(TestModels models)
{
    private (ModelProto Model, long[] Shape) Fixture(string which) => which switch
    {
        "vit" => (models.Vit, [4, 3, 32, 32]),
        "layernorm" => (models.HandwrittenLayerNorm, [4, 5, 16]),
        _ => (models.Mlp, [4, 12]),
    };

    [Theory]
    [InlineData("vit", false)]
    [InlineData("vit", true)]
    [InlineData("layernorm", false)]
    [InlineData("mlp", false)]
    [InlineData("mlp", true)]
    public void The_int8_model_runs_on_onnx_runtime_and_matches_fp32_within_int8_tolerance(string which, bool perChannel)
    {
        var (model, shape) = Fixture(which);
        var result = DynamicInt8Quantizer.Quantize(model, new DynamicInt8Options { PerChannel = perChannel });
        Assert.NotEmpty(result.QuantizedNodes);
        var samples = TestModels.Samples(8, shape);
        var reference = models.Run(model, which + "_fp32", samples);
        var int8 = models.Run(result.Model, $"{which}_int8_{perChannel}", samples);
        var metrics = TestModels.Compare(reference, int8);
        Assert.True(metrics.Cosine >= 0.99, metrics.ToString());
    }

    [Theory]
    [InlineData("vit")]
    [InlineData("mlp")]
    public void Onnx_runtime_runs_every_quantized_matmul_on_its_integer_kernel(string which)
    {
        var (model, _) = Fixture(which);
        var result = DynamicInt8Quantizer.Quantize(model);
        var path = models.Write(result.Model, which + "_int8_kernels");
        var optimized = path + ".optimized.onnx";
        using (OrtHost.Open(new OrtSessionRequest(path, OrtFailure.CannotLoad(DiagnosticCode.CandidateFailed, path)) { OptimizedModelPath = optimized }))
        {
        }
        var ops = ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph.Node.Select(n => n.OpType).ToList();
        var integerKernels = ops.Count(op => op is "DynamicQuantizeMatMul" or "MatMulIntegerToFloat");
        Assert.Equal(result.QuantizedNodes.Count, integerKernels);
        Assert.DoesNotContain("MatMulInteger", ops);
        // What stays a float MatMul is activation × activation (attention scores), which has no constant weight.
        Assert.Equal(result.Float32Nodes.Count, ops.Count(op => op is "MatMul" or "Gemm" or "FusedMatMul" or "FusedGemm"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_lstm_becomes_ORTs_DynamicQuantizeLSTM_and_matches_fp32_within_int8_tolerance(bool perChannel)
    {
        var result = DynamicInt8Quantizer.Quantize(models.Lstm, new DynamicInt8Options { PerChannel = perChannel });
        var lstms = models.Lstm.Graph.Node.Where(n => n.OpType == "LSTM").Select(n => n.Name).ToList();
        Assert.Equal(2, lstms.Count);
        Assert.All(lstms, name => Assert.Contains(name, result.QuantizedNodes));
        var quantized = result.Model.Graph.Node.Where(n => n.OpType == "DynamicQuantizeLSTM").ToList();
        Assert.Equal(2, quantized.Count);
        Assert.All(quantized, n => Assert.Equal("com.microsoft", n.Domain));
        Assert.DoesNotContain(result.Model.Graph.Node, n => n.OpType == "LSTM");

        // Compared at the second LSTM's own output: the model's log-softmax scores share a large offset that would
        // hide an error in the recurrent layers.
        var lstmOutput = models.Lstm.Graph.Node.Last(n => n.OpType == "LSTM").Output[0];
        ModelProto WithLstmOutput(ModelProto model)
        {
            var copy = model.Clone();
            copy.Graph.Output.Insert(0, new ValueInfoProto
            {
                Name = lstmOutput,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = ElementTypes.Float } },
            });
            return copy;
        }
        var samples = TestModels.TokenSamples(8, 10, 4, 8);
        var reference = models.Run(WithLstmOutput(models.Lstm), "lstm_fp32", samples);
        var int8 = models.Run(WithLstmOutput(result.Model), $"lstm_int8_{perChannel}", samples);
        var metrics = TestModels.Compare(reference, int8);
        Assert.True(metrics.Cosine >= 0.99, metrics.ToString());
        Assert.True(metrics.Cosine < 1 - 1e-9, "the int8 LSTM computes exactly what the float one does: was it quantized?");
    }

    [Fact]
    public void Weights_become_int8_and_the_float32_weights_are_gone()
    {
        var result = DynamicInt8Quantizer.Quantize(models.Mlp, new DynamicInt8Options { Format = new QuantizationFormat(ActivationType.UInt8, false, "test") });
        Assert.Equal(["/0/Gemm", "/3/Gemm"], result.QuantizedNodes.Order());
        var initializers = result.Model.Graph.Initializer;
        Assert.DoesNotContain(initializers, i => i.Name is "0.weight_bnfolded" or "3.weight_bnfolded");
        var weight = initializers.Single(i => i.Name.StartsWith("0.weight_bnfolded_quantized", StringComparison.Ordinal));
        Assert.Equal(ElementTypes.Int8, weight.DataType);
        // Gemm's transB weight [24, 12] is stored as MatMulInteger's [K, N] = [12, 24].
        Assert.Equal([12L, 24L], weight.Dims);
        Assert.Contains(weight.RawData.Span.ToArray(), b => (sbyte)b is 127 or -127);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reduce_range_keeps_weights_within_seven_bits_and_still_matches_fp32(bool perChannel)
    {
        var format = new QuantizationFormat(ActivationType.UInt8, ReduceRange: true, "test");
        var result = DynamicInt8Quantizer.Quantize(models.Mlp, new DynamicInt8Options { PerChannel = perChannel, Format = format });
        Assert.Same(format, result.Format);
        var source = OnnxTensors.ReadFloats(models.Mlp.Graph.Initializer.Single(i => i.Name == "0.weight_bnfolded"));
        var initializers = result.Model.Graph.Initializer;
        var weight = initializers.Single(i => i.Name.StartsWith("0.weight_bnfolded_quantized", StringComparison.Ordinal));
        var values = weight.RawData.Span.ToArray().Select(b => (int)(sbyte)b).ToList();
        // ORT's quantize_dynamic(reduce_range=True): symmetric qint8 in [-64, 64], scale = max|w| / 64.
        Assert.All(values, v => Assert.InRange(v, -64, 64));
        Assert.Contains(values, v => v is 64 or -64);
        if (!perChannel)
        {
            var scale = OnnxTensors.ReadFloats(initializers.Single(i => i.Name.StartsWith("0.weight_bnfolded_scale", StringComparison.Ordinal)));
            Assert.Equal(source.Max(Math.Abs) / 64, Assert.Single(scale), 6);
        }
        var samples = TestModels.Samples(8, [4, 12]);
        var metrics = TestModels.Compare(models.Run(models.Mlp, "mlp_fp32", samples), models.Run(result.Model, $"mlp_int8_reduced_{perChannel}", samples));
        Assert.True(metrics.Cosine >= 0.99, metrics.ToString());
    }

    [Fact]
    public void Without_a_format_the_weight_range_is_chosen_for_this_cpu_as_static_int8_chooses_it()
    {
        var result = DynamicInt8Quantizer.Quantize(models.Mlp);
        Assert.Equal(QuantizationFormat.ForThisCpu(), result.Format);
        var weight = result.Model.Graph.Initializer.Single(i => i.Name.StartsWith("0.weight_bnfolded_quantized", StringComparison.Ordinal));
        Assert.Contains(weight.RawData.Span.ToArray(), b => Math.Abs((sbyte)b) == result.Format.WeightLimit);
    }

    [Fact]
    public void A_model_with_no_weight_matmul_is_MF8024()
    {
        var model = HandBuilt.Model([HandBuilt.Float("x", 1, 4)], [HandBuilt.Float("y", 1, 4)], [], HandBuilt.Node("Relu", "relu", ["x"], "y"));
        var e = Assert.Throws<ModelForgeException>(() => DynamicInt8Quantizer.Quantize(model));
        Assert.Equal(DiagnosticCode.DynamicInt8NothingToQuantize, e.Code);
        Assert.Contains("no MatMul, Gemm or LSTM node", e.Diagnostics[0].Message);
        Assert.Contains("static int8", e.Diagnostics[0].Hint);

        var activations = HandBuilt.Model([HandBuilt.Float("x", 4, 4), HandBuilt.Float("z", 4, 4)], [HandBuilt.Float("y", 4, 4)], [],
            HandBuilt.Node("MatMul", "scores", ["x", "z"], "y"));
        var e2 = Assert.Throws<ModelForgeException>(() => DynamicInt8Quantizer.Quantize(activations));
        Assert.Contains("'scores': its weight is not a constant", e2.Diagnostics[0].Message);
    }

    [Fact]
    public void Excluded_nodes_stay_float32()
    {
        var result = DynamicInt8Quantizer.Quantize(models.Mlp, new DynamicInt8Options { NodesToExclude = ["/3/Gemm"] });
        Assert.Equal(["/0/Gemm"], result.QuantizedNodes);
        Assert.Equal(("/3/Gemm", "excluded by name"), Assert.Single(result.Float32Nodes));
        Assert.Single(result.Model.Graph.Node, n => n.OpType == "Gemm");
    }
}
