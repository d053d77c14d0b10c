#!/usr/bin/env python3
"""Baseline: load a TorchScript module and export it with torch.onnx.export
(opset 17, dynamic batch axis). Usage: torch_export.py MODEL.pt OUT.onnx [ROW_SHAPE]
ROW_SHAPE: one input row's dims without the batch, comma-separated (default 3,224,224)."""
import sys

import torch


def main():
    src, dst = sys.argv[1], sys.argv[2]
    row_shape = [int(d) for d in (sys.argv[3] if len(sys.argv) > 3 else "3,224,224").split(",")]
    module = torch.jit.load(src).eval()
    example = torch.randn(1, *row_shape)
    with torch.no_grad():
        torch.onnx.export(
            module, (example,), dst,
            opset_version=17,
            input_names=["x"],
            dynamic_axes={"x": {0: "batch"}},
        )


if __name__ == "__main__":
    main()
