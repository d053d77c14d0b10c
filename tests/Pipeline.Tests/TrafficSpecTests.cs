using ModelForge.Core.Diagnostics;
using ModelForge.Package.Tuning.Traffic;
using ModelForge.Pipeline.Spec;
using ModelForge.Pipeline.Stages;

namespace ModelForge.Pipeline.Tests;

/// <summary><c>package.tuning.traffic</c>: read into the package spec and the tuner's objective, refused by the schema when malformed.</summary>
public class TrafficSpecTests
{
    private static ModelSpec Load(SpecWorkspace workspace, string tuning) =>
        workspace.Load(SpecWorkspace.ResNetSpec($$"""
            "package": { "tuning": {{tuning}}, "triton": {} }
            """));

    [Fact]
    public void ATrafficProfileIsReadWithItsDefaultsAndBecomesPartOfTheObjective()
    {
        using var workspace = new SpecWorkspace();

        var poisson = Load(workspace, """{ "latencyBudgetMs": 40, "traffic": { "requestsPerSecond": 250 } }""").Package!;
        var bursty = Load(workspace, """{ "latencyBudgetMs": 40, "traffic": { "requestsPerSecond": 250, "arrival": "bursty" } }""").Package!;
        var burstOf4 = Load(workspace, """{ "latencyBudgetMs": 40, "traffic": { "requestsPerSecond": 250, "arrival": "bursty", "burstSize": 4 } }""").Package!;
        var even = Load(workspace, """{ "latencyBudgetMs": 40, "traffic": { "requestsPerSecond": 250.5, "arrival": "deterministic" } }""").Package!;

        Assert.Equal(new TrafficProfile(250), poisson.Traffic);
        Assert.Equal(new TrafficProfile(250, ArrivalProcess.Bursty, TrafficProfile.DefaultBurstSize), bursty.Traffic);
        Assert.Equal(new TrafficProfile(250, ArrivalProcess.Bursty, 4), burstOf4.Traffic);
        Assert.Equal(new TrafficProfile(250.5, ArrivalProcess.Deterministic), even.Traffic);
        var objective = PackageStage.TargetsFor(burstOf4, maxBatch: 16).Objective;
        Assert.Equal(40, objective.P99BudgetMilliseconds);
        Assert.Equal(burstOf4.Traffic, objective.Traffic);
        Assert.Equal("highest throughput with p99 ≤ 40 ms at 250 requests/s, bursty (bursts of 4)", objective.ToString());
    }

    [Fact]
    public void WithoutATrafficProfileTheObjectiveIsTodays()
    {
        using var workspace = new SpecWorkspace();
        var package = Load(workspace, """{ "latencyBudgetMs": 40 }""").Package!;

        Assert.Null(package.Traffic);
        Assert.Null(PackageStage.TargetsFor(package, maxBatch: 16).Objective.Traffic);
    }

    [Theory]
    [InlineData("""{ "traffic": { "requestsPerSecond": 100 } }""", "/package/tuning")]                                          // no budget
    [InlineData("""{ "latencyBudgetMs": 40, "traffic": { "requestsPerSecond": 0 } }""", "/package/tuning/traffic/requestsPerSecond")]
    [InlineData("""{ "latencyBudgetMs": 40, "traffic": { "arrival": "poisson" } }""", "/package/tuning/traffic")]               // no rate
    [InlineData("""{ "latencyBudgetMs": 40, "traffic": { "requestsPerSecond": 100, "arrival": "uniform" } }""", "/package/tuning/traffic/arrival")]
    [InlineData("""{ "latencyBudgetMs": 40, "traffic": { "requestsPerSecond": 100, "burstSize": 4 } }""", "/package/tuning/traffic")]   // burst without bursty
    [InlineData("""{ "latencyBudgetMs": 40, "traffic": { "requestsPerSecond": 100, "arrival": "bursty", "burstSize": 0 } }""", "/package/tuning/traffic/burstSize")]
    [InlineData("""{ "latencyBudgetMs": 40, "traffic": { "requestsPerSecond": 100, "p99": 3 } }""", "/package/tuning/traffic")]
    public void AMalformedTrafficProfileIsRefusedWhereItIs(string tuning, string pointer)
    {
        using var workspace = new SpecWorkspace();

        var error = Assert.Throws<ModelForgeException>(() => Load(workspace, tuning));

        Assert.Equal(DiagnosticCode.SpecInvalid, error.Code);
        Assert.True(error.Diagnostics.Any(d => d.Message.StartsWith(SpecReader.DisplayPath(pointer) + ":", StringComparison.Ordinal)),
            string.Join("\n", error.Diagnostics.Select(d => d.Message)));
    }
}
