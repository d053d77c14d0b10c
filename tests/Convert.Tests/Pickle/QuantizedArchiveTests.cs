using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;
using ModelForge.TorchScript.Archive;
using ModelForge.TorchScript.Module;
using ModelForge.TorchScript.Pickle;
using static ModelForge.Convert.Tests.Archive.ArchiveFixtures;

namespace ModelForge.Convert.Tests.Pickle;

/// <summary>
/// Archives of PyTorch 1.13's eager-mode quantization (fixtures/quantized/generate.py) as the unpickler reads them: the
/// packed-parameter objects' real state layouts, and what conversion still refuses with a diagnostic naming it.
/// </summary>
public class QuantizedArchiveTests
{
    [Fact]
    public void Conv2dPackedParamsBase_is_version_2_state_with_params_weight_and_bias()
    {
        using var model = TorchScriptModel.Load(RepoPaths.Fixture("ops", "q_conv2d_packed_scripted", "model.pt"));
        Assert.True(model.Root.TryGetAttribute("packed", out var raw));
        var packed = Assert.IsType<PickleObject>(raw);
        Assert.Equal("__torch__.torch.classes.quantized.Conv2dPackedParamsBase", packed.ClassName);
        var state = Assert.IsType<PickleTuple>(packed.State);
        Assert.Equal("2", state[0]);
        var tensors = Assert.IsType<List<object?>>(state[1]);
        // [spatial dims, stride×2, padding×2, dilation×2, output_padding×2, groups, transposed] as int16
        Assert.Equal([2L, 2, 2, 1, 1, 1, 1, 0, 0, 1, 0], Assert.IsType<TensorData>(tensors[0]).ToInt64Array());
        var weight = Assert.IsType<QuantizedTensorData>(tensors[1]);
        Assert.Equal(DataType.Int8, weight.Values.DataType);
        Assert.Equal([4L, 3, 3, 3], weight.Shape);
        Assert.Equal(0, weight.Axis);
        Assert.Equal(4, weight.Scales.Length);
        Assert.IsType<TensorData>(Assert.Single(Assert.IsType<List<object?>>(state[2])));
    }

    [Fact]
    public void LinearPackedParamsBase_is_its_weight_and_bias()
    {
        using var model = TorchScriptModel.Load(RepoPaths.Fixture("ops", "q_linear", "model.pt"));
        Assert.True(model.Root.TryGetAttribute("body", out var linear));
        Assert.True(Assert.IsType<PickleObject>(linear).TryGetAttribute("_packed_params", out var module));
        Assert.True(Assert.IsType<PickleObject>(module).TryGetAttribute("_packed_params", out var raw));
        var packed = Assert.IsType<PickleObject>(raw);
        Assert.Equal("__torch__.torch.classes.quantized.LinearPackedParamsBase", packed.ClassName);
        var state = Assert.IsType<PickleTuple>(packed.State);
        var weight = Assert.IsType<QuantizedTensorData>(state[0]);
        Assert.Equal([5L, 8], weight.Shape);
        Assert.Equal([0L, 0, 0, 0, 0], weight.ZeroPoints); // fbgemm's qconfig: symmetric per-channel qint8
        Assert.Equal([5L], Assert.IsType<TensorData>(state[1]).Shape);
    }

    [Fact]
    public void An_aten_op_on_a_quantized_tensor_other_than_the_supported_ones_is_MF1013_naming_it()
    {
        var e = Throws(DiagnosticCode.UnsupportedDtype, () =>
        {
            using var _ = ModelConverter.Convert(RepoPaths.Fixture("diagnostics", "quantized_sigmoid.pt"),
                new ConvertOptions([InputSpec.Parse("x:float32[1,3,8,8]")]));
        });
        var diagnostic = Assert.Single(e.Diagnostics);
        Assert.StartsWith("aten::sigmoid on a quantized tensor is not supported", diagnostic.Message);
        Assert.Contains("adaptive_avg_pool2d", diagnostic.Message);
        Assert.Contains("DeQuantStub", diagnostic.Hint);
    }

    [Fact]
    public void A_dynamically_quantized_linear_is_MF2001_naming_linear_dynamic()
    {
        var e = Throws(DiagnosticCode.UnsupportedOps, () =>
        {
            using var _ = ModelConverter.Convert(RepoPaths.Fixture("diagnostics", "quantized_linear_dynamic.pt"),
                new ConvertOptions([InputSpec.Parse("x:float32[2,8]")]));
        });
        Assert.Contains("quantized::linear_dynamic", e.Message);
    }
}
