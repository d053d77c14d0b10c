using ModelForge.Convert.IR;
using ModelForge.Convert.Passes;
using static ModelForge.Passes.Tests.GraphBuilder;

namespace ModelForge.Passes.Tests;

// One class per pass, named <Pass.Name>Tests; one method per fixtures/passes/<Pass>/<case>.*.ir pair.

public sealed class DeadCodeEliminationTests
{
    [Fact]
    public void Unused_branch_and_weight()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 4));
        var unused = b.Floats("unused_weight", [2], 1, 2);
        b.Op("Mul", [x, unused], F32("batch", 4));
        var dead = b.Op("Sigmoid", [x], F32("batch", 4));
        b.Op("Neg", [dead], F32("batch", 4));
        Golden.Check(new DeadCodeEliminationPass(), b.Return(b.Op("Relu", [x], F32("batch", 4))));
    }

    [Fact]
    public void Values_read_only_inside_branches_stay()
    {
        // The weight and the Relu are read only by the branches; the Sigmoid by nothing.
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 4));
        var condition = b.Input("condition", TensorType.Scalar(DataType.Bool));
        var weight = b.Floats("weight", [4], 1, 2, 3, 4);
        var relu = b.Op("Relu", [x], F32("batch", 4));
        b.Op("Sigmoid", [x], F32("batch", 4));
        var thenBranch = b.Subgraph("then", t => [t.Op("Mul", [x, weight], F32("batch", 4))]);
        var elseBranch = b.Subgraph("else", e => [e.Op("Neg", [relu], F32("batch", 4))]);
        Golden.Check(new DeadCodeEliminationPass(), b.Return(b.If(condition, thenBranch, elseBranch, F32("batch", 4))[0]));
    }
}

public sealed class RemoveIdentityTests
{
    [Fact]
    public void Identity_and_inference_dropout()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 4));
        var relu = b.Op("Relu", [x], F32("batch", 4));
        var same = b.Op("Identity", [relu], F32("batch", 4));
        var dropped = b.Op("Dropout", [same], F32("batch", 4), ("ratio", 0.5));
        Golden.Check(new RemoveIdentityPass(), b.Return(b.Op("Identity", [b.Op("Sigmoid", [dropped], F32("batch", 4))], F32("batch", 4))));
    }

    [Fact]
    public void Identity_read_inside_a_branch_is_rewired_there()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 4));
        var condition = b.Input("condition", TensorType.Scalar(DataType.Bool));
        var same = b.Op("Identity", [b.Op("Relu", [x], F32("batch", 4))], F32("batch", 4));
        var thenBranch = b.Subgraph("then", t => [t.Op("Sigmoid", [same], F32("batch", 4))]);
        var elseBranch = b.Subgraph("else", e => [e.Op("Neg", [x], F32("batch", 4))]);
        Golden.Check(new RemoveIdentityPass(), b.Return(b.If(condition, thenBranch, elseBranch, F32("batch", 4))[0]));
    }

    [Fact]
    public void Identity_that_names_an_input_stays()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 4));
        Golden.Check(new RemoveIdentityPass(), b.Return(x, b.Op("Relu", [x], F32("batch", 4))));
    }
}

public sealed class ConstantFoldingTests
{
    [Fact]
    public void Static_dims_of_a_dynamic_shape()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 3, 4));
        var shape = b.Op("Shape", [x], I64(3));
        var channels = b.Op("Gather", [shape, b.Longs("one", [], 1)], I64(), ("axis", 0L));
        var batch = b.Op("Gather", [shape, b.Longs("zero", [], 0)], I64(), ("axis", 0L));
        var width = b.Op("Mul", [channels, b.Longs("four", [], 4)], I64());
        var parts = new[] { batch, width }.Select(v => b.Op("Unsqueeze", [v, b.Longs("axes" + v.Name.Length, [1], 0)], I64(1))).ToArray();
        var target = b.Op("Concat", parts, I64(2), ("axis", 0L));
        Golden.Check(new ConstantFoldingPass(), b.Return(b.Op("Reshape", [x, target], F32("batch", 12))));
    }

    [Fact]
    public void Float_arithmetic_cast_and_transpose()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 2, 3));
        var w = b.Floats("w", [3, 2], 1, 2, 3, 4, 5, 6);
        var wt = b.Op("Transpose", [w], F32(2, 3), ("perm", new long[] { 1, 0 }));
        var scaled = b.Op("Mul", [wt, b.Scalar("two", 2)], F32(2, 3));
        var sqrt = b.Op("Sqrt", [b.Op("Cast", [b.Longs("nine", [], 9)], F32(), ("to", (long)DataType.Float32))], F32());
        var y = b.Op("Add", [b.Op("Mul", [x, scaled], F32("batch", 2, 3)), sqrt], F32("batch", 2, 3));
        Golden.Check(new ConstantFoldingPass(), b.Return(y));
    }

    [Fact]
    public void If_on_a_constant_condition_becomes_its_branch()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 4));
        var condition = b.Graph.AddInitializer("condition", new ConstantData(DataType.Bool, [], new byte[] { 0 }));
        var thenBranch = b.Subgraph("then", t => [t.Op("Sigmoid", [x], F32("batch", 4))]);
        var elseBranch = b.Subgraph("else", e => [e.Op("Neg", [e.Op("Relu", [x], F32("batch", 4))], F32("batch", 4))]);
        var chosen = b.If(condition, thenBranch, elseBranch, F32("batch", 4))[0];
        Golden.Check(new ConstantFoldingPass(), b.Return(b.Op("Tanh", [chosen], F32("batch", 4))));
    }
}

