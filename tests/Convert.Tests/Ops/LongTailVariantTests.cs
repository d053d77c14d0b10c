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
