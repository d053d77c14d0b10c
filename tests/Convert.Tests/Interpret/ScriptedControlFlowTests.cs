using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;
using static ModelForge.Convert.Tests.Archive.ArchiveFixtures;

namespace ModelForge.Convert.Tests.Interpret;

/// <summary>
/// Scripted (torch.jit.script) control flow that cannot fold at conversion time (fixtures/diagnostics/generate.py): an
/// `if` on a run-time value becomes ONNX If, a loop with a run-time trip count ONNX Loop; what they cannot express is an
/// MF error naming the serialized and the original Python line.
/// </summary>
public class ScriptedControlFlowTests
{
    [Fact]
    public void Data_dependent_if_becomes_an_If_with_both_branches()
    {
        using var result = ModelConverter.Convert(RepoPaths.Fixture("diagnostics", "scripted_data_dependent_if.pt"),
            new ConvertOptions([InputSpec.Parse("x:float32[batch,4]")]));
        var node = Assert.Single(result.Graph.Nodes, n => n.OpType == "If");
        Assert.Equal("bool[]", node.Inputs[0]!.Type.ToString());
        Assert.Equal(["else_branch", "then_branch"], node.Attributes.Keys);
        var thenBranch = (Graph)node.Attributes["then_branch"].Value;
        var elseBranch = (Graph)node.Attributes["else_branch"].Value;
        Assert.Equal(["Mul"], thenBranch.Nodes.Select(n => n.OpType));
        Assert.Equal(["Identity"], elseBranch.Nodes.Select(n => n.OpType)); // `y0 = y`: the relu's output, returned through an Identity
        Assert.Equal("float32[batch,4]", result.Graph.Outputs.Single().Type.ToString());
    }

    [Fact]
    public void Branches_leaving_a_variable_with_two_dtypes_are_MF2008_naming_the_if()
    {
        var e = Throws(DiagnosticCode.BranchTypeMismatch, () =>
        {
            using var _ = ModelConverter.Convert(RepoPaths.Fixture("diagnostics", "scripted_branch_dtype_mismatch.pt"),
                new ConvertOptions([InputSpec.Parse("x:float32[batch,4]")]));
        });
        var diagnostic = Assert.Single(e.Diagnostics);
        Assert.Contains("'y' is int64 in the then-branch and float32 in the else-branch", diagnostic.Message);
        Assert.EndsWith("scripted_branch_dtype_mismatch.pt!/code/__torch__.py", diagnostic.Location!.File);
        Assert.Equal(8, diagnostic.Location.Line);
        Assert.Equal("diagnostics/generate.py(70): if bool(x.sum() > 0):", diagnostic.Location.PythonSource);
        Assert.NotNull(diagnostic.Hint);
    }

    [Fact]
    public void An_optional_set_in_one_branch_is_MF2004_naming_the_if_when_read()
    {
        // `if y is None` after the run-time if reads y: a tensor after one branch, None after the other.
        var e = Throws(DiagnosticCode.UnsupportedConstruct, () =>
        {
            using var _ = ModelConverter.Convert(RepoPaths.Fixture("diagnostics", "scripted_optional_branch.pt"),
                new ConvertOptions([InputSpec.Parse("x:float32[batch,4]")]));
        });
        var diagnostic = Assert.Single(e.Diagnostics);
        Assert.Contains("'y' is a tensor float32[batch,4] in the then-branch and None in the else-branch", diagnostic.Message);
        Assert.Equal(8, diagnostic.Location!.Line);
        Assert.Equal("diagnostics/generate.py(116): if bool(x.sum() > 0):", diagnostic.Location.PythonSource);
    }

