using ModelForge.Convert;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;
using ModelForge.Ops.Tests.Infrastructure;
using ModelForge.Validate.Reference;
using ModelForge.Validate.Runtime;
using ModelForge.Model.Tensors;
using Google.Protobuf;
using Onnx;

namespace ModelForge.Ops.Tests;

/// <summary>
/// Scripted control flow only known at run time becomes ONNX If and Loop: the structure of the emitted models (parity
/// of the fixtures/models/scripted_if_*, scripted_loop_* and scripted_while_* cases, every branch and several trip
/// counts taken by the saved inputs, is in <see cref="ModelParityTests"/>), and the two diagnostics fixtures that used
/// to be refused now converting and matching libtorch on both branches and for several trip counts.
/// </summary>
public sealed class ControlFlowTests
{
    [Theory]
    [InlineData("scripted_if_tensor_small", 1, 0)]
    [InlineData("scripted_if_two_vars_small", 1, 0)]
    [InlineData("scripted_if_nested_small", 1, 2)]
    [InlineData("scripted_if_submodule_small", 2, 0)]
    [InlineData("scripted_if_static_and_dynamic_small", 1, 0)] // the ifs on an attribute, an Optional and a static dim fold
    public void Run_time_ifs_become_onnx_If_nodes_that_onnx_runtime_loads(string fixture, int topLevelIfs, int nestedIfs)
    {
        var model = Convert(RepoPaths.Fixture("models", fixture, "model.pt"), opset: 17);
        Assert.Equal(topLevelIfs, model.Graph.Node.Count(n => n.OpType == "If"));
        var branches = model.Graph.Node.Where(n => n.OpType == "If").SelectMany(n => n.Attribute).ToList();
        Assert.All(branches, a => Assert.Equal(AttributeProto.Types.AttributeType.Graph, a.Type));
        Assert.Equal(["else_branch", "then_branch"], branches.Select(a => a.Name).Distinct().Order().ToArray());
        Assert.Equal(nestedIfs, branches.Sum(a => a.G.Node.Count(n => n.OpType == "If")));
        AssertOnnxRuntimeLoads(model);
    }

    [Theory]
    [InlineData("scripted_loop_dynamic_small", true, 2)] // for i in range(x.size(0)): the accumulator and the counter
    [InlineData("scripted_while_dynamic_small", false, 2)] // while on a tensor value: the condition flag and y
    [InlineData("scripted_loop_growing_small", true, 1)] // the concatenated tensor
    public void Run_time_loops_become_onnx_Loop_nodes_that_onnx_runtime_loads(string fixture, bool hasTripCount, int carried)
    {
        var model = Convert(RepoPaths.Fixture("models", fixture, "model.pt"), opset: 17);
        var loop = Assert.Single(model.Graph.Node, n => n.OpType == "Loop");
        Assert.Equal(hasTripCount, loop.Input[0].Length > 0);
        Assert.Equal(!hasTripCount, loop.Input[1].Length > 0);
        Assert.Equal(carried, loop.Input.Count - 2);
        var body = Assert.Single(loop.Attribute, a => a.Name == "body").G;
        Assert.Equal(2 + carried, body.Input.Count);
        Assert.Equal(1 + carried, body.Output.Count);
        AssertOnnxRuntimeLoads(model);
    }

    [Fact]
    public void A_list_a_run_time_loop_appends_to_is_the_loops_scan_output()
    {
        using var result = ModelConverter.Convert(RepoPaths.Fixture("models", "scripted_loop_append_small", "model.pt"),
            new ConvertOptions([InputSpec.Parse("x:float32[batch,6]")]));
        var loop = Assert.Single(result.Graph.Nodes, n => n.OpType == "Loop");
        Assert.Equal(2, loop.Inputs.Count); // nothing carried: the trip count min(len(x), len(x * 2)) and no condition
        Assert.Equal("float32[?,8]", Assert.Single(loop.Outputs).Type.ToString()); // one [8] row per iteration, stacked
        var body = (Graph)loop.Attributes["body"].Value;
        Assert.Equal(2, body.Outputs.Count); // the condition and the appended row
    }

