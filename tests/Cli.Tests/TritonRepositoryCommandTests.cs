using System.Text.Json;

namespace ModelForge.Cli.Tests;

/// <summary>
/// <c>modelforge package --triton-repository</c> and a spec's <c>package.triton.repository</c>: each build is the
/// model's next version in the user's repository; an interface change is refused (exit 2) unless <c>--new-config</c>.
/// </summary>
public sealed class TritonRepositoryCommandTests : IDisposable
{
    private readonly ResNetWorkspace _workspace = new("modelforge-triton-repo-");

    public void Dispose() => _workspace.Dispose();

    private (int ExitCode, string Output, string Error) Package(string onnx, string input, params string[] extra) =>
        CliRunner.Run(["package", onnx, "--input", input, "--name", "resnet", "--tune", "off", "-o", _workspace.PathOf("bundles"),
            "--triton-repository", _workspace.PathOf("repo"), "--force", .. extra]);

    [Fact]
    public void Each_package_adds_the_next_version_and_an_interface_change_needs_new_config()
    {
        var onnx = _workspace.Converted();
        var first = Package(onnx, ResNetWorkspace.Input);
        Assert.True(first.ExitCode == 0, first.Output + first.Error);
        Assert.Contains($"triton: added version 1 of 'resnet' to {_workspace.PathOf("repo")} (versions present: 1; latest:1 serves 1)", first.Output);
        // The repository takes the Triton model; the output folder has no copy of it.
        Assert.False(Directory.Exists(_workspace.PathOf(Path.Combine("bundles", "triton"))));

        var second = Package(onnx, ResNetWorkspace.Input, "--version-policy", "latest:2");
        Assert.True(second.ExitCode == 0, second.Output + second.Error);
        Assert.Contains("(versions present: 1, 2; latest:2 serves 1, 2)", second.Output);
        Assert.Contains("num_versions: 2", File.ReadAllText(_workspace.PathOf(Path.Combine("repo", "resnet", "config.pbtxt"))));

        var wider = _workspace.PathOf("resnet96.onnx");
        Assert.Equal(0, CliRunner.Run("convert", ResNetWorkspace.Model, "--input", "x:float32[batch,3,96,96]", "-o", wider).ExitCode);
        var refused = Package(wider, "x:float32[batch,3,96,96]");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("error MF4013: the model's interface differs from", refused.Error);
        Assert.Contains("input x: dims [-1,3,64,64] → [-1,3,96,96]: clients sending [-1,3,64,64] break", refused.Error);
        Assert.Equal(["1", "2"], Directory.EnumerateDirectories(_workspace.PathOf(Path.Combine("repo", "resnet"))).Select(Path.GetFileName).Order());

        var accepted = Package(wider, "x:float32[batch,3,96,96]", "--new-config");
        Assert.True(accepted.ExitCode == 0, accepted.Output + accepted.Error);
        Assert.Contains("triton: interface change accepted (--new-config): input x: dims [-1,3,64,64] → [-1,3,96,96]: clients sending [-1,3,64,64] break", accepted.Output);
        Assert.Contains("added version 3", accepted.Output);
    }

    [Fact]
    public void New_config_without_a_repository_is_refused()
    {
        var result = CliRunner.Run("package", _workspace.PathOf("absent.onnx"), "--input", ResNetWorkspace.Input, "--name", "resnet", "--new-config",
            "-o", _workspace.PathOf("bundles"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--new-config accepts an interface change in an existing Triton repository", result.Error);
    }

    [Fact]
    public void A_build_records_the_version_it_wrote_and_the_versions_present_in_its_manifest()
    {
        string Spec(string policy)
        {
            var path = _workspace.PathOf("resnet.modelforge.json");
            File.WriteAllText(path, $$"""
                {
                  "name": "resnet",
                  "source": {{JsonSerializer.Serialize(ResNetWorkspace.Model)}},
                  "inputs": [ { "name": "x", "dtype": "float32", "shape": ["batch", 3, 64, 64] } ],
                  "package": { "tuning": { "level": "off" }, "triton": { "repository": "repo", "versionPolicy": {{policy}} } },
                  "output": "out/resnet"
                }
                """);
            return path;
        }

        string Recorded()
        {
            using var manifest = JsonDocument.Parse(File.ReadAllText(_workspace.PathOf(Path.Combine("out", "resnet", "build-manifest.json"))));
            return JsonSerializer.Serialize(manifest.RootElement.GetProperty("tritonRepository"));
        }

        var first = CliRunner.Run("build", Spec("{ \"latest\": 2 }"), "--progress", "plain");
        Assert.True(first.ExitCode == 0, first.Output + first.Error);
        Assert.Equal("""{"model":"resnet","versionWritten":1,"versionsPresent":[1]}""", Recorded());
        Assert.Contains("package: triton: added version 1 of 'resnet'", first.Output);

        // Up to date: nothing is built, so no version is added.
        Assert.Contains("up to date", CliRunner.Run("build", Spec("{ \"latest\": 2 }"), "--progress", "plain").Output);
        Assert.Equal(["1"], Directory.EnumerateDirectories(_workspace.PathOf(Path.Combine("repo", "resnet"))).Select(Path.GetFileName));

        var second = CliRunner.Run("build", Spec("\"all\""), "--progress", "plain");
        Assert.True(second.ExitCode == 0, second.Output + second.Error);
        Assert.Equal("""{"model":"resnet","versionWritten":2,"versionsPresent":[1,2]}""", Recorded());
        Assert.Contains("all {", File.ReadAllText(_workspace.PathOf(Path.Combine("repo", "resnet", "config.pbtxt"))));
    }
}
