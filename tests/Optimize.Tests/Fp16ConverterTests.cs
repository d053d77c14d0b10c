using Google.Protobuf;
using ModelForge.Core.Diagnostics;
using ModelForge.Model.Tensors;
using ModelForge.Optimize.Fp16;
using ModelForge.Optimize.Onnx;
using ModelForge.Validate.Compare;
using Onnx;

namespace ModelForge.Optimize.Tests;

[Collection(TestModelsCollection.Name)]
public sealed class Fp16ConverterTests(TestModels models)
{
    /// <summary>
    /// The precision invariant of a converted model: blocked nodes read only float32, every other node that reads
    /// floats reads only float16 (Shape and Cast read either), and each Cast crosses between the two.
    /// </summary>
    private static void AssertBoundaries(ModelProto converted, IReadOnlyCollection<string> blockList)
    {
        var types = OnnxTypes.Infer(converted.Graph);
        int? TypeOf(string value) => types.TryGetValue(value, out var t) ? t : null;
        foreach (var node in converted.Graph.Node)
        {
            var floatInputs = node.Input.Select(TypeOf).Where(t => t is ElementTypes.Float or ElementTypes.Float16).ToList();
            if (node.OpType is "Cast")
            {
                if (floatInputs.Count == 1 && node.Attribute[0].I is ElementTypes.Float or ElementTypes.Float16)
                    Assert.NotEqual(floatInputs[0], (int)node.Attribute[0].I);
                continue;
            }
            if (node.OpType is "Shape") continue;
            var expected = blockList.Contains(node.OpType) ? ElementTypes.Float : ElementTypes.Float16;
            Assert.All(floatInputs, t => Assert.True(t == expected, $"node '{node.Name}' ({node.OpType}) reads {(t == ElementTypes.Float ? "float32" : "float16")}"));
        }
    }

    [Fact]
    public void Blocked_ops_stay_float32_with_casts_at_the_boundaries()
    {
        var result = Fp16Converter.Convert(models.Vit);
        AssertBoundaries(result.Model, Fp16Options.DefaultBlockList);
        var ops = result.Model.Graph.Node.Select(n => n.OpType).ToList();
        Assert.Contains("LayerNormalization", ops);
        Assert.Contains("Softmax", ops);
        Assert.All(result.Model.Graph.Node.Where(n => n.OpType is "LayerNormalization" or "Softmax"), n => Assert.Contains(n.Name, result.Float32Nodes));
        Assert.True(result.CastsInserted > 0);
        // LayerNorm's own scale and bias stay float32; the MatMul weights become float16.
        var initializers = result.Model.Graph.Initializer.ToDictionary(i => i.Name);
        Assert.Equal(ElementTypes.Float, initializers["encoder.layers.encoder_layer_0.ln_1.weight"].DataType);
        Assert.Equal(ElementTypes.Float16, initializers["conv_proj.weight"].DataType);
    }

    [Fact]
    public void A_user_block_list_keeps_exactly_those_ops_float32()
    {
        var options = new Fp16Options { BlockList = ["Erf", "Pow"] };
        var result = Fp16Converter.Convert(models.HandwrittenLayerNorm, options);
        AssertBoundaries(result.Model, options.BlockList);
        Assert.Equal(["Erf", "Pow"], result.Model.Graph.Node.Where(n => result.Float32Nodes.Contains(n.Name)).Select(n => n.OpType).Order());
    }

    [Fact]
    public void Keep_io_types_keeps_the_float32_signature_and_without_it_the_signature_turns_float16()
    {
        var kept = Fp16Converter.Convert(models.ResNet).Model.Graph;
        Assert.Equal(ElementTypes.Float, kept.Input[0].Type.TensorType.ElemType);
        Assert.Equal(ElementTypes.Float, kept.Output[0].Type.TensorType.ElemType);
        Assert.Equal(models.ResNet.Graph.Input[0].Name, kept.Input[0].Name);
        Assert.Equal(models.ResNet.Graph.Output[0].Name, kept.Output[0].Name);
        Assert.Equal("Cast", kept.Node.First().OpType);
        Assert.Equal("Cast", kept.Node.Single(n => n.Output.Contains(kept.Output[0].Name)).OpType);

        var half = Fp16Converter.Convert(models.ResNet, new Fp16Options { KeepIoTypes = false }).Model.Graph;
        Assert.Equal(ElementTypes.Float16, half.Input[0].Type.TensorType.ElemType);
        Assert.Equal(ElementTypes.Float16, half.Output[0].Type.TensorType.ElemType);
        Assert.DoesNotContain(half.Node, n => n.OpType == "Cast");
    }

    [Theory]
    [InlineData("resnet")]
    [InlineData("vit")]
    [InlineData("layernorm")]
    public void The_fp16_model_runs_on_onnx_runtime_and_matches_fp32_within_fp16_tolerance(string which)
    {
        var (model, shape) = which switch
        {
            "resnet" => (models.ResNet, new long[] { 2, 3, 64, 64 }),
            "vit" => (models.Vit, new long[] { 2, 3, 32, 32 }),
            _ => (models.HandwrittenLayerNorm, new long[] { 2, 5, 16 }),
        };
        var samples = TestModels.Samples(4, shape);
        var reference = models.Run(model, which + "_fp32", samples);
        var fp16 = models.Run(Fp16Converter.Convert(model).Model, which + "_fp16", samples);
        var metrics = TestModels.Compare(reference, fp16);
        Assert.Empty(QuantizationThresholds.Fp16.Failures(metrics));
        // Elementwise too: float16's own tolerance (the gate's default for float16 outputs), relative to the output's scale.
        var scale = reference.SelectMany(r => r[0].ToDoubles()).Max(Math.Abs);
        for (var i = 0; i < samples.Count; i++)
            Assert.All(reference[i][0].ToDoubles().Zip(fp16[i][0].ToDoubles()), p => Assert.InRange(Math.Abs(p.First - p.Second), 0, 1e-2 * Math.Max(1, scale)));
    }

