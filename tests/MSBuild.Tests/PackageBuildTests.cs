using ModelForge.Pipeline;

namespace ModelForge.MSBuild.Tests;

/// <summary>
/// ModelForge.Build packed once (targets, task and the published CLI) into a local folder feed, for the sample model
/// projects to restore.
/// </summary>
public sealed class PackageFeed() : FolderFeed("msbuild", "src/MSBuild.Tasks")
{
    /// <summary>A copy of tests/MSBuild.Tests/Sample with the ResNet fixture as models/resnet.pt and a nuget.config for the feed.</summary>
    public string NewSampleProject()
    {
        var project = Path.Combine(Root, "sample-" + Guid.NewGuid().ToString("N")[..8]);
        var sample = Path.Combine(RepoPaths.Root, "tests", "MSBuild.Tests", "Sample");
        foreach (var file in Directory.EnumerateFiles(sample, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(project, Path.GetRelativePath(sample, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        File.Copy(RepoPaths.Fixture("models", "resnet18_small", "model.pt"), Path.Combine(project, "models", "resnet.pt"));
        WriteNuGetConfig(project);
        return project;
    }
}

/// <summary>Real <c>dotnet build</c> of a model project that restores the packed ModelForge.Build from a folder feed.</summary>
[Collection(PackingCollection.Name)]
public sealed class PackageBuildTests(PackageFeed feed) : IClassFixture<PackageFeed>
{
    private static (int ExitCode, string Output) Build(string project, params string[] extra) =>
        DotnetProcess.Run(project, ["build", "Sample.Models.csproj", "-p:ModelForgeBuildVersion=0.1.0", "-nodeReuse:false", .. extra]);

    [Fact]
    public void The_package_carries_the_same_cpu_payload_as_the_tool() =>
        CpuPayload.AssertInPackage(Path.Combine(feed.Feed, "ModelForge.Build.0.1.0.nupkg"));

    [Fact]
    public void BuildsOnceSkipsUnchangedRebuildsOnChangeAndCleans()
    {
        var project = feed.NewSampleProject();
        var bundle = Path.Combine(project, "bin", "models", "resnet");
        var manifest = Path.Combine(bundle, BuildManifest.FileName);
        var modelforgeObj = Path.Combine(project, "obj", "Debug", "net10.0", "modelforge");
        HookExtensionTargets(Path.Combine(project, "Sample.Models.csproj"));

        // 1. The first build produces the bundle, between the targets hooked on BeforeForgeModels and AfterForgeModels,
        //    and lists what it read for the next build's Inputs: the spec, the .pt and the handler it names.
        var first = Build(project);
        Assert.True(first.ExitCode == 0, first.Output);
        var order = new[] { "hooked: before models", "[convert]", "[package]", "hooked: after models" }
            .Select(line => first.Output.IndexOf(line, StringComparison.Ordinal)).ToList();
        Assert.True(order[0] >= 0 && order.SequenceEqual(order.Order()), first.Output);
        Assert.Equal(new[] { "handler.py", "resnet.modelforge.json", "resnet.pt" }.Select(f => Path.Combine(project, "models", f)),
            File.ReadAllLines(Path.Combine(modelforgeObj, "resnet.deps")));
        foreach (var artifact in new[] { "model.onnx", "torchserve/model-store/resnet.mar", "triton/resnet/config.pbtxt", "triton/resnet/1/model.onnx" })
            Assert.True(File.Exists(Path.Combine(bundle, artifact)), artifact + "\n" + first.Output);
        Assert.Contains("[validate] passed", first.Output);
        var built = BuildManifest.TryLoad(bundle)!;
        Assert.True(built.ArtifactsIntact(bundle));
        var writtenAt = File.GetLastWriteTimeUtc(manifest);
        Assert.True(File.Exists(Path.Combine(modelforgeObj, "resnet.stamp")));

        // 2. Nothing changed: MSBuild skips the target, the CLI never starts.
        var second = Build(project, "-v:d");
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Contains("Skipping target \"ModelForgeBuildModels\" because all output files are up-to-date", second.Output);
        Assert.DoesNotContain("[convert]", second.Output);
        Assert.Equal(writtenAt, File.GetLastWriteTimeUtc(manifest));

        // 3. Touching the .pt runs the target again; the CLI compares content and finds nothing to do.
        File.SetLastWriteTimeUtc(Path.Combine(project, "models", "resnet.pt"), DateTime.UtcNow);
        var touched = Build(project);
        Assert.True(touched.ExitCode == 0, touched.Output);
        Assert.Contains("resnet: up to date", touched.Output);
        Assert.Equal(writtenAt, File.GetLastWriteTimeUtc(manifest));
        Assert.Contains("Skipping target \"ModelForgeBuildModels\"", Build(project, "-v:d").Output);

        // 4. An edited handler, a file only the spec names, is rebuilt into the archive; then a no-change build skips again.
        var handler = Path.Combine(project, "models", "handler.py");
        File.AppendAllText(handler, "\n    def preprocess(self, data):\n        return super().preprocess(data)\n");
        File.SetLastWriteTimeUtc(handler, DateTime.UtcNow);
        var edited = Build(project);
        Assert.True(edited.ExitCode == 0, edited.Output);
        Assert.Contains("[convert] done", edited.Output);
        Assert.Equal(File.ReadAllText(handler), ArchivedHandler(Path.Combine(bundle, "torchserve", "model-store", "resnet.mar")));
        Assert.Contains("Skipping target \"ModelForgeBuildModels\" because all output files are up-to-date", Build(project, "-v:d").Output);

        // 5. A different model in the same place is rebuilt.
        File.Copy(RepoPaths.Fixture("models", "mobilenet_v2_025", "model.pt"), Path.Combine(project, "models", "resnet.pt"), overwrite: true);
        File.SetLastWriteTimeUtc(Path.Combine(project, "models", "resnet.pt"), DateTime.UtcNow);
        var changed = Build(project);
        Assert.True(changed.ExitCode == 0, changed.Output);
        Assert.Contains("[convert] done", changed.Output);
        Assert.NotEqual(built.InputHash, BuildManifest.TryLoad(bundle)!.InputHash);

        // 6. dotnet clean removes the bundle, the stamp and the dependency list.
        var clean = DotnetProcess.Run(project, "clean", "Sample.Models.csproj", "-p:ModelForgeBuildVersion=0.1.0", "-nodeReuse:false");
        Assert.True(clean.ExitCode == 0, clean.Output);
        Assert.False(Directory.Exists(bundle));
        Assert.False(File.Exists(Path.Combine(modelforgeObj, "resnet.stamp")));
        Assert.False(File.Exists(Path.Combine(modelforgeObj, "resnet.deps")));
    }

    /// <summary>Adds to the project what a user writes to run steps of their own around the models' build.</summary>
    private static void HookExtensionTargets(string projectFile) =>
        File.WriteAllText(projectFile, File.ReadAllText(projectFile).Replace("</Project>", """
              <Target Name="BeforeModelsHook" AfterTargets="BeforeForgeModels"><Message Importance="high" Text="hooked: before models" /></Target>
              <Target Name="AfterModelsHook" AfterTargets="AfterForgeModels"><Message Importance="high" Text="hooked: after models" /></Target>
            </Project>
            """));

    private static string ArchivedHandler(string mar)
    {
        using var archive = System.IO.Compression.ZipFile.OpenRead(mar);
        using var reader = new StreamReader(archive.GetEntry("handler.py")!.Open());
        return reader.ReadToEnd();
    }

    [Fact]
    public void AnImpossibleToleranceFailsTheBuildWithItsCodeUnlessAccuracyFailuresAreWarnings()
    {
        var project = feed.NewSampleProject();
        var spec = Path.Combine(project, "models", "resnet.modelforge.json");
        File.WriteAllText(spec, File.ReadAllText(spec).Replace("\"atol\": 1e-4, \"rtol\": 1e-3", "\"atol\": 0, \"rtol\": 0"));

        var gated = Build(project);
        Assert.NotEqual(0, gated.ExitCode);
        Assert.Matches(@"resnet\.modelforge\.json : error MF3004: accuracy gate failed for resnet", gated.Output);
        Assert.False(Directory.Exists(Path.Combine(project, "bin", "models", "resnet")));

        var warned = Build(project, "-p:ModelForgeAccuracyFailures=Warning");
        Assert.True(warned.ExitCode == 0, warned.Output);
        Assert.Matches(@"resnet\.modelforge\.json : warning MF3004: accuracy gate failed for resnet", warned.Output);
        Assert.True(File.Exists(Path.Combine(project, "bin", "models", "resnet", "model.onnx")));
    }
}
