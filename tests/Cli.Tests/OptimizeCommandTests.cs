using Microsoft.ML.OnnxRuntime;
using ModelForge.Model.Tensors;
using ModelForge.Optimize.Int8;
using Onnx;

namespace ModelForge.Cli.Tests;

/// <summary><c>modelforge optimize</c> end to end on the converted ResNet fixture: int8 and fp32 outputs, and the diagnostics users see.</summary>
public sealed class OptimizeCommandTests : IDisposable
{
    private readonly ResNetWorkspace _workspace = new("modelforge-optimize-");

    public void Dispose() => _workspace.Dispose();

    private string Output => _workspace.PathOf("out.onnx");

    [Fact]
    public void Int8_writes_a_qdq_model_onnx_runtime_runs_and_says_which_format_and_why()
    {
        var onnx = _workspace.Converted();
        var (exitCode, stdout, stderr) = CliRunner.Run("optimize", onnx, "--precision", "int8", "--calibration-samples", "8", "-o", Output);

        Assert.True(exitCode == 0, stderr);
        Assert.Contains("int8: ", stdout);
        Assert.Contains("from 8 generated samples by minmax", stdout);
        Assert.Contains("int8 format: uint8 activations", stdout);
        Assert.Contains("warning MF8009", stderr);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Output));
        Assert.Equal("ModelForge", model.ProducerName);
        Assert.Contains(model.Graph.Node, n => n.OpType == "QuantizeLinear");
        using var session = new InferenceSession(Output);
        Assert.Equal("x", Assert.Single(session.InputMetadata).Key);
    }

    [Fact]
    public void Calibration_data_from_an_npz_leaves_no_warning()
    {
        var onnx = _workspace.Converted();
        var data = _workspace.PathOf("calibration.npz");
        var random = new Random(3);
        Npz.Write(data, new Dictionary<string, HostTensor> { ["x"] = HostTensor.FromFloats([.. Enumerable.Range(0, 6 * 3 * 64 * 64).Select(_ => (float)random.NextDouble())], 6, 3, 64, 64) });
        var (exitCode, stdout, stderr) = CliRunner.Run("optimize", onnx, "--precision", "int8", "--calibration", data, "--calibration-method", "percentile", "-o", Output);

        Assert.True(exitCode == 0, stderr);
        Assert.Contains($"from {data} by percentile", stdout);
        Assert.DoesNotContain("MF8009", stderr);
    }

    [Fact]
    public void Fp32_writes_the_model_unchanged_next_to_it_by_default()
    {
        var onnx = _workspace.Converted();
        var (exitCode, stdout, stderr) = CliRunner.Run("optimize", onnx);

        Assert.True(exitCode == 0, stderr);
        Assert.Contains("(fp32, unchanged)", stdout);
        Assert.Equal(ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnx)), ModelProto.Parser.ParseFrom(File.ReadAllBytes(_workspace.PathOf("resnet.fp32.onnx"))));
    }

    [Fact]
    public void Calibration_data_that_does_not_fit_the_model_is_mf8001_exit_2_and_nothing_is_written()
    {
        var onnx = _workspace.Converted();
        var data = _workspace.PathOf("calibration.npz");
        Npz.Write(data, new Dictionary<string, HostTensor> { ["image"] = HostTensor.FromFloats(new float[2 * 3 * 64 * 64], 2, 3, 64, 64) });
        var (exitCode, _, stderr) = CliRunner.Run("optimize", onnx, "--precision", "int8", "--calibration", data, "-o", Output);

        Assert.Equal(2, exitCode);
        Assert.Contains("error MF8001", stderr);
        Assert.Contains("hint:", stderr);
        Assert.False(File.Exists(Output));
    }

    [Fact]
    public void Calibration_options_without_int8_are_mf8008()
    {
        var (exitCode, _, stderr) = CliRunner.Run("optimize", _workspace.PathOf("missing.onnx"), "--calibration-samples", "8", "--keep-float", "Add");

        Assert.Equal(2, exitCode);
        Assert.Contains("error MF8008", stderr);
        Assert.Contains("--calibration-samples, --keep-float do not apply to --precision fp32", stderr);
    }

    [Fact]
    public void Fp16_writes_float16_weights_keeps_the_float32_signature_and_stays_close_to_fp32()
    {
        var onnx = _workspace.Converted();
        var (exitCode, stdout, stderr) = CliRunner.Run("optimize", onnx, "--precision", "fp16", "--keep-float", "GlobalAveragePool", "-o", Output);

        Assert.True(exitCode == 0, stderr);
        Assert.Contains("(fp16: ", stdout);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Output));
        Assert.Contains(model.Graph.Initializer, t => t.DataType == (int)TensorProto.Types.DataType.Float16);
        Assert.True(new FileInfo(Output).Length < 0.6 * new FileInfo(onnx).Length);
        var (reference, candidate) = (RunOnes(onnx), RunOnes(Output));
        Assert.Equal(reference.Length, candidate.Length);
        for (var i = 0; i < reference.Length; i++) Assert.True(Math.Abs(reference[i] - candidate[i]) <= 1e-2 + 1e-2 * Math.Abs(reference[i]), $"output {i}: {reference[i]} vs {candidate[i]}");
    }

    [Fact]
    public void Fp16_calibration_data_beyond_float16_range_is_mf8020_and_nothing_is_written()
    {
        var onnx = _workspace.Converted();
        var data = _workspace.PathOf("calibration.npz");
        var random = new Random(5);
        Npz.Write(data, new Dictionary<string, HostTensor> { ["x"] = HostTensor.FromFloats([.. Enumerable.Range(0, 2 * 3 * 64 * 64).Select(_ => (float)(1e6 * random.NextDouble()))], 2, 3, 64, 64) });
        var (exitCode, _, stderr) = CliRunner.Run("optimize", onnx, "--precision", "fp16", "--calibration", data, "-o", Output);

        Assert.True(exitCode == 2, stderr);
        Assert.Contains("error MF8020", stderr);
        Assert.False(File.Exists(Output));
    }

    [Fact]
    public void Int8_dynamic_quantizes_the_classifier_and_runs_in_onnx_runtime()
    {
        var onnx = _workspace.Converted();
        var (exitCode, stdout, stderr) = CliRunner.Run("optimize", onnx, "--precision", "int8-dynamic", "-o", Output);

        Assert.True(exitCode == 0, stderr);
        Assert.Contains("(int8-dynamic: 1 nodes quantized", stdout);
        // The weight range is chosen for this CPU and said, as for static int8.
        Assert.Contains($"int8 weights (per tensor, {(QuantizationFormat.ForThisCpu().ReduceRange ? "reduce_range: 7-bit" : "full range")}): " +
                        QuantizationFormat.ForThisCpu().Reason, stdout);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Output));
        Assert.Contains(model.Graph.Node, n => n.OpType == "MatMulInteger");
        Assert.Equal(RunOnes(onnx).Length, RunOnes(Output).Length);
    }

    [Fact]
    public void An_output_past_the_external_data_threshold_keeps_its_weights_in_a_side_file()
    {
        var onnx = _workspace.Converted();
        var (exitCode, stdout, stderr) = CliRunner.Run("optimize", onnx, "--precision", "fp16", "--external-data-threshold", "1024", "-o", Output);

        Assert.True(exitCode == 0, stderr);
        Assert.Contains("weights in out.onnx.data", stdout);
        Assert.True(new FileInfo(Output + ".data").Length > 0);
        Assert.Equal(RunOnes(onnx).Length, RunOnes(Output).Length);
    }

    /// <summary>The model's output on a 1×3×64×64 input of 0.5s, in ONNX Runtime.</summary>
    private static float[] RunOnes(string path)
    {
        using var session = new InferenceSession(path);
        using var input = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(0.5f, 3 * 64 * 64).ToArray(), [1, 3, 64, 64]);
        using var outputs = session.Run(new RunOptions(), ["x"], [input], session.OutputNames);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    [Fact]
    public void A_missing_model_is_mf8006()
    {
        var (exitCode, _, stderr) = CliRunner.Run("optimize", _workspace.PathOf("missing.onnx"), "--precision", "int8", "-o", Output);

        Assert.Equal(2, exitCode);
        Assert.Contains("error MF8006", stderr);
    }

    [Theory]
    [InlineData("--precision", "int4")]
    [InlineData("--calibration-method", "kl")]
    public void An_unknown_choice_is_a_usage_error(string option, string value)
    {
        var (exitCode, _, stderr) = CliRunner.Run("optimize", "model.onnx", option, value);

        Assert.Equal(2, exitCode);
        Assert.Contains("MF5005", stderr);
    }
}
