#!/usr/bin/env python3
"""A wide MLP whose weights exceed protobuf's 2 GB limit, traced and saved as TorchScript, for the external-data
benchmark. Run with Debian's /usr/bin/python3. Usage: make_big_model.py OUT.pt [LAYERS] [WIDTH]
(default 12 layers of 8192x8192 float32 = 3.0 GiB of weights). Weights are random, not trained."""
import os
import sys

import torch


def main():
    out = sys.argv[1]
    layers = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    width = int(sys.argv[3]) if len(sys.argv) > 3 else 8192
    torch.manual_seed(0)
    mods = []
    with torch.no_grad():
        for i in range(layers):
            linear = torch.nn.Linear(width, width)
            linear.weight.normal_(0, width ** -0.5)  # cheaper than the default kaiming init at this size
            linear.bias.zero_()
            mods += [linear, torch.nn.ReLU()]
        model = torch.nn.Sequential(*mods).eval()
        traced = torch.jit.trace(model, torch.randn(1, width))
    tmp = out + ".tmp"
    torch.jit.save(traced, tmp)
    os.replace(tmp, out)
    print(f"  wrote {out} ({os.path.getsize(out) / 2**30:.2f} GiB)", file=sys.stderr)


if __name__ == "__main__":
    main()
