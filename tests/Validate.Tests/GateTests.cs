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

    private string Convert(string model, IReadOnlyList<InputSpec> inputs, string name)
    {
        var path = Path.Combine(_directory, name + ".onnx");
        using var result = ModelConverter.Convert(model, new ConvertOptions(inputs));
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