    [Fact]
    public void Loop_with_a_run_time_trip_count_becomes_a_Loop_carrying_the_tensor()
    {
        using var result = ModelConverter.Convert(RepoPaths.Fixture("diagnostics", "scripted_dynamic_loop.pt"),
            new ConvertOptions([InputSpec.Parse("x:float32[batch,4]")]));
        var loop = Assert.Single(result.Graph.Nodes, n => n.OpType == "Loop");
        Assert.Equal("int64[]", loop.Inputs[0]!.Type.ToString()); // the trip count: x.size(0)
        Assert.Null(loop.Inputs[1]); // no condition: a for loop
        var body = (Graph)loop.Attributes["body"].Value;
        Assert.Equal(["int64[]", "bool[]", "float32[batch,4]"], body.Inputs.Select(i => i.Type.ToString()));
        Assert.Equal(["bool[]", "float32[batch,4]"], body.Outputs.Select(o => o.Type.ToString()));
        Assert.Equal("float32[batch,4]", result.Graph.Outputs.Single().Type.ToString());
    }

    [Fact]
    public void A_list_grown_in_a_run_time_loop_is_MF2004_naming_the_loop()
    {
        var e = Throws(DiagnosticCode.UnsupportedConstruct, () =>
        {
            using var _ = ModelConverter.Convert(RepoPaths.Fixture("diagnostics", "scripted_dynamic_loop_append.pt"),
                new ConvertOptions([InputSpec.Parse("x:float32[batch,4]")]));
        });
        var diagnostic = Assert.Single(e.Diagnostics);
        Assert.Contains("a list grows inside a loop whose trip count is only known at run time", diagnostic.Message);
        Assert.EndsWith("scripted_dynamic_loop_append.pt!/code/__torch__.py", diagnostic.Location!.File);
        Assert.Equal(9, diagnostic.Location.Line);
        Assert.Equal("diagnostics/generate.py(94): for i in range(x.size(0)):", diagnostic.Location.PythonSource);
    }

    [Fact]
    public void Loop_over_a_static_dim_is_unrolled()
    {
        using var result = ModelConverter.Convert(RepoPaths.Fixture("diagnostics", "scripted_dynamic_loop.pt"),
            new ConvertOptions([InputSpec.Parse("x:float32[3,4]")]));
        Assert.Single(result.Graph.Outputs);
        Assert.DoesNotContain(result.Graph.Nodes, n => n.OpType is "Loop" or "If");
    }

    [Fact]
    public void Scripted_lstm_converts_through_its_tensor_forward_overload()
    {
        // forward__0 (Tensor) rather than forward__1 (PackedSequence); the hidden-size checks compare run-time batch
        // sizes, and their raise-only branches are taken not to fire. The values are compared with the outputs PyTorch
        // saved by tests/Ops.Tests/SavedOutputParityTests (TorchSharp cannot run this archive).
        var path = RepoPaths.Fixture("saved_only", "lstm_scripted", "model.pt");
        using var result = ModelConverter.Convert(path, new ConvertOptions([InputSpec.Parse("x:float32[batch,5,4]")]));
        Assert.Equal(["float32[batch,5,8]", "float32[1,batch,8]", "float32[1,batch,8]"],
            result.Graph.Outputs.Select(o => o.Type.ToString()).ToArray());
    }

    [Fact]
    public void Scripted_2x_encoder_with_a_padding_mask_is_MF2004_at_its_left_aligned_mask_check()
    {
        // PyTorch 2.6: the Optional mask checks (`mask is not None` on a tensor, is_floating_point) fold; the choice
        // between the nested-tensor fast path and the plain layers depends on the mask's values and is carried as a
        // string, which an ONNX If cannot hold, so conversion stops at that call and names it.
        var e = Throws(DiagnosticCode.UnsupportedConstruct, () =>
        {
            using var _ = ModelConverter.Convert(RepoPaths.Fixture("diagnostics", "transformer_encoder_scripted_padded_2x.pt"),
                new ConvertOptions([InputSpec.Parse("src:float32[batch,5,16]"), InputSpec.Parse("padding:bool[batch,5]")]));
        });
        var diagnostic = Assert.Single(e.Diagnostics);
        Assert.Contains("aten::_nested_tensor_from_mask_left_aligned has no handler", diagnostic.Message);
        Assert.EndsWith("torch/nn/modules/transformer.py(458): elif (", diagnostic.Location!.PythonSource);
    }
}
