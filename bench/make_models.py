#!/usr/bin/env python3
"""Trace torchvision 0.14 models (random weights, eval mode, batch 1) and save
them as TorchScript into the given directory. Run with Debian's /usr/bin/python3.
Existing files are left alone. Usage: make_models.py OUTDIR [MODEL ...]"""
import os
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
    # models whose graphs ONNX Runtime runs differ from torch.onnx.export's (BENCHMARKS.md, issue 6): timed on request
    "densenet161": ({}, 224),
    "shufflenet_v2_x2_0": ({}, 224),
    "inception_v3": ({"aux_logits": False, "init_weights": True}, 224),
    "swin_t": ({}, 224),
    "maxvit_t": ({}, 224),
}


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or list(MODELS)
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for name in names:
        path = os.path.join(out, name + ".pt")
        if os.path.exists(path):
            continue
        kwargs, hw = MODELS[name]
        model = getattr(tvm, name)(weights=None, **kwargs).eval()
        example = torch.randn(1, 3, hw, hw)
        with torch.no_grad():
            traced = torch.jit.trace(model, example)
        tmp = path + ".tmp"
        torch.jit.save(traced, tmp)
        os.replace(tmp, path)
        print(f"  wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
