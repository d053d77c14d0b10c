using ModelForge.Ops.Tests.Infrastructure;

namespace ModelForge.Ops.Tests.Families;

/// <summary>
/// Issue 18's audio and text families (fixtures/families/{audio,text}, built by bench/families/audio.py and text.py at
/// size "small" and saved by fixtures/families/generate_batched.py), traced and scripted where TorchScript takes them,
/// saved by PyTorch 1.13 (_1x) and 2.6 (_2x): torchaudio's wav2vec2, HuBERT, WavLM (2.6 only: torchaudio 0.13 has
/// none), Conformer, ConvTasNet, DeepSpeech, Wav2Letter, Emformer, HDemucs and WaveRNN's forward; torchtext's
/// RobertaModel as a RoBERTa classifier, an XLM-R encoder and a pre-norm encoder on right-padded token ids (PyTorch's
/// BetterTransformer path: the padding mask as a nested tensor, or per fused layer) and a Llama-style decoder (RMSNorm,
/// rotary, grouped-query causal attention, SwiGLU). Each converts at opset 17 and matches libtorch and the outputs
/// PyTorch saved within 1e-4 + 1e-3·|expected|, at batch 1 and 3 (padded lengths and token ids). The scripted archives'
/// run-time checks are taken to pass (MF2045).
/// </summary>
public sealed class AudioTextFamilyTests
{
    private static readonly string[] Families = ["audio", "text"];

    public static IEnumerable<object[]> Cases() =>
        Families.SelectMany(family => FixtureCase.Names(FamilyKind(family)).Select(name => new object[] { family, name }));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Converted_family_model_matches_libtorch(string family, string fixture) =>
        ParityCheck.Run(FixtureCase.Load(FamilyKind(family), fixture), opset: 17);

    private static string FamilyKind(string family) => Path.Combine("families", family);
}
