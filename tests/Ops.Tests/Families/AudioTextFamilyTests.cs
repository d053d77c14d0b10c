using ModelForge.Convert;
using ModelForge.Core.Diagnostics;
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
/// PyTorch saved within 1e-4 + 1e-3·|expected|, at batch 1 and 3 (padded lengths and token ids), except the cases in
/// <see cref="KnownStops"/>, whose conversion stops with the diagnostic given there.
/// </summary>
public sealed class AudioTextFamilyTests
{
    private static readonly string[] Families = ["audio", "text"];

    /// <summary>Where conversion stops today (issue 18, not done yet): the code and what the message names.</summary>
    private static readonly Dictionary<string, (DiagnosticCode Code, string Names)> KnownStops = new()
    {
        // Scripted Wav2Vec2Model checks attention_mask.size() != [batch, 1, length, length]: lists of run-time sizes.
        ["audio/wav2vec2_scripted_1x"] = (DiagnosticCode.UnsupportedConstruct, "comparison of a list of 4 and a list of 4"),
        ["audio/wav2vec2_scripted_2x"] = (DiagnosticCode.UnsupportedConstruct, "comparison of a list of 4 and a list of 4"),
        ["audio/hubert_scripted_1x"] = (DiagnosticCode.UnsupportedConstruct, "comparison of a list of 4 and a list of 4"),
        ["audio/hubert_scripted_2x"] = (DiagnosticCode.UnsupportedConstruct, "comparison of a list of 4 and a list of 4"),
        // Scripted Conformer asserts key.shape == value.shape in multi_head_attention_forward (lists of run-time sizes);
        // scripted Emformer's padding mask is None or a tensor depending on a run-time batch-size test.
        ["audio/conformer_scripted_1x"] = (DiagnosticCode.UnsupportedConstruct, "comparison of a list of 3 and a list of 3 is only known at run time"),
        ["audio/conformer_scripted_2x"] = (DiagnosticCode.UnsupportedConstruct, "comparison of a list of 3 and a list of 3 is only known at run time"),
        ["audio/emformer_scripted_1x"] = (DiagnosticCode.UnsupportedConstruct, "'padding_mask' is None in the then-branch"),
        ["audio/emformer_scripted_2x"] = (DiagnosticCode.UnsupportedConstruct, "'padding_mask' is None in the then-branch"),
        // Scripted RobertaModel of 2.6: its scripted nn.TransformerEncoder checks the dtype of a nested tensor. (1.13's
        // converts: its `isinstance(encoded, list)` on the encoder's output is decided by kind.)
        ["text/roberta_classifier_scripted_2x"] = (DiagnosticCode.UnsupportedConstruct, "prim::dtype has no handler"),
    };

    public static IEnumerable<object[]> Cases() =>
        Families.SelectMany(family => FixtureCase.Names(FamilyKind(family)).Select(name => new object[] { family, name }));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Converted_family_model_matches_libtorch_or_stops_where_known(string family, string fixture)
    {
        var loaded = FixtureCase.Load(FamilyKind(family), fixture);
        if (!KnownStops.TryGetValue($"{family}/{fixture}", out var stop))
        {
            ParityCheck.Run(loaded, opset: 17);
            return;
        }
        var error = Assert.Throws<ModelForgeException>(() =>
            ModelConverter.Convert(loaded.ModelPath, new ConvertOptions(ParityCheck.InputSpecs(loaded), 17)));
        Assert.Equal(stop.Code, error.Code);
        Assert.True(error.Message.Contains(stop.Names, StringComparison.Ordinal), error.Message);
    }

    private static string FamilyKind(string family) => Path.Combine("families", family);
}
