using System.Diagnostics;
using ModelForge.Convert.IR;

namespace ModelForge.Convert.Passes;

/// <summary>
/// Runs graph passes in order. The order is <see cref="Default"/>; each constraint is the comment next to its pass.
/// With <see cref="VerifyAfterEachPass"/> (on in DEBUG builds, switched on by the tests) the IR verifier runs after
/// every pass and a violation names the pass that caused it.
/// </summary>
public sealed class PassPipeline
{
    public PassPipeline(IEnumerable<IGraphPass> passes) => Passes = passes.ToList();

    public IReadOnlyList<IGraphPass> Passes { get; }

#if DEBUG
    public bool VerifyAfterEachPass { get; init; } = true;
#else
    public bool VerifyAfterEachPass { get; init; }
#endif

    /// <summary>Called after each pass with the pass, the graph and whether the pass changed it (parity tests hook in here).</summary>
    public Action<IGraphPass, Graph, bool>? AfterPass { get; init; }

    /// <summary>Per-pass wall time on <see cref="Trace"/> when set.</summary>
    public TextWriter? Trace { get; init; }

    /// <summary>The whole ordered list. Every constraint between passes is written next to the pass it concerns.</summary>
    public static IReadOnlyList<IGraphPass> Default() =>
    [
        new RemoveIdentityPass(),        // first: Identity/Dropout nodes between producers and consumers hide every pattern below
        new ConstantFoldingPass(),       // before ShapeChainPass: static Shape→Gather dims become constants, so only dynamic dims remain to simplify
        new ShapeChainPass(),            // after ConstantFoldingPass (reads folded shape constants); may leave constant-only Concats behind
        new ConstantFoldingPass(),       // again: folds the Concats ShapeChainPass made constant into one shape initializer
        new DeadCodeEliminationPass(),   // before the fusions: they require single consumers, and orphaned Shape/Gather nodes would count as consumers
        new FlattenNestedConcatPass(),   // after DeadCodeEliminationPass: an inner Concat merges only when the outer one is its sole reader
        new MatMulAddToGemmPass(),       // before FoldBatchNormPass, so a Gemm it creates can take a following BatchNorm too
        new FoldBatchNormPass(),         // after DeadCodeEliminationPass (the Conv/Gemm output must feed only the BatchNorm)
        new LayerNormFusionPass(),       // after ConstantFoldingPass: epsilon, scale and bias must be initializers
        new GeluFusionPass(),            // after ConstantFoldingPass: the 0.5, 1 and √2 operands must be initializers
        new DeadCodeEliminationPass(),   // after the fusions: removes the nodes and weights they replaced
        new ValueInfoPass(),             // last: annotates the final intermediates; a later rewrite would leave stale annotations
    ];

    /// <summary>The default passes that run at <paramref name="level"/> (none at <see cref="OptimizeLevel.None"/>).</summary>
    public static PassPipeline For(OptimizeLevel level, bool? verifyAfterEachPass = null)
    {
        var passes = level == OptimizeLevel.None ? [] : Default().Where(p => p.Level <= level);
        var pipeline = new PassPipeline(passes);
        return verifyAfterEachPass is { } verify ? new PassPipeline(pipeline.Passes) { VerifyAfterEachPass = verify } : pipeline;
    }

    public void Run(Graph graph, PassContext context)
    {
        foreach (var pass in Passes)
        {
            var stopwatch = Stopwatch.StartNew();
            var changed = pass.Run(graph, context);
            Trace?.WriteLine($"pass {pass.Name}: {(changed ? "changed" : "no change")} in {stopwatch.Elapsed.TotalMilliseconds:F1} ms");
            if (VerifyAfterEachPass)
            {
                try
                {
                    GraphVerifier.Verify(graph);
                }
                catch (InvalidOperationException e)
                {
                    throw new InvalidOperationException($"the IR is invalid after pass {pass.Name}: {e.Message}", e);
                }
            }
            AfterPass?.Invoke(pass, graph, changed);
        }
    }
}
