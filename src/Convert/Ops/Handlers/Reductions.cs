using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

// Reductions: ops along one or more dims, through Reduction.Reduce where they are Reduce* nodes (mean, sum, prod,
// var/std (and var_mean/std_mean), logsumexp, any/all, max/min, amax/amin/aminmax, argmax/argmin, norm, frobenius_norm,
// linalg_norm, linalg_matrix_norm, and the distances built on them: pairwise_distance, cdist, cosine_similarity), and the
// scans and selections along a dim (cumsum, topk, sort/argsort, unique).

/// <summary>
/// <c>mean(x, dim, keepdim, dtype)</c> and <c>mean(x)</c> → ReduceMean. Opset 18 moved the axes from an
/// attribute to an input.
/// </summary>
[AtenOp("aten::mean")]
internal static class Mean
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Reduction.Lower(c, a, "ReduceMean", axesAsInput: false, sumsIntegers: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Reduction.Lower(c, a, "ReduceMean", axesAsInput: true, sumsIntegers: false);
}

[AtenOp("aten::sum")]
internal static class Sum
{
    // ReduceSum took its axes as an input already in opset 13.
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Reduction.Lower(c, a, "ReduceSum", axesAsInput: true, sumsIntegers: true);
}

/// <summary>
/// <c>prod(x, *, dtype)</c> over every element and <c>prod(x, dim, keepdim, dtype)</c> → ReduceProd (axes an input from
/// opset 18); integer and bool tensors multiply in int64, as torch.
/// </summary>
[AtenOp("aten::prod")]
internal static class Prod
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static Value Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        if (a.Count > 1) return Reduction.Lower(c, a, "ReduceProd", axesAsInput, sumsIntegers: true);
        var x = a.Tensor(0);
        x = a.Get(1, "dtype") is long scalarType && DataTypes.FromTorchScalarType(scalarType) is { } requested ? c.Cast(x, requested)
            : x.Type.ElementType.IsFloatingPoint() ? x : c.Cast(x, DataType.Int64);
        return Reduction.Reduce(c, x, Reduction.AllAxes(x.Type.Rank), keep: false, "ReduceProd", axesAsInput);
    }
}

/// <summary><c>logsumexp(x, dim, keepdim)</c> → ReduceLogSumExp (axes an input from opset 18); integers give float32.</summary>
[AtenOp("aten::logsumexp")]
internal static class LogSumExp
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static Value Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        var x = c.ToFloat(a.Tensor(0));
        return Reduction.Reduce(c, x, Reduction.Axes(a, 1, x.Type.Rank), a.Bool(2, "keepdim", false), "ReduceLogSumExp", axesAsInput);
    }
}

/// <summary>
/// <c>any(x)</c>, <c>any(x, dim, keepdim)</c> and <c>all</c>: whether some or every element is nonzero → ReduceMax or
/// ReduceMin of the bool tensor as int32 (ONNX Runtime reduces no bools), then bool.
/// </summary>
[AtenOp("aten::any", "aten::all")]
internal static class AnyAll
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static Value Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        var x = c.Cast(c.Cast(a.Tensor(0), DataType.Bool), DataType.Int32);
        var axes = a.Count > 1 ? Reduction.Axes(a, 1, x.Type.Rank) : Reduction.AllAxes(x.Type.Rank);
        var reduced = Reduction.Reduce(c, x, axes, a.Bool(2, "keepdim", false), c.OpName == "aten::any" ? "ReduceMax" : "ReduceMin", axesAsInput);
        return c.Cast(reduced, DataType.Bool);
    }
}

