using System.Text.Json;
using ModelForge.Convert;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Model.Tensors;

namespace ModelForge.Validate.Tests.Families;

/// <summary>
/// torchvision's detection family (fixtures/families/detection, made by its generate.py from bench/families/detection.py):
/// Faster R-CNN (MobileNetV3 and ResNet-50 FPN, v1 and v2), RetinaNet, FCOS, SSD300, SSDlite, Mask R-CNN (its scripted
/// mask-paste loop) and Keypoint R-CNN (its keypoint decoding), traced by PyTorch 1.13 and by 2.6. Each converts, and the
/// accuracy gate passes at 1e-3 on the image PyTorch saw: libtorch (with the torchvision substitutes) as reference,
/// ONNX Runtime as candidate, the number of detections first, then the values. The reference kept as many detections as
/// PyTorch did (outputs.npz). The same detectors scripted (`*_scripted_*`: torch.jit.script of the detector inside the
/// serving wrapper of generate.py, which takes the image batch and returns the first image's detections as a tuple) go
/// the same way. The scripted R-CNNs decode boxes behind an empty-input guard whose branches give ranks 3 and 2 (MF2046),
/// their Mask R-CNN pastes masks in a run-time loop that appends to a list (a Loop scan output), and Keypoint R-CNN decodes
/// keypoints with run-time sizes.
/// </summary>
public sealed class DetectionTests : IDisposable
{
    private static readonly string Family = RepoPaths.Fixture("families", "detection");
    private readonly string _directory = Directory.CreateTempSubdirectory("modelforge-detection-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string[] FixtureNames() =>
        [.. Directory.GetDirectories(Family).Where(d => File.Exists(Path.Combine(d, "spec.json"))).Select(d => Path.GetFileName(d)).Order()];

    public static TheoryData<string> Fixtures() => new(FixtureNames());

    [Fact]
    public void Every_model_of_the_family_has_a_traced_and_a_scripted_fixture_of_both_PyTorch_generations()
    {
        string[] models = ["fasterrcnn_mobilenet_v3_large_fpn", "fasterrcnn_resnet50_fpn", "fasterrcnn_resnet50_fpn_v2",
            "retinanet_resnet50_fpn", "fcos_resnet50_fpn", "ssd300_vgg16", "ssdlite320_mobilenet_v3_large",
            "maskrcnn_resnet50_fpn", "keypointrcnn_resnet50_fpn"];
        var expected = models.SelectMany(m => new[] { m + "_1x", m + "_2x", m + "_scripted_1x", m + "_scripted_2x" }).Order();
        Assert.Equal(expected, FixtureNames());
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Converts_and_passes_the_gate(string fixture)
    {
        var folder = Path.Combine(Family, fixture);
        using var spec = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "spec.json")));
        var input = InputSpec.Parse(spec.RootElement.GetProperty("input").GetString()!);
        var tolerance = spec.RootElement.GetProperty("tolerance");
        var (atol, rtol) = (tolerance.GetProperty("atol").GetDouble(), tolerance.GetProperty("rtol").GetDouble());
        var model = Path.Combine(folder, "model.pt");
        var onnx = Path.Combine(_directory, fixture + ".onnx");
        using (var result = ModelConverter.Convert(model, new ConvertOptions([input])))
        {
            // Scripted R-CNNs: BoxCoder.decode reshapes to [n, -1, 4] only `if box_sum > 0`; the other branch is the empty case.
            var rankWarnings = result.Warnings.Where(w => w.Code == DiagnosticCode.BranchRankAssumedEmpty).ToList();
            if (fixture.Contains("rcnn_", StringComparison.Ordinal) && fixture.Contains("_scripted_", StringComparison.Ordinal))
                Assert.Contains(rankWarnings, w => w.Message.Contains("rank 3 after the then-branch and 2 after the else-branch", StringComparison.Ordinal));
            else
                Assert.Empty(rankWarnings);
            result.WriteTo(onnx);
        }

        var (report, _, _) = Validator.Run(model, onnx, new ValidateOptions
        {
            Inputs = [input], Optional = [], Data = Npz.Read(Path.Combine(folder, "inputs.npz")),
            Tolerances = new() { Float32 = new(atol, rtol) },
        });

        Assert.True(report.Passed, string.Join("; ", report.Runs.Select(r => r.Reason)));
        var saved = Npz.Read(Path.Combine(folder, "outputs.npz"));
        var names = spec.RootElement.GetProperty("outputs").EnumerateArray().Select(o => o.GetString()!).ToArray();
        var run = Assert.Single(report.Runs);
        Assert.Equal(names.Length, run.Outputs.Count);
        for (var i = 0; i < names.Length; i++)
            Assert.Equal(saved[names[i]].Shape, run.Outputs[i].ExpectedShape);
        Assert.True(saved["boxes"].Shape[0] > 0, "the fixture keeps some detections");
    }

    public static TheoryData<string> ScriptedFixtures() => new(FixtureNames().Where(f => f.Contains("_scripted_", StringComparison.Ordinal)));

    /// <summary>
    /// A scripted detector with an image of any size: the transform resizes by a float computed from the image's run-time
    /// size (<c>torch.tensor(image.shape[-2:])</c>, <c>float(min_size)</c>, <c>math.floor(size * scale)</c>, in double as
    /// Python) and the R-CNNs pad to a multiple of 32 (<c>math.ceil</c>) and split their RPN scores by each level's
    /// run-time anchor count. One conversion with h and w dynamic; the gate at two image sizes other than the fixture's,
    /// 100×70 among them, whose resized size differs between float32 and double arithmetic.
    /// </summary>
    [Theory]
    [MemberData(nameof(ScriptedFixtures))]
    public void A_scripted_detector_converts_with_a_dynamic_image_size_and_passes_at_other_sizes(string fixture)
    {
        var model = Path.Combine(Family, fixture, "model.pt");
        var onnx = Path.Combine(_directory, fixture + ".onnx");
        var input = InputSpec.Parse("images:float32[1,3,h,w]");
        using (var result = ModelConverter.Convert(model, new ConvertOptions([input])))
            result.WriteTo(onnx);
        foreach (var (h, w) in new[] { (100L, 70L), (57L, 131L) })
        {
            var (report, _, _) = Validator.Run(model, onnx, new ValidateOptions
            {
                Inputs = [input], Optional = [], BatchSizes = [1],
                DimValues = new Dictionary<string, long> { ["h"] = h, ["w"] = w },
                Ranges = new Dictionary<string, InputRange> { ["images"] = new("images", 0, 1) },
                Tolerances = new() { Float32 = new(1e-3, 1e-3) },
            });
            Assert.True(report.Passed, $"{h}×{w}: " + string.Join("; ", report.Runs.Select(r => r.Reason)));
            Assert.True(report.Runs.Single().Outputs[0].ExpectedShape[0] > 0, $"{h}×{w}: the reference detects something to compare");
        }
    }
}