public sealed class ShapeChainTests
{
    [Fact]
    public void View_with_the_batch_dim_read_back()
    {
        // x.view(x.size(0), 2, 8) with a dynamic batch
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 4, 2, 2));
        var shape = b.Op("Shape", [x], I64(4));
        var batch = b.Op("Gather", [shape, b.Longs("zero", [], 0)], I64(), ("axis", 0L));
        var entry = b.Op("Unsqueeze", [batch, b.Longs("axes", [1], 0)], I64(1));
        var target = b.Op("Concat", [entry, b.Longs("two", [1], 2), b.Longs("eight", [1], 8)], I64(3), ("axis", 0L));
        Golden.Check(new ShapeChainPass(), b.Return(b.Op("Reshape", [x, target], F32("batch", 2, 8))));
    }

    [Fact]
    public void Reshape_of_reshape_and_noop_reshape()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 4, 2));
        var flat = b.Op("Reshape", [x, b.Longs("flat", [2], 0, -1)], F32("batch", 8));
        var back = b.Op("Reshape", [flat, b.Longs("back", [3], -1, 2, 4)], F32("batch", 2, 4));
        var same = b.Op("Reshape", [back, b.Longs("same", [3], 0, 2, 4)], F32("batch", 2, 4));
        Golden.Check(new ShapeChainPass(), b.Return(b.Op("Relu", [same], F32("batch", 2, 4))));
    }
}

public sealed class FoldBatchNormTests
{
    [Fact]
    public void Conv_then_batchnorm()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 1, 4, 4));
        var conv = b.Op("Conv", [x, b.Floats("w", [2, 1, 1, 1], 2, -1), b.Floats("bias", [2], 0.5f, 1)], F32("batch", 2, 4, 4),
            ("kernel_shape", new long[] { 1, 1 }));
        var bn = b.Op("BatchNormalization", [conv, b.Floats("gamma", [2], 1, 2), b.Floats("beta", [2], 0, 1),
            b.Floats("mean", [2], 1, -1), b.Floats("var", [2], 4, 0.25f)], F32("batch", 2, 4, 4), ("epsilon", 0.0));
        Golden.Check(new FoldBatchNormPass(), b.Return(b.Op("Relu", [bn], F32("batch", 2, 4, 4))));
    }

    [Fact]
    public void Gemm_then_batchnorm()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 2));
        var gemm = b.Op("Gemm", [x, b.Floats("w", [2, 2], 1, 2, 3, 4), b.Floats("bias", [2], 1, 1)], F32("batch", 2), ("transB", 1L));
        var bn = b.Op("BatchNormalization", [gemm, b.Floats("gamma", [2], 1, 2), b.Floats("beta", [2], 0, 1),
            b.Floats("mean", [2], 1, -1), b.Floats("var", [2], 4, 0.25f)], F32("batch", 2), ("epsilon", 0.0));
        Golden.Check(new FoldBatchNormPass(), b.Return(bn));
    }

    [Fact]
    public void Conv_output_read_twice_is_kept()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 1, 4, 4));
        var conv = b.Op("Conv", [x, b.Floats("w", [2, 1, 1, 1], 2, -1)], F32("batch", 2, 4, 4), ("kernel_shape", new long[] { 1, 1 }));
        var bn = b.Op("BatchNormalization", [conv, b.Floats("gamma", [2], 1, 2), b.Floats("beta", [2], 0, 1),
            b.Floats("mean", [2], 1, -1), b.Floats("var", [2], 4, 0.25f)], F32("batch", 2, 4, 4), ("epsilon", 0.0));
        Golden.Check(new FoldBatchNormPass(), b.Return(b.Op("Add", [bn, conv], F32("batch", 2, 4, 4))));
    }
}