internal static class Reduction
{
    /// <summary>
    /// <c>op(x, dim, keepdim, *, dtype)</c> and <c>op(x, *, dtype)</c>. keepdim holds for every axis too
    /// (<c>x.sum([], keepdim=True)</c> is all ones in shape); a dtype casts the input first, as torch does; without one,
    /// torch sums bool and integer tensors in int64 (<paramref name="sumsIntegers"/>; ONNX has no bool ReduceSum).
    /// </summary>
    public static Value Lower(OpContext c, OpArgs a, string onnxOp, bool axesAsInput, bool sumsIntegers)
    {
        var x = a.Tensor(0);
        if (a.Get(3, "dtype") is long scalarType && DataTypes.FromTorchScalarType(scalarType) is { } requested) x = c.Cast(x, requested);
        else if (sumsIntegers && !x.Type.ElementType.IsFloatingPoint()) x = c.Cast(x, DataType.Int64);
        return Reduce(c, x, Axes(a, 1, x.Type.Rank), keep: a.Bool(2, "keepdim", false), onnxOp, axesAsInput);
    }

    /// <summary>True when a <c>dim</c> argument (None or an empty list) means every axis.</summary>
    public static bool IsAllAxes(object? dim) => dim is null or List<object?> { Count: 0 };

    public static long[] AllAxes(int rank) => Enumerable.Range(0, rank).Select(i => (long)i).ToArray();

    /// <summary>The sorted, normalized axes of the <c>dim</c> argument at <paramref name="index"/> (an int, a list, or all).</summary>
    public static long[] Axes(OpArgs a, int index, int rank)
    {
        if (IsAllAxes(a.Get(index, "dim"))) return AllAxes(rank);
        var dims = a.Get(index, "dim") is long single ? [single] : a.Ints(index, "dim");
        return dims.Select(d => (long)Shapes.NormalizeAxis(d, rank)).Distinct().Order().ToArray();
    }

    /// <summary>One ONNX Reduce* node over <paramref name="axes"/>; before opset 18 most take the axes as an attribute.</summary>
    public static Value Reduce(OpContext c, Value x, long[] axes, bool keep, string onnxOp, bool axesAsInput)
    {
        var shape = x.Type.Shape!.Select((d, i) => axes.Contains(i) ? (keep ? Dim.Of(1) : (Dim?)null) : d)
                                 .Where(d => d is not null).Select(d => d!.Value).ToArray();
        var type = x.Type.WithShape(shape);
        return axesAsInput
            ? c.Op(onnxOp, [x, c.ConstInt64(axes)], type, ("keepdims", keep ? 1 : 0))
            : c.Op(onnxOp, [x], type, ("axes", axes), ("keepdims", keep ? 1 : 0));
    }
}

