"""Writes TestData/model.ptl and TestData/model_flatbuffer.ptl: a tiny module saved for the PyTorch Mobile
lite interpreter, as a zip and in the flatbuffer format.

Run with a PyTorch that has _save_for_lite_interpreter (Debian's python3-torch 1.13 does):
    /usr/bin/python3 tests/Convert.Tests/Archive/make_mobile_fixture.py
The zip holds bytecode.pkl next to data.pkl and, in 1.13, code/ as well (extra/mobile_info.json only when
mobile info is given), so ModelForge recognises a mobile archive by bytecode.pkl, not by a missing code/ folder.
"""
import os

import torch


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 2)

    def forward(self, x):
        return torch.relu(self.linear(x))


def main():
    torch.manual_seed(0)
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "TestData")
    os.makedirs(folder, exist_ok=True)
    scripted = torch.jit.script(Tiny().eval())
    scripted._save_for_lite_interpreter(os.path.join(folder, "model.ptl"))
    # Not a zip at all: a flatbuffer with the file identifier "PTMF" at bytes 4-8.
    scripted._save_for_lite_interpreter(os.path.join(folder, "model_flatbuffer.ptl"), _use_flatbuffer=True)
    print(folder)


if __name__ == "__main__":
    main()
