#!/usr/bin/env python3
"""Trace torchvision 0.14 models (random weights, eval mode, batch 1) and save
them as TorchScript into the given directory. Run with Debian's /usr/bin/python3.
Existing files are left alone. Usage: make_models.py OUTDIR [MODEL ...]

bert_encoder_L<layers>_S<seq> is a BERT-like encoder: nn.TransformerEncoder of
<layers> BERT-base layers (width 768, 12 heads, feed-forward 3072, GELU) over
float input [batch, <seq>, 768] (the embeddings' output)."""
import os
import re
import sys

import torch
import torchvision.models as tvm

# name -> (constructor kwargs, input H/W)
MODELS = {
    "resnet50": ({}, 224),
    "resnet18": ({}, 224),
    "mobilenet_v2": ({}, 224),
    "mobilenet_v3_large": ({}, 224),
    "efficientnet_b0": ({}, 224),
    "densenet121": ({}, 224),
    "vgg11": ({}, 224),
    "squeezenet1_1": ({}, 224),
    "shufflenet_v2_x1_0": ({}, 224),
    "alexnet": ({}, 224),
    "googlenet": ({"aux_logits": False, "init_weights": True}, 224),
    "regnet_y_400mf": ({}, 224),
    "mnasnet1_0": ({}, 224),
    "convnext_tiny": ({}, 224),
    "vit_b_16": ({}, 224),
    # models whose graphs ONNX Runtime runs differ from torch.onnx.export's (BENCHMARKS.md, issue 6): timed on request
    "densenet161": ({}, 224),
    "shufflenet_v2_x2_0": ({}, 224),
    "inception_v3": ({"aux_logits": False, "init_weights": True}, 224),
    "swin_t": ({}, 224),
    "maxvit_t": ({}, 224),
}


ATTENTION_MODELS = {"vit_b_16"}


def build(name):
    """The eval-mode model and an example input of batch 1."""
    encoder = re.fullmatch(r"bert_encoder_L(\d+)_S(\d+)", name)
    if encoder:
        layers, seq = int(encoder.group(1)), int(encoder.group(2))
        layer = torch.nn.TransformerEncoderLayer(768, 12, 3072, activation="gelu", batch_first=True)
        encoder = torch.nn.TransformerEncoder(layer, layers).eval()
        # The layers are deep copies of one: each gets its own weight matrices (BERT's N(0, 0.02) initialisation).
        with torch.no_grad():
            for weight in (p for p in encoder.parameters() if p.dim() > 1):
                weight.normal_(0, 0.02)
        return encoder, torch.randn(1, seq, 768)
    kwargs, hw = MODELS[name]
    model = getattr(tvm, name)(weights=None, **kwargs).eval()
    if name.startswith("vit_"):
        # torchvision zero-initialises ViT's classification head, so an untrained ViT answers 0 for every class and
        # any accuracy metric on its outputs (cosine, SQNR) is undefined: give the head random weights like the rest.
        with torch.no_grad():
            model.heads.head.weight.normal_(0, 0.02)
            model.heads.head.bias.normal_(0, 0.02)
    return model, torch.randn(1, 3, hw, hw)


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or list(MODELS)
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for name in names:
        path = os.path.join(out, name + ".pt")
        if os.path.exists(path):
            continue
        model, example = build(name)
        # Traced with gradients on, as torch.onnx.export needs: under no_grad, eval-mode nn.MultiheadAttention and
        # TransformerEncoderLayer (ViT, the encoder) take PyTorch's fused fast path, an op it cannot export. The trace
        # check re-runs under no_grad (the fast path), so it is off for them.
        attention = name in ATTENTION_MODELS or name.startswith("bert_encoder")
        with torch.set_grad_enabled(attention):
            traced = torch.jit.trace(model, example, check_trace=not attention)
        tmp = path + ".tmp"
        torch.jit.save(traced, tmp)
        os.replace(tmp, path)
        print(f"  wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
