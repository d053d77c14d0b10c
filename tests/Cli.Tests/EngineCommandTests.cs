using ModelForge.Engine;

namespace ModelForge.Cli.Tests;

/// <summary><c>modelforge engine</c>: the skip path and its message, <c>--require</c>, option errors, help.</summary>
public sealed class EngineCommandTests : IDisposable
{
    private readonly ResNetWorkspace _workspace = new("modelforge-engine-cli-");
    private static readonly string ResNet = ResNetWorkspace.Model;
    private const string Input = ResNetWorkspace.Input;

    public void Dispose() => _workspace.Dispose();

    private string Converted() => _workspace.Converted();

    private sealed class NoTensorRtFactAttribute : FactAttribute
    {
        public NoTensorRtFactAttribute()
        {
            if (EngineProbe.TensorRt.Available) Skip = "TensorRT is available here, so the skip path cannot be exercised";
        }
    }

    [NoTensorRtFact]
    public void Without_tensorrt_the_engine_stage_is_skipped_with_the_reason_and_exit_0()
    {
        var cache = _workspace.PathOf("cache");
        var (exitCode, stdout, stderr) = CliRunner.Run("engine", Converted(), "--input", Input, "--precision", "fp16", "--cache", cache);
        Assert.True(exitCode == 0, stdout + stderr);
        Assert.Contains($"engine: skipped ({EngineProbe.TensorRt.Reason})", stdout);
        Assert.Contains("TensorrtExecutionProvider", stdout);
        Assert.False(Directory.Exists(cache));
    }

    [NoTensorRtFact]
    public void Require_tensorrt_turns_the_skip_into_MF6001_and_exit_2()
    {
        var (exitCode, _, stderr) = CliRunner.Run("engine", Converted(), "--input", Input, "--require", "tensorrt", "--cache", _workspace.PathOf("c"));
        Assert.Equal(2, exitCode);
        Assert.Contains("error MF6001", stderr);
        Assert.Contains(EngineProbe.TensorRt.Reason!, stderr);
        Assert.Contains("hint:", stderr);
    }

    [Theory]
    [InlineData("--profile", "x:1x3x64x64/8x3x64x64", "MF6002")]
    [InlineData("--profile", "y:1x3x64x64/8x3x64x64/8x3x64x64", "MF6002")]
    [InlineData("--precision", "int8", "MF6003")]
    [InlineData("--builder-level", "7", "MF6003")]
    [InlineData("--max-batch", "0", "MF6003")]
    [InlineData("--workspace-mb", "0", "MF6003")]
    [InlineData("--require", "rocm", "MF6003")]
    public void Mistaken_options_are_diagnostics_with_exit_2(string option, string value, string code)
    {
        var (exitCode, _, stderr) = CliRunner.Run("engine", Converted(), "--input", Input, option, value, "--cache", _workspace.PathOf("c"));
        Assert.Equal(2, exitCode);
        Assert.Contains($"error {code}", stderr);
    }

    [Fact]
    public void Help_documents_every_option()
    {
        var (exitCode, stdout, _) = CliRunner.Run("engine", "--help");
        Assert.Equal(0, exitCode);
        foreach (var option in new[] { "--input", "--precision", "--profile", "--max-batch", "--workspace-mb", "--builder-level", "--no-timing-cache", "--all-on-tensorrt", "--cache", "--require" })
            Assert.Contains(option, stdout);
        Assert.Contains("NAME:MIN/OPT/MAX", stdout);
    }
}
