# Regenerates the tiny ONNX model used by OrtCandidateTests (run with Debian's PyTorch: /usr/bin/python3).
# Nothing at test time needs Python; the .onnx file is committed.
import torch

class Tiny(torch.nn.Module):
    """y = relu(x @ W^T + b); also returns argmax(y, 1) (int64) and y > 0 (bool)."""
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[1.0, -1.0, 0.5], [0.25, 2.0, -1.0]]))
            self.fc.bias.copy_(torch.tensor([0.5, -0.25]))
    def forward(self, x):
        y = torch.relu(self.fc(x))
        return y, torch.argmax(y, dim=1), y > 0

torch.onnx.export(Tiny().eval(), (torch.zeros(1, 3),), "tiny_linear.onnx", opset_version=17,
                  input_names=["x"], output_names=["y", "argmax", "positive"],
                  dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}, "argmax": {0: "batch"}, "positive": {0: "batch"}})
