using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>embedding(weight, indices, padding_idx, scale_grad_by_freq, sparse)</c> → Gather along the rows of the
/// weight: indices [*] give [*, embedding_dim]. padding_idx and the gradient flags only matter in training.
/// </summary>
[AtenOp("aten::embedding")]
internal static class Embedding
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (weight, indices) = (a.Tensor(0), a.Tensor(1));
        var shape = indices.Type.Shape!.Append(weight.Type.Shape![1]).ToArray();
        return c.Op("Gather", [weight, indices], weight.Type.WithShape(shape), ("axis", 0));
    }
}
