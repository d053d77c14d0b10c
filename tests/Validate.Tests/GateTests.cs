using Google.Protobuf;
using ModelForge.Convert;
using ModelForge.Model;
using ModelForge.Validate.Reports;
using Onnx;

namespace ModelForge.Validate.Tests;

/// <summary>
/// The accuracy gate end to end on real models: libtorch runs the TorchScript, ONNX Runtime runs the converted
/// model, and every deliberately broken ONNX model fails with the culprit output named.
/// </summary>
public sealed class GateTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelforge-gate-").FullName;

    private static readonly string ResNet = RepoPaths.Fixture("models", "resnet18_small", "model.pt");
    private static readonly InputSpec ResNetInput = new("x", DataType.Float32, [Dim.Named("batch"), 3, 64, 64]);
    private static readonly string MultiIo = RepoPaths.Fixture("validate", "multi_io.pt");
    private static readonly InputSpec[] MultiIoInputs =
        [new("x", DataType.Float32, [Dim.Named("batch"), 4]), new("ids", DataType.Int64, [Dim.Named("batch"), 6])];

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Convert(string model, IReadOnlyList<InputSpec> inputs, string name, int? opset = null)
    {
        var path = Path.Combine(_directory, name + ".onnx");
        var options = new ConvertOptions(inputs);
        using var result = ModelConverter.Convert(model, opset is int version ? options with { Opset = version } : options);
        result.WriteTo(path);
        return path;
    }

    /// <summary>Loads an ONNX file, lets the test break it, and writes it next to the original.</summary>
    private string Mutate(string onnxPath, string name, Action<ModelProto> change)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnxPath));
        change(model);
        var path = Path.Combine(_directory, name + ".onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    /// <summary>Routes graph output <paramref name="output"/> through one more node that <paramref name="makeNode"/> builds.</summary>
    private static void Append(ModelProto model, string output, Func<string, string, NodeProto> makeNode, Action<ValueInfoProto>? retype = null)
    {
        var graph = model.Graph;
        var before = output + "_before_mutation";
        foreach (var node in graph.Node)
            for (var i = 0; i < node.Output.Count; i++)
                if (node.Output[i] == output) node.Output[i] = before;
        graph.Node.Add(makeNode(before, output));
        retype?.Invoke(graph.Output.Single(o => o.Name == output));
    }

    private static ValidationOutcome Validate(string model, string onnx, IReadOnlyList<InputSpec> inputs) =>
        Validator.Run(model, onnx, new ValidateOptions { Inputs = inputs, BatchSizes = [1, 3], Optional = [] });

    private static OutputComparisonAssert Failing(ValidationReport report)
    {
        Assert.False(report.Passed);
        var failed = report.Runs.Where(r => r.Status == CandidateStatus.Failed).ToList();
        Assert.NotEmpty(failed);
        return new OutputComparisonAssert(failed.SelectMany(r => r.Outputs).Where(o => !o.Passed).ToList(), failed);
    }

    private sealed record OutputComparisonAssert(IReadOnlyList<ModelForge.Validate.Compare.OutputComparison> Outputs, IReadOnlyList<CandidateRun> Runs);

    [Fact]
    public void A_correct_conversion_passes_at_every_batch_size()
    {
        var onnx = Convert(ResNet, [ResNetInput], "resnet");
        var (report, _, _) = Validate(ResNet, onnx, [ResNetInput]);
        Assert.True(report.Passed, string.Join("; ", report.Runs.Select(r => r.Reason)));
        Assert.Equal([1, 3], report.Runs.Select(r => r.BatchSize).ToArray());
        Assert.All(report.Runs, r => Assert.Equal("onnxruntime-cpu", r.Candidate.Name));
    }

    [Fact]
    public void A_model_quantized_in_PyTorch_passes_within_one_step_of_its_output_scale()
    {
        // mobilenet_v2_quantized_small differs from libtorch's int8 kernels by one output step at batch 8, seed 3: past
        // the float defaults (atol 1e-4, rtol 1e-3), within the quantized rule (docs/precision.md).
        var model = RepoPaths.Fixture("models", "mobilenet_v2_quantized_small", "model.pt");
        InputSpec[] inputs = [new("x", DataType.Float32, [Dim.Named("batch"), 3, 32, 32])];
        var onnx = Convert(model, inputs, "mobilenet_quantized");
        var (report, _, _) = Validator.Run(model, onnx, new ValidateOptions { Inputs = inputs, BatchSizes = [8], Seed = 3, Optional = [] });
        Assert.True(report.Passed, string.Join("; ", report.Runs.Select(r => r.Reason)));
        var output = Assert.Single(Assert.Single(report.Runs).Outputs);
        const double step = 0.0071931080892682076; // its spec.json's output_scale
        Assert.Equal(step * (1 + 1e-4), output.Tolerance.Atol, 1e-9);
        Assert.True(output.Statistics!.MaxAbsError > 1e-4, $"expected a one-step difference, got {output.Statistics.MaxAbsError}");
    }

    [Fact]
    public void Several_outputs_int64_inputs_and_an_integer_output_pass()
    {
        var onnx = Convert(MultiIo, MultiIoInputs, "multi");
        var (report, _, _) = Validate(MultiIo, onnx, MultiIoInputs);
        Assert.True(report.Passed, string.Join("; ", report.Runs.Select(r => r.Reason)));
        var outputs = report.Runs[0].Outputs;
        Assert.Equal(["output_0", "output_1"], outputs.Select(o => o.Output).ToArray());
        Assert.Equal(DataType.Int64, outputs[1].ExpectedType);
        Assert.Equal(0, outputs[1].Statistics!.MismatchCount);
    }

    [Fact]
    public void One_perturbed_weight_fails_and_names_the_output()
    {
        var onnx = Convert(ResNet, [ResNetInput], "resnet");
        var broken = Mutate(onnx, "perturbed", model =>
        {
            var weight = model.Graph.Initializer.Single(t => t.Name == "fc.weight");
            var bytes = weight.RawData.ToByteArray();
            BitConverter.GetBytes(BitConverter.ToSingle(bytes, 0) + 0.5f).CopyTo(bytes, 0);
            weight.RawData = ByteString.CopyFrom(bytes);
        });
        var failing = Failing(Validate(ResNet, broken, [ResNetInput]).Report);
        Assert.All(failing.Outputs, o => Assert.Equal("output", o.Output));
        Assert.Contains("differ beyond", failing.Outputs[0].FailureReason);
    }

    [Fact]
    public void Two_swapped_outputs_fail()
    {
        var onnx = Convert(MultiIo, MultiIoInputs, "multi");
        var broken = Mutate(onnx, "swapped", model =>
        {
            var outputs = model.Graph.Output.ToList();
            model.Graph.Output.Clear();
            model.Graph.Output.Add(outputs[1]);
            model.Graph.Output.Add(outputs[0]);
        });
        var failing = Failing(Validate(MultiIo, broken, MultiIoInputs).Report);
        Assert.Contains(failing.Outputs, o => o.Output == "output_1" && o.FailureReason!.Contains("dtype"));
    }

    [Fact]
    public void A_wrong_output_dtype_fails()
    {
        var onnx = Convert(ResNet, [ResNetInput], "resnet");
        var broken = Mutate(onnx, "float64", model => Append(model, "output",
            (input, output) => new NodeProto { OpType = "Cast", Name = "mutation", Input = { input }, Output = { output },
                Attribute = { new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (long)DataType.Float64 } } },
            info => info.Type.TensorType.ElemType = (int)DataType.Float64));
        var failing = Failing(Validate(ResNet, broken, [ResNetInput]).Report);
        Assert.Equal("output", failing.Outputs[0].Output);
        Assert.Contains("float64", failing.Outputs[0].FailureReason);
    }

    [Fact]
    public void Injected_NaNs_fail()
    {
        var onnx = Convert(ResNet, [ResNetInput], "resnet");
        var broken = Mutate(onnx, "nan", model =>
        {
            var bias = model.Graph.Initializer.Single(t => t.Name == "fc.bias");
            var bytes = bias.RawData.ToByteArray();
            BitConverter.GetBytes(float.NaN).CopyTo(bytes, 4);
            bias.RawData = ByteString.CopyFrom(bytes);
        });
        var failing = Failing(Validate(ResNet, broken, [ResNetInput]).Report);
        Assert.Equal("output", failing.Outputs[0].Output);
        Assert.Contains("NaN", failing.Outputs[0].FailureReason);
    }

    [Fact]
    public void A_shape_off_by_one_fails()
    {
        var onnx = Convert(ResNet, [ResNetInput], "resnet");
        var broken = Mutate(onnx, "sliced", model =>
        {
            model.Graph.Initializer.Add(Int64s("mutation_starts", 0));
            model.Graph.Initializer.Add(Int64s("mutation_ends", 9));
            model.Graph.Initializer.Add(Int64s("mutation_axes", 1));
            Append(model, "output", (input, output) => new NodeProto
            {
                OpType = "Slice", Name = "mutation", Input = { input, "mutation_starts", "mutation_ends", "mutation_axes" }, Output = { output },
            }, info => info.Type.TensorType.Shape.Dim[1].DimValue = 9);
        });
        var failing = Failing(Validate(ResNet, broken, [ResNetInput]).Report);
        Assert.Equal("output", failing.Outputs[0].Output);
        Assert.Contains("shape", failing.Outputs[0].FailureReason);
    }

    private static readonly string MaskedSelect = RepoPaths.Fixture("ops", "masked_select", "model.pt");
    private static readonly InputSpec[] MaskedSelectInputs = [new("x", DataType.Float32, [Dim.Named("batch"), 4, 5])];

    /// <summary>
    /// An output whose length depends on the data (masked_select's positive elements, as a detector's kept boxes) is
    /// compared by dtype and shape first: one element short fails naming the output and both shapes, with no
    /// elementwise figures; the same elements in another order (what score ties can do to detections,
    /// docs/validation.md) have the shape and fail on their values.
    /// </summary>
    [Fact]
    public void A_data_dependent_output_is_compared_by_shape_then_values()
    {
        var onnx = Convert(MaskedSelect, MaskedSelectInputs, "masked_select");
        var (passing, _, _) = Validate(MaskedSelect, onnx, MaskedSelectInputs);
        Assert.True(passing.Passed, string.Join("; ", passing.Runs.Select(r => r.Reason)));
        Assert.All(passing.Runs, r => Assert.True(r.Outputs[0].ExpectedShape[0] > 1, "the test needs a few positive elements"));

        string SliceOutput(string name, long start, long end, long step) => Mutate(onnx, name, model =>
        {
            model.Graph.Initializer.Add(Int64s("mutation_starts", start));
            model.Graph.Initializer.Add(Int64s("mutation_ends", end));
            model.Graph.Initializer.Add(Int64s("mutation_axes", 0));
            model.Graph.Initializer.Add(Int64s("mutation_steps", step));
            Append(model, "output_0", (input, output) => new NodeProto
            {
                OpType = "Slice", Name = "mutation", Output = { output },
                Input = { input, "mutation_starts", "mutation_ends", "mutation_axes", "mutation_steps" },
            });
        });

        var shorter = Failing(Validate(MaskedSelect, SliceOutput("one_short", 0, -1, 1), MaskedSelectInputs).Report);
        Assert.All(shorter.Outputs, o =>
        {
            Assert.Equal("output_0", o.Output);
            Assert.Equal($"shape [{o.ActualShape[0]}], expected [{o.ExpectedShape[0]}]", o.FailureReason);
            Assert.Equal(o.ExpectedShape[0] - 1, o.ActualShape[0]);
            Assert.Null(o.Statistics);
        });

        var reordered = Failing(Validate(MaskedSelect, SliceOutput("reversed", -1, long.MinValue, -1), MaskedSelectInputs).Report);
        Assert.All(reordered.Outputs, o =>
        {
            Assert.Equal("output_0", o.Output);
            Assert.Equal(o.ExpectedShape, o.ActualShape);
            Assert.Contains("differ beyond", o.FailureReason);
        });
    }

    /// <summary>
    /// Detections end to end: ModelForge's conversion of traced batched_nms (an ONNX If around NonMaxSuppression)
    /// against the native reference's torchvision substitutes, on the fixture's 24 overlapping boxes of three classes:
    /// the same boxes kept, in the same order, as torchvision saved.
    /// </summary>
    [Fact]
    public void Converted_batched_nms_passes_the_gate_with_torchvision_s_detections()
    {
        var model = RepoPaths.Fixture("torchvision", "batched_nms", "model.pt");
        InputSpec[] inputs = [InputSpec.Parse("boxes:float32[batch,4]"), InputSpec.Parse("scores:float32[batch]"), InputSpec.Parse("classes:int64[batch]")];
        string Saved(string file) => RepoPaths.Fixture("torchvision", "batched_nms", "b24", file);
        var data = inputs.Select((spec, i) => (spec.Name, Tensor: ModelForge.Model.Tensors.Npy.Read(Saved($"input_{i}.npy")))).ToDictionary(p => p.Name, p => p.Tensor);
        var (report, _, _) = Validator.Run(model, Convert(model, inputs, "batched_nms"),
            new ValidateOptions { Inputs = inputs, BatchSizes = [24], Optional = [], Data = data });
        Assert.True(report.Passed, string.Join("; ", report.Runs.Select(r => r.Reason)));
        Assert.Equal(ModelForge.Model.Tensors.Npy.Read(Saved("output_2.npy")).Shape, report.Runs[0].Outputs[2].ExpectedShape);
    }

    /// <summary>
    /// Deformable convolution end to end: ModelForge's DeformConv (opset 19) against the native reference's aten
    /// substitute of torchvision::deform_conv2d, on the DCNv2 blocks of fixtures/torchvision (with a mask; without one,
    /// stride 2, groups and offset groups) at generated inputs.
    /// </summary>
    [Theory]
    [InlineData("deform_conv2d")]
    [InlineData("deform_conv2d_groups")]
    public void Converted_deform_conv2d_passes_the_gate(string fixture)
    {
        var model = RepoPaths.Fixture("torchvision", fixture, "model.pt");
        InputSpec[] inputs = [InputSpec.Parse("x:float32[batch,4,7,7]")];

        var (report, _, _) = Validate(model, Convert(model, inputs, fixture, opset: 19), inputs);

        Assert.True(report.Passed, string.Join("; ", report.Runs.Select(r => r.Reason)));
    }

    /// <summary>
    /// The same on fixtures/validate/deform_conv2d_ops.pt (dilation, padding and stride other than 1, a 3 x 2 kernel,
    /// offset groups with and without a mask) at its saved offsets: random ones reaching past the image, and samples
    /// planted on pixels, on -1 and on the size, half inside and far away.
    /// </summary>
    [Theory]
    [InlineData("random")]
    [InlineData("edges")]
    public void Converted_deform_conv2d_passes_the_gate_at_offsets_past_the_edges(string caseName)
    {
        var model = RepoPaths.Fixture("validate", "deform_conv2d_ops.pt");
        InputSpec[] inputs = [InputSpec.Parse("x:float32[batch,4,9,8]"), InputSpec.Parse("offset_a:float32[batch,24,5,5]"),
            InputSpec.Parse("mask_a:float32[batch,12,5,5]"), InputSpec.Parse("offset_b:float32[batch,72,9,8]")];
        var arrays = ModelForge.Model.Tensors.Npz.Read(RepoPaths.Fixture("validate", "deform_conv2d_ops", caseName + ".npz"));
        var data = inputs.Select((spec, i) => (spec.Name, Tensor: arrays[$"input_{i}"])).ToDictionary(p => p.Name, p => p.Tensor);

        var (report, _, _) = Validator.Run(model, Convert(model, inputs, "deform_conv2d_ops", opset: 19),
            new ValidateOptions { Inputs = inputs, BatchSizes = [(int)data["x"].Shape[0]], Optional = [], Data = data });

        Assert.True(report.Passed, string.Join("; ", report.Runs.Select(r => r.Reason)));
        Assert.Equal(2, report.Runs[0].Outputs.Count);
    }

    [Fact]
    public void A_requested_provider_that_cannot_run_is_reported_unavailable_not_replaced()
    {
        var onnx = Convert(ResNet, [ResNetInput], "resnet");
        var (report, _, _) = Validator.Run(ResNet, onnx, new ValidateOptions
        {
            Inputs = [ResNetInput], BatchSizes = [1],
            Required = [Runtime.CandidateKind.Cpu, Runtime.CandidateKind.Cuda], Optional = [],
        });
        if (report.Passed) return; // a machine with CUDA: nothing to check here
        var cuda = Assert.Single(report.Runs, r => r.Candidate.Name == "onnxruntime-cuda");
        Assert.Equal(CandidateStatus.Unavailable, cuda.Status);
        Assert.Contains("CUDAExecutionProvider", cuda.Reason);
        Assert.Contains(report.Runs, r => r.Candidate.Name == "onnxruntime-cpu" && r.Status == CandidateStatus.Passed);
    }

    [Fact]
    public void A_malicious_archive_is_refused_before_libtorch_loads_it()
    {
        var onnx = Convert(ResNet, [ResNetInput], "resnet");
        var malicious = RepoPaths.Fixture("archives", "malicious_os_system.pt");
        var error = Assert.Throws<ModelForge.Core.Diagnostics.ModelForgeException>(
            () => Validator.Run(malicious, onnx, new ValidateOptions { Inputs = [ResNetInput], BatchSizes = [1], Optional = [] }));
        Assert.Equal(ModelForge.Core.Diagnostics.DiagnosticCode.PickleForbiddenGlobal, error.Code);
    }

    private static readonly InputSpec[] BoxInputs = [InputSpec.Parse("boxes:float32[8,4]"), InputSpec.Parse("scores:float32[8]")];

    /// <summary>
    /// libtorch alone has no torchvision::nms (its loader would end the process): the reference runs ModelForge's aten
    /// substitute instead, and torch.onnx.export's NonMaxSuppression graph is checked against it.
    /// </summary>
    [Fact]
    public void An_archive_calling_torchvisions_nms_is_validated_through_the_substitute()
    {
        var outcome = Validator.Run(RepoPaths.Fixture("validate", "nms_traced.pt"), RepoPaths.Fixture("validate", "nms_traced.onnx"),
            new ValidateOptions { Inputs = BoxInputs, BatchSizes = [1], Optional = [] });

        Assert.True(outcome.Report.Passed, string.Join("; ", outcome.Report.Runs.Select(r => $"{r.Candidate.Name}: {r.Status}")));
    }

    /// <summary>An op of a namespace nobody registered (a C++ extension that is not loaded): the same refusal, for every such op.</summary>
    [Fact]
    public void An_archive_calling_unknown_custom_ops_is_refused_with_one_MF3005_per_op()
    {
        var archive = Path.Combine(_directory, "custom_ops.pt");
        using (var source = System.IO.Compression.ZipFile.OpenRead(MultiIo))
        using (var target = System.IO.Compression.ZipFile.Open(archive, System.IO.Compression.ZipArchiveMode.Create))
            foreach (var entry in source.Entries)
            {
                using var bytes = new MemoryStream();
                using (var input = entry.Open()) input.CopyTo(bytes);
                var data = bytes.ToArray();
                if (entry.FullName.EndsWith("code/__torch__.py", StringComparison.Ordinal))
                    data = System.Text.Encoding.UTF8.GetBytes(System.Text.Encoding.UTF8.GetString(data)
                        .Replace("torch.argmax(logits, 1)", "ops.my_ops.frobnicate(ops.other_ops.twiddle(logits), 1)", StringComparison.Ordinal));
                using var output = target.CreateEntry(entry.FullName, System.IO.Compression.CompressionLevel.NoCompression).Open();
                output.Write(data);
            }

        var error = Assert.Throws<ModelForge.Core.Diagnostics.ModelForgeException>(
            () => Validator.Run(archive, Convert(MultiIo, MultiIoInputs, "multi_io"), new ValidateOptions { Inputs = MultiIoInputs, BatchSizes = [1], Optional = [] }));

        Assert.Equal(["my_ops::frobnicate", "other_ops::twiddle"], error.Diagnostics.Select(d => d.Message.Split(" calls ")[1].Split(',')[0]));
        Assert.All(error.Diagnostics, d => Assert.Equal(ModelForge.Core.Diagnostics.DiagnosticCode.ReferenceOperatorMissing, d.Code));
    }

    private static TensorProto Int64s(string name, params long[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)DataType.Int64 };
        tensor.Dims.Add(values.Length);
        tensor.Int64Data.AddRange(values);
        return tensor;
    }
}
