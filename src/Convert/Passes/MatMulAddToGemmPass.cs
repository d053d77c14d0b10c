using ModelForge.Convert.IR;

namespace ModelForge.Convert.Passes;

/// <summary>
/// <c>Add(MatMul(A, B), C)</c> → <c>Gemm(A, B, C)</c> where that is legal: A and B rank 2, a floating-point type, the
/// MatMul read only by the Add, and C unidirectionally broadcastable to [M, N] (rank ≤ 2, each dim equal or 1).
/// When B is <c>Transpose(W, perm=[1,0])</c> read only by the MatMul (how <c>aten::linear</c> is lowered for ranks
/// other than 2), the Gemm takes W with transB=1 and the transpose disappears.
/// </summary>
public sealed class MatMulAddToGemmPass : IGraphPass
{
    public string Name => "MatMulAddToGemm";
    public OptimizeLevel Level => OptimizeLevel.All;

    public bool Run(Graph graph, PassContext context)
    {
        var changed = false;
        var consumers = graph.Consumers();
        foreach (var add in graph.Nodes.Where(n => n.OpType == "Add" && n.Domain.Length == 0).ToList())
        {
            for (var side = 0; side < 2; side++)
            {
                var matmul = PassHelpers.Producer(add.Inputs[side], "MatMul");
                var c = add.Inputs[1 - side];
                if (matmul is null || c is null || PassHelpers.SoleConsumer(graph, consumers, matmul.Outputs[0]) != add) continue;
                var (a, b) = (matmul.Inputs[0]!, matmul.Inputs[1]!);
                if (a.Type.Shape is not { Count: 2 } || b.Type.Shape is not { Count: 2 } || !a.Type.ElementType.IsFloatingPoint()) continue;
                var output = add.Outputs[0];
                if (output.Type.Shape is not { Count: 2 } outShape || !Broadcastable(c.Type.Shape, outShape)) continue;
                var attributes = new SortedDictionary<string, AttributeValue>(StringComparer.Ordinal);
                if (PassHelpers.Producer(b, "Transpose") is { } transpose && PassHelpers.SoleConsumer(graph, consumers, b) == matmul &&
                    transpose.Attributes.TryGetValue("perm", out var perm) && perm.Value is long[] permutation && permutation is [1, 0])
                {
                    b = transpose.Inputs[0]!;
                    attributes["transB"] = 1L;
                }
                var gemm = graph.InsertNodeBefore(add, "Gemm", [a, b, c], [output.Type], attributes);
                graph.Nodes.Remove(add);
                graph.ReplaceAllUses(output, gemm.Outputs[0]);
                changed = true;
                break;
            }
        }
        return changed;
    }

    private static bool Broadcastable(IReadOnlyList<Dim>? c, IReadOnlyList<Dim> output)
    {
        if (c is null || c.Count > 2) return false;
        for (var i = 1; i <= c.Count; i++)
        {
            var (cd, od) = (c[^i], output[^i]);
            if (cd.Value == 1 || PassHelpers.SameDim(cd, od)) continue;
            return false;
        }
        return true;
    }
}
