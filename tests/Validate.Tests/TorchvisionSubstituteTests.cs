using System.Security.Cryptography;
using ModelForge.Core.Diagnostics;
using ModelForge.Validate.Reference;
using ModelForge.Model.Tensors;
using Xunit.Abstractions;

namespace ModelForge.Validate.Tests;

/// <summary>
/// The native reference runs torchvision's nms, roi_align, roi_pool, ps_roi_align, ps_roi_pool and deform_conv2d through
/// ModelForge's aten substitutes, in this libtorch, and gives what real torchvision 0.14 gave (fixtures/validate/*_ops/*.npz,
/// written by fixtures/validate/generate.py, and fixtures/torchvision's deform_conv2d cases): the kept indices, roi_pool's
/// maxima and argmax and the channel mappings exactly, averages and convolutions to float rounding (the substitutes sum
/// in another order), NaN where torchvision's is.
/// </summary>
public sealed class TorchvisionSubstituteTests(ITestOutputHelper log)
{
    private static readonly string Archive = RepoPaths.Fixture("validate", "torchvision_ops.pt");

    /// <summary>The archive's outputs, in order; the averages are compared to float rounding, the rest exactly.</summary>
    private static readonly (string Name, bool Average)[] Outputs =
    [
        ("nms", false), ("roi_align sampling_ratio=2", true), ("roi_align aligned sampling_ratio=-1", true), ("roi_align sampling_ratio=0", true),
        ("roi_pool", false), ("roi_pool argmax", false), ("ps_roi_align sampling_ratio=2", true), ("its channel mapping", false),
        ("ps_roi_align sampling_ratio=-1", true), ("its channel mapping", false), ("ps_roi_pool", true), ("its channel mapping", false),
    ];

    private static IReadOnlyList<HostTensor> Inputs(IReadOnlyDictionary<string, HostTensor> arrays) =>
        [.. Enumerable.Range(0, 5).Select(i => arrays[$"input_{i}"])];

    [Theory]
    [InlineData("random")]
    [InlineData("ties")]
    [InlineData("empty")]
    public void The_substitutes_give_torchvisions_outputs(string caseName)
    {
        var arrays = Npz.Read(RepoPaths.Fixture("validate", "torchvision_ops", caseName + ".npz"));
        using var reference = new TorchScriptReference(Archive);

        var outputs = reference.Run(Inputs(arrays));

        Assert.Equal(Outputs.Length, outputs.Count);
        for (var i = 0; i < outputs.Count; i++)
        {
            var (name, average) = Outputs[i];
            var expected = arrays[$"output_{i}"];
            Assert.True(expected.ElementType == outputs[i].ElementType && expected.Shape.SequenceEqual(outputs[i].Shape),
                $"{name}: {outputs[i]}, torchvision gave {expected}");
            if (average)
                AssertWithin(1e-6, name, expected, outputs[i]);
            else
                Assert.True(expected.Data.AsSpan().SequenceEqual(outputs[i].Data),
                    $"{name}: [{string.Join(", ", outputs[i].ToDoubles())}], torchvision gave [{string.Join(", ", expected.ToDoubles())}]");
        }
    }

    /// <summary>
    /// Asserts every element within <paramref name="tolerance"/> + <paramref name="tolerance"/>·|torchvision's| (NaN where
    /// torchvision's is NaN) and logs the largest difference.
    /// </summary>
    private void AssertWithin(double tolerance, string name, HostTensor expected, HostTensor actual)
    {
        Assert.True(expected.ElementType == actual.ElementType && expected.Shape.SequenceEqual(actual.Shape), $"{name}: {actual}, torchvision gave {expected}");
        var largest = 0.0;
        foreach (var (value, wanted) in actual.ToDoubles().Zip(expected.ToDoubles()))
        {
            Assert.True(double.IsNaN(wanted) ? double.IsNaN(value) : Math.Abs(value - wanted) <= tolerance + tolerance * Math.Abs(wanted),
                $"{name}: {value} vs torchvision's {wanted}");
            if (!double.IsNaN(wanted)) largest = Math.Max(largest, Math.Abs(value - wanted));
        }
        log.WriteLine($"{name}: largest difference from torchvision {largest:G3}");
    }

    private static readonly string DeformConvArchive = RepoPaths.Fixture("validate", "deform_conv2d_ops.pt");

