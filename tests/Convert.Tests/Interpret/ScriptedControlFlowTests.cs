using ModelForge.Core.Diagnostics;
using static ModelForge.Convert.Tests.Archive.ArchiveFixtures;

namespace ModelForge.Convert.Tests.Interpret;

/// <summary>
/// Scripted (torch.jit.script) control flow that cannot fold at conversion time is MF2004 naming the serialized and
/// the original Python line (fixtures/diagnostics/generate.py). ONNX If / Loop lowering is not implemented.
/// </summary>
public class ScriptedControlFlowTests
{
    [Theory]
    [InlineData("scripted_data_dependent_if.pt", "data-dependent control flow", "ONNX If", "diagnostics/generate.py(39): if bool(y.sum() > 0):")]
    [InlineData("scripted_dynamic_loop.pt", "trip count", "ONNX Loop", "diagnostics/generate.py(49): for _ in range(x.size(0)):")]
    public void Run_time_control_flow_is_MF2004_naming_the_source_line(string fixture, string reason, string onnxOp, string pythonLine)
    {
        var e = Throws(DiagnosticCode.UnsupportedConstruct, () =>
        {
            using var _ = ModelConverter.Convert(RepoPaths.Fixture("diagnostics", fixture), new ConvertOptions([InputSpec.Parse("x:float32[batch,4]")]));
        });
        var diagnostic = Assert.Single(e.Diagnostics);
        Assert.Contains(reason, diagnostic.Message);
        Assert.Contains(onnxOp + " is not supported", diagnostic.Message);
        Assert.EndsWith(fixture + "!/code/__torch__.py", diagnostic.Location!.File);
        Assert.Equal(9, diagnostic.Location.Line);
        Assert.Equal(pythonLine, diagnostic.Location.PythonSource);
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
}
