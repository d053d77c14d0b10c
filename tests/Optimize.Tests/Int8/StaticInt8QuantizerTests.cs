using System.Globalization;
using System.Text;
using Google.Protobuf;
using ModelForge.Convert;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Optimize.Int8;
using ModelForge.Model.Tensors;
using Onnx;
using Xunit.Abstractions;

namespace ModelForge.Optimize.Tests.Int8;

/// <summary>The quantizer end to end: the QDQ graph it writes (golden), a converted ResNet fixture, and its diagnostics.</summary>
public sealed class StaticInt8QuantizerTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelforge-int8-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Save(ModelProto model, string name)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    private string Output => Path.Combine(_directory, "out.onnx");

    [Theory]
    [InlineData("convnet")]
    [InlineData("squeeze_excitation")]
    public void The_qdq_graph_of_a_small_fixture_matches_its_golden_text(string fixture)
    {
        var input = Save(fixture == "convnet" ? TinyModels.ConvNet() : TinyModels.SqueezeExcitation(), fixture + ".onnx");
        Int8File.Quantize(input, Output, new Int8Options { CalibrationSamples = 8, Format = new QuantizationFormat(ActivationType.UInt8, false, "test") }, _ => { });
        GoldenFiles.Check(GraphText(ModelProto.Parser.ParseFrom(File.ReadAllBytes(Output))),
            GoldenFiles.Directory(ThisFile(), "tests", "Optimize.Tests", "Int8", "Golden"), fixture + ".int8.txt");
    }

    [Fact]
    public void A_converted_resnet_fixture_quantizes_to_int8_within_cosine_0_99_of_fp32()
    {
        var fp32 = Path.Combine(_directory, "resnet.onnx");
        using (var converted = ModelConverter.Convert(RepoPaths.Fixture("models", "resnet18_small", "model.pt"),
                   new ConvertOptions([InputSpec.Parse("x:float32[batch,3,64,64]")])))
            converted.WriteTo(fp32);
        var warnings = new List<Diagnostic>();
        var result = Int8File.Quantize(fp32, Output, new Int8Options { CalibrationSamples = 32 }, warnings.Add);
        log.WriteLine($"{result}");
        Assert.Equal(DiagnosticCode.CalibrationDataGenerated, Assert.Single(warnings).Code);
        Assert.Equal(32, result.Samples);

        var expected = OrtRuns.Run(fp32, 8, seed: 4321);
        var actual = OrtRuns.Run(Output, 8, seed: 4321);
        var cosine = OrtRuns.Cosine(expected, actual);
        log.WriteLine($"cosine {cosine:F5}");
        Assert.True(cosine >= 0.99, $"cosine {cosine}");
        var ops = OrtRuns.OptimizedOps(Output);
        Assert.Equal(20, ops.Count(op => op == "QLinearConv"));
        Assert.Contains("QLinearAdd", ops);
        Assert.Contains("QGemm", ops);
    }

    [Fact]
    public void Calibration_data_from_an_npz_is_used_and_keeps_the_output_matching()
    {
        var input = Save(TinyModels.Residual(), "residual.onnx");
        var random = new Random(5);
        var data = Path.Combine(_directory, "calibration.npz");
        Npz.Write(data, new Dictionary<string, HostTensor> { ["x"] = HostTensor.FromFloats([.. Enumerable.Range(0, 10 * 4 * 8 * 8).Select(_ => (float)random.NextDouble() * 2 - 1)], 10, 4, 8, 8) });
        var warnings = new List<Diagnostic>();
        var result = Int8File.Quantize(input, Output, new Int8Options { CalibrationData = data, Method = CalibrationMethod.Entropy }, warnings.Add);
        Assert.Empty(warnings);
        Assert.Equal(10, result.Samples);
        Assert.True(OrtRuns.Cosine(OrtRuns.Run(input, 4, 77), OrtRuns.Run(Output, 4, 77)) >= 0.99);
    }

    [Theory]
    [InlineData(CalibrationMethod.Percentile)]
    [InlineData(CalibrationMethod.Entropy)]
    public void Every_calibration_method_gives_a_model_that_matches(CalibrationMethod method)
    {
        var input = Save(TinyModels.ConvNet(), "convnet.onnx");
        Int8File.Quantize(input, Output, new Int8Options { CalibrationSamples = 16, Method = method }, _ => { });
        Assert.True(OrtRuns.Cosine(OrtRuns.Run(input, 4, 77), OrtRuns.Run(Output, 4, 77)) >= 0.99);
    }

    [Fact]
    public void External_data_in_gives_external_data_out()
    {
        var input = Path.Combine(_directory, "convnet.onnx");
        var model = TinyModels.ConvNet();
        OnnxModelFile.Write(model, input, externalData: true);
        Assert.True(File.Exists(input + ".data"));
        Int8File.Quantize(input, Output, new Int8Options { CalibrationSamples = 4 }, _ => { });
        Assert.True(File.Exists(Output + ".data"));
        Assert.True(OrtRuns.Cosine(OrtRuns.Run(Path.Combine(_directory, "convnet.onnx"), 2, 3), OrtRuns.Run(Output, 2, 3)) >= 0.99);
    }

    // ---- bad input: one MF code each, and nothing written ----

    private ModelForgeException Refused(ModelProto model, Int8Options options)
    {
        var input = Save(model, "model.onnx");
        var error = Assert.Throws<ModelForgeException>(() => Int8File.Quantize(input, Output, options, _ => { }));
        log.WriteLine(error.Message);
        Assert.False(File.Exists(Output));
        Assert.All(error.Diagnostics, d => Assert.False(string.IsNullOrEmpty(d.Hint)));
        return error;
    }

    private string CalibrationFile(string name, HostTensor tensor)
    {
        var path = Path.Combine(_directory, "data.npz");
        ModelForge.Model.Tensors.Npz.Write(path, new Dictionary<string, HostTensor> { [name] = tensor });
        return path;
    }

    private static HostTensor Floats(float value, int rows, params long[] rest) =>
        HostTensor.FromFloats(Enumerable.Repeat(value, rows * (int)rest.Aggregate(1L, (a, d) => a * d)).ToArray(), [rows, .. rest]);

    [Fact]
    public void Calibration_arrays_named_after_no_input_are_mf8001()
    {
        var error = Refused(TinyModels.Residual(), new Int8Options { CalibrationData = CalibrationFile("image", Floats(0.5f, 2, 4, 8, 8)) });
        Assert.All(error.Diagnostics, d => Assert.Equal(DiagnosticCode.CalibrationDataMismatch, d.Code));
        Assert.Contains("no array for input 'x'", error.Message);
    }

    [Fact]
    public void Calibration_arrays_of_another_shape_are_mf8001()
    {
        var error = Refused(TinyModels.Residual(), new Int8Options { CalibrationData = CalibrationFile("x", Floats(0.5f, 2, 4, 8, 9)) });
        Assert.Equal(DiagnosticCode.CalibrationDataMismatch, error.Code);
    }

    [Fact]
    public void Calibration_arrays_of_another_dtype_are_mf8001()
    {
        var error = Refused(TinyModels.Residual(), new Int8Options { CalibrationData = CalibrationFile("x", HostTensor.FromInt64s(new long[2 * 4 * 8 * 8], 2, 4, 8, 8)) });
        Assert.Equal(DiagnosticCode.CalibrationDataMismatch, error.Code);
    }

    [Fact]
    public void An_empty_calibration_set_is_mf8002()
    {
        Assert.Equal(DiagnosticCode.CalibrationDataEmpty, Refused(TinyModels.Residual(), new Int8Options { CalibrationData = CalibrationFile("x", Floats(0.5f, 0, 4, 8, 8)) }).Code);
        Assert.Equal(DiagnosticCode.CalibrationDataEmpty, Refused(TinyModels.Residual(), new Int8Options { CalibrationSamples = 0 }).Code);
    }

    [Fact]
    public void A_constant_calibration_set_is_mf8003()
    {
        var error = Refused(TinyModels.Residual(), new Int8Options { CalibrationData = CalibrationFile("x", Floats(0f, 3, 4, 8, 8)) });
        Assert.Equal(DiagnosticCode.CalibrationDataConstant, error.Code);
    }

    [Fact]
    public void Nan_or_inf_in_calibration_data_is_mf8004()
    {
        var values = Floats(0.5f, 2, 4, 8, 8);
        var data = values.Data.ToArray();
        BitConverter.TryWriteBytes(data.AsSpan(4 * 17), float.PositiveInfinity);
        var error = Refused(TinyModels.Residual(), new Int8Options { CalibrationData = CalibrationFile("x", values with { Data = data }) });
        Assert.Equal(DiagnosticCode.CalibrationDataNotFinite, error.Code);
        Assert.Contains("index 17", error.Message);
    }

    [Fact]
    public void A_model_with_no_quantizable_op_is_mf8005()
    {
        Assert.Equal(DiagnosticCode.NothingToQuantize, Refused(TinyModels.Elementwise(), new Int8Options()).Code);
    }

    [Fact]
    public void An_opset_below_13_is_mf8007()
    {
        var model = TinyModels.ConvNet();
        model.OpsetImport[0].Version = 12;
        Assert.Equal(DiagnosticCode.QuantizationOpsetTooOld, Refused(model, new Int8Options()).Code);
    }

    [Fact]
    public void A_file_that_is_not_onnx_is_mf8006()
    {
        var input = Path.Combine(_directory, "model.onnx");
        File.WriteAllText(input, "not a model");
        var error = Assert.Throws<ModelForgeException>(() => Int8File.Quantize(input, Output, new Int8Options(), _ => { }));
        Assert.Equal(DiagnosticCode.OptimizeModelUnreadable, error.Code);
    }

    /// <summary>Nodes in order as <c>op(inputs) -> outputs [attributes]</c>, then initializers as <c>name: dtype[dims]</c> (sorted).</summary>
    private static string GraphText(ModelProto model)
    {
        var text = new StringBuilder();
        foreach (var node in model.Graph.Node)
        {
            var attributes = node.Attribute.Select(a => a.Type switch
            {
                AttributeProto.Types.AttributeType.Ints => $"{a.Name}=[{string.Join(",", a.Ints)}]",
                AttributeProto.Types.AttributeType.Float => $"{a.Name}={a.F.ToString(CultureInfo.InvariantCulture)}",
                _ => $"{a.Name}={a.I}",
            });
            text.Append(CultureInfo.InvariantCulture, $"{node.OpType}({string.Join(", ", node.Input)}) -> {string.Join(", ", node.Output)}");
            text.Append(node.Attribute.Count > 0 ? $" [{string.Join(" ", attributes)}]\n" : "\n");
        }
        text.Append('\n');
        foreach (var tensor in model.Graph.Initializer.OrderBy(t => t.Name, StringComparer.Ordinal))
            text.Append(CultureInfo.InvariantCulture, $"{tensor.Name}: {(TensorProto.Types.DataType)tensor.DataType}[{string.Join(",", tensor.Dims)}]\n");
        return text.ToString();
    }

    private static string ThisFile([System.Runtime.CompilerServices.CallerFilePath] string path = "") => path;
}
