using ModelForge.Convert.IR;

namespace ModelForge.Convert.Passes;

/// <summary>How much <c>modelforge convert</c> rewrites the lowered graph (<c>--optimize none|basic|all</c>).</summary>
public enum OptimizeLevel
{
    /// <summary>The graph exactly as the op handlers lowered it.</summary>
    None = 0,
    /// <summary>Clean-ups that never change arithmetic: dead code, identities, constant and shape folding, value_info.</summary>
    Basic = 1,
    /// <summary>Basic plus fusions that change how the arithmetic is grouped (BatchNorm folding, Gemm, LayerNorm, Gelu).</summary>
    All = 2,
}

/// <summary>One graph rewrite. Implementations are stateless; one class per pass, listed in <see cref="PassPipeline.Default"/>.</summary>
public interface IGraphPass
{
    /// <summary>The name in pipeline errors, traces and docs/optimization.md.</summary>
    string Name { get; }

    /// <summary>The lowest <see cref="OptimizeLevel"/> that runs this pass.</summary>
    OptimizeLevel Level { get; }

    /// <summary>Rewrites <paramref name="graph"/> in place; returns whether anything changed.</summary>
    bool Run(Graph graph, PassContext context);
}

/// <summary>What passes may depend on besides the graph.</summary>
public sealed record PassContext(int Opset)
{
    /// <summary>
    /// Constant folding materialises its results in memory (archive weights are views on the mapped file); results
    /// larger than this stay nodes so that large models keep streaming. ONNX Runtime folds those at load time.
    /// </summary>
    public long MaxFoldedBytes { get; init; } = 1 << 20;
}
