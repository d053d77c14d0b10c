using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
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
        var diagnostic = Refusal(DiagnosticCode.BranchTypeMismatch, "scripted_branch_dtype_mismatch.pt", "x:float32[batch,4]");
        Assert.Contains("'y' is int64 in the then-branch and float32 in the else-branch", diagnostic.Message);
        Assert.EndsWith("scripted_branch_dtype_mismatch.pt!/code/__torch__.py", diagnostic.Location!.File);
        Assert.Equal(8, diagnostic.Location.Line);
        Assert.Equal("diagnostics/generate.py(70): if bool(x.sum() > 0):", diagnostic.Location.PythonSource);
        Assert.NotNull(diagnostic.Hint);
    }

    [Fact]
    public void Branches_leaving_a_tensor_complex_in_one_and_real_in_the_other_are_MF2008()
    {
        // TorchScript types both as Tensor; the graph carries the complex one as real [..., 2], so one If output cannot be both.
        var diagnostic = Refusal(DiagnosticCode.BranchTypeMismatch, "scripted_branch_complex_mismatch.pt", "x:float32[batch,4,2]");
        Assert.Contains("'z' is complex (carried as float32 [..., 2]) in the then-branch and float32 in the else-branch",
            diagnostic.Message);
        Assert.Equal("diagnostics/generate.py(90): if bool(x.sum() > 0):", diagnostic.Location!.PythonSource);
        Assert.NotNull(diagnostic.Hint);
    }

    [Fact]
    public void A_loop_body_turning_a_carried_complex_tensor_real_is_MF2008()
    {
        var diagnostic = Refusal(DiagnosticCode.BranchTypeMismatch, "scripted_loop_complex_mismatch.pt", "x:float32[batch,4,2]");
        // z0: the name TorchScript gives the loop's z.
        Assert.Contains("'z0' is complex (carried as float32 [..., 2]) before a loop whose trip count is only known at run time " +
                        "and float32 after its body", diagnostic.Message);
        Assert.Equal("diagnostics/generate.py(102): for _ in range(x.size(0)):", diagnostic.Location!.PythonSource);
    }

    [Fact]
    public void An_optional_set_in_one_branch_carries_its_None_test_into_the_graph()
    {
        // y = x * 2 when x.sum() > 0 and None otherwise; `if y is None: return x` after it tests a run-time flag that
        // the first If gives, and the tensor it gives is only read in the branch where y is one.
        using var result = Convert("scripted_optional_branch.pt", "x:float32[batch,4]");
        Assert.Equal(2, result.Graph.Nodes.Count(n => n.OpType == "If"));
        Assert.Equal([2f, 4f, 6f, -8f], Run(result, ("x", [1f, 2f, 3f, -4f])));
        Assert.Equal([-1f, -2f, -3f, 4f], Run(result, ("x", [-1f, -2f, -3f, 4f])));
    }

    [Fact]
    public void Size_list_comparisons_that_can_be_proven_fold_at_conversion_time()
    {
        // x.size() == y.size() on the same symbolic dims; cat's unnamed first dim read twice from the same tensor; a
        // known 5 against a known 4; lists of 2 and 3 sizes. Each chooses a computation, so folding them is exact.
        using var result = Convert("scripted_size_list_choices.pt", "x:float32[batch,4]", "y:float32[batch,4]");
        Assert.Equal(["Add"], result.Graph.Nodes.Select(n => n.OpType));
        Assert.Empty(result.Warnings);
        Assert.Equal([1.5f, 2f, 3f, -4f], Run(result, ("x", [1f, 2f, 3f, -4f]), ("y", [0.5f, 0f, 0f, 0f])));
    }

    [Fact]
    public void A_size_list_comparison_choosing_between_computations_is_MF2004_when_only_known_at_run_time()
    {
        // y with a batch dim of its own: x.size() == y.size() may go either way, and each way computes something else.
        var e = Throws(DiagnosticCode.UnsupportedConstruct,
            () => Convert("scripted_size_list_choices.pt", "x:float32[batch,4]", "y:float32[n,4]").Dispose());
        var diagnostic = Assert.Single(e.Diagnostics);
        Assert.Contains("comparison of a list of 2 and a list of 2 is only known at run time", diagnostic.Message);
        Assert.StartsWith("diagnostics/generate.py(", diagnostic.Location!.PythonSource);
        Assert.EndsWith("if x.size() == y.size():  # the same symbolic dims pairwise: equal", diagnostic.Location.PythonSource);
    }

    [Fact]
    public void Checks_that_only_raise_are_taken_to_pass_with_one_warning_each_when_only_known_at_run_time()
    {
        using var result = Convert("scripted_size_list_check.pt", "x:float32[batch,4]", "y:float32[n,4]");
        Assert.All(result.Warnings, w => Assert.Equal((DiagnosticCode.RunTimeCheckAssumed, DiagnosticSeverity.Warning), (w.Code, w.Severity)));
        Assert.Collection(result.Warnings,
            sizes =>
            {
                Assert.Contains("(comparison of a list of 2 and a list of 2); it is taken to pass", sizes.Message);
                Assert.EndsWith("if x.size() != y.size():", sizes.Location!.PythonSource);
            },
            batch => Assert.EndsWith("assert x.shape[0] == y.shape[0], \"one batch\"", batch.Location!.PythonSource));
        Assert.Equal([1.5f, 2f, 3f, -4f], Run(result, ("x", [1f, 2f, 3f, -4f]), ("y", [0.5f, 0f, 0f, 0f])));
    }

    [Fact]
    public void Checks_decided_at_conversion_time_pass_silently_or_raise_MF2004()
    {
        using (var same = Convert("scripted_size_list_check.pt", "x:float32[batch,4]", "y:float32[batch,4]"))
            Assert.Empty(same.Warnings); // the sizes and the batch dims are the same symbolic dims
        var e = Throws(DiagnosticCode.UnsupportedConstruct,
            () => Convert("scripted_size_list_check.pt", "x:float32[batch,4]", "y:float32[batch,5]").Dispose());
        Assert.Contains("the model raises an exception for the declared inputs: x and y must have the same size", e.Message);
    }

    [Fact]
    public void A_module_attribute_the_code_assigns_is_read_back()
    {
        // build() sets self.cache = [x] and appends x * 2; forward adds the cache to x: 4x.
        using var result = Convert("scripted_assigned_attribute.pt", "x:float32[batch,4]");
        Assert.Equal([4f, 8f, 12f, -16f], Run(result, ("x", [1f, 2f, 3f, -4f])));
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
        var diagnostic = Refusal(DiagnosticCode.UnsupportedConstruct, "scripted_dynamic_loop_append.pt", "x:float32[batch,4]");
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
        var diagnostic = Refusal(DiagnosticCode.UnsupportedConstruct, "transformer_encoder_scripted_padded_2x.pt",
            "src:float32[batch,5,16]", "padding:bool[batch,5]");
        Assert.Contains("aten::_nested_tensor_from_mask_left_aligned has no handler", diagnostic.Message);
        Assert.EndsWith("torch/nn/modules/transformer.py(458): elif (", diagnostic.Location!.PythonSource);
    }

    private static ConversionResult Convert(string fixture, params string[] inputs) =>
        ModelConverter.Convert(RepoPaths.Fixture("diagnostics", fixture), new ConvertOptions(inputs.Select(InputSpec.Parse).ToList()));

    /// <summary>The one diagnostic converting the fixture fails with, which must have <paramref name="code"/>.</summary>
    private static Diagnostic Refusal(DiagnosticCode code, string fixture, params string[] inputs)
    {
        var e = Throws(code, () =>
        {
            using var _ = Convert(fixture, inputs);
        });
        return Assert.Single(e.Diagnostics);
    }

    /// <summary>Runs the converted model on ONNX Runtime with inputs of shape [1, 4]; the first output's values.</summary>
    private static float[] Run(ConversionResult result, params (string Name, float[] Values)[] inputs)
    {
        using var session = new InferenceSession(result.ToBytes());
        using var outputs = session.Run(inputs.Select(i => NamedOnnxValue.CreateFromTensor(i.Name, new DenseTensor<float>(i.Values, [1, 4]))).ToList());
        return outputs.First().AsEnumerable<float>().ToArray();
    }
}
