namespace ModelForge.Cli.Tests;

/// <summary><c>modelforge package</c> with the pre- and post-processing flags: the ensemble written, and the refusals (exit 2, the output left as it was).</summary>
public sealed class EnsembleCommandTests : IDisposable
{
    private readonly ResNetWorkspace _workspace = new("modelforge-cli-ensemble-");

    public void Dispose() => _workspace.Dispose();

    private string Labels(int count)
    {
        var path = _workspace.PathOf($"labels{count}.txt");
        File.WriteAllLines(path, Enumerable.Range(0, count).Select(i => $"class_{i}"));
        return path;
    }

    private static string[] Package(string onnx, string output, params string[] processing) =>
        ["package", onnx, "--source", ResNetWorkspace.Model, "--input", ResNetWorkspace.Input, "--name", "resnet", "--tune", "off", "-o", output,
            "--preprocess", "hwc", "--channel-order", "bgr", "--image-size", "96x80", "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225", .. processing];

    [Fact]
    public void Package_writes_the_ensemble_the_fused_model_and_the_handler()
    {
        var output = _workspace.PathOf("bundles");
        var (exitCode, stdout, stderr) = CliRunner.Run(Package(_workspace.Converted(), output, "--softmax", "--top-k", "5", "--labels", Labels(10), "--fuse-pre-post"));

        Assert.True(exitCode == 0, stdout + stderr);
        foreach (var file in new[] { "triton/resnet_ensemble/config.pbtxt", "triton/resnet_preprocess/1/model.onnx", "triton/resnet/1/model.onnx",
                     "triton/resnet_postprocess/labels10.txt", "triton/resnet_fused/1/model.onnx", "processing/resnet_fused.onnx", "torchserve/resnet_handler.py" })
            Assert.True(File.Exists(Path.Combine(output, file)), file);
    }

    [Fact]
    public void Package_adds_each_model_of_the_ensemble_to_a_repository_as_its_next_version()
    {
        var onnx = _workspace.Converted();
        var repo = _workspace.PathOf("repo");
        string[] Build() => [.. Package(onnx, _workspace.PathOf("bundles"), "--softmax", "--labels", Labels(10), "--fuse-pre-post"), "--triton-repository", repo, "--force"];

        var first = CliRunner.Run(Build());
        var second = CliRunner.Run(Build());

        Assert.True(first.ExitCode == 0 && second.ExitCode == 0, first.Output + first.Error + second.Output + second.Error);
        foreach (var model in new[] { "resnet", "resnet_preprocess", "resnet_postprocess", "resnet_fused", "resnet_ensemble" })
        {
            Assert.Contains($"triton: added version 2 of '{model}' to {repo} (versions present: 1, 2; latest:1 serves 2)", second.Output);
            Assert.Equal(["1", "2"], Directory.EnumerateDirectories(Path.Combine(repo, model)).Select(Path.GetFileName).Order());
        }
        Assert.False(Directory.Exists(_workspace.PathOf(Path.Combine("bundles", "triton"))));
    }

    [Theory]
    [InlineData("--labels", "MF4071", "the label file has 9 labels but the model's output 'output' has 10 classes")]
    [InlineData("--top-k", "MF4072", "postprocess topK 11 with 10 classes")]
    public void Processing_that_cannot_fit_the_model_exits_2_and_leaves_the_output(string option, string code, string message)
    {
        var output = _workspace.PathOf("previous");
        var onnx = _workspace.Converted();
        Assert.Equal(0, CliRunner.Run(["package", onnx, "--input", ResNetWorkspace.Input, "--name", "resnet", "--triton", "--tune", "off", "-o", output]).ExitCode);
        var before = Directory.GetFiles(output, "*", SearchOption.AllDirectories).Order().Select(f => (f, File.ReadAllText(f))).ToList();

        var (exitCode, stdout, stderr) = CliRunner.Run(Package(onnx, output, option, option == "--labels" ? Labels(9) : "11"));

        Assert.True(exitCode == 2, stdout + stderr);
        Assert.Contains($"error {code}: {message}", stderr);
        Assert.Contains("hint: ", stderr);
        Assert.Equal(before, Directory.GetFiles(output, "*", SearchOption.AllDirectories).Order().Select(f => (f, File.ReadAllText(f))).ToList());
    }
}
