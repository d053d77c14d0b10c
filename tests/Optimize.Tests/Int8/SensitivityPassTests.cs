using Google.Protobuf;
using ModelForge.Convert;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Model.Tensors;
using ModelForge.Optimize.Int8;
using ModelForge.Validate.Compare;
using ModelForge.Validate.Reference;
using ModelForge.Validate.Runtime;
using Onnx;
using Xunit.Abstractions;

namespace ModelForge.Optimize.Tests.Int8;

/// <summary>
/// The sensitivity pass in real ONNX Runtime: on fixtures/optimize/fragile_layer (one conv reads an activation with a
/// huge outlier channel) it must keep exactly that conv float; the greedy order and the budget on a hand-built model
/// with two outliers of different size.
/// </summary>
public sealed class SensitivityPassTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelforge-sensitivity-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static readonly Int8Options Calibration = new() { CalibrationSamples = 16, Format = new QuantizationFormat(ActivationType.UInt8, false, "test") };

    /// <summary>The fragile fixture converted to fp32 ONNX; conv3 is the Conv that reads conv2's outlier channel.</summary>
    private (ModelProto Model, string Path, string Conv3) FragileCnn()
    {
        var path = Path.Combine(_directory, "fragile_layer.onnx");
        using (var converted = ModelConverter.Convert(RepoPaths.Fixture("optimize", "fragile_layer", "model.pt"),
                   new ConvertOptions([InputSpec.Parse("x:float32[batch,3,16,16]")])))
            converted.WriteTo(path);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var conv3 = model.Graph.Node.Single(n => n.OpType == "Conv" && n.Input[1].Contains("conv3", StringComparison.Ordinal)).Name;
        return (model, path, conv3);
    }

    private SensitivityRequest Request(ModelProto model, string path, QuantizationThresholds thresholds)
    {
        var inputs = TestModels.Samples(6, 2, model.Graph.Input[0].Type.TensorType.Shape.Dim[1].DimValue, 16, 16);
        using var fp32 = OrtCandidate.TryCreate(CandidateKind.Cpu, path, out _)!;
        var references = inputs.Select(fp32.Run).ToList();
        var calibration = StaticInt8Quantizer.Calibrate(model, path, Calibration, _ => { });
        return new SensitivityRequest(model, path, calibration, inputs, references, thresholds);
    }

    private void Log(SensitivityResult result)
    {
        log.WriteLine($"full int8: {result.FullInt8.Worst}; final: {result.Final.Worst}; {result.Trials} trials in {result.Elapsed.TotalSeconds:F2} s");
        foreach (var node in result.Ranking) log.WriteLine($"  alone float {node.Node}: {node.Accuracy.Worst}");
        foreach (var node in result.KeptFloat) log.WriteLine($"  kept float {node}");
    }

    [Fact]
    public void The_pass_keeps_exactly_the_fragile_conv_float_and_then_passes_the_int8_thresholds()
    {
        var (model, path, conv3) = FragileCnn();
        var before = model.ToByteArray();
        var result = SensitivityPass.Run(Request(model, path, QuantizationThresholds.Int8));
        Log(result);

        Assert.False(result.FullInt8.Passes);
        Assert.True(result.Passed);
        Assert.Null(result.Failure);
        Assert.True(result.Final.Passes, string.Join("; ", result.Final.Failures));
        var kept = Assert.Single(result.KeptFloat);
        Assert.Equal(conv3, kept.Node);
        Assert.Equal("Conv", kept.OpType);
        Assert.True(kept.After.Score > kept.Before.Score);
        Assert.Equal(conv3, result.Ranking[0].Node);
        Assert.Equal(1 + result.Ranking.Count, result.Trials); // the ranking's best trial is reused as the kept model
        // Every other quantizable node stays int8; the fp32 model given is not changed.
        Assert.Equal(QdqPlan.For(model.Graph).QuantizedNodes.Count - 1, result.Int8.QuantizedNodes);
        Assert.Equal(before, model.ToByteArray());
    }

    [Fact]
    public void With_native_libtorch_outputs_as_the_reference_the_pass_keeps_the_same_conv_float()
    {
        var (model, path, conv3) = FragileCnn();
        var onnxReference = Request(model, path, QuantizationThresholds.Int8);
        using var libtorch = new TorchScriptReference(RepoPaths.Fixture("optimize", "fragile_layer", "model.pt"));
        var result = SensitivityPass.Run(onnxReference with { ReferenceOutputs = onnxReference.Inputs.Select(libtorch.Run).ToList() });
        Log(result);

        Assert.True(result.Passed);
        Assert.Equal(conv3, Assert.Single(result.KeptFloat).Node);
    }

    [Fact]
    public void A_budget_of_no_float_node_fails_with_MF8040_naming_the_fragile_conv_as_the_next_offender()
    {
        var (model, path, conv3) = FragileCnn();
        var result = SensitivityPass.Run(Request(model, path, QuantizationThresholds.Int8) with { Budget = new SensitivityBudget(MaxFloatNodes: 0) });
        Log(result);

        Assert.False(result.Passed);
        Assert.Empty(result.KeptFloat);
        var failure = Assert.IsType<Diagnostic>(result.Failure);
        Assert.Equal(DiagnosticCode.SensitivityBudgetExhausted, failure.Code);
        Assert.Contains("at most 0 nodes float", failure.Message);
        Assert.Contains("cosine", failure.Message);
        Assert.StartsWith($"the next offenders are {conv3} (Conv, float: SQNR ", failure.Hint);
        Assert.Equal(result.FullInt8, result.Final);
    }

    [Fact]
    public void An_int8_model_that_already_passes_keeps_nothing_float_after_one_trial()
    {
        var (model, path, _) = FragileCnn();
        var lenient = QuantizationThresholds.Int8 with { MinCosine = -1, MinSqnrDb = null, MinTop1 = null, MinTop5 = null };
        var result = SensitivityPass.Run(Request(model, path, lenient));

        Assert.True(result.Passed);
        Assert.Empty(result.KeptFloat);
        Assert.Empty(result.Ranking);
        Assert.Equal(1, result.Trials);
    }

    [Fact]
    public void The_greedy_step_adds_the_most_helpful_node_first_and_stops_at_the_node_budget()
    {
        var model = TwoOutliers();
        var path = Path.Combine(_directory, "two_outliers.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        // Strict enough that both outliers' readers must stay float.
        var strict = new QuantizationThresholds(0.9999, 40, null, null);

        var unlimited = SensitivityPass.Run(Request(model, path, strict));
        Log(unlimited);
        Assert.True(unlimited.Passed, string.Join("; ", unlimited.Final.Failures));
        Assert.Equal(["conv_after_big", "conv_after_small"], unlimited.KeptFloat.Select(k => k.Node));
        // The one-at-a-time ranking: the big outlier's reader first; the small one's gain hides behind it (a second round finds it).
        Assert.Equal("conv_after_big", unlimited.Ranking[0].Node);
        Assert.True(unlimited.Ranking.Zip(unlimited.Ranking.Skip(1)).All(p => p.First.Accuracy.Score >= p.Second.Accuracy.Score));
        Assert.True(unlimited.Ranking.Single(r => r.Node == "conv_after_small").Accuracy.Score < unlimited.KeptFloat[0].After.Score);
        Assert.Equal(unlimited.KeptFloat[0].After, unlimited.KeptFloat[1].Before);
        Assert.True(unlimited.KeptFloat[1].After.Score > unlimited.KeptFloat[1].Before.Score);

        var one = SensitivityPass.Run(Request(model, path, strict) with { Budget = new SensitivityBudget(MaxFloatNodes: 1) });
        Assert.False(one.Passed);
        Assert.Equal("conv_after_big", Assert.Single(one.KeptFloat).Node);
        Assert.Equal(DiagnosticCode.SensitivityBudgetExhausted, one.Failure!.Code);
        Assert.StartsWith("the budget ran out before the nodes left were measured", one.Failure.Hint);
    }

    [Fact]
    public void A_time_budget_spent_before_the_ranking_stops_after_the_full_int8_trial()
    {
        var (model, path, _) = FragileCnn();
        var result = SensitivityPass.Run(Request(model, path, QuantizationThresholds.Int8) with { Budget = new SensitivityBudget(MaxTime: TimeSpan.Zero) });

        Assert.False(result.Passed);
        Assert.Equal(1, result.Trials);
        Assert.Empty(result.Ranking);
        Assert.Contains("budget: 0 s", result.Failure!.Message);
        Assert.StartsWith("the budget ran out before the nodes left were measured", result.Failure.Hint);
    }

    [Fact]
    public void Reference_outputs_that_do_not_fit_the_samples_are_MF8042()
    {
        var (model, path, _) = FragileCnn();
        var request = Request(model, path, QuantizationThresholds.Int8);
        var error = Assert.Throws<ModelForgeException>(() => SensitivityPass.Run(request with { ReferenceOutputs = request.ReferenceOutputs.Skip(1).ToList() }));
        Assert.Equal(DiagnosticCode.SensitivityDataInvalid, error.Code);
        Assert.Contains("6 evaluation samples but 5 reference output sets", error.Message);

        var wrongShape = request.ReferenceOutputs.Select(r => (IReadOnlyList<HostTensor>)[HostTensor.FromFloats(new float[10], 1, 10)]).ToList();
        error = Assert.Throws<ModelForgeException>(() => SensitivityPass.Run(request with { ReferenceOutputs = wrongShape }));
        Assert.Equal(DiagnosticCode.SensitivityDataInvalid, error.Code);
        Assert.Contains("its reference is float32[1,10]", error.Message);
    }

    [Fact]
    public void A_float_node_name_the_model_lacks_is_MF8041_listing_its_quantizable_nodes()
    {
        var (model, path, conv3) = FragileCnn();
        var calibration = StaticInt8Quantizer.Calibrate(model, path, Calibration, _ => { });
        var error = Assert.Throws<ModelForgeException>(() =>
            StaticInt8Quantizer.Apply(model.Clone(), path, calibration, new HashSet<string> { "conv_9" }));
        Assert.Equal(DiagnosticCode.FloatNodeUnknown, error.Code);
        Assert.Contains("no node named 'conv_9'", error.Message);
        Assert.Contains(conv3, error.Diagnostics[0].Hint);
    }

    [Fact]
    public void A_float_node_reads_its_unquantized_input_and_its_producer_keeps_the_Relu()
    {
        var (model, path, conv3) = FragileCnn();
        var calibration = StaticInt8Quantizer.Calibrate(model, path, Calibration, _ => { });
        var quantized = model.Clone();
        StaticInt8Quantizer.Apply(quantized, path, calibration, new HashSet<string> { conv3 });

        var node = quantized.Graph.Node.Single(n => n.Name == conv3);
        var input = node.Input[0];
        Assert.Equal(model.Graph.Node.Single(n => n.Name == conv3).Input.ToArray(), node.Input.ToArray());
        Assert.Equal("Relu", quantized.Graph.Node.Single(n => n.Output.Contains(input)).OpType);
        Assert.DoesNotContain(quantized.Graph.Node, n => n.OpType == "QuantizeLinear" && n.Input[0] == input);
    }

    /// <summary>
    /// Five 3×3 convs on 8 channels: conv_big's channel 0 is a constant 300 and conv_small's a constant 60, each read by
    /// the next conv with zero weight on that channel, so only the quantization of those two activations costs accuracy,
    /// the first much more than the second.
    /// </summary>
    private static ModelProto TwoOutliers()
    {
        var random = new Random(7);
        float[] Weights(int count, int fanIn) => [.. Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) / Math.Sqrt(fanIn)))];
        float[] ConvWeight(int inChannels, int? zeroOutChannel = null, int? zeroInChannel = null)
        {
            var values = Weights(8 * inChannels * 9, inChannels * 9);
            for (var i = 0; i < values.Length; i++)
                if (i / (inChannels * 9) == zeroOutChannel || i / 9 % inChannels == zeroInChannel) values[i] = 0;
            return values;
        }
        float[] Bias(float? channel0 = null)
        {
            var values = Weights(8, 8);
            if (channel0 is { } value) values[0] = value;
            return values;
        }
        var tiny = new TinyModels().Input("x", "batch", 3, 16, 16)
            .Constant("w1", ConvWeight(3), [8, 3, 3, 3]).Constant("b1", Bias(), [8])
            .Constant("w_big", ConvWeight(8, zeroOutChannel: 0), [8, 8, 3, 3]).Constant("b_big", Bias(300), [8])
            .Constant("w_after_big", ConvWeight(8, zeroInChannel: 0), [8, 8, 3, 3]).Constant("b_after_big", Bias(), [8])
            .Constant("w_small", ConvWeight(8, zeroOutChannel: 0), [8, 8, 3, 3]).Constant("b_small", Bias(60), [8])
            .Constant("w_after_small", ConvWeight(8, zeroInChannel: 0), [8, 8, 3, 3]).Constant("b_after_small", Bias(), [8]);
        var pads = ("pads", (object)new long[] { 1, 1, 1, 1 });
        string previous = "x";
        foreach (var layer in new[] { "1", "_big", "_after_big", "_small", "_after_small" })
        {
            tiny.Node("Conv", [previous, $"w{layer}", $"b{layer}"], $"c{layer}", pads).Node("Relu", [$"c{layer}"], $"r{layer}");
            previous = $"r{layer}";
        }
        var model = tiny.Node("GlobalAveragePool", [previous], "g").Output("g").Build();
        foreach (var node in model.Graph.Node.Where(n => n.OpType == "Conv")) node.Name = "conv" + node.Input[1][1..];
        return model;
    }
}
