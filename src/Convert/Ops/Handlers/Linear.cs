using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>linear(x, weight, bias) = x·weightᵀ + bias</c>. Rank-2 input → one Gemm(transB=1); other ranks →
/// MatMul with the transposed weight, then Add.
/// </summary>
[AtenOp("aten::linear")]
internal static class Linear
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a.Tensor(0), a.Tensor(1), a.OptionalTensor(2));

    public static Value Lower(OpContext c, Value x, Value weight, Value? bias)
    {
        var outFeatures = weight.Type.Shape![0];
        var outputShape = x.Type.Shape!.Take(x.Type.Rank - 1).Append(outFeatures).ToArray();
        if (x.Type.Rank == 2)
        {
            Value?[] inputs = bias is null ? [x, weight] : [x, weight, bias];
            return c.Op("Gemm", inputs, x.Type.WithShape(outputShape), ("transB", 1));
        }
        var transposed = Permute.Lower(c, weight, [1, 0]);
        var product = c.Op("MatMul", [x, transposed], x.Type.WithShape(outputShape));
        return bias is null ? product : c.Op("Add", [product, bias], product.Type);
    }
}

/// <summary><c>matmul(a, b)</c> with numpy semantics → MatMul.</summary>
[AtenOp("aten::matmul", "aten::mm", "aten::bmm")]
internal static class MatMul
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (x, y) = (a.Tensor(0), a.Tensor(1));
        var xs = x.Type.Shape!;
        var ys = y.Type.Shape!;
        IReadOnlyList<Dim>? shape = (xs.Count, ys.Count) switch
        {
            (1, 1) => [],
            (1, _) => [.. ys.Take(ys.Count - 2), ys[^1]],
            (_, 1) => xs.Take(xs.Count - 1).ToArray(),
            _ => [.. (Shapes.Broadcast(xs.Take(xs.Count - 2).ToArray(), ys.Take(ys.Count - 2).ToArray()) ?? []), xs[^2], ys[^1]],
        };
        return c.Op("MatMul", [x, y], x.Type.WithShape(shape));
    }
}

/// <summary><c>addmm(bias, a, b, beta, alpha) = beta·bias + alpha·(a·b)</c> → Gemm.</summary>
[AtenOp("aten::addmm")]
internal static class Addmm
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (bias, x, y) = (a.Tensor(0), a.Tensor(1), a.Tensor(2));
        return c.Op("Gemm", [x, y, bias], x.Type.WithShape([x.Type.Shape![0], y.Type.Shape![1]]),
            ("alpha", a.Float(4, "alpha", 1)), ("beta", a.Float(3, "beta", 1)));
    }
}
