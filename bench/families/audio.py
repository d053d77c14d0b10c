"""torchaudio's model family for issue 18 (the families convention: models() maps a name to a builder; a builder
returns (model in eval mode, example inputs, tolerances) for size "small" (committed fixtures) or "full" (the bench's
largest-model speed check), with the batch size of its inputs as a second argument).

Runs with Debian 12's python3 (torch 1.13, python3-torchaudio 0.13.1) and in the PyTorch 2.6 chroot (torchaudio 2.6).
torchaudio 0.13 has no WavLM: models() leaves it out there. Weights are torchaudio's random initialisation; the one
BatchNorm (WaveRNN's MelResNet) gets running statistics from train-mode passes. Every input is float32 from a
generator seeded by the batch size, so two runs give the same tensors; length inputs are int64 with sample 0 at full
length (the traced padding masks take their width from the longest sample, as torchaudio computes them).
"""


# Its committed fixtures come from this generator, not from fixtures/families/generate.py.
FIXTURE_GENERATOR = "fixtures/families/generate_batched.py"
import torch
import torch.nn as nn
import torchaudio.models as audio_models

TOLERANCE = {"atol": 1e-4, "rtol": 1e-3}


def _generator(batch, salt=0):
    return torch.Generator().manual_seed(1000 + batch + salt)


def waveform(batch, *shape):
    return torch.randn(batch, *shape, generator=_generator(batch))


def lengths(batch, full, step=1):
    """Sample b is full - step·(b % 3) long: sample 0 spans the whole input, as torchaudio's masks assume."""
    return torch.tensor([full - step * (b % 3) for b in range(batch)], dtype=torch.int64)


def calibrate_batchnorm(model, make_inputs, passes=4):
    """Running statistics from train-mode passes (cumulative average), so eval-mode BatchNorm keeps unit scale."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    model.train()
    with torch.no_grad():
        for salt in range(passes):
            model(*make_inputs(salt))
    return model.eval()


def _wav2vec2_config(size):
    if size == "full":  # wav2vec2_base's encoder
        return dict(extractor_conv_layer_config=None, encoder_embed_dim=768, encoder_pos_conv_kernel=128,
                    encoder_pos_conv_groups=16, encoder_num_layers=12, encoder_num_heads=12,
                    encoder_ff_interm_features=3072), 16000
    return dict(extractor_conv_layer_config=[(16, 10, 5), (16, 3, 2), (16, 2, 2)], encoder_embed_dim=32,
                encoder_pos_conv_kernel=8, encoder_pos_conv_groups=4, encoder_num_layers=2, encoder_num_heads=4,
                encoder_ff_interm_features=64), 400


def _wav2vec2_family(factory, extractor_mode, layer_norm_first, with_lengths=True, **extra):
    def build(size="small", batch=2):
        config, samples = _wav2vec2_config(size)
        model = factory(extractor_mode=extractor_mode, extractor_conv_bias=extractor_mode == "layer_norm",
                        encoder_projection_dropout=0.0, encoder_attention_dropout=0.0, encoder_ff_interm_dropout=0.0,
                        encoder_dropout=0.0, encoder_layer_norm_first=layer_norm_first, encoder_layer_drop=0.0,
                        aux_num_out=None, **config, **extra)
        positional_conv = model.encoder.transformer.pos_conv_embed.conv
        if hasattr(positional_conv, "weight_g"):
            # torch 1.13's weight_norm is a forward pre-hook, which torch.jit.trace cannot call; torchaudio removes it
            # for scripting too (__prepare_scriptable__), folding weight_g and weight_v into one weight. torch 2.x's
            # parametrization traces (aten::_weight_norm) and stays.
            nn.utils.remove_weight_norm(positional_conv)
        if not with_lengths:
            return _FeaturesOnly(model).eval(), (waveform(batch, samples),), TOLERANCE
        return model.eval(), (waveform(batch, samples), lengths(batch, samples, step=samples // 5)), TOLERANCE
    return build


class _FeaturesOnly(nn.Module):
    """A Wav2Vec2Model called without lengths returns (features, None), which torch.jit.trace cannot output."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, waveforms):
        return self.model(waveforms)[0]


# wav2vec2 as wav2vec2_base (group-norm extractor, post-norm encoder); HuBERT as hubert_large (layer-norm extractor
# with conv bias, pre-norm encoder), both with the lengths of padded waveforms; WavLM as wavlm_base (gated relative
# position bias) on whole waveforms.
wav2vec2 = _wav2vec2_family(audio_models.wav2vec2_model, "group_norm", False)
hubert = _wav2vec2_family(audio_models.wav2vec2_model, "layer_norm", True)
if hasattr(audio_models, "wavlm_model"):
    wavlm = _wav2vec2_family(audio_models.wavlm_model, "group_norm", False, encoder_num_buckets=32,
                             encoder_max_distance=64, with_lengths=False)  # WavLM's attention takes no padding mask


def conformer(size="small", batch=2):
    dim, heads, ffn, layers, frames = (512, 8, 2048, 12, 200) if size == "full" else (16, 2, 32, 2, 12)
    model = audio_models.Conformer(input_dim=dim, num_heads=heads, ffn_dim=ffn, num_layers=layers,
                                   depthwise_conv_kernel_size=7)
    return model.eval(), (waveform(batch, frames, dim), lengths(batch, frames)), TOLERANCE


