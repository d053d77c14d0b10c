"""Writes TestData/scripted_lstm.pt: torch.jit.script(nn.LSTM(4, 8, batch_first=True)) (Debian's PyTorch 1.13).

Not a models/ fixture: TorchSharp (the libtorch reference of the parity tests) cannot run a scripted module whose
forward is overloaded (forward__0 / forward__1). Run: /usr/bin/python3 tests/Convert.Tests/Interpret/make_scripted_lstm.py
"""
import os

import torch

torch.manual_seed(0)
torch.jit.script(torch.nn.LSTM(4, 8, batch_first=True).eval()).save(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "TestData", "scripted_lstm.pt"))
