using System.Text;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Linear algebra: products of tensors (linear, matmul/mm/bmm/dot/mv, outer, cross, addmm, baddbmm/addbmm/addmv/addr, einsum,
// tensordot) and determinants (linalg_det, logdet).

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

/// <summary><c>matmul(a, b)</c> with numpy semantics → MatMul; <c>dot(u, v)</c> and <c>mv(m, v)</c> are its 1-D cases.</summary>
[AtenOp("aten::matmul", "aten::mm", "aten::bmm", "aten::dot", "aten::mv")]
internal static class MatMul
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a.Tensor(0), a.Tensor(1));

    public static Value Lower(OpContext c, Value x, Value y)
    {
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

/// <summary>
/// <c>beta·input + alpha·product</c> (beta, alpha default 1; beta 0 ignores the input, as torch) for <c>baddbmm</c> (product
/// batch1 @ batch2), <c>addbmm</c> (that summed over the batch), <c>addmv</c> (mat @ vec) and <c>addr</c> (the outer
/// product vec1 ⊗ vec2) → MatMul (or Mul), Mul, Add.
/// </summary>
[AtenOp("aten::baddbmm", "aten::baddbmm_", "aten::addbmm", "aten::addbmm_", "aten::addmv", "aten::addmv_", "aten::addr", "aten::addr_")]
internal static class AddScaledProduct
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (input, left, right) = (a.Tensor(0), a.Tensor(1), a.Tensor(2));
        var product = c.OpName.StartsWith("aten::addr", StringComparison.Ordinal)
            ? (Value)Binary.Lower(c, "Mul", c.Unsqueeze(left, [1]), c.Unsqueeze(right, [0]))
            : MatMul.Lower(c, left, right);
        if (c.OpName.StartsWith("aten::addbmm", StringComparison.Ordinal))
            product = Reduction.Reduce(c, product, [0], keep: false, "ReduceSum", axesAsInput: true);
        var (beta, alpha) = (a.Float(3, "beta", 1), a.Float(4, "alpha", 1));
        if (alpha != 1) product = c.Op("Mul", [product, c.Scalar(alpha, product.Type.ElementType)], product.Type);
        if (beta == 0) return product;
        var bias = beta == 1 ? input : c.Op("Mul", [input, c.Scalar(beta, input.Type.ElementType)], input.Type);
        return c.Op("Add", [bias, product], product.Type.WithShape(Shapes.Broadcast(bias.Type.Shape, product.Type.Shape)));
    }
}

/// <summary>
/// <c>tensordot(a, b, dims_a, dims_b)</c> sums the products over the paired dims: an einsum whose output is a's
/// other subscripts, then b's (dims ([1, 2], [0, 1]) give "abc,bcd->ad").
/// </summary>
[AtenOp("aten::tensordot")]
internal static class Tensordot
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (left, right) = (a.Tensor(0), a.Tensor(1));
        var leftDims = a.Ints(2, "dims_self").Select(d => Shapes.NormalizeAxis(d, left.Type.Rank)).ToArray();
        var rightDims = a.Ints(3, "dims_other").Select(d => Shapes.NormalizeAxis(d, right.Type.Rank)).ToArray();
        var leftTerm = Enumerable.Range(0, left.Type.Rank).Select(i => (char)('a' + i)).ToArray();
        var rightTerm = Enumerable.Range(0, right.Type.Rank)
            .Select(i => Array.IndexOf(rightDims, i) is var paired and >= 0 ? leftTerm[leftDims[paired]] : (char)('a' + left.Type.Rank + i)).ToArray();
        var output = leftTerm.Where((_, i) => !leftDims.Contains(i)).Concat(rightTerm.Where((_, i) => !rightDims.Contains(i)));
        var equation = $"{new string(leftTerm)},{new string(rightTerm)}->{string.Concat(output)}";
        return Aten.Call(c, "aten::einsum", equation, new List<object?> { left, right });
    }
}

