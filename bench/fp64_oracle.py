"""Explains a validation mismatch by asking float64 who is right.

When `modelforge validate --save-failures DIR` reports a mismatch between libtorch (the reference) and the converted
ONNX model, this script reruns the TorchScript model in float64 with Debian's PyTorch 1.13 on the saved inputs and
measures three float32 results against that float64 output: the libtorch reference, the ONNX Runtime candidate and
PyTorch 1.13's own float32 run. It also applies the validate tolerance to PyTorch 1.13 vs libtorch, two native
PyTorch builds. If the candidate is no farther from float64 than the native runs are, the mismatch is float32
rounding that the check's tolerance cannot absorb at this output scale, not a conversion error.

Usage: /usr/bin/python3 bench/fp64_oracle.py MODEL.pt FAILURES_DIR --atol A --rtol R
Prints one line per saved batch and a last line `verdict: native-noise` or `verdict: candidate-worse`.
"""
import argparse
import glob
import os

import numpy as np
import torch


def flatten(out):
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    return [t for o in out for t in flatten(o)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("failures")
    ap.add_argument("--atol", type=float, required=True)
    ap.add_argument("--rtol", type=float, required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)

    m32 = torch.jit.load(args.model).eval()
    m64 = torch.jit.load(args.model).eval().double()
    candidate_worse = False
    for batch_dir in sorted(glob.glob(os.path.join(args.failures, "batch*"))):
        inputs = np.load(os.path.join(batch_dir, "inputs.npz"))
        reference = np.load(os.path.join(batch_dir, "reference.npz"))
        cand_file = [f for f in glob.glob(os.path.join(batch_dir, "*.npz"))
                     if os.path.basename(f) not in ("inputs.npz", "reference.npz")][0]
        candidate = np.load(cand_file)
        xs = [torch.from_numpy(inputs[k]) for k in inputs.files]
        with torch.no_grad():
            out32 = [t.numpy() for t in flatten(m32(*xs))]
            out64 = [t.numpy() for t in flatten(m64(*[x.double() if x.is_floating_point() else x for x in xs]))]
        parts = []
        for i, name in enumerate(reference.files):
            truth = out64[i]
            err = {who: float(np.abs(arr.astype(np.float64) - truth).max())
                   for who, arr in (("onnx", candidate[name]), ("libtorch", reference[name]), ("torch1.13", out32[i]))}
            native_pair_bad = int((np.abs(out32[i] - reference[name]) > args.atol + args.rtol * np.abs(reference[name])).sum())
            if err["onnx"] > max(err["libtorch"], err["torch1.13"]):
                candidate_worse = True
            parts.append(f'{name}: max abs err vs float64: onnx {err["onnx"]:.2e}, libtorch {err["libtorch"]:.2e}, '
                         f'torch 1.13 {err["torch1.13"]:.2e}; torch 1.13 vs libtorch fails the tolerance on '
                         f'{native_pair_bad} element(s); |output| max {np.abs(truth).max():.2e}')
        print(f"{os.path.basename(batch_dir)}: " + "; ".join(parts))
    print("verdict: " + ("candidate-worse" if candidate_worse else "native-noise"))


if __name__ == "__main__":
    main()
