using ModelForge.MSBuild.Tasks;

namespace ModelForge.MSBuild.Tests;

/// <summary>
/// The task on its own, with a fake build engine. A stand-in "dotnet" script plays the CLI, so the real ToolTask
/// machinery parses its output; the real CLI runs in <see cref="PackageBuildTests"/>.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ModelForgeBuildTaskTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "mf-task-" + Guid.NewGuid().ToString("N"));

    public ModelForgeBuildTaskTests()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(Path.Combine(_directory, "modelforge.dll"), "");
    }

    private (ModelForgeBuild Task, FakeBuildEngine Engine) Task(string? fakeCliOutput = null, int exitCode = 0)
    {
        var engine = new FakeBuildEngine();
        var task = new ModelForgeBuild
        {
            BuildEngine = engine,
            Source = "/models/resnet.modelforge.json",
            OutputDirectory = "/out/models/resnet",
            ToolDirectory = _directory,
        };
        if (fakeCliOutput is not null)
        {
            var script = Path.Combine(_directory, "dotnet");
            File.WriteAllText(script, $"#!/bin/sh\ncat <<'END' >&2\n{fakeCliOutput}\nEND\nexit {exitCode}\n");
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            task.ToolPath = _directory;
        }
        return (task, engine);
    }

    [Fact]
    public void TheCommandLineRunsTheCliBuildWithPlainProgress()
    {
        var (task, _) = Task();
        task.Inputs = ["x:float32[batch,3,64,64]"];
        task.AccuracyFailures = "Warning";
        task.DependencyFile = "/obj/modelforge/resnet.deps";

        var commandLine = task.CommandLine();

        Assert.Equal($"{Path.Combine(_directory, "modelforge.dll")} build /models/resnet.modelforge.json --output /out/models/resnet " +
                     "--input \"x:float32[batch,3,64,64]\" --on-accuracy-failure warning --dependency-file /obj/modelforge/resnet.deps --progress plain", commandLine);
    }

    [Fact]
    public void CanonicalDiagnosticsBecomeBuildErrorsWithCodeAndLocation()
    {
        var (task, engine) = Task("/models/resnet.modelforge.json(7,16): error MF7001: $.validate.atoll: 'atoll' is not a known field here\n" +
                                  "    hint: see schemas/modelforge.schema.json", exitCode: 2);

        Assert.False(task.Execute());

        var error = Assert.Single(engine.Errors);
        Assert.Equal("MF7001", error.Code);
        Assert.Equal("/models/resnet.modelforge.json", error.File);
        Assert.Equal((7, 16), (error.LineNumber, error.ColumnNumber));
        Assert.Equal("$.validate.atoll: 'atoll' is not a known field here", error.Message);
    }

    [Fact]
    public void AnAccuracyWarningKeepsTheBuildGreen()
    {
        var (task, engine) = Task("/models/resnet.modelforge.json: warning MF3004: accuracy gate failed for resnet: cpu batch 1: logits");

        Assert.True(task.Execute());

        Assert.Empty(engine.Errors);
        Assert.Equal("MF3004", Assert.Single(engine.Warnings).Code);
    }

    [Fact]
    public void AnUnknownAccuracyModeIsRefusedBeforeRunning()
    {
        var (task, engine) = Task("never printed");
        task.AccuracyFailures = "Sometimes";

        Assert.False(task.Execute());

        Assert.Equal("MF5003", Assert.Single(engine.Errors).Code);
        Assert.Contains("Sometimes", engine.Errors[0].Message);
    }

    [Fact]
    public void AMissingCliIsAnErrorThatSaysWhere()
    {
        var (task, engine) = Task("never printed");
        task.ToolDirectory = Path.Combine(_directory, "nowhere");

        Assert.False(task.Execute());

        Assert.Equal("MF5003", Assert.Single(engine.Errors).Code);
        Assert.Contains("nowhere", engine.Errors[0].Message);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
