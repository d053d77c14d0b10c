#!/usr/bin/env python3
"""Native fp32 reference for the int8 benchmark: ROWS inputs uniform in [-1, 1) (seeded apart from the calibration
inputs, which ModelForge generates itself) and the TorchScript model's outputs on them, as raw float32 files.
Usage: int8_reference.py MODEL.pt INPUTS.f32 OUTPUTS.f32 ROWS [ROW_SHAPE]
ROW_SHAPE: one input row's dims without the batch, comma-separated (default 3,224,224)."""
import sys

import torch


def main():
    src, inputs_path, outputs_path, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    row_shape = [int(d) for d in (sys.argv[5] if len(sys.argv) > 5 else "3,224,224").split(",")]
    torch.manual_seed(20261206)
    module = torch.jit.load(src).eval()
    x = torch.rand(rows, *row_shape) * 2 - 1
    with torch.no_grad():
        y = torch.cat([module(x[i:i + 8]) for i in range(0, rows, 8)])
    x.numpy().astype("<f4").tofile(inputs_path)
    y.numpy().astype("<f4").tofile(outputs_path)


if __name__ == "__main__":
    main()
