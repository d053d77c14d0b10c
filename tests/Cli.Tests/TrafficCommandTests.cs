namespace ModelForge.Cli.Tests;

/// <summary><c>modelforge package --traffic-rps</c>: the plan in the bundle, or MF4060 with exit 2 and nothing written.</summary>
public sealed class TrafficCommandTests : IDisposable
{
    private readonly ResNetWorkspace _workspace = new("modelforge-traffic-");

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public void A_meetable_profile_writes_its_plan_and_plot()
    {
        var output = _workspace.PathOf("bundle");

        var (exitCode, stdout, stderr) = CliRunner.Run("package", _workspace.Converted(), "--input", ResNetWorkspace.Input, "--name", "resnet", "--triton",
            "--max-batch", "2", "--latency-budget-ms", "1000", "--traffic-rps", "5", "--arrival", "deterministic", "-o", output);

        Assert.True(exitCode == 0, stdout + stderr);
        Assert.Contains("simulating the dynamic batcher at 5 requests/s, deterministic", stdout);
        Assert.Contains($"wrote {Path.Combine(output, "tuning", "traffic.svg")}", stdout);
        var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "tuning", "tuning.json"))).RootElement;
        var chosen = json.GetProperty("traffic").GetProperty("chosen");
        Assert.Equal(1, chosen.GetProperty("instanceCount").GetInt32());   // 5 requests/s: the fewest instances do
        var config = File.ReadAllText(Path.Combine(output, "triton", "resnet", "config.pbtxt"));
        Assert.Contains($"max_batch_size: {chosen.GetProperty("maxBatchSize").GetInt32()}\n", config);
        Assert.Contains("    count: 1\n", config);
    }

    [Fact]
    public void An_unmeetable_profile_exits_2_with_mf4060_and_writes_nothing()
    {
        var output = _workspace.PathOf("bundle");
        var lockFile = _workspace.PathOf("resnet.tuning.lock.json");

        var (exitCode, stdout, stderr) = CliRunner.Run("package", _workspace.Converted(), "--input", ResNetWorkspace.Input, "--name", "resnet", "--triton",
            "--max-batch", "2", "--latency-budget-ms", "50", "--traffic-rps", "1e9", "--tuning-lock", lockFile, "-o", output);

        Assert.True(exitCode == 2, stdout + stderr);
        Assert.Contains("error MF4060: no batching configuration meets p99 ≤ 50 ms at 1000000000 requests/s, poisson: every configuration saturates below it", stderr);
        Assert.Contains("hint: any of: ", stderr);
        Assert.False(Directory.Exists(output));
        Assert.False(File.Exists(lockFile));
    }

    [Fact]
    public void Arrival_options_without_a_rate_and_a_rate_without_a_budget_are_refused()
    {
        var onnx = _workspace.Converted();

        var noRate = CliRunner.Run("package", onnx, "--input", ResNetWorkspace.Input, "--name", "resnet", "--triton", "--arrival", "bursty", "-o", _workspace.PathOf("a"));
        var noBudget = CliRunner.Run("package", onnx, "--input", ResNetWorkspace.Input, "--name", "resnet", "--triton", "--traffic-rps", "10", "-o", _workspace.PathOf("b"));

        Assert.Equal(2, noRate.ExitCode);
        Assert.Contains("error MF5005: --arrival and --burst-size describe the traffic of --traffic-rps", noRate.Error);
        Assert.Equal(2, noBudget.ExitCode);
        Assert.Contains("error MF4061: traffic profile: a traffic profile needs the p99 latency budget", noBudget.Error);
    }
}