/// <summary>
/// <c>var(x, dim, unbiased, keepdim)</c>, <c>var(x, dim, correction=k, keepdim)</c> and <c>var(x, unbiased)</c> →
/// <c>ReduceMean((x − ReduceMean(x))²)</c> over the dims, times n/(n − correction) when the correction is not 0 (n the
/// number of reduced elements: a constant when those dims are static, else computed from the input's shape at run time).
/// These are the ops a hand-written variance lowers to, so LayerNormFusion recognises <c>x.var(-1, unbiased=False)</c>.
/// <c>std</c> is its square root; <c>var_mean</c>/<c>std_mean</c> return (var or std, mean) over the same dims.
/// </summary>
[AtenOp("aten::var", "aten::std", "aten::var_mean", "aten::std_mean")]
internal static class Variance
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static object Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        var x = a.Tensor(0);
        if (!x.Type.ElementType.IsFloatingPoint())
            throw c.Error(Core.Diagnostics.DiagnosticCode.UnsupportedDtype, $"{c.OpName} of a {x.Type.ElementType.Name()} tensor: torch computes it for floating-point tensors only");
        var rank = x.Type.Rank;
        // var(x, unbiased): the second argument is a bool and every dim is reduced.
        var wholeTensor = a.Get(1) is bool || Reduction.IsAllAxes(a.Get(1, "dim"));
        var axes = wholeTensor ? Reduction.AllAxes(rank) : Reduction.Axes(a, 1, rank);
        var correction = a.Get(1) is bool unbiasedOnly ? (unbiasedOnly ? 1 : 0)
            : a.Get(2, "unbiased") is bool unbiased ? (unbiased ? 1 : 0)
            : a.Int(2, "correction", 1);
        var keep = a.Get(1) is not bool && a.Bool(3, "keepdim", false);

        Value Mean(Value input, bool keepDims) => Reduction.Reduce(c, input, axes, keepDims, "ReduceMean", axesAsInput);

        var mean = Mean(x, keepDims: true);
        var deviation = c.Op("Sub", [x, mean], x.Type);
        var variance = Mean(c.Op("Mul", [deviation, deviation], x.Type), keep);
        if (correction != 0) variance = c.Op("Mul", [variance, Correction(c, x, axes, correction)], variance.Type);
        var spread = c.OpName.StartsWith("aten::std", StringComparison.Ordinal) ? c.Op("Sqrt", [variance], variance.Type) : variance;
        return c.OpName.EndsWith("_mean", StringComparison.Ordinal) ? new TupleValue([spread, keep ? mean : Mean(x, keepDims: false)]) : spread;
    }

    /// <summary>n/(n − correction) for the n elements reduced over <paramref name="axes"/> (computed at run time when a dim is dynamic).</summary>
    private static Value Correction(OpContext c, Value x, long[] axes, long correction)
    {
        var reduced = axes.Select(i => x.Type.Shape![(int)i]).ToArray();
        if (reduced.All(d => d.IsStatic))
        {
            var n = reduced.Aggregate(1L, (p, d) => p * d.Value!.Value);
            return c.Scalar((double)n / (n - correction), x.Type.ElementType);
        }
        var scalar = TensorType.Scalar(x.Type.ElementType);
        var sizes = c.Op("Gather", [c.ShapeOf(x), c.ConstInt64(axes)], TensorType.Of(DataType.Int64, axes.Length), ("axis", 0L));
        var count = c.Cast(c.Op("ReduceProd", [sizes], TensorType.Scalar(DataType.Int64), ("keepdims", 0)), x.Type.ElementType);
        return c.Op("Div", [count, c.Op("Sub", [count, c.Scalar(correction, x.Type.ElementType)], scalar)], scalar);
    }
}

/// <summary>
/// The three overloads of <c>max</c>/<c>min</c>: over every element (<c>x.max()</c>, a 0-d tensor) → ReduceMax/ReduceMin;
/// along a dim (<c>x.max(dim, keepdim)</c>) → (values, int64 indices) from ReduceMax and ArgMax, which both pick the
/// first of equal values as torch does; against a tensor (<c>torch.max(x, y)</c>) → Max/Min with broadcasting.
/// Opset 18 moved the Reduce axes from an attribute to an input.
/// </summary>
[AtenOp("aten::max", "aten::min")]
internal static class MaxMin
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static object? Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        var isMax = c.OpName == "aten::max";
        var x = a.Tensor(0);
        var second = a.Get(1, "dim") ?? a.Get(1, "other");
        if (second is Value)
            return Binary.Lower(c, isMax ? "Max" : "Min", x, second);
        var reduce = isMax ? "ReduceMax" : "ReduceMin";
        var rank = x.Type.Rank;
        if (second is null)
            return Reduction.Reduce(c, x, Reduction.AllAxes(rank), keep: false, reduce, axesAsInput);

        var axis = Shapes.NormalizeAxis(a.Int(1, "dim"), rank);
        var keep = a.Bool(2, "keepdim", false);
        var values = Reduction.Reduce(c, x, [axis], keep, reduce, axesAsInput);
        var indices = c.Op(isMax ? "ArgMax" : "ArgMin", [x], TensorType.Of(DataType.Int64, [.. values.Type.Shape!]),
            ("axis", axis), ("keepdims", keep ? 1 : 0));
        return new TupleValue([values, indices]);
    }
}

