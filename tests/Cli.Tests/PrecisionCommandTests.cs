using Onnx;

namespace ModelForge.Cli.Tests;

/// <summary>
/// <c>convert --precision</c> (convert, then the optimizer's rewrite, in one command) and <c>validate --precision</c>
/// (the reduced-precision gate) end to end on the ResNet fixture, with real libtorch and ONNX Runtime.
/// </summary>
public sealed class PrecisionCommandTests : IDisposable
{
    private readonly ResNetWorkspace _workspace = new("modelforge-precision-");

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public void Convert_with_int8_writes_the_quantized_model_that_validate_passes_with_int8_bars_and_fails_with_fp32_tolerances()
    {
        var output = _workspace.PathOf("model.int8.onnx");
        var (exitCode, stdout, stderr) = CliRunner.Run("convert", ResNetWorkspace.Model, "--input", ResNetWorkspace.Input, "-o", output,
            "--precision", "int8", "--calibration-samples", "16", "--range", "x:0:1");

        Assert.True(exitCode == 0, stderr);
        Assert.Contains("converted model.pt → fp32 (scratch)", stdout);
        Assert.Contains("int8: ", stdout);
        Assert.Contains(ModelProto.Parser.ParseFrom(File.ReadAllBytes(output)).Graph.Node, n => n.OpType == "QuantizeLinear");
        Assert.Equal(["model.int8.onnx"], Directory.GetFileSystemEntries(_workspace.Directory).Select(Path.GetFileName));   // the scratch folder is gone

        string[] validate = ["validate", ResNetWorkspace.Model, output, "--input", ResNetWorkspace.Input, "--range", "x:0:1", "--batch", "16"];
        var strict = CliRunner.Run(validate);
        Assert.Equal(1, strict.ExitCode);
        // Random weights give near-tied logits: int8 noise may swap a row's top class, so the top-1 bar is relaxed here.
        var (gateExit, gateOut, gateErr) = CliRunner.Run([.. validate, "--precision", "int8", "--min-top1", "0.5"]);
        Assert.True(gateExit == 0, gateOut + gateErr);
        Assert.Contains("int8: cosine ≥ 0.99, SQNR ≥ 20 dB, top-1 ≥ 50.0%", gateOut);
    }

    [Fact]
    public void Precision_bars_are_refused_without_a_reduced_precision_and_calibration_options_without_int8()
    {
        var onnx = _workspace.Converted();
        var (exitCode, _, stderr) = CliRunner.Run("validate", ResNetWorkspace.Model, onnx, "--input", ResNetWorkspace.Input, "--min-cosine", "0.9");
        Assert.Equal(2, exitCode);
        Assert.Contains("MF8008", stderr);

        var output = _workspace.PathOf("model.fp16.onnx");
        (exitCode, _, stderr) = CliRunner.Run("convert", ResNetWorkspace.Model, "--input", ResNetWorkspace.Input, "-o", output,
            "--precision", "fp16", "--calibration-method", "entropy");
        Assert.Equal(2, exitCode);
        Assert.Contains("--calibration-method do not apply to --precision fp16", stderr);
        Assert.False(File.Exists(output));
        Assert.DoesNotContain(Directory.GetDirectories(_workspace.Directory), d => Path.GetFileName(d).StartsWith(".modelforge-convert-", StringComparison.Ordinal));
    }
}