    /// <summary>
    /// deform_conv2d's two calls in fixtures/validate/deform_conv2d_ops.pt: a 3 x 2 kernel with stride (2, 1), padding
    /// (2, 0), dilation (2, 3), two offset groups and a mask; a 3 x 3 kernel with groups 2, four offset groups and no mask.
    /// Cases: random offsets reaching past the image at non-integer points; samples planted on pixels, on -1 and on the
    /// size (outside), half inside, on the last row and column and far away, with masks of 0, 1 and -0.5; no images.
    /// </summary>
    [Theory]
    [InlineData("random")]
    [InlineData("edges")]
    [InlineData("empty")]
    public void The_deform_conv2d_substitute_gives_torchvisions_outputs(string caseName)
    {
        var arrays = Npz.Read(RepoPaths.Fixture("validate", "deform_conv2d_ops", caseName + ".npz"));
        using var reference = new TorchScriptReference(DeformConvArchive);

        var outputs = reference.Run([.. Enumerable.Range(0, 4).Select(i => arrays[$"input_{i}"])]);

        Assert.Equal(2, outputs.Count);
        AssertWithin(DeformConvTolerance, $"{caseName}, with a mask, dilated", arrays["output_0"], outputs[0]);
        AssertWithin(DeformConvTolerance, $"{caseName}, groups, no mask", arrays["output_1"], outputs[1]);
    }

    /// <summary>
    /// The samples are torchvision's to the bit; the weights' products with them are summed by another matrix product
    /// than torchvision's, which float32 rounds differently: measured 1.2e-7 on deform_conv2d_ops, 1.1e-6 on the traced
    /// blocks (whose offsets this libtorch's convolutions compute), outputs of magnitude ~2.
    /// </summary>
    private const double DeformConvTolerance = 1e-5;

    /// <summary>
    /// The DCNv2 blocks of fixtures/torchvision (offsets and mask predicted by convolutions in the archive; without a
    /// mask, stride 2, groups and offset groups), on the inputs torchvision's outputs were saved for.
    /// </summary>
    [Theory]
    [InlineData("deform_conv2d", 1)]
    [InlineData("deform_conv2d", 2)]
    [InlineData("deform_conv2d_groups", 1)]
    [InlineData("deform_conv2d_groups", 2)]
    public void A_traced_deform_conv2d_block_gives_torchvisions_outputs(string fixture, int batch)
    {
        string Saved(string file) => RepoPaths.Fixture("torchvision", fixture, $"b{batch}", file);
        using var reference = new TorchScriptReference(RepoPaths.Fixture("torchvision", fixture, "model.pt"));

        var output = Assert.Single(reference.Run([Npy.Read(Saved("input_0.npy"))]));

        AssertWithin(DeformConvTolerance, $"{fixture} at batch {batch}", Npy.Read(Saved("output_0.npy")), output);
    }

    /// <summary>Equal scores keep their input order; a duplicate box goes; IoU exactly at the threshold stays.</summary>
    [Fact]
    public void Nms_keeps_torchvisions_order_on_score_ties()
    {
        var arrays = Npz.Read(RepoPaths.Fixture("validate", "torchvision_ops", "ties.npz"));
        using var reference = new TorchScriptReference(Archive);

        var kept = reference.Run(Inputs(arrays))[0].ToInt64s();

        Assert.Equal([2, 4, 0, 3, 5, 6], kept);
    }

    /// <summary>A failure while the reference runs (here a roi naming image 7 of 2) is MF3001 in process, not an abort.</summary>
    [Fact]
    public void A_run_time_error_in_libtorch_is_MF3001()
    {
        var arrays = Npz.Read(RepoPaths.Fixture("validate", "torchvision_ops", "random.npz"));
        var inputs = Inputs(arrays).ToArray();
        var rois = inputs[3].ToDoubles().Select((value, i) => i % 5 == 0 ? 7f : (float)value).ToArray();
        inputs[3] = HostTensor.FromFloats(rois, inputs[3].Shape);
        using var reference = new TorchScriptReference(Archive);

        var error = Assert.Throws<ModelForgeException>(() => reference.Run(inputs));

        Assert.Equal(DiagnosticCode.ReferenceFailed, error.Code);
        Assert.Contains("the TorchScript model failed on inputs", error.Message);
    }