public sealed class MatMulAddToGemmTests
{
    [Fact]
    public void Linear_as_transpose_matmul_add()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 3));
        var wt = b.Op("Transpose", [b.Floats("w", [2, 3], 1, 2, 3, 4, 5, 6)], F32(3, 2), ("perm", new long[] { 1, 0 }));
        var mm = b.Op("MatMul", [x, wt], F32("batch", 2));
        Golden.Check(new MatMulAddToGemmPass(), b.Return(b.Op("Add", [b.Floats("bias", [2], 1, -1), mm], F32("batch", 2))));
    }

    [Fact]
    public void Rank3_matmul_stays()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 5, 3));
        var mm = b.Op("MatMul", [x, b.Floats("w", [3, 2], 1, 2, 3, 4, 5, 6)], F32("batch", 5, 2));
        Golden.Check(new MatMulAddToGemmPass(), b.Return(b.Op("Add", [mm, b.Floats("bias", [2], 1, -1)], F32("batch", 5, 2))));
    }
}

public sealed class FlattenNestedConcatTests
{
    [Fact]
    public void Nested_concats_on_the_same_axis_merge()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 2, 4));
        var y = b.Input("y", F32("batch", 3, 4));
        var inner = b.Op("Concat", [x, y], F32("batch", 5, 4), ("axis", 1L));
        var middle = b.Op("Concat", [y, inner], F32("batch", 8, 4), ("axis", -2L));
        Golden.Check(new FlattenNestedConcatPass(), b.Return(b.Op("Concat", [x, middle, y], F32("batch", 13, 4), ("axis", 1L))));
    }

    [Fact]
    public void Other_axis_or_other_reader_stays()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 2, 4));
        var y = b.Input("y", F32("batch", 2, 8));
        var shared = b.Op("Concat", [x, x], F32("batch", 4, 4), ("axis", 1L));
        var sharedOuter = b.Op("Concat", [shared, b.Op("Relu", [shared], F32("batch", 4, 4))], F32("batch", 8, 4), ("axis", 1L));
        var otherAxis = b.Op("Concat", [x, x], F32("batch", 2, 8), ("axis", 2L));
        Golden.Check(new FlattenNestedConcatPass(), b.Return(sharedOuter, b.Op("Concat", [otherAxis, y], F32("batch", 4, 8), ("axis", 1L))));
    }
}

