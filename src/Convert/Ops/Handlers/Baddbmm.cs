using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary><c>baddbmm(input, batch1, batch2, beta=1, alpha=1) = beta·input + alpha·(batch1 @ batch2)</c> → MatMul, Add.</summary>
[AtenOp("aten::baddbmm")]
internal static class Baddbmm
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (input, b1, b2) = (a.Tensor(0), a.Tensor(1), a.Tensor(2));
        var type = b1.Type.WithShape([b1.Type.Shape![0], b1.Type.Shape![1], b2.Type.Shape![2]]);
        var product = c.Op("MatMul", [b1, b2], type);
        var (beta, alpha) = (a.Float(3, "beta", 1), a.Float(4, "alpha", 1));
        if (alpha != 1) product = c.Op("Mul", [product, c.Scalar(alpha, type.ElementType)], type);
        var bias = beta == 1 ? input : c.Op("Mul", [input, c.Scalar(beta, input.Type.ElementType)], input.Type);
        return c.Op("Add", [bias, product], type);
    }
}
