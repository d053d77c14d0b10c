using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelForge.Core.Diagnostics;
using static ModelForge.Convert.Tests.Archive.ArchiveFixtures;

namespace ModelForge.Convert.Tests.Interpret;

/// <summary>
/// What scripted torchvision detectors (fixtures/families/detection/*_scripted_*) need from the interpreter, each on
/// fixtures/ops/int64_index_arithmetic with one line of its code replaced: `torchvision._is_tracing()` (false: the model
/// runs scripted), `self._has_warned = True`, a TorchScript class instance (`ImageList.__new__` + `__init__`) and
/// `for class_id in torch.unique(idxs)` with `keep_mask[...] = True` in the body (batched_nms's per-class path).
/// </summary>
public sealed class ScriptedDetectorConstructTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Tracing_state_is_false_and_is_scripting_true() =>
        ConvertIndexArithmeticWith("_2 = torch.add(ids, torch.sub(int(torch.is_scripting()), int(torch._get_tracing_state())))");

    [Fact]
    public void A_module_attribute_assigned_in_forward_is_read_back() =>
        ConvertIndexArithmeticWith("self.training = True\n    _2 = torch.add(ids, int(self.training))");

    [Fact]
    public void A_module_attribute_assigned_under_a_run_time_if_is_MF2004()
    {
        var e = Throws(DiagnosticCode.UnsupportedConstruct, () => ConvertIndexArithmeticWith(
            "if bool(torch.gt(torch.sum(ids), 0)):\n      self.training = True\n    else:\n      pass\n    _2 = ids"));
        Assert.Contains("attribute 'training' of module '<root>' is assigned inside an `if` or loop", e.Message);
    }

    [Fact]
    public void A_script_class_instance_holds_what_its_code_assigns()
    {
        ConvertIndexArithmeticWith("_o = __torch__.IndexArithmetic.__new__(__torch__.IndexArithmetic)\n    _o.training = True\n" +
                                   "    _2 = torch.add(ids, int(_o.training))");
        var e = Throws(DiagnosticCode.UnsupportedConstruct, () => ConvertIndexArithmeticWith(
            "_o = __torch__.IndexArithmetic.__new__(__torch__.IndexArithmetic)\n    _2 = torch.add(ids, int(_o.training))"));
        Assert.Contains("has no attribute 'training'", e.Message);
    }

    /// <summary>The rows of ids summed into a tensor changed in place: second output = column sums − ids.</summary>
    [Theory]
    [InlineData("ids:int64[batch,6]", true)]
    [InlineData("ids:int64[2,6]", false)]
    public void A_loop_over_a_tensor_carries_what_its_body_changes_in_place(string input, bool runTimeLoop)
    {
        var model = _dir.File("model.pt");
        WriteZip(model, WithCodeReplaced(RepoPaths.Fixture("ops", "int64_index_arithmetic", "model.pt"), IndexArithmeticRemainderLine,
            "_2 = torch.zeros_like(ids)\n    for _row in ids:\n      _3 = torch.add_(_2, _row)"));
        var onnx = _dir.File("model.onnx");
        using (var result = ModelConverter.Convert(model, new ConvertOptions([InputSpec.Parse(input)])))
        {
            Assert.Equal(runTimeLoop, result.Graph.Nodes.Any(n => n.OpType == "Loop"));
            result.WriteTo(onnx);
        }

        long[] ids = [1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60];
        using var session = new InferenceSession(onnx);
        using var outputs = session.Run([NamedOnnxValue.CreateFromTensor("ids", new DenseTensor<long>(ids, [2, 6]))]);
        var expected = ids.Select((v, i) => ids[i % 6] + ids[6 + i % 6] - v);
        Assert.Equal(expected, outputs[1].AsEnumerable<long>());
    }
}