public sealed class LayerNormFusionTests
{
    private static Graph ManualLayerNorm(bool pow)
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 5, 4));
        var mean = b.Op("ReduceMean", [x], F32("batch", 5, 1), ("axes", new long[] { -1 }), ("keepdims", 1L));
        var d = b.Op("Sub", [x, mean], F32("batch", 5, 4));
        var square = pow ? b.Op("Pow", [d, b.Scalar("two", 2)], F32("batch", 5, 4)) : b.Op("Mul", [d, d], F32("batch", 5, 4));
        var variance = b.Op("ReduceMean", [square], F32("batch", 5, 1), ("axes", new long[] { 2 }), ("keepdims", 1L));
        var std = b.Op("Sqrt", [b.Op("Add", [variance, b.Scalar("eps", 1e-5f)], F32("batch", 5, 1))], F32("batch", 5, 1));
        var normalized = b.Op("Div", [d, std], F32("batch", 5, 4));
        var scaled = b.Op("Mul", [b.Floats("gamma", [4], 1, 2, 3, 4), normalized], F32("batch", 5, 4));
        return b.Return(b.Op("Add", [scaled, b.Floats("beta", [1, 4], 0, 0, 1, 1)], F32("batch", 5, 4)));
    }

    [Fact]
    public void Spelled_out_layer_norm() => Golden.Check(new LayerNormFusionPass(), ManualLayerNorm(pow: false));

    [Fact]
    public void Spelled_out_layer_norm_with_pow() => Golden.Check(new LayerNormFusionPass(), ManualLayerNorm(pow: true));

    [Fact]
    public void Below_opset_17_nothing_changes() => Golden.Check(new LayerNormFusionPass(), ManualLayerNorm(pow: false), opset: 13);

    /// <summary>
    /// As traced from hand-written modules: the variance squares its own <c>x − mean</c>, not the numerator's. BERT's
    /// <c>(x − u).pow(2)</c> and <c>(x − u) / …</c> are two Subs of the same mean; <c>x.var(-1, unbiased=False)</c>
    /// lowers to its own ReduceMean and Sub.
    /// </summary>
    private static Graph TracedLayerNorm(bool ownMean)
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 5, 4));
        var mean = b.Op("ReduceMean", [x], F32("batch", 5, 1), ("axes", new long[] { 2 }), ("keepdims", 1L));
        var d = b.Op("Sub", [x, mean], F32("batch", 5, 4));
        var varianceMean = ownMean ? b.Op("ReduceMean", [x], F32("batch", 5, 1), ("axes", new long[] { -1 }), ("keepdims", 1L)) : mean;
        var d2 = b.Op("Sub", [x, varianceMean], F32("batch", 5, 4));
        var square = ownMean ? b.Op("Mul", [d2, d2], F32("batch", 5, 4)) : b.Op("Pow", [d2, b.Scalar("two", 2)], F32("batch", 5, 4));
        var variance = b.Op("ReduceMean", [square], F32("batch", 5, 1), ("axes", new long[] { 2 }), ("keepdims", 1L));
        var std = b.Op("Sqrt", [b.Op("Add", [variance, b.Scalar("eps", 1e-6f)], F32("batch", 5, 1))], F32("batch", 5, 1));
        var normalized = b.Op("Div", [d, std], F32("batch", 5, 4));
        var scaled = b.Op("Mul", [normalized, b.Floats("gamma", [4], 1, 2, 3, 4)], F32("batch", 5, 4));
        return b.Return(b.Op("Add", [scaled, b.Floats("beta", [4], 0, 0, 1, 1)], F32("batch", 5, 4)));
    }

    [Fact]
    public void Variance_with_its_own_mean_and_sub() => Golden.Check(new LayerNormFusionPass(), TracedLayerNorm(ownMean: true));

    [Fact]
    public void Centered_twice_from_one_mean() => Golden.Check(new LayerNormFusionPass(), TracedLayerNorm(ownMean: false));

    /// <summary>The variance of a different tensor is not this LayerNorm's: nothing changes.</summary>
    [Fact]
    public void Variance_of_another_tensor_is_kept()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 5, 4));
        var y = b.Input("y", F32("batch", 5, 4));
        var d = b.Op("Sub", [x, b.Op("ReduceMean", [x], F32("batch", 5, 1), ("axes", new long[] { 2 }), ("keepdims", 1L))], F32("batch", 5, 4));
        var e = b.Op("Sub", [y, b.Op("ReduceMean", [y], F32("batch", 5, 1), ("axes", new long[] { 2 }), ("keepdims", 1L))], F32("batch", 5, 4));
        var variance = b.Op("ReduceMean", [b.Op("Mul", [e, e], F32("batch", 5, 4))], F32("batch", 5, 1), ("axes", new long[] { 2 }), ("keepdims", 1L));
        var std = b.Op("Sqrt", [b.Op("Add", [variance, b.Scalar("eps", 1e-5f)], F32("batch", 5, 1))], F32("batch", 5, 1));
        Golden.Check(new LayerNormFusionPass(), b.Return(b.Op("Div", [d, std], F32("batch", 5, 4))));
    }
}

public sealed class GeluFusionTests
{
    [Fact]
    public void Erf_gelu()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 4));
        var half = b.Op("Mul", [x, b.Scalar("half", 0.5f)], F32("batch", 4));
        var erf = b.Op("Erf", [b.Op("Div", [x, b.Scalar("sqrt2", 1.4142135f)], F32("batch", 4))], F32("batch", 4));
        var onePlus = b.Op("Add", [b.Scalar("one", 1), erf], F32("batch", 4));
        Golden.Check(new GeluFusionPass(), b.Return(b.Op("Mul", [half, onePlus], F32("batch", 4))), opset: 20);
    }

    [Fact]
    public void Tanh_gelu()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 4));
        var cube = b.Op("Mul", [x, b.Op("Mul", [x, x], F32("batch", 4))], F32("batch", 4));
        var inner = b.Op("Add", [x, b.Op("Mul", [cube, b.Scalar("k", 0.044715f)], F32("batch", 4))], F32("batch", 4));
        var tanh = b.Op("Tanh", [b.Op("Mul", [inner, b.Scalar("c", 0.7978846f)], F32("batch", 4))], F32("batch", 4));
        var factor = b.Op("Mul", [b.Op("Add", [tanh, b.Scalar("one", 1)], F32("batch", 4)), b.Scalar("half", 0.5f)], F32("batch", 4));
        Golden.Check(new GeluFusionPass(), b.Return(b.Op("Mul", [x, factor], F32("batch", 4))), opset: 20);
    }
}

public sealed class ValueInfoTests
{
    [Fact]
    public void Intermediates_are_annotated()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", F32("batch", 4));
        var relu = b.Op("Relu", [x], F32("batch", 4));
        Golden.Check(new ValueInfoPass(), b.Return(b.Op("Sigmoid", [relu], F32("batch", 4))));
    }
}
