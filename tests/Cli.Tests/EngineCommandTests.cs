using ModelForge.Engine;

namespace ModelForge.Cli.Tests;

/// <summary><c>modelforge engine</c>: the skip path and its message, <c>--require</c>, dim ranges and the legacy <c>--profile</c>, option errors, help.</summary>
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

    [NoTensorRtFact]
    public void Dim_ranges_and_both_spellings_of_the_legacy_profile_give_the_same_profile()
    {
        const string expected = "engine: profile x:[1,3,64,64]/[8,3,64,64]/[16,3,64,64]";
        var onnx = Converted();
        foreach (var shapes in new[]
                 {
                     new[] { "--dim", "batch=1/8/16" },
                     new[] { "--profile", "x:[1,3,64,64]/[8,3,64,64]/[16,3,64,64]" },
                     new[] { "--profile", "x:1x3x64x64/8x3x64x64/16x3x64x64" },
                 })
        {
            var (exitCode, stdout, stderr) = CliRunner.Run(["engine", onnx, "--input", Input, .. shapes, "--cache", _workspace.PathOf("c")]);
            Assert.True(exitCode == 0, stdout + stderr);
            Assert.Equal(expected, Assert.Single(stdout.Split('\n'), line => line.StartsWith("engine: profile", StringComparison.Ordinal)).TrimEnd());
        }
        // MIN/MAX takes opt = max, as a spec's "dims" entry without "opt" does; --max-batch N is 1/N/N.
        Assert.Contains("engine: profile x:[1,3,64,64]/[16,3,64,64]/[16,3,64,64]",
            CliRunner.Run("engine", onnx, "--input", Input, "--dim", "batch=1/16", "--cache", _workspace.PathOf("c")).Output);
        Assert.Contains("engine: profile x:[1,3,64,64]/[16,3,64,64]/[16,3,64,64]",
            CliRunner.Run("engine", onnx, "--input", Input, "--max-batch", "16", "--cache", _workspace.PathOf("c")).Output);
    }

    [Theory]
    [InlineData("batch", "is not NAME=MIN/OPT/MAX")]
    [InlineData("=1/8/16", "is not NAME=MIN/OPT/MAX")]
    [InlineData("batch=1x8", "'1x8', which is not a positive int")]
    [InlineData("batch=0/8/16", "'0', which is not a positive int")]
    [InlineData("batch=1/2/3/4", "has 4 sizes")]
    [InlineData("batch=16/8/32", "it needs min ≤ opt ≤ max")]
    [InlineData("seq=1/8/16", "names 'seq', which is no symbolic dim of the inputs (symbolic dims: batch)")]
    public void A_bad_dim_is_MF5005_saying_what_it_takes(string value, string expected)
    {
        var (exitCode, stdout, stderr) = CliRunner.Run("engine", Converted(), "--input", Input, "--dim", value, "--cache", _workspace.PathOf("c"));
        Assert.Equal(2, exitCode);
        Assert.Equal("", stdout);
        Assert.Contains($"error MF5005: --dim '{value}' ", stderr);
        Assert.Contains(expected, stderr);
        Assert.Contains("hint: write --dim NAME=MIN/OPT/MAX with positive ints", stderr);
    }

    [Fact]
    public void A_dim_given_twice_or_beside_max_batch_is_refused()
    {
        var twice = CliRunner.Run("engine", Converted(), "--input", Input, "--dim", "batch=1/8", "--dim", "batch=1/16", "--cache", _workspace.PathOf("c"));
        Assert.Equal(2, twice.ExitCode);
        Assert.Contains("is the second --dim for 'batch'", twice.Error);
        var both = CliRunner.Run("engine", Converted(), "--input", Input, "--dim", "batch=1/8", "--max-batch", "16", "--cache", _workspace.PathOf("c"));
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("error MF5005: --max-batch 16 and the range 1/8/8 of the batch dim 'batch'", both.Error);
    }

    [Theory]
    [InlineData("--profile", "x:1x3x64x64/8x3x64x64", "MF6002")]
    [InlineData("--profile", "x:[1,3,64,64]/[8,3,64,64]", "MF6002")]
    [InlineData("--profile", "x:[1,3,64,64]/[8,3,64,64]/[8;3,64,64]", "MF6002")]
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
        foreach (var option in new[] { "--input", "--precision", "--dim", "--max-batch", "--workspace-mb", "--builder-level", "--no-timing-cache", "--all-on-tensorrt", "--cache", "--require" })
            Assert.Contains(option, stdout);
        Assert.Contains("NAME=MIN/OPT/MAX", stdout);
    }
}