    /// <summary>
    /// An error raised inside the TorchScript interpreter says, in its first line, only that one happened: MF3001 gives the
    /// Python error it ends with and the innermost frame instead (here scripted torchaudio Conformer given lengths that
    /// do not reach its 12 time steps, which its attention's padding-mask check refuses).
    /// </summary>
    [Fact]
    public void A_failure_inside_the_TorchScript_interpreter_is_MF3001_naming_the_python_error_and_its_frame()
    {
        using var reference = new TorchScriptReference(RepoPaths.Fixture("families", "audio", "conformer_scripted_1x", "model.pt"));
        HostTensor[] inputs = [HostTensor.FromFloats(new float[12 * 16], 1, 12, 16), HostTensor.FromInt64s([7], 1)];

        var error = Assert.Throws<ModelForgeException>(() => reference.Run(inputs));

        Assert.Equal(DiagnosticCode.ReferenceFailed, error.Code);
        Assert.Contains("): RuntimeError: AssertionError: expecting key_padding_mask shape of (1, 12), but got [1, 7]", error.Message);
        Assert.Contains("(File \"", error.Message);
        Assert.DoesNotContain("The following operation failed", error.Message);
    }

    [Fact]
    public void The_users_archive_is_left_as_it_was()
    {
        var before = SHA256.HashData(File.ReadAllBytes(Archive));
        using (new TorchScriptReference(Archive)) { }
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(Archive)));
    }

    [Fact]
    public void The_substitutes_are_torchvisions_nms_roi_ops_and_deform_conv2d() =>
        Assert.Equal(["torchvision::deform_conv2d", "torchvision::nms", "torchvision::ps_roi_align", "torchvision::ps_roi_pool", "torchvision::roi_align", "torchvision::roi_pool"],
            TorchvisionSubstitutes.Operators.Order(StringComparer.Ordinal));

    /// <summary>A C++ extension's op (my_extension::filter_boxes) has no substitute: MF3005 at its call, naming the ops that do have one.</summary>
    [Fact]
    public void A_custom_extension_op_is_refused_with_MF3005()
    {
        var error = Assert.Throws<ModelForgeException>(() => new TorchScriptReference(RepoPaths.Fixture("validate", "custom_op_traced.pt")));

        var missing = Assert.Single(error.Diagnostics);
        Assert.Equal(DiagnosticCode.ReferenceOperatorMissing, missing.Code);
        Assert.Contains("it calls my_extension::filter_boxes, which libtorch does not provide (it comes from the my_extension library's native code)", missing.Message);
        Assert.Contains("torchvision::deform_conv2d, torchvision::nms, torchvision::ps_roi_align, torchvision::ps_roi_pool, torchvision::roi_align, torchvision::roi_pool", missing.Hint);
        Assert.EndsWith("custom_op_traced.pt!/code/__torch__.py", missing.Location?.File);
    }

    /// <summary>What a child that libtorch ended leaves on stderr, read back as MF3001 at the archive's code line.</summary>
    [Fact]
    public void A_libtorch_compile_error_on_stderr_becomes_MF3001_at_the_code_line()
    {
        const string stderr = "terminate called after throwing an instance of 'torch::jit::ErrorReport'\n  what():  \n" +
            "Unknown builtin op: aten::not_an_op.\nCould not find any similar ops to aten::not_an_op.\n:\n  File \"code/__torch__.py\", line 9\n";

        var error = Assert.IsType<ModelForgeException>(ReferenceLoadCheck.Failure(stderr, 134, "m.pt"));

        Assert.Equal(DiagnosticCode.ReferenceFailed, error.Code);
        Assert.StartsWith("libtorch cannot compile the archive's code (torch::jit::ErrorReport): Unknown builtin op: aten::not_an_op.", error.Diagnostics[0].Message);
        Assert.Equal(("m.pt!/code/__torch__.py", 9), (error.Diagnostics[0].Location?.File, error.Diagnostics[0].Location?.Line));
    }

    /// <summary>libtorch refusing ModelForge's own substitutes is a ModelForge bug (exit 70), not the user's archive.</summary>
    [Fact]
    public void A_compile_error_in_the_substitutes_is_an_internal_error()
    {
        const string stderr = "terminate called after throwing an instance of 'torch::jit::ErrorReport'\n  what():  \nboom\n" +
            ":\n  File \"code/__torch__/modelforge_torchvision_ops.py\", line 3\n";

        Assert.IsType<InvalidOperationException>(ReferenceLoadCheck.Failure(stderr, 134, "m.pt"));
    }
}
