using ModelForge.Convert.IR;
using static ModelForge.Passes.Tests.GraphBuilder;

namespace ModelForge.Passes.Tests;

/// <summary>The IR verifier on subgraphs: outer-scope reads must resolve, and If branches must give the If's outputs.</summary>
public sealed class SubgraphVerifierTests
{
    private static (GraphBuilder Builder, Value X, Value Condition) Start()
    {
        var b = new GraphBuilder();
        return (b, b.Input("x", F32("batch", 4)), b.Input("condition", TensorType.Scalar(DataType.Bool)));
    }

    [Fact]
    public void Branches_reading_earlier_outer_values_pass()
    {
        var (b, x, condition) = Start();
        var relu = b.Op("Relu", [x], F32("batch", 4));
        var thenBranch = b.Subgraph("then", t => [t.Op("Sigmoid", [relu], F32("batch", 4))]);
        var elseBranch = b.Subgraph("else", _ => [x]);
        var graph = b.Return(b.If(condition, thenBranch, elseBranch, F32("batch", 4))[0]);
        GraphVerifier.Verify(graph);
        Assert.Equal("Identity", elseBranch.Nodes.Single().OpType); // an outer value is not returned directly
    }

    [Fact]
    public void A_branch_reading_the_other_branchs_value_fails()
    {
        var (b, x, condition) = Start();
        Value? inThen = null;
        var thenBranch = b.Subgraph("then", t => [inThen = t.Op("Sigmoid", [x], F32("batch", 4))]);
        var elseBranch = b.Subgraph("else", e => [e.Op("Neg", [inThen!], F32("batch", 4))]);
        b.If(condition, thenBranch, elseBranch, F32("batch", 4));
        var error = Assert.Throws<InvalidOperationException>(() => b.Return(b.Graph.Nodes[^1].Outputs[0]));
        Assert.Contains($"uses '{inThen!.Name}' before it is defined", error.Message);
        Assert.Contains("in subgraph 'else'", error.Message);
    }

    [Fact]
    public void A_branch_reading_an_outer_value_defined_after_the_if_fails()
    {
        var (b, x, condition) = Start();
        var thenBranch = b.Subgraph("then", t => [t.Op("Sigmoid", [x], F32("batch", 4))]);
        var elseBranch = b.Subgraph("else", e => [e.Op("Identity", [x], F32("batch", 4))]);
        var result = b.If(condition, thenBranch, elseBranch, F32("batch", 4))[0];
        var afterwards = b.Op("Relu", [x], F32("batch", 4));
        elseBranch.Nodes[0].Inputs[0] = afterwards; // the branch now reads a value computed after the If
        var error = Assert.Throws<InvalidOperationException>(() => b.Return(result));
        Assert.Contains($"uses '{afterwards.Name}' before it is defined", error.Message);
    }

    [Fact]
    public void A_branch_giving_too_few_outputs_fails()
    {
        var (b, x, condition) = Start();
        var thenBranch = b.Subgraph("then", t => [t.Op("Sigmoid", [x], F32("batch", 4))]);
        var elseBranch = b.Subgraph("else", _ => []);
        var result = b.If(condition, thenBranch, elseBranch, F32("batch", 4))[0];
        var error = Assert.Throws<InvalidOperationException>(() => b.Return(result));
        Assert.Contains("else_branch gives 0 outputs for 1", error.Message);
    }

    [Fact]
    public void A_branch_output_of_another_dtype_fails()
    {
        var (b, x, condition) = Start();
        var thenBranch = b.Subgraph("then", t => [t.Op("Sigmoid", [x], F32("batch", 4))]);
        var elseBranch = b.Subgraph("else", e => [e.Op("Shape", [x], I64(2))]);
        var result = b.If(condition, thenBranch, elseBranch, F32("batch", 4))[0];
        var error = Assert.Throws<InvalidOperationException>(() => b.Return(result));
        Assert.Contains("else_branch output 0", error.Message);
        Assert.Contains("is int64, the node's", error.Message);
    }

    [Fact]
    public void A_loop_body_without_its_condition_input_fails()
    {
        var (b, x, _) = Start();
        var body = b.Subgraph("body", l => [l.Op("Relu", [x], F32("batch", 4))]);
        var result = b.OpMulti("Loop", [b.Longs("trips", [], 3), null, x], [F32("batch", 4)], ("body", body))[0];
        var error = Assert.Throws<InvalidOperationException>(() => b.Return(result));
        Assert.Contains("body takes 0 inputs for 1 loop-carried values", error.Message);
    }
}
