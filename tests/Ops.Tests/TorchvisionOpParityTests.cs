using System.IO.Compression;
using System.Text;
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

    /// <summary>ONNX's NonMaxSuppression takes IoU thresholds in [0, 1]; torchvision's nms takes any: another one is refused, naming it.</summary>
    [Fact]
    public void An_iou_threshold_outside_0_to_1_is_refused_naming_it()
    {
        var archive = Path.Combine(Directory.CreateTempSubdirectory("modelforge-nms-").FullName, "nms.pt");
        using (var source = ZipFile.OpenRead(FixtureCase.Load("torchvision", "nms").ModelPath))
        using (var target = ZipFile.Open(archive, ZipArchiveMode.Create))
            foreach (var entry in source.Entries)
            {
                using var bytes = new MemoryStream();
                using (var input = entry.Open()) input.CopyTo(bytes);
                var data = entry.FullName.EndsWith("code/__torch__.py", StringComparison.Ordinal)
                    ? Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bytes.ToArray()).Replace("scores, 0.5)", "scores, 1.5)", StringComparison.Ordinal))
                    : bytes.ToArray();
                using var output = target.CreateEntry(entry.FullName, CompressionLevel.NoCompression).Open();
                output.Write(data);
            }
        try
        {
            InputSpec[] inputs = [new("boxes", DataType.Float32, [Dim.Named("batch"), 4]), new("scores", DataType.Float32, [Dim.Named("batch")])];
            var error = Assert.Throws<ModelForgeException>(() => ModelConverter.Convert(archive, new ConvertOptions(inputs)));
            Assert.Equal(DiagnosticCode.InvalidOpArguments, error.Code);
            Assert.Contains("torchvision::nms with iou_threshold 1.5: ONNX NonMaxSuppression takes thresholds in [0, 1]", error.Message);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(archive)!, recursive: true);
        }
    }
}
