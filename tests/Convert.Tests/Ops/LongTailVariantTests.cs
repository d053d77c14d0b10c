using ModelForge.Core.Diagnostics;
using static ModelForge.Convert.Tests.Archive.ArchiveFixtures;

namespace ModelForge.Convert.Tests.Ops;

/// <summary>
/// Variants the long-tail lowerings refuse, each with its diagnostic naming the op: per-op fixtures converted with
/// input specs that make the variant (a dynamic dim the lowering needs static, integer tensors where only bool masks
/// are lowered).
/// </summary>
public class LongTailVariantTests
{
    [Theory]
    [InlineData("glu", "x:float32[batch,3,n];y:float32[batch,6,4]", DiagnosticCode.StaticValueRequired, "aten::glu along dim 2 of float32[batch,3,n]")]
    [InlineData("instance_norm", "x:float32[batch,c,5,5]", DiagnosticCode.StaticValueRequired, "aten::instance_norm of float32[batch,c,5,5], whose channel count")]
    [InlineData("bitwise_bool", "mask:int64[batch,4,5];other:int64[batch,4,5]", DiagnosticCode.UnsupportedOpVariant, "aten::__and__ of a int64[batch,4,5] tensor")]
    public void Refused_variant_names_the_op(string fixture, string inputs, DiagnosticCode code, string message)
    {
        var specs = inputs.Split(';').Select(InputSpec.Parse).ToArray();
        var e = Throws(code, () =>
        {
            using var _ = ModelConverter.Convert(RepoPaths.Fixture("ops", fixture, "model.pt"), new ConvertOptions(specs));
        });
        Assert.StartsWith(message, Assert.Single(e.Diagnostics).Message);
    }

    /// <summary>
    /// Complex tensors (carried as real [..., 2]) reach only istft, view_as_real and the shape ops adapted to the layout:
    /// another op on one, a complex model output and istft's complex result are MF2048 naming what.
    /// </summary>
    [Theory]
    [InlineData("stft_hann", "x:float32[batch,40]", "torch.view_as_real(z)", "torch.abs(z)", "aten::abs on a complex tensor is not supported")]
    [InlineData("stft_hann", "x:float32[batch,40]", "torch.view_as_real(z)", "torch.pad(z, [1, 1], \"reflect\")",
        "aten::pad in mode 'reflect' with the value None (only zero padding is) on a complex tensor")]
    [InlineData("stft_hann", "x:float32[batch,40]", "return torch.view_as_real(z)", "return z", "the model returns a complex tensor")]
    [InlineData("istft_hann", "x:float32[batch,9,11,2]", "None, window)", "None, window, True, False, None, None, True)", "aten::istft with return_complex=True")]
    public void Complex_tensors_reach_only_the_ops_lowered_on_them(string fixture, string input, string original, string replacement, string message)
    {
        using var dir = new TempDir();
        var model = dir.File("model.pt");
        WriteZip(model, WithCodeReplaced(RepoPaths.Fixture("ops", fixture, "model.pt"), original, replacement));
        var e = Throws(DiagnosticCode.ComplexOpUnsupported, () =>
        {
            using var _ = ModelConverter.Convert(model, new ConvertOptions([InputSpec.Parse(input)]));
        });
        Assert.StartsWith(message, Assert.Single(e.Diagnostics).Message);
    }

    [Theory]
    [InlineData("\"nuc\"")]
    [InlineData("2")]
    [InlineData("-2")]
    public void Matrix_norm_of_singular_values_has_no_onnx_form(string ord)
    {
        using var dir = new TempDir();
        var model = dir.File("model.pt");
        WriteZip(model, WithCodeReplaced(RepoPaths.Fixture("ops", "matrix_norm", "model.pt"),
            "torch.linalg_matrix_norm(x, 1, [-2, -1])", $"torch.linalg_matrix_norm(x, {ord}, [-2, -1])"));
        var e = Throws(DiagnosticCode.NoOnnxEquivalent, () =>
        {
            using var _ = ModelConverter.Convert(model, new ConvertOptions([InputSpec.Parse("x:float32[batch,3,4]")]));
        });
        Assert.StartsWith($"aten::linalg_matrix_norm with ord {(ord.StartsWith('"') ? "the string " + ord : "the int " + ord)} needs singular values, which no ONNX opset (13–20) computes",
            Assert.Single(e.Diagnostics).Message);
    }

    [Theory]
    [InlineData("torch.transpose(x, 1, 2)", "transposed")]
    [InlineData("torch.slice(x, 1, 1)", "slice")]
    public void As_strided_of_a_view_is_refused(string view, string kind)
    {
        using var dir = new TempDir();
        var model = dir.File("model.pt");
        WriteZip(model, WithCodeReplaced(RepoPaths.Fixture("ops", "as_strided", "model.pt"),
            "torch.as_strided(x, [2, 2], [1, 2])", $"torch.as_strided({view}, [2, 2], [1, 2])"));
        var e = Throws(DiagnosticCode.UnsupportedOpVariant, () =>
        {
            using var _ = ModelConverter.Convert(model, new ConvertOptions([InputSpec.Parse("x:float32[batch,4,5]")]));
        });
        Assert.StartsWith($"aten::as_strided of a {kind} tensor", Assert.Single(e.Diagnostics).Message);
    }
}