/// <summary>
/// <c>amax(x, dim, keepdim)</c> / <c>amin(...)</c> → ReduceMax/ReduceMin (an empty <c>dim</c> reduces every axis);
/// <c>aminmax(x, *, dim, keepdim)</c> is the pair (min, max), over every axis when dim is None.
/// </summary>
[AtenOp("aten::amax", "aten::amin", "aten::aminmax")]
internal static class AmaxAmin
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static object? Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        Value Reduce(string onnxOp) => Reduction.Lower(c, a, onnxOp, axesAsInput, sumsIntegers: false);
        return c.OpName switch
        {
            "aten::aminmax" => new TupleValue([Reduce("ReduceMin"), Reduce("ReduceMax")]),
            "aten::amax" => Reduce("ReduceMax"),
            _ => Reduce("ReduceMin"),
        };
    }
}

/// <summary><c>argmax(x, dim, keepdim)</c> → ArgMax (first index of the maximum, as torch); dim None flattens first.</summary>
[AtenOp("aten::argmax", "aten::argmin")]
internal static class ArgMax
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var onnxOp = c.OpName == "aten::argmax" ? "ArgMax" : "ArgMin";
        if (a.IsNone(1, "dim"))
        {
            var flat = c.Op("Reshape", [x, c.ConstInt64([-1])], x.Type.WithShape([Shapes.Product(x.Type.Shape!)]));
            return c.Op(onnxOp, [flat], TensorType.Scalar(DataType.Int64), ("axis", 0), ("keepdims", 0));
        }
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim"), x.Type.Rank);
        var keep = a.Bool(2, "keepdim", false);
        var shape = x.Type.Shape!.Select((d, i) => i == axis ? (keep ? Dim.Of(1) : (Dim?)null) : d).Where(d => d is not null).Select(d => d!.Value).ToArray();
        return c.Op(onnxOp, [x], TensorType.Of(DataType.Int64, shape), ("axis", axis), ("keepdims", keep ? 1 : 0));
    }
}

/// <summary>
/// <c>norm(x, p, dim, keepdim[, dtype])</c> (<c>x.norm(p, dim)</c>, <c>F.normalize</c>; traced with every axis listed
/// when dim is omitted): p = 2 → ReduceL2, 1 → ReduceL1, ±inf → ReduceMax/ReduceMin of |x|, 0 → count of non-zeros,
/// any other p → (Σ|x|^p)^(1/p). <c>linalg_vector_norm(x, ord, dim, keepdim, dtype)</c> takes the same arguments, and
/// so does <c>linalg_norm</c>, whose ord None is the 2-norm of the dims and 'fro' that of two; its matrix norms (a
/// number ord over two dims, 'nuc') are refused. Opset 18 moved the axes of ReduceL1/L2/Max/Min from an attribute to an input.
/// </summary>
[AtenOp("aten::norm", "aten::linalg_vector_norm", "aten::linalg_norm")]
internal static class Norm
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static Value Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        var input = a.Tensor(0);
        var x = a.Get(4, "dtype") is long scalarType && DataTypes.FromTorchScalarType(scalarType) is { } requested
            ? c.Cast(input, requested) : input;
        var axes = Reduction.Axes(a, 2, x.Type.Rank);
        // p is a number (the schema's Scalar?); None means 2.
        var p = c.OpName == "aten::linalg_norm" ? LinalgNormOrder(c, a.Get(1, "ord"), axes.Length) : a.Float(1, c.OpName == "aten::norm" ? "p" : "ord", 2);
        return Of(c, x, p, axes, a.Bool(3, "keepdim", false), axesAsInput);
    }

    private static double LinalgNormOrder(OpContext c, object? ord, int dims) => ord switch
    {
        null => 2,
        "fro" when dims == 2 => 2,
        double d when dims == 1 => d,
        long l when dims == 1 => l,
        _ => throw c.Error(Core.Diagnostics.DiagnosticCode.UnsupportedOpVariant,
            $"aten::linalg_norm with ord {Interpreter.DescribeValue(ord)} over {dims} dims (a matrix norm) is not supported",
            "use torch.linalg.vector_norm, or ord=None / 'fro'"),
    };

    /// <summary>The p-norm of <paramref name="x"/> over <paramref name="axes"/> (also pairwise_distance, weight_norm, cosine_similarity).</summary>
    public static Value Of(OpContext c, Value x, double p, long[] axes, bool keep, bool axesAsInput)
    {
        Value Reduce(Value operand, string onnxOp, bool asInput) => Reduction.Reduce(c, operand, axes, keep, onnxOp, asInput);
        Value Magnitude() => c.Op("Abs", [x], x.Type);
        return p switch
        {
            2 => Reduce(x, "ReduceL2", axesAsInput),
            1 => Reduce(x, "ReduceL1", axesAsInput),
            double.PositiveInfinity => Reduce(Magnitude(), "ReduceMax", axesAsInput),
            double.NegativeInfinity => Reduce(Magnitude(), "ReduceMin", axesAsInput),
            // The count of non-zeros: a cast to bool is true for every non-zero (and NaN, which torch counts too).
            // ReduceSum has taken its axes as an input since opset 13.
            0 => Reduce(c.Cast(c.Cast(x, DataType.Bool), x.Type.ElementType), "ReduceSum", asInput: true),
            _ => PowerOf(c, Reduce(PowerOf(c, Magnitude(), p), "ReduceSum", asInput: true), 1 / p),
        };
    }

    private static Value PowerOf(OpContext c, Value x, double exponent) =>
        c.Op("Pow", [x, c.Scalar(exponent, x.Type.ElementType)], x.Type);
}