    [Fact]
    public void Recurrent_ops_and_the_transposes_of_their_model_stay_float32_and_the_model_runs_on_onnx_runtime()
    {
        // With float16 Transposes in this graph, ONNX Runtime's CPU session setup crashed the process.
        var result = Fp16Converter.Convert(models.Lstm);
        var kept = models.Lstm.Graph.Node.Where(n => n.OpType is "LSTM" or "Transpose").Select(n => n.Name).ToList();
        Assert.Contains(models.Lstm.Graph.Node, n => n.OpType == "Transpose");
        Assert.All(kept, name => Assert.Contains(name, result.Float32Nodes));

        var samples = TestModels.TokenSamples(4, 10, 2, 8);
        var reference = models.Run(models.Lstm, "lstm_fp32", samples);
        var fp16 = models.Run(result.Model, "lstm_fp16", samples);
        Assert.Empty(QuantizationThresholds.Fp16.Failures(TestModels.Compare(reference, fp16)));
    }

    [Fact]
    public void The_fp16_conv_model_is_at_most_0_51_of_the_fp32_size()
    {
        var fp32 = models.ResNet.CalculateSize();
        var fp16 = Fp16Converter.Convert(models.ResNet).Model.CalculateSize();
        Assert.InRange((double)fp16 / fp32, 0.4, 0.51);
    }

    [Fact]
    public void A_block_list_entry_that_is_no_op_type_is_MF8022_with_the_nearest_operator()
    {
        var e = Assert.Throws<ModelForgeException>(() => Fp16Converter.Convert(models.Vit, new Fp16Options { BlockList = ["softmax", "Softmax", "LayerNorm"] }));
        Assert.All(e.Diagnostics, d => Assert.Equal(DiagnosticCode.Fp16BlockListInvalid, d.Code));
        Assert.Equal(2, e.Diagnostics.Count);
        Assert.Contains("'softmax'", e.Diagnostics[0].Message);
        Assert.Contains("'Softmax'", e.Diagnostics[0].Hint);
        Assert.Contains("'LayerNormalization'", e.Diagnostics[1].Hint);
    }

    [Fact]
    public void A_weight_beyond_the_fp16_range_is_MF8021_not_clamped()
    {
        var model = HandBuilt.MatMulRelu(70000f);
        var e = Assert.Throws<ModelForgeException>(() => Fp16Converter.Convert(model));
        Assert.Equal(DiagnosticCode.Fp16InitializerOutOfRange, e.Code);
        Assert.Contains("'w' holds 70000", e.Diagnostics[0].Message);
        Assert.Contains("'matmul' (MatMul)", e.Diagnostics[0].Message);
        // Blocked, the weight stays float32 and converting succeeds.
        var blocked = Fp16Converter.Convert(model, new Fp16Options { BlockList = ["MatMul"] });
        Assert.Equal(ElementTypes.Float, blocked.Model.Graph.Initializer.Single().DataType);
    }

    [Fact]
    public void A_model_with_a_subgraph_is_refused_with_MF8023()
    {
        var branch = new GraphProto { Name = "then" };
        branch.Output.Add(HandBuilt.Float("t", 1, 4));
        branch.Node.Add(HandBuilt.Node("Identity", "then_identity", ["x"], "t"));
        var ifNode = HandBuilt.Node("If", "branch", ["cond"], "y");
        ifNode.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = branch });
        ifNode.Attribute.Add(new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = branch });
        var cond = new ValueInfoProto { Name = "cond", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = ElementTypes.Bool } } };
        var model = HandBuilt.Model([HandBuilt.Float("x", 1, 4), cond], [HandBuilt.Float("y", 1, 4)], [], ifNode);
        var e = Assert.Throws<ModelForgeException>(() => Fp16Converter.Convert(model));
        Assert.Equal(DiagnosticCode.PrecisionSubgraphUnsupported, e.Code);
        Assert.Contains("'branch' (If)", e.Diagnostics[0].Message);
    }

    [Fact]
    public void The_overflow_check_names_the_node_and_the_value_that_float16_cannot_hold()
    {
        var model = HandBuilt.MatMulRelu(1000f);
        var samples = TestModels.Samples(1, 1, 4).Select(s => (IReadOnlyList<HostTensor>)[
            HostTensor.FromFloats([100f, 100f, 100f, 100f], 1, 4)]).ToList();
        var overflow = Assert.Single(Fp16OverflowCheck.Find(model, new Fp16Options(), samples), o => o.Node == "matmul");
        Assert.Equal(("MatMul", "h", 400000.0), (overflow.OpType, overflow.Tensor, overflow.MaxMagnitude));
        var e = Assert.Throws<ModelForgeException>(() => Fp16OverflowCheck.Check(model, new Fp16Options(), samples));
        Assert.Equal(DiagnosticCode.Fp16ActivationOverflow, e.Code);
        Assert.Contains("'matmul' (MatMul) writes 'h' with magnitude up to 400000", e.Diagnostics[0].Message);
        Assert.Contains("block list", e.Diagnostics[0].Hint);

        // Small inputs stay in range; with MatMul and Relu blocked nothing runs in float16, so nothing can overflow.
        Assert.Empty(Fp16OverflowCheck.Find(model, new Fp16Options(), TestModels.Samples(2, 1, 4)));
        Assert.Empty(Fp16OverflowCheck.Find(model, new Fp16Options { BlockList = ["MatMul", "Relu"] }, samples));
    }
}
