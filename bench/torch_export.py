#!/usr/bin/env python3
"""Baseline: load a TorchScript module and export it with torch.onnx.export
(opset 17, dynamic batch axis). Usage: torch_export.py MODEL.pt OUT.onnx [H W]"""
import sys

import torch


def main():
    src, dst = sys.argv[1], sys.argv[2]
    h = int(sys.argv[3]) if len(sys.argv) > 3 else 224
    w = int(sys.argv[4]) if len(sys.argv) > 4 else h
    module = torch.jit.load(src).eval()
    example = torch.randn(1, 3, h, w)
    with torch.no_grad():
        torch.onnx.export(
            module, (example,), dst,
            opset_version=17,
            input_names=["x"],
            dynamic_axes={"x": {0: "batch"}},
        )


if __name__ == "__main__":
    main()