    [Theory]
    [InlineData(14)]
    [InlineData(17)]
    public void An_empty_input_guard_whose_branches_leave_two_ranks_gives_the_empty_branch_the_other_rank(int opset)
    {
        using var result = ModelConverter.Convert(RepoPaths.Fixture("models", "scripted_if_rank_guard_small", "model.pt"),
            new ConvertOptions([InputSpec.Parse("x:float32[batch,6]")], opset));
        var warning = Assert.Single(result.Warnings);
        Assert.Equal(DiagnosticCode.BranchRankAssumedEmpty, warning.Code);
        Assert.Contains("'y0' has rank 3 after the then-branch and 2 after the else-branch", warning.Message);
        Assert.Contains("if n > 0:", warning.Location!.PythonSource);
        var node = Assert.Single(result.Graph.Nodes, n => n.OpType == "If");
        Assert.Equal("float32[?,?,4]", Assert.Single(node.Outputs).Type.ToString()); // rank 3 for the code after the If
        var otherwise = (Graph)node.Attributes["else_branch"].Value;
        var reshape = Assert.Single(otherwise.Nodes, n => n.OpType == "Reshape");
        Assert.Equal(1L, reshape.Attributes["allowzero"].Value); // a non-empty tensor there fails at run time
    }

    [Fact]
    public void Below_opset_14_an_empty_input_guard_with_two_ranks_names_the_opset_it_needs()
    {
        var error = Assert.Throws<ModelForgeException>(() => ModelConverter.Convert(
            RepoPaths.Fixture("models", "scripted_if_rank_guard_small", "model.pt"), new ConvertOptions([InputSpec.Parse("x:float32[batch,6]")], 13)));
        Assert.Equal(DiagnosticCode.OpsetTooLow, error.Code);
        Assert.Contains("needs opset ≥ 14, target is 13", error.Message);
    }

    [Fact]
    public void Two_variables_one_assigned_in_one_branch_with_differing_widths()
    {
        using var result = ModelConverter.Convert(RepoPaths.Fixture("models", "scripted_if_two_vars_small", "model.pt"),
            new ConvertOptions([InputSpec.Parse("x:float32[batch,6]")]));
        var node = Assert.Single(result.Graph.Nodes, n => n.OpType == "If");
        // h (8 or 16 columns: dim 1 unknown after the If) and scale (rebound only in the then-branch).
        Assert.Equal(["float32[batch,8]", "float32[batch,?]"], node.Outputs.Select(o => o.Type.ToString()).Order().ToArray());
        Assert.Equal("float32[batch,8]", result.Graph.Outputs.Single().Type.ToString());
    }

    [Fact]
    public void A_carried_tensor_whose_dim_grows_in_the_body_is_carried_with_that_dim_unknown()
    {
        using var result = ModelConverter.Convert(RepoPaths.Fixture("models", "scripted_loop_growing_small", "model.pt"),
            new ConvertOptions([InputSpec.Parse("x:float32[batch,6]")]));
        var loop = Assert.Single(result.Graph.Nodes, n => n.OpType == "Loop");
        Assert.Equal("float32[1,6]", loop.Inputs[2]!.Type.ToString());
        Assert.Equal("float32[?,6]", loop.Outputs[0].Type.ToString());
        var body = (Graph)loop.Attributes["body"].Value;
        Assert.Equal("float32[?,6]", body.Inputs[2].Type.ToString()); // widened, and the body lowered again for it
    }

