"""Lists the aten ops torch.onnx.export (PyTorch 1.13, Debian's python3-torch) has a symbolic for, at any opset.

Run with Debian's python3:  /usr/bin/python3 bench/torch-onnx-registry.py > docs/data/torch-onnx-1.13-ops.txt
The file feeds the "torch.onnx 1.13" column and the comparison section of docs/op-support.md, which
OpRegistryTests.Op_support_doc_matches_the_registry generates; nothing is typed in by hand.
"""
import torch
import torch.onnx  # noqa: F401  (importing it registers every symbolic_opset*.py)
from torch.onnx._internal import registration

names = sorted(n for n in registration.registry._registry.keys() if n.startswith("aten::"))
print(f"# torch.onnx {torch.__version__} symbolic registry: {len(names)} aten ops; made by bench/torch-onnx-registry.py")
for name in names:
    print(name)
