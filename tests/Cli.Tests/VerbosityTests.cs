namespace ModelForge.Cli.Tests;

/// <summary><c>-q</c> and <c>-v</c>, accepted by every command.</summary>
public sealed class VerbosityTests : IDisposable
{
    private readonly ResNetWorkspace _workspace = new("modelforge-verbosity-");

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public void Quiet_prints_nothing_on_stdout_and_still_writes_the_model()
    {
        var path = _workspace.PathOf("quiet.onnx");

        var (exitCode, output, error) = CliRunner.Run("convert", ResNetWorkspace.Model, "--input", ResNetWorkspace.Input, "-o", path, "-q");

        Assert.True(exitCode == 0, error);
        Assert.Equal("", output);
        Assert.True(File.Exists(path));
    }

    [Fact]
    public void Quiet_keeps_errors_on_stderr()
    {
        var (exitCode, output, error) = CliRunner.Run("convert", _workspace.PathOf("missing.pt"), "--input", ResNetWorkspace.Input, "--quiet");

        Assert.Equal(2, exitCode);
        Assert.Equal("", output);
        Assert.Contains("error MF1001", error);
    }

    [Fact]
    public void Verbose_convert_lists_every_graph_pass_with_its_time()
    {
        var (exitCode, output, error) = CliRunner.Run("convert", ResNetWorkspace.Model, "--input", ResNetWorkspace.Input, "-o", _workspace.PathOf("v.onnx"), "-v");

        Assert.True(exitCode == 0, error);
        Assert.Matches(@"pass FoldBatchNorm: changed in [0-9.]+ ms", output);
        Assert.Contains("converted model.pt", output);
    }

    [Theory]
    [MemberData(nameof(UsageErrorTests.Commands), MemberType = typeof(UsageErrorTests))]
    public void Every_command_accepts_both_and_refuses_them_together(string command)
    {
        var (exitCode, output, error) = CliRunner.Run(command, "-q", "-v", "--help");
        Assert.Equal(0, exitCode);
        Assert.Contains("--quiet", output);
        Assert.Contains("--verbose", output);

        var both = CliRunner.Run(command, "x", "-q", "-v");
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("error MF5005", both.Error);
    }
}