def conv_tasnet(size="small", batch=2):
    if size == "full":  # conv_tasnet_base
        model, samples = audio_models.conv_tasnet_base(num_sources=2), 16000
    else:
        model, samples = audio_models.ConvTasNet(num_sources=2, enc_kernel_size=8, enc_num_feats=16, msk_kernel_size=3,
                                                 msk_num_feats=8, msk_num_hidden_feats=16, msk_num_layers=2,
                                                 msk_num_stacks=2), 200
    return model.eval(), (waveform(batch, 1, samples),), TOLERANCE


def deepspeech(size="small", batch=2):
    features, hidden, frames = (161, 2048, 100) if size == "full" else (12, 32, 10)
    model = audio_models.DeepSpeech(n_feature=features, n_hidden=hidden, n_class=40)
    return model.eval(), (waveform(batch, 1, frames, features),), TOLERANCE


def _narrow_wav2letter(width, wide):
    """Wav2Letter's acoustic model (power-spectrum input) with its 250 and 2000 channels as width and wide: the same
    layers, kernels, strides and paddings (torchaudio hard-codes the widths, about 23M parameters)."""
    layers = [nn.Conv1d(13, width, 48, stride=2, padding=23), nn.ReLU(inplace=True)]
    for _ in range(7):
        layers += [nn.Conv1d(width, width, 7, padding=3), nn.ReLU(inplace=True)]
    layers += [nn.Conv1d(width, wide, 32, padding=16), nn.ReLU(inplace=True),
               nn.Conv1d(wide, wide, 1), nn.ReLU(inplace=True), nn.Conv1d(wide, 40, 1), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


def wav2letter(size="small", batch=2):
    model = audio_models.Wav2Letter(num_classes=40, input_type="mfcc", num_features=13)
    if size != "full":
        model.acoustic_model = _narrow_wav2letter(16, 32)
    return model.eval(), (waveform(batch, 13, 400 if size == "full" else 40),), TOLERANCE


def emformer(size="small", batch=2):
    if size == "full":  # emformer_rnnt_base's transcriber Emformer
        dim, heads, ffn, layers, segment, left, right, memory = 1024, 8, 4096, 20, 4, 30, 1, 0
    else:
        dim, heads, ffn, layers, segment, left, right, memory = 16, 2, 32, 2, 4, 4, 1, 2
    model = audio_models.Emformer(input_dim=dim, num_heads=heads, ffn_dim=ffn, num_layers=layers,
                                  segment_length=segment, left_context_length=left, right_context_length=right,
                                  max_memory_size=memory)
    frames = 4 * segment + right
    return model.eval(), (waveform(batch, frames, dim), lengths(batch, frames - right)), TOLERANCE


def hdemucs(size="small", batch=2):
    if size == "full":  # hdemucs_high
        model, samples = audio_models.hdemucs_high(["drums", "bass", "other", "vocals"]), 44100
    else:
        model, samples = audio_models.HDemucs(["drums", "vocals"], audio_channels=2, channels=4, growth=2, nfft=64,
                                              depth=2, norm_starts=1, norm_groups=2), 512
    return model.eval(), (waveform(batch, 2, samples),), TOLERANCE


class _WaveRNNForward(audio_models.WaveRNN):
    """WaveRNN whose infer() is a plain Python method: tracing compiles a module's @torch.jit.export methods, and
    PyTorch 1.13 cannot compile infer's calls of the overloaded GRU.forward."""

    def infer(self, specgram, lengths=None):
        return super().infer(specgram, lengths)


def wavernn(size="small", batch=2):
    """WaveRNN's forward pass (teacher forcing over a known waveform); its infer() sampling loop is not traced."""
    if size == "full":
        scales, hop, res_blocks, rnn, fc, freq, hidden, output, frames = [5, 5, 11], 275, 10, 512, 512, 128, 128, 128, 12
    else:
        scales, hop, res_blocks, rnn, fc, freq, hidden, output, frames = [2, 2], 4, 2, 16, 16, 8, 8, 8, 9
    model = _WaveRNNForward(upsample_scales=scales, n_classes=16, hop_length=hop, n_res_block=res_blocks,
                                 n_rnn=rnn, n_fc=fc, n_freq=freq, n_hidden=hidden, n_output=output)
    samples = (frames - 5 + 1) * hop

    def make_inputs(batch_size, salt=0):
        gen = _generator(batch_size, salt)
        return (torch.randn(batch_size, 1, samples, generator=gen), torch.randn(batch_size, 1, freq, frames, generator=gen))

    calibrate_batchnorm(model, lambda salt: make_inputs(8, 100 + salt))
    return model, make_inputs(batch), TOLERANCE


def models():
    builders = {"wav2vec2": wav2vec2, "hubert": hubert, "conformer": conformer, "conv_tasnet": conv_tasnet,
                "deepspeech": deepspeech, "wav2letter": wav2letter, "emformer": emformer, "hdemucs": hdemucs,
                "wavernn": wavernn}
    if hasattr(audio_models, "wavlm_model"):
        builders["wavlm"] = wavlm
    return builders


# The family's largest model for the full-size speed check (bench/families_run.py largest); parameters at size "full": emformer 252.0 M, wav2vec2/hubert 94.4, hdemucs 83.6, conformer 72.6, deepspeech 29.8, wav2letter 23.3, conv_tasnet 5.0, wavernn 4.3.
LARGEST = {"audio": "emformer"}