    [Theory]
    [InlineData(13)]
    [InlineData(17)]
    [InlineData(20)]
    public void Data_dependent_if_fixture_matches_libtorch_on_both_branches(int opset)
    {
        // diagnostics/generate.py DataDependentIf: `if bool(y.sum() > 0): y = y * 2.0` after a relu, so an all-negative
        // input takes the (empty) else-branch and any positive element the then-branch.
        var path = RepoPaths.Fixture("diagnostics", "scripted_data_dependent_if.pt");
        var model = Convert(path, opset);
        Assert.Single(model.Graph.Node, n => n.OpType == "If");
        var thenInput = HostTensor.FromFloats([0.5f, -1f, 2f, 0f, -3f, 1.5f, 0.25f, -0.5f], 2, 4);
        var elseInput = HostTensor.FromFloats([-0.5f, -1f, -2f, -0.1f], 1, 4);
        var outputs = RunBoth(path, model, [thenInput, elseInput], $"opset {opset}");
        Assert.Equal(1.0, outputs[0].ToDoubles()[0]); // relu(0.5) * 2: the then-branch
        Assert.Equal(0.0, outputs[1].ToDoubles()[0]); // relu(-0.5): the else-branch
    }

    [Theory]
    [InlineData(13)]
    [InlineData(17)]
    [InlineData(20)]
    public void Dynamic_loop_fixture_matches_libtorch_for_each_trip_count(int opset)
    {
        // diagnostics/generate.py DynamicLoop: `for _ in range(x.size(0)): y = y + 1.0`, so batch b adds b.
        var path = RepoPaths.Fixture("diagnostics", "scripted_dynamic_loop.pt");
        var model = Convert(path, opset);
        Assert.Single(model.Graph.Node, n => n.OpType == "Loop");
        var inputs = new[] { 1, 2, 5 }.Select(b => HostTensor.FromFloats(new float[b * 4], b, 4)).ToArray();
        var outputs = RunBoth(path, model, inputs, $"opset {opset}");
        Assert.Equal([1.0, 2.0, 5.0], outputs.Select(o => o.ToDoubles()[0]));
    }

    /// <summary>Runs the converted model on ONNX Runtime and the archive on libtorch; returns ONNX Runtime's first output per input after comparing.</summary>
    private static List<HostTensor> RunBoth(string archivePath, ModelProto model, HostTensor[] inputs, string label)
    {
        var directory = Directory.CreateTempSubdirectory("modelforge-control-flow-");
        try
        {
            var onnxPath = Path.Combine(directory.FullName, "model.onnx");
            File.WriteAllBytes(onnxPath, model.ToByteArray());
            using var candidate = OrtCandidate.TryCreate(CandidateKind.Cpu, onnxPath, out var unavailable)
                ?? throw new InvalidOperationException($"ONNX Runtime's CPU provider is unavailable: {unavailable}");
            using var reference = new TorchScriptReference(archivePath);
            var outputs = new List<HostTensor>();
            foreach (var input in inputs)
            {
                var converted = candidate.Run([input]);
                ParityCheck.AssertClose(reference.Run([input])[0], converted[0], 1e-6, 1e-6, $"{label} input {input}");
                outputs.Add(converted[0]);
            }
            return outputs;
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static ModelProto Convert(string path, int opset)
    {
        var specs = new[] { InputSpec.Parse(path.Contains("diagnostics") ? "x:float32[batch,4]" : "x:float32[batch,6]") };
        using var result = ModelConverter.Convert(path, new ConvertOptions(specs, opset));
        OnnxStructure.AssertWellFormed(result.Model, ["x"], opset);
        // Parsed back from bytes: the result's weights are views on the archive, which Dispose unmaps.
        return ModelProto.Parser.ParseFrom(result.ToBytes());
    }

    private static void AssertOnnxRuntimeLoads(ModelProto model)
    {
        var directory = Directory.CreateTempSubdirectory("modelforge-control-flow-");
        try
        {
            var onnxPath = Path.Combine(directory.FullName, "model.onnx");
            File.WriteAllBytes(onnxPath, model.ToByteArray());
            using var candidate = OrtCandidate.TryCreate(CandidateKind.Cpu, onnxPath, out var unavailable);
            Assert.True(candidate is not null, $"ONNX Runtime does not load the model: {unavailable}");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
