using ModelForge.Core.Diagnostics;
using static ModelForge.Convert.Tests.Archive.ArchiveFixtures;

namespace ModelForge.Convert.Tests.Ops;

/// <summary>
/// In-place ops on views the converted graph cannot write back into the tensor viewed are refused with MF2042 naming the
/// in-place op and the op that made the view, never converted with the change lost. Each case swaps the view in the
/// per-op fixture inplace_reshaped_views (whose <c>y.unsqueeze(1).mul_(2)</c> converts and matches libtorch) for one of
/// those; y is returned, so in torch the change would show.
/// </summary>
public class InPlaceViewTests
{
    [Theory]
    [InlineData("torch.expand(y, [-1, 3, 4])", "aten::expand", "its elements repeat those of the tensor it expands")]
    [InlineData("torch.diagonal(y, 0, 1, 2)", "aten::diagonal", "its elements are scattered over the tensor it views")]
    [InlineData("torch.reshape(torch.transpose(y, 1, 2), [-1, 12])", "aten::reshape",
        "it reshapes a transposed tensor, which torch copies or views depending on its strides")]
    public void In_place_op_on_a_view_that_cannot_be_written_back_is_refused(string view, string viewOp, string reason)
    {
        using var dir = new TempDir();
        var model = dir.File("model.pt");
        WriteZip(model, WithCodeReplaced(RepoPaths.Fixture("ops", "inplace_reshaped_views", "model.pt"), UnsqueezedView, view));
        var e = Throws(DiagnosticCode.InPlaceOnUnwritableView, () =>
        {
            using var _ = ModelConverter.Convert(model, new ConvertOptions([InputSpec.Parse("x:float32[batch,3,4]")]));
        });
        var diagnostic = Assert.Single(e.Diagnostics);
        Assert.StartsWith($"aten::mul_ changes in place the result of {viewOp} at ", diagnostic.Message);
        Assert.Contains(reason, diagnostic.Message);
        Assert.Contains("ops/generate.py(2704)", diagnostic.Location!.PythonSource);  // the line of y.unsqueeze(1).mul_(2.0)
    }

    /// <summary>
    /// The other direction: a view read after the tensor it views changed in place shows the change (per-op fixture
    /// inplace_view_read_after_base_change, whose y.view(-1) converts and matches libtorch); a view that cannot be taken
    /// again from the changed tensor is refused with MF2042 rather than read with its old values.
    /// </summary>
    [Fact]
    public void A_view_that_cannot_be_taken_again_is_refused_when_read_after_its_base_changed()
    {
        using var dir = new TempDir();
        var model = dir.File("model.pt");
        WriteZip(model, WithCodeReplaced(RepoPaths.Fixture("ops", "inplace_view_read_after_base_change", "model.pt"),
            "torch.view(y, [-1])", "torch.expand(y, [2, -1, -1, -1])"));
        var e = Throws(DiagnosticCode.InPlaceOnUnwritableView, () =>
        {
            using var _ = ModelConverter.Convert(model, new ConvertOptions([InputSpec.Parse("x:float32[batch,3,4]")]));
        });
        var diagnostic = Assert.Single(e.Diagnostics);
        Assert.StartsWith("the result of aten::expand at ", diagnostic.Message);
        Assert.Contains("is read after the float32[batch,3,4] tensor it views changed in place", diagnostic.Message);
        Assert.Contains("its elements repeat those of the tensor it expands", diagnostic.Message);
    }

    private const string UnsqueezedView = "torch.unsqueeze(y, 1)";
}
