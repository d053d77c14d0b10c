using Onnx;

namespace ModelForge.Cli.Tests;

/// <summary>
/// <c>modelforge optimize --precision int8 --sensitivity</c> on fixtures/optimize/fragile_layer, a CNN whose conv3 reads
/// an activation with a huge outlier channel: the command keeps that conv float and says why, or fails the gate (MF8040).
/// </summary>
public sealed class OptimizeSensitivityTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelforge-optimize-sensitivity-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Output => Path.Combine(_directory, "out.onnx");

    private string Converted()
    {
        var path = Path.Combine(_directory, "fragile.onnx");
        var (exitCode, _, stderr) = CliRunner.Run("convert", RepoPaths.Fixture("optimize", "fragile_layer", "model.pt"), "--input", "x:float32[batch,3,16,16]", "-o", path);
        Assert.True(exitCode == 0, stderr);
        return path;
    }

    [Fact]
    public void Sensitivity_keeps_the_fragile_conv_float_prints_why_and_writes_the_model()
    {
        var (exitCode, stdout, stderr) = CliRunner.Run("optimize", Converted(), "--precision", "int8", "--calibration-samples", "16", "--sensitivity", "-o", Output);

        Assert.True(exitCode == 0, stderr);
        Assert.Contains("sensitivity: full int8 against fp32: cosine", stdout);
        Assert.Contains("  kept float: /conv3/Conv (Conv): SQNR ", stdout);
        Assert.Contains("sensitivity: 1 node(s) kept float", stdout);
        Assert.Contains("; passes: cosine", stdout);
        Assert.Contains("int8: ", stdout);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Output));
        var conv3 = model.Graph.Node.Single(n => n.Name == "/conv3/Conv");
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType == "QuantizeLinear" && n.Input[0] == conv3.Input[0]);
        Assert.Equal(3, model.Graph.Node.Count(n => n.OpType == "Conv" && n.Input[1].EndsWith("_dequantized", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_budget_of_no_float_node_fails_the_gate_with_mf8040_exit_1_naming_the_offender_and_writes_nothing()
    {
        var (exitCode, stdout, stderr) = CliRunner.Run("optimize", Converted(), "--precision", "int8", "--calibration-samples", "16", "--sensitivity",
            "--max-float-nodes", "0", "-o", Output);

        Assert.Equal(1, exitCode);
        Assert.Contains("; fails: cosine", stdout);
        Assert.Contains("error MF8040", stderr);
        Assert.Contains("hint: the next offenders are /conv3/Conv (Conv", stderr);
        Assert.False(File.Exists(Output));
    }

    [Fact]
    public void Sensitivity_options_that_do_not_fit_are_mf8008()
    {
        var missing = Path.Combine(_directory, "missing.onnx");
        var (exitCode, _, stderr) = CliRunner.Run("optimize", missing, "--precision", "fp16", "--sensitivity");
        Assert.Equal(2, exitCode);
        Assert.Contains("error MF8008: --sensitivity do not apply to --precision fp16", stderr);

        (exitCode, _, stderr) = CliRunner.Run("optimize", missing, "--precision", "int8", "--max-float-nodes", "2");
        Assert.Equal(2, exitCode);
        Assert.Contains("error MF8008: --max-float-nodes need --sensitivity", stderr);

        (exitCode, _, stderr) = CliRunner.Run("optimize", missing, "--precision", "int8", "--sensitivity", "--sensitivity-seconds", "-1");
        Assert.Equal(2, exitCode);
        Assert.Contains("cannot be below 0", stderr);

        (exitCode, _, stderr) = CliRunner.Run("optimize", missing, "--precision", "int8", "--sensitivity", "--min-cosine", "1.5");
        Assert.Equal(2, exitCode);
        Assert.Contains("error MF8026: quantization threshold min cosine = 1.5 is outside [-1, 1]", stderr);
    }

    [Fact]
    public void Lower_thresholds_on_the_command_line_let_the_full_int8_model_pass_with_nothing_kept_float()
    {
        var (exitCode, stdout, stderr) = CliRunner.Run("optimize", Converted(), "--precision", "int8", "--calibration-samples", "16", "--sensitivity",
            "--min-cosine", "0.98", "--min-sqnr", "15", "-o", Output);

        Assert.True(exitCode == 0, stderr);
        Assert.Contains("(passes)", stdout);
        Assert.Contains("sensitivity: 0 node(s) kept float, 1 int8 variants measured", stdout);
        Assert.True(File.Exists(Output));
    }
}