/// <summary>
/// <c>frobenius_norm(x, dim, keepdim)</c> (<c>x.norm()</c> and <c>x.norm(dim=…)</c> with the default p) → ReduceL2.
/// </summary>
[AtenOp("aten::frobenius_norm")]
internal static class FrobeniusNorm
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static Value Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        var x = a.Tensor(0);
        return Reduction.Reduce(c, x, Reduction.Axes(a, 1, x.Type.Rank), a.Bool(2, "keepdim", false), "ReduceL2", axesAsInput);
    }
}

/// <summary>
/// <c>cumsum(x, dim, dtype)</c> → CumSum. As in torch, integer and bool inputs sum in int64 unless <c>dtype</c> says
/// otherwise.
/// </summary>
[AtenOp("aten::cumsum")]
internal static class CumSum
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var type = a.Get(2, "dtype") is long scalarType && DataTypes.FromTorchScalarType(scalarType) is { } requested ? requested
            : x.Type.ElementType.IsFloatingPoint() ? x.Type.ElementType : DataType.Int64;
        var operand = c.Cast(x, type);
        return c.Op("CumSum", [operand, c.ScalarInt64(Shapes.NormalizeAxis(a.Int(1, "dim"), x.Type.Rank))], operand.Type);
    }
}

/// <summary><c>topk(x, k, dim=-1, largest=True, sorted=True)</c> → TopK; returns (values, int64 indices).</summary>
[AtenOp("aten::topk")]
internal static class TopK
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(2, "dim", -1), x.Type.Rank);
        object k = a.Get(1, "k") is DynamicInt dk ? dk : a.Int(1, "k");
        var shape = x.Type.Shape!.Select((d, i) => i == axis ? (k is long kl ? Dim.Of(kl) : Shapes.Unknown()) : d).ToArray();
        var outputs = c.OpMulti("TopK", [x, c.ShapeTensor([k])], [x.Type.WithShape(shape), TensorType.Of(DataType.Int64, shape)],
            ("axis", axis), ("largest", a.Bool(3, "largest", true) ? 1 : 0), ("sorted", a.Bool(4, "sorted", true) ? 1 : 0));
        return new TupleValue([outputs[0], outputs[1]]);
    }
}

