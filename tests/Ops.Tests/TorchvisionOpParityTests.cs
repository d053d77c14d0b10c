using ModelForge.Convert;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;
using ModelForge.Ops.Tests.Infrastructure;

namespace ModelForge.Ops.Tests;

/// <summary>
/// torchvision's operators (fixtures/torchvision: nms, roi_align, roi_pool, ps_roi_align, ps_roi_pool, deform_conv2d),
/// which libtorch through TorchSharp lacks: each case converts and matches on ONNX Runtime the outputs torchvision 0.14
/// computed (spec tolerances: kept indices exactly, the region ops and deform_conv2d within 1e-4 + 1e-3·|expected|),
/// at opsets 13, 17, 19 and 20; below a case's "min_opset" conversion fails with MF2002 naming the op and that opset.
/// </summary>
public sealed class TorchvisionOpParityTests
{
    public static IEnumerable<object[]> Cases() =>
        FixtureCase.Names("torchvision").SelectMany(name => new[] { 13, 17, 19, 20 }.Select(opset => new object[] { name, opset }));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Converted_op_matches_the_outputs_torchvision_computed(string fixture, int opset)
    {
        var loaded = FixtureCase.Load("torchvision", fixture);
        if (opset < loaded.MinOpset) ParityCheck.AssertNeedsOpset(loaded, opset, loaded.MinOpset.Value);
        else ParityCheck.Run(loaded, opset, withLibtorch: false);
    }

    /// <summary>roi_pool's argmax serves its backward pass only; a model that uses it is refused at that use, not given a made-up tensor.</summary>
    [Fact]
    public void Using_the_argmax_of_roi_pool_is_refused_naming_it()
    {
        InputSpec[] inputs = [new("x", DataType.Float32, [Dim.Named("batch"), 4, 10, 10]), new("rois", DataType.Float32, [5, 5])];
        var error = Assert.Throws<ModelForgeException>(() =>
            ModelConverter.Convert(Path.Combine(RepoPaths.Fixtures, "torchvision", "roi_pool_argmax.pt"), new ConvertOptions(inputs)));
        Assert.Equal(DiagnosticCode.UnsupportedConstruct, error.Code);
        Assert.Contains("aten::add uses torchvision::roi_pool's second result (used by its backward pass only), which ModelForge does not compute", error.Message);
    }
}
