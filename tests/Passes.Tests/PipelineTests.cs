using System.Reflection;
using ModelForge.Convert.IR;
using ModelForge.Convert.Passes;

namespace ModelForge.Passes.Tests;

public sealed class PipelineTests
{
    private sealed class BreaksTheGraph : IGraphPass
    {
        public string Name => "BreaksTheGraph";
        public OptimizeLevel Level => OptimizeLevel.Basic;

        public bool Run(Graph graph, PassContext context)
        {
            graph.Nodes.Reverse();
            return true;
        }
    }

    [Fact]
    public void Verifier_after_each_pass_names_the_failing_pass()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", GraphBuilder.F32(2));
        var graph = b.Return(b.Op("Neg", [b.Op("Relu", [x], GraphBuilder.F32(2))], GraphBuilder.F32(2)));
        var pipeline = new PassPipeline([new DeadCodeEliminationPass(), new BreaksTheGraph()]) { VerifyAfterEachPass = true };
        var error = Assert.Throws<InvalidOperationException>(() => pipeline.Run(graph, new PassContext(17)));
        Assert.Contains("after pass BreaksTheGraph", error.Message);
    }

    [Fact]
    public void Levels_select_passes_in_default_order()
    {
        Assert.Empty(PassPipeline.For(OptimizeLevel.None).Passes);
        var basic = PassPipeline.For(OptimizeLevel.Basic).Passes.Select(p => p.Name).ToArray();
        var all = PassPipeline.For(OptimizeLevel.All).Passes.Select(p => p.Name).ToArray();
        Assert.Equal(PassPipeline.Default().Select(p => p.Name), all);
        Assert.DoesNotContain("FoldBatchNorm", basic);
        Assert.Equal("ValueInfo", all[^1]);
    }

    /// <summary>Every golden file pair has a test method of the same name in the pass's test class, and vice versa.</summary>
    [Fact]
    public void All_golden_fixtures_have_tests()
    {
        var tests = typeof(PipelineTests).Assembly.GetTypes()
            .Where(t => t.Name.EndsWith("Tests", StringComparison.Ordinal) && t != typeof(PipelineTests) && t != typeof(SubgraphVerifierTests))
            .SelectMany(t => t.GetMethods().Where(m => m.GetCustomAttribute<FactAttribute>() is not null)
                .Select(m => $"{t.Name[..^"Tests".Length]}/{m.Name}"))
            .Order(StringComparer.Ordinal).ToArray();
        var fixtures = Directory.GetFiles(RepoPaths.Fixture("passes"), "*.input.ir", SearchOption.AllDirectories)
            .Select(f => $"{Path.GetFileName(Path.GetDirectoryName(f))}/{Path.GetFileName(f)[..^".input.ir".Length]}")
            .Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(tests, fixtures);
        var documented = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "optimization.md"));
        Assert.All(PassPipeline.Default(), p => Assert.Contains($"`{p.Name}`", documented));
    }
}