/// <summary>
/// <c>sort(x, dim=-1, descending=False)</c> and <c>sort(x, stable=…, dim, descending)</c> → TopK over the whole dim; returns
/// (values, int64 indices). TopK keeps equal elements in index order, so the result is the stable sort's.
/// <c>argsort(x, dim, descending)</c> is its indices.
/// </summary>
[AtenOp("aten::sort", "aten::argsort")]
internal static class Sort
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        // The stable overload has the optional bool stable second; dim and descending follow it.
        var first = a.Get(1) is bool || a.Keywords.ContainsKey("stable") ? 2 : 1;
        var axis = Shapes.NormalizeAxis(a.Int(first, "dim", -1), x.Type.Rank);
        var descending = a.Bool(first + 1, "descending", false);
        object length = x.Type.Shape![axis].Value is { } n ? n : new DynamicInt(c.DimSize(x, axis));
        var outputs = c.OpMulti("TopK", [x, c.ShapeTensor([length])], [x.Type, x.Type.WithElementType(DataType.Int64)],
            ("axis", axis), ("largest", descending ? 1 : 0), ("sorted", 1));
        return c.OpName == "aten::argsort" ? outputs[1] : new TupleValue([outputs[0], outputs[1]]);
    }
}

/// <summary>
/// <c>pairwise_distance(x1, x2, p=2, eps=1e-6, keepdim)</c>: the p-norm of x1 − x2 + eps over the last dim, as torch
/// computes it.
/// </summary>
[AtenOp("aten::pairwise_distance")]
internal static class PairwiseDistance
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static Value Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        var difference = (Value)Binary.Lower(c, "Sub", a.Get(0), a.Get(1));
        var shifted = c.Op("Add", [difference, c.Scalar(a.Float(3, "eps", 1e-6), difference.Type.ElementType)], difference.Type);
        return Norm.Of(c, shifted, a.Float(2, "p", 2), [difference.Type.Rank - 1], a.Bool(4, "keepdim", false), axesAsInput);
    }
}

/// <summary>
/// <c>cdist(x1, x2, p=2)</c> of [..., P, M] and [..., R, M]: the p-norm of every difference x1[i] − x2[j], through
/// broadcasting to [..., P, R, M] (torch's direct form; for P or R over 25 with p = 2 torch uses a matmul form that
/// differs in the last bits).
/// </summary>
[AtenOp("aten::cdist")]
internal static class Cdist
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static Value Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        var (x1, x2) = (a.Tensor(0), a.Tensor(1));
        var difference = (Value)Binary.Lower(c, "Sub", c.Unsqueeze(x1, [x1.Type.Rank - 1]), c.Unsqueeze(x2, [x2.Type.Rank - 2]));
        return Norm.Of(c, difference, a.Float(2, "p", 2), [difference.Type.Rank - 1], keep: false, axesAsInput);
    }
}

/// <summary>
/// <c>cosine_similarity(x1, x2, dim=1, eps=1e-8)</c>: the sum over dim of x1/max(‖x1‖, eps) · x2/max(‖x2‖, eps), torch's
/// form (each side normalised first); the two sides broadcast.
/// </summary>
[AtenOp("aten::cosine_similarity")]
internal static class CosineSimilarity
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static Value Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        var (x1, x2, type) = Promoted.Operands(c, a.Get(0), a.Get(1), toFloat: true);
        var axis = (long)Shapes.NormalizeAxis(a.Int(2, "dim", 1), type.Rank);
        var eps = c.Scalar(a.Float(3, "eps", 1e-8), type.ElementType);
        Value Normalized(Value x)
        {
            var norm = Norm.Of(c, x, 2, [axis], keep: true, axesAsInput);
            return c.Op("Div", [x, c.Op("Max", [norm, eps], norm.Type)], x.Type);
        }
        var product = c.Op("Mul", [Normalized(x1), Normalized(x2)], type);
        return Reduction.Reduce(c, product, [axis], keep: false, "ReduceSum", axesAsInput: true);
    }
}

