using Microsoft.ML.OnnxRuntime;

namespace ModelForge.Cli.Tests;

/// <summary>
/// <c>modelforge convert</c> end to end: exit codes, the diagnostics users see for their mistakes, atomic and
/// deterministic output, and help text.
/// </summary>
public sealed class ConvertCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelforge-cli-").FullName;
    private static readonly string ResNet = RepoPaths.Fixture("models", "resnet18_small", "model.pt");
    private const string ResNetInput = "x:float32[batch,3,64,64]";

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Converts_a_model_to_an_onnx_file_that_onnx_runtime_loads_with_a_dynamic_batch()
    {
        var output = Path.Combine(_directory, "resnet.onnx");
        var (exitCode, stdout, stderr) = CliRunner.Run("convert", ResNet, "--input", ResNetInput, "-o", output);

        Assert.True(exitCode == 0, stderr);
        Assert.Contains("converted model.pt", stdout);
        using var session = new InferenceSession(output);
        var input = Assert.Single(session.InputMetadata);
        Assert.Equal("x", input.Key);
        Assert.Equal([-1, 3, 64, 64], input.Value.Dimensions);
        Assert.Equal("batch", input.Value.SymbolicDimensions[0]);
        Assert.Equal("output", Assert.Single(session.OutputMetadata).Key);
        Assert.Empty(Directory.GetFiles(_directory, ".*tmp*"));
    }

    [Fact]
    public void The_same_model_and_options_give_a_byte_identical_onnx_file()
    {
        var first = Path.Combine(_directory, "a.onnx");
        var second = Path.Combine(_directory, "b.onnx");
        Assert.Equal(0, CliRunner.Run("convert", ResNet, "--input", ResNetInput, "-o", first).ExitCode);
        Assert.Equal(0, CliRunner.Run("convert", ResNet, "--input", ResNetInput, "-o", second).ExitCode);
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
    }

    [Theory]
    [InlineData("none")]
    [InlineData("basic")]
    [InlineData("all")]
    public void Optimize_levels_write_models_onnx_runtime_loads(string level)
    {
        var output = Path.Combine(_directory, level + ".onnx");
        var (exitCode, stdout, stderr) = CliRunner.Run("convert", ResNet, "--input", ResNetInput, "-o", output, "--optimize", level);
        Assert.True(exitCode == 0, stderr);
        Assert.Contains($"optimize {level}", stdout);
        using var session = new InferenceSession(output);
    }

    [Fact]
    public void An_unknown_optimize_level_is_a_usage_error()
    {
        var (exitCode, _, stderr) = CliRunner.Run("convert", ResNet, "--input", ResNetInput, "-o", Path.Combine(_directory, "x.onnx"), "--optimize", "max");
        Assert.NotEqual(0, exitCode);
        Assert.Contains("max", stderr);
    }

    [Fact]
    public void External_data_goes_to_a_side_file_next_to_the_model()
    {
        var output = Path.Combine(_directory, "external.onnx");
        var (exitCode, stdout, stderr) = CliRunner.Run("convert", ResNet, "--input", ResNetInput, "-o", output, "--external-data");
        Assert.True(exitCode == 0, stderr);
        Assert.Contains("weights in external.onnx.data", stdout);
        Assert.True(new FileInfo(output + ".data").Length > new FileInfo(output).Length);
        using var session = new InferenceSession(output);
        Assert.Empty(Directory.GetFiles(_directory, ".*tmp*"));
    }

    [Fact]
    public void Fused_attention_writes_onnx_runtimes_MultiHeadAttention_that_it_runs()
    {
        var output = Path.Combine(_directory, "sdpa.onnx");
        var sdpa = RepoPaths.Fixture("ops", "sdpa_causal", "model.pt");
        string[] inputs = ["--input", "q:float32[batch,2,5,8]", "--input", "k:float32[batch,2,5,8]", "--input", "v:float32[batch,2,5,8]"];
        var (exitCode, _, stderr) = CliRunner.Run(["convert", sdpa, .. inputs, "--fused-attention", "-o", output]);

        Assert.True(exitCode == 0, stderr);
        var model = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(output));
        Assert.Single(model.Graph.Node, n => n.OpType == "MultiHeadAttention" && n.Domain == "com.microsoft");
        using var session = new InferenceSession(output);
        Assert.Equal(3, session.InputMetadata.Count);
    }

    [Fact]
    public void Output_names_and_opset_are_honoured()
    {
        var output = Path.Combine(_directory, "named.onnx");
        var (exitCode, _, stderr) = CliRunner.Run("convert", ResNet, "--input", ResNetInput, "--opset", "13", "--output-name", "logits", "-o", output);
        Assert.True(exitCode == 0, stderr);
        var model = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(output));
        Assert.Equal(13, Assert.Single(model.OpsetImport).Version);
        Assert.Equal("logits", Assert.Single(model.Graph.Output).Name);
    }

    [Fact]
    public void Every_unsupported_op_is_listed_with_its_python_source_line_and_exit_code_2()
    {
        var output = Path.Combine(_directory, "unsupported.onnx");
        var (exitCode, _, stderr) = CliRunner.Run("convert", RepoPaths.Fixture("diagnostics", "unsupported_ops.pt"), "--input", "x:float32[batch,4]", "-o", output);

        Assert.Equal(2, exitCode);
        Assert.Contains("error MF2001", stderr);
        Assert.Contains("aten::cumprod: 2 call(s)", stderr);
        Assert.Contains("aten::logcumsumexp: 1 call(s)", stderr);
        Assert.Contains("generate.py(17): forward", stderr);
        Assert.DoesNotContain("   at ModelForge", stderr); // no stack trace for a user error
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void An_lstm_with_proj_size_is_MF2040_with_its_python_line_and_exit_code_2()
    {
        var output = Path.Combine(_directory, "lstm.onnx");
        var (exitCode, _, stderr) = CliRunner.Run("convert", RepoPaths.Fixture("diagnostics", "lstm_proj_size.pt"), "--input", "x:float32[batch,5,4]", "-o", output);

        Assert.Equal(2, exitCode);
        Assert.Contains("error MF2040", stderr);
        Assert.Contains("aten::lstm got 5 weight tensors", stderr);
        Assert.Contains("generate.py(150): recurrent", stderr);
        Assert.DoesNotContain("   at ModelForge", stderr);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void A_pickle_that_names_os_system_is_refused_before_anything_runs()
    {
        var (exitCode, _, stderr) = CliRunner.Run("convert", RepoPaths.Fixture("archives", "malicious_os_system.pt"), "--input", "x:float32[1]");
        Assert.Equal(2, exitCode);
        Assert.Contains("error MF1010", stderr);
        Assert.Contains("os.system", stderr);
    }

    [Fact]
    public void A_state_dict_saved_with_torch_save_gets_a_hint_to_use_torch_jit()
    {
        var (exitCode, _, stderr) = CliRunner.Run("convert", RepoPaths.Fixture("archives", "state_dict.pt"), "--input", "x:float32[1]");
        Assert.Equal(2, exitCode);
        Assert.Contains("error MF1003", stderr);
        Assert.Contains("torch.jit.trace", stderr);
    }

    [Theory]
    [InlineData("x:float32[batch,3,64]", "MF2005")]          // wrong rank for the first conv
    [InlineData("x:float32[batch,4,64,64]", "MF2005")]       // wrong channel count
    [InlineData("x:floaty[batch,3,64,64]", "MF1030")]        // unknown dtype
    [InlineData("x float32[batch,3,64,64]", "MF1030")]       // not NAME:DTYPE[DIMS]
    [InlineData("x:float32[batch,3,-1,64]", "MF1030")]       // negative dim
    public void A_mistaken_input_spec_is_a_diagnostic_not_a_crash(string spec, string code)
    {
        var (exitCode, _, stderr) = CliRunner.Run("convert", ResNet, "--input", spec, "-o", Path.Combine(_directory, "x.onnx"));
        Assert.Equal(2, exitCode);
        Assert.Contains($"error {code}", stderr);
        Assert.Contains("hint:", stderr);
    }

    [Fact]
    public void Declaring_more_inputs_than_forward_takes_names_the_forward_signature()
    {
        var (exitCode, _, stderr) = CliRunner.Run("convert", ResNet, "--input", ResNetInput, "--input", "y:float32[3]");
        Assert.Equal(2, exitCode);
        Assert.Contains("error MF1031", stderr);
        Assert.Contains("forward(x)", stderr);
    }

    [Fact]
    public void A_missing_model_file_is_reported_as_MF1001()
    {
        var (exitCode, _, stderr) = CliRunner.Run("convert", Path.Combine(_directory, "nope.pt"), "--input", ResNetInput);
        Assert.Equal(2, exitCode);
        Assert.Contains("error MF1001", stderr);
    }

    [Fact]
    public void An_opset_outside_13_to_20_is_refused()
    {
        var (exitCode, _, stderr) = CliRunner.Run("convert", ResNet, "--input", ResNetInput, "--opset", "11");
        Assert.Equal(2, exitCode);
        Assert.Contains("error MF2003", stderr);
    }

    [Fact]
    public void Help_explains_the_input_syntax_and_the_defaults()
    {
        var (exitCode, stdout, _) = CliRunner.Run("convert", "--help");
        Assert.Equal(0, exitCode);
        Assert.Contains("NAME:DTYPE[DIMS]", stdout);
        Assert.Contains("--opset", stdout);
        Assert.Contains("--output", stdout);
    }
}
