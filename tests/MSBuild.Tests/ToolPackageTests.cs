using System.IO.Compression;

namespace ModelForge.MSBuild.Tests;

/// <summary>The ModelForge.Tool packages (the pointer and ModelForge.Tool.linux-x64) packed once into a local folder feed.</summary>
public sealed class ToolFeed() : FolderFeed("tool", "src/Cli")
{
    /// <summary>A fresh folder with a nuget.config for the feed, to run <c>dotnet tool</c> in.</summary>
    public string NewWorkFolder()
    {
        var folder = Path.Combine(Root, "work-" + Guid.NewGuid().ToString("N")[..8]);
        WriteNuGetConfig(folder);
        return folder;
    }
}

/// <summary>What every published CLI must and must not carry (build/ModelForgePayload.targets).</summary>
internal static class CpuPayload
{
    private static readonly string[] Needed = ["modelforge.dll", "libLibTorchSharp.so", "libtorch_cpu.so", "libc10.so", "libonnxruntime.so"];
    private static readonly string[] LeftOut =
    [
        "libonnxruntime_providers_cuda.so", "libonnxruntime_providers_tensorrt.so", "libonnxruntime_providers_shared.so",
        "libtorch_python.so", "libtorchbind_test.so", "libjitbackend_test.so", "libshm.so",
    ];

    public static void AssertIn(IEnumerable<string> paths)
    {
        var names = paths.Select(Path.GetFileName).ToHashSet();
        foreach (var name in Needed) Assert.Contains(name, names);
        foreach (var name in LeftOut) Assert.DoesNotContain(name, names);
        Assert.DoesNotContain(names, name => name!.EndsWith(".pdb", StringComparison.Ordinal));
    }

    public static void AssertInPackage(string nupkg)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        AssertIn(zip.Entries.Select(e => e.FullName));
    }
}

/// <summary>
/// The .NET tool as users get it: <c>dotnet tool install</c> from a folder feed (into a tool path, never the global
/// tool set), then <c>modelforge</c> converts and validates a fixture; and the one-shot <c>dotnet dnx</c>.
/// </summary>
[Collection(PackingCollection.Name)]
public sealed class ToolPackageTests(ToolFeed feed) : IClassFixture<ToolFeed>
{
    private static readonly string Model = RepoPaths.Fixture("models", "resnet18_small", "model.pt");
    private const string Input = "x:float32[batch,3,64,64]";

    [Fact]
    public void The_pointer_package_names_the_linux_x64_package_which_carries_the_cpu_payload()
    {
        Assert.True(File.Exists(Path.Combine(feed.Feed, "ModelForge.Tool.0.1.0.nupkg")));
        using (var pointer = ZipFile.OpenRead(Path.Combine(feed.Feed, "ModelForge.Tool.0.1.0.nupkg")))
            Assert.DoesNotContain(pointer.Entries, e => e.FullName.EndsWith(".dll", StringComparison.Ordinal) || e.FullName.EndsWith(".so", StringComparison.Ordinal));
        CpuPayload.AssertInPackage(Path.Combine(feed.Feed, "ModelForge.Tool.linux-x64.0.1.0.nupkg"));
    }

    [Fact]
    public void Installs_into_a_tool_path_and_converts_and_validates_a_fixture()
    {
        var work = feed.NewWorkFolder();
        var tools = Path.Combine(work, "tools");
        var install = DotnetProcess.Run(work, "tool", "install", "--tool-path", tools, "ModelForge.Tool", "--add-source", feed.Feed);
        Assert.True(install.ExitCode == 0, install.Output);
        var modelforge = Path.Combine(tools, "modelforge");
        var installed = new FileInfo(modelforge).ResolveLinkTarget(returnFinalTarget: true)!;
        CpuPayload.AssertIn(Directory.EnumerateFiles(Path.GetDirectoryName(installed.FullName)!));

        var help = ChildProcess.Run(modelforge, work, null, "--help");
        Assert.True(help.ExitCode == 0, help.Output);
        Assert.Contains("convert", help.Output);

        var onnx = Path.Combine(work, "x.onnx");
        var convert = ChildProcess.Run(modelforge, work, null, "convert", Model, "--input", Input, "-o", onnx);
        Assert.True(convert.ExitCode == 0, convert.Output);
        Assert.True(File.Exists(onnx), convert.Output);

        // libtorch runs the original (so the installed libLibTorchSharp.so is the one patched for Debian 12) and ONNX
        // Runtime's CPU provider runs the ONNX model.
        var validate = ChildProcess.Run(modelforge, work, null, "validate", Model, onnx, "--input", Input);
        Assert.True(validate.ExitCode == 0, validate.Output);
        Assert.Contains("PASSED", validate.Output);

        // No GPU providers in this payload: asking for one says so and how to get them.
        var cuda = ChildProcess.Run(modelforge, work, null, "validate", Model, onnx, "--input", Input, "--require", "cuda", "--batch", "1");
        Assert.Contains("libonnxruntime_providers_cuda.so is not installed next to ModelForge: this is the CPU payload", cuda.Output);
        Assert.Contains("ModelForge.Tool.Gpu", cuda.Output);
    }

    [Fact]
    public void Runs_once_with_dnx()
    {
        var work = feed.NewWorkFolder();
        // dnx keeps the tool in the NuGet packages folder: this run's own, not the user's.
        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(work, "packages") };
        var run = DotnetProcess.Run(work, environment, "dnx", "ModelForge.Tool", "--yes", "--add-source", feed.Feed, "--", "--version");
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.StartsWith("0.1.0", run.Output.Trim());
    }
}