/// <summary>
/// <c>linalg_matrix_norm(x, ord, dim, keepdim, dtype)</c> over the two dims of dim: 'fro' → ReduceL2 over both; 1 / −1 →
/// the largest / smallest column sum of |x| (ReduceSum over the rows, then ReduceMax/ReduceMin), inf / −inf the same for
/// row sums. 'nuc' and ±2 are sums or extremes of singular values, which no ONNX op computes: MF2041.
/// </summary>
[AtenOp("aten::linalg_matrix_norm")]
internal static class MatrixNorm
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: false);

    [Opset(18)]
    private static object? V18(OpContext c, OpArgs a) => Lower(c, a, axesAsInput: true);

    private static Value Lower(OpContext c, OpArgs a, bool axesAsInput)
    {
        var input = a.Tensor(0);
        var x = a.Get(4, "dtype") is long scalarType && DataTypes.FromTorchScalarType(scalarType) is { } requested ? c.Cast(input, requested) : input;
        var dims = (a.IsNone(2, "dim") ? [-2, -1] : a.Ints(2, "dim")).Select(d => (long)Shapes.NormalizeAxis(d, x.Type.Rank)).ToArray();
        var keep = a.Bool(3, "keepdim", false);
        var ord = a.Get(1, "ord") switch { string s => s, long l => (double)l, double d => d, var other => other };
        if (ord is "fro") return Norm.Of(c, x, 2, [.. dims.Order()], keep, axesAsInput);
        if (ord is not double order || Math.Abs(order) is not (1 or double.PositiveInfinity))
            throw c.Error(Core.Diagnostics.DiagnosticCode.NoOnnxEquivalent,
                $"aten::linalg_matrix_norm with ord {Interpreter.DescribeValue(a.Get(1, "ord"))} needs singular values, which no ONNX opset (13–20) computes",
                "use ord 'fro', 1, -1, inf or -inf, or compute the norm outside the exported model");
        // ord ±1 sums over the rows (dim[0]) and takes the extreme column; ±inf sums over the columns (dim[1]).
        var (summed, extreme) = Math.Abs(order) == 1 ? (dims[0], dims[1]) : (dims[1], dims[0]);
        var sums = Reduction.Reduce(c, c.Op("Abs", [x], x.Type), [summed], keep: true, "ReduceSum", axesAsInput: true);
        var norm = Reduction.Reduce(c, sums, [extreme], keep: true, order > 0 ? "ReduceMax" : "ReduceMin", axesAsInput);
        if (keep) return norm;
        var kept = norm.Type.Shape!.Where((_, i) => !dims.Contains(i)).ToArray();
        return c.Op("Squeeze", [norm, c.ConstInt64([.. dims.Order()])], norm.Type.WithShape(kept));
    }
}

/// <summary>
/// <c>_unique(x, sorted, return_inverse)</c>, <c>_unique2(x, sorted, return_inverse, return_counts)</c> (torch.unique)
/// and <c>unique_dim(x, dim, sorted, return_inverse, return_counts)</c> → Unique (sorted; torch's unsorted order is its
/// hash table's, which any order matches as well as another): the distinct values (or slices along dim), the inverse
/// indices in x's shape (along dim: one per slice) and the counts. Their length depends on the data.
/// </summary>
[AtenOp("aten::_unique", "aten::_unique2", "aten::unique_dim")]
internal static class Unique
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var distinct = Shapes.Unknown();
        int? axis = c.OpName == "aten::unique_dim" ? Shapes.NormalizeAxis(a.Int(1, "dim"), x.Type.Rank) : null;
        var valuesType = axis is { } along ? x.Type.WithShape(x.Type.Shape!.Select((d, i) => i == along ? distinct : d).ToArray()) : x.Type.WithShape([distinct]);
        var indexType = TensorType.Of(DataType.Int64, distinct);
        var attributes = axis is { } dim ? new (string, AttributeValue)[] { ("sorted", 1), ("axis", dim) } : [("sorted", 1)];
        var outputs = c.OpMulti("Unique", [x], [valuesType, indexType, indexType, indexType], attributes);
        var inverse = axis is null ? c.Op("Reshape", [outputs[2], c.ShapeOf(x)], x.Type.WithElementType(DataType.Int64)) : outputs[2];
        return c.OpName == "aten::_unique" ? new TupleValue([outputs[0], inverse]) : new TupleValue([outputs[0], inverse, outputs[3]]);
    }
}