/// <summary>
/// <c>einsum(equation, tensors)</c> → ONNX Einsum (opset ≥ 12). The equation is normalized: spaces dropped (MaxViT
/// writes <c>"B G H I D, B G H J D -> B G H I J"</c>), every subscript letter renamed to a lower-case one in order of
/// appearance, and an implicit output (no <c>-&gt;</c>) spelled out as torch defines it: the ellipsis, then the
/// letters used once, in alphabetical order.
/// </summary>
[AtenOp("aten::einsum")]
internal static class Einsum
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var tensors = a.Tensors(1, "tensors");
        var equation = a.String(0, "equation").Replace(" ", "", StringComparison.Ordinal);
        var parts = equation.Split("->");
        var inputs = parts[0].Split(',');
        if (inputs.Length != tensors.Count)
            throw c.Error(DiagnosticCode.InvalidOpArguments, $"einsum equation '{equation}' has {inputs.Length} operands, the call passes {tensors.Count}");
        var output = parts.Length > 1 ? parts[1] : ImplicitOutput(inputs);
        var letters = new Dictionary<char, char>();
        string Rename(string term)
        {
            var renamed = new StringBuilder();
            foreach (var ch in term)
            {
                if (!char.IsLetter(ch)) { renamed.Append(ch); continue; }
                if (!letters.TryGetValue(ch, out var to))
                {
                    if (letters.Count == 26) throw c.Error(DiagnosticCode.InvalidOpArguments, $"einsum equation '{equation}' uses more than 26 subscripts");
                    letters[ch] = to = (char)('a' + letters.Count);
                }
                renamed.Append(to);
            }
            return renamed.ToString();
        }
        var normalized = string.Join(",", inputs.Select(Rename)) + "->" + Rename(output);
        var type = tensors[0].Type.ElementType;
        return c.Op("Einsum", tensors.Select(t => c.Cast(t, type)).ToArray(),
            TensorType.Of(type).WithShape(OutputShape(inputs, output, tensors)), ("equation", normalized));
    }

    private static string ImplicitOutput(string[] inputs)
    {
        var counts = inputs.SelectMany(t => t.Where(char.IsLetter)).GroupBy(ch => ch).Where(g => g.Count() == 1).Select(g => g.Key);
        return (inputs.Any(t => t.Contains("...", StringComparison.Ordinal)) ? "..." : "") + new string(counts.Order().ToArray());
    }

    /// <summary>Each output letter takes its size from an operand that has it; the ellipsis dims broadcast.</summary>
    private static IReadOnlyList<Dim>? OutputShape(string[] inputs, string output, IReadOnlyList<Value> tensors)
    {
        var sizes = new Dictionary<char, Dim>();
        IReadOnlyList<Dim>? ellipsis = [];
        for (var t = 0; t < inputs.Length; t++)
        {
            if (tensors[t].Type.Shape is not { } shape) return null;
            var term = inputs[t];
            var dot = term.IndexOf("...", StringComparison.Ordinal);
            var named = term.Replace("...", "", StringComparison.Ordinal);
            var ellipsisRank = shape.Count - named.Length;
            if (dot >= 0) ellipsis = Shapes.Broadcast(ellipsis, shape.Skip(dot).Take(ellipsisRank).ToArray());
            for (var i = 0; i < named.Length; i++)
            {
                var dim = shape[dot >= 0 && i >= dot ? i + ellipsisRank : i];
                if (!sizes.TryGetValue(named[i], out var known) || (known.Value == 1 && dim.Value != 1)) sizes[named[i]] = dim;
            }
        }
        var result = new List<Dim>();
        var outputDot = output.IndexOf("...", StringComparison.Ordinal);
        var outputNamed = output.Replace("...", "", StringComparison.Ordinal);
        for (var i = 0; i <= outputNamed.Length; i++)
        {
            if (i == outputDot) result.AddRange(ellipsis ?? []);
            if (i < outputNamed.Length) result.Add(sizes.TryGetValue(outputNamed[i], out var d) ? d : Shapes.Unknown());
        }
        return result;
    }
}

/// <summary><c>outer(u, v)</c> (also what <c>torch.ger</c> traces to): u as a column times v as a row, broadcast → Mul.</summary>
[AtenOp("aten::outer")]
internal static class Outer
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) =>
        Binary.Lower(c, "Mul", c.Unsqueeze(a.Tensor(0), [1]), c.Unsqueeze(a.Tensor(1), [0]));
}

/// <summary>
/// <c>cross(a, b, dim)</c> / <c>linalg_cross(a, b, dim=-1)</c> of 3-vectors along dim (cross's dim None: the first of size 3):
/// a[1,2,0]·b[2,0,1] − a[2,0,1]·b[1,2,0], each permutation a Gather along dim.
/// </summary>
[AtenOp("aten::cross", "aten::linalg_cross")]
internal static class Cross
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var (x, y) = (a.Tensor(0), a.Tensor(1));
        var rank = Math.Max(x.Type.Rank, y.Type.Rank);
        var dim = a.Get(2, "dim") is null
            ? Enumerable.Range(0, x.Type.Rank).FirstOrDefault(i => x.Type.Shape![i].Value == 3, -1) is var first and >= 0 ? first
                : throw c.Error(DiagnosticCode.InvalidOpArguments, $"aten::cross of {x.Type} without a dim has no dim of size 3")
            : Shapes.NormalizeAxis(a.Int(2, "dim"), rank);
        Value Permuted(Value t, long[] order) =>
            c.Op("Gather", [t, c.ConstInt64(order)], t.Type, ("axis", (long)(dim - rank + t.Type.Rank)));
        long[] next = [1, 2, 0], previous = [2, 0, 1];
        var forward = Binary.Lower(c, "Mul", Permuted(x, next), Permuted(y, previous));
        var backward = Binary.Lower(c, "Mul", Permuted(x, previous), Permuted(y, next));
        return Binary.Lower(c, "Sub", forward, backward);
    }
}

/// <summary>
/// <c>linalg_det(x)</c> (torch.det too) → Det over the trailing [n, n] matrices; <c>logdet(x)</c> is its Log (NaN for a
/// negative determinant, −inf for zero, as in torch).
/// </summary>
[AtenOp("aten::linalg_det", "aten::logdet")]
internal static class Determinant
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var det = c.Op("Det", [x], x.Type.WithShape(x.Type.Shape?.SkipLast(2).ToArray()));
        return c.OpName == "aten::logdet" ? c.Op("Log", [det], det.Type) : det;
    }
}
