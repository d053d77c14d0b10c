using ModelForge.Core.Diagnostics;
using static ModelForge.Convert.Tests.Archive.ArchiveFixtures;

namespace ModelForge.Convert.Tests.Ops;

/// <summary>
/// The recurrent layouts the LSTM/GRU lowering refuses are MF2040 (UnsupportedOpVariant) naming aten::lstm and the
/// nearest Python frame outside torch that made the call: the module's forward, or the trace call when nn.LSTM itself
/// was traced (fixtures/diagnostics/generate.py; the ops fixture lstm_single given an unbatched input).
/// </summary>
public class RecurrentVariantTests
{
    [Theory]
    [InlineData("diagnostics/lstm_proj_size.pt", "x:float32[batch,5,4]", "not LSTM proj_size",
        "diagnostics/generate.py(150): recurrent")]
    [InlineData("diagnostics/lstm_computed_weight.pt", "x:float32[batch,5,4]", "weights must be parameters of the model",
        "diagnostics/generate.py(144): forward")]
    [InlineData("ops/lstm_single/model.pt", "x:float32[5,4]", "on an unbatched float32[5,4] input",
        "ops/generate.py(675): forward")]
    public void Unsupported_recurrent_variant_is_MF2040_naming_the_op_and_the_python_line(
        string fixture, string input, string reason, string pythonLine)
    {
        var e = Throws(DiagnosticCode.UnsupportedOpVariant, () =>
        {
            using var _ = ModelConverter.Convert(RepoPaths.Fixture(fixture.Split('/')), new ConvertOptions([InputSpec.Parse(input)]));
        });
        var diagnostic = Assert.Single(e.Diagnostics);
        Assert.StartsWith("aten::lstm ", diagnostic.Message);
        Assert.Contains(reason, diagnostic.Message);
        Assert.Equal(pythonLine, diagnostic.Location!.PythonSource);
    }
}
