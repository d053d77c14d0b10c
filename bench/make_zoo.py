#!/usr/bin/env python3
"""Coverage benchmark models (issue 5), run with Debian's /usr/bin/python3 (torch 1.13, torchvision 0.14).

  make_zoo.py list                      the model names in run order, one a line, "NAME PARAMS_M" (no tracing)
  make_zoo.py trace OUTDIR NAME         traces NAME (random weights, eval, batch 1) to OUTDIR/NAME.pt and writes
                                        OUTDIR/NAME.json: params, the --input spec and extra validate arguments
  make_zoo.py export MODEL.pt META.json OUT.onnx
                                        the baseline: torch.onnx.export (opset 17, dynamic batch) of the same
                                        TorchScript module; prints "ok" or the error's first line, exit 0/1

The zoo is every classification builder in torchvision.models (0.14 has no list_models(module=...)): alexnet,
convnext_*, densenet*, efficientnet_*, googlenet, inception_v3, maxvit_t, mnasnet*, mobilenet_*, regnet_*, resnet*,
resnext*, shufflenet_*, squeezenet*, swin_*, vgg*, vit_*, wide_resnet*, each at its natural input size (the crop
size of its DEFAULT weights' transforms; vit_h_14 518), plus three sequence models with int64 token ids.
"""
import inspect
import json
import os
import sys

import torch
import torch.nn as nn

VOCAB = 1000
SEQ = 16

CLASSIFICATION_PREFIXES = (
    "alexnet", "convnext_", "densenet", "efficientnet_", "googlenet", "inception_v3", "maxvit_t", "mnasnet",
    "mobilenet_", "regnet_", "resnet", "resnext", "shufflenet_", "squeezenet", "swin_", "vgg", "vit_", "wide_resnet",
)


# ---------------------------------------------------------------- sequence models
class TextEncoder(nn.Module):
    """Embedding + learned positional embedding + nn.TransformerEncoder (batch_first, eval: the fast path
    aten::_transformer_encoder_layer_fwd under no_grad) + mean pooling + Linear."""

    def __init__(self, use_mask=False, d=128, heads=4, layers=2, classes=4):
        super().__init__()
        self.use_mask = use_mask
        self.tok = nn.Embedding(VOCAB, d)
        self.pos = nn.Parameter(torch.randn(1, 64, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=256, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, classes)

    def forward(self, ids):
        x = self.tok(ids) + self.pos[:, : ids.size(1)]
        if self.use_mask:
            mask = ids == 0  # token 0 is padding
            x = self.encoder(x, src_key_padding_mask=mask)
        else:
            x = self.encoder(x)
        return self.head(x.mean(dim=1))


class LSTMTagger(nn.Module):
    """Embedding + 2-layer bidirectional LSTM + Linear per token."""

    def __init__(self, d=64, hidden=128, tags=10):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, d)
        self.lstm = nn.LSTM(d, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.out = nn.Linear(2 * hidden, tags)

    def forward(self, ids):
        y, _ = self.lstm(self.emb(ids))
        return self.out(y)


class GRUClassifier(nn.Module):
    """Embedding + 2-layer GRU + Linear on the last layer's final hidden state."""

    def __init__(self, d=64, hidden=128, classes=5):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, d)
        self.gru = nn.GRU(d, hidden, num_layers=2, batch_first=True)
        self.out = nn.Linear(hidden, classes)

    def forward(self, ids):
        _, h = self.gru(self.emb(ids))
        return self.out(h[-1])


SEQUENCE = {
    "text_encoder": lambda: TextEncoder(False),
    "text_encoder_mask": lambda: TextEncoder(True),
    "lstm_tagger": LSTMTagger,
    "gru_classifier": GRUClassifier,
}


# ---------------------------------------------------------------- torchvision
def vision_builders():
    import torchvision.models as tvm
    names = [n for n, f in tvm.__dict__.items()
             if inspect.isfunction(f) and n.startswith(CLASSIFICATION_PREFIXES)]
    return sorted(names)


def natural_size(name):
    import torchvision.models as tvm
    if name == "vit_h_14":
        # its DEFAULT (SWAG) weights are 518x518 (~1 TFLOP per image); VIT_H_14_SIZE=224 is the builder's own default
        return int(os.environ.get("VIT_H_14_SIZE", "518"))
    try:
        return int(tvm.get_model_weights(name).DEFAULT.transforms().crop_size[0])
    except Exception:
        return 224


def build(name):
    """-> (module, example inputs, meta)"""
    if name in SEQUENCE:
        torch.manual_seed(0)
        model = SEQUENCE[name]().eval()
        ids = torch.randint(1, VOCAB, (1, SEQ))
        meta = {"input": "ids:int64[batch,seq]", "validate": ["--range", f"ids:0:{VOCAB}", "--dim", f"seq={SEQ}"],
                "kind": "int64", "seq": SEQ, "vocab": VOCAB}
        return model, (ids,), meta
    import torchvision.models as tvm
    hw = natural_size(name)
    kwargs = {}
    if name == "googlenet":
        kwargs = {"aux_logits": False, "init_weights": True}
    elif name == "inception_v3":
        kwargs = {"aux_logits": False, "init_weights": True}
    elif name == "vit_h_14":
        kwargs = {"image_size": hw}
    torch.manual_seed(0)
    model = getattr(tvm, name)(weights=None, **kwargs).eval()
    # torchvision zero-initialises some classifier heads (vit_*: heads.head.weight), which makes every output exactly
    # 0 with random weights and the accuracy check vacuous; give such Linear layers random weights instead.
    reinit = []
    with torch.no_grad():
        for mod_name, mod in model.named_modules():
            if isinstance(mod, nn.Linear) and not mod.weight.any():
                nn.init.normal_(mod.weight, std=0.02)
                if mod.bias is not None:
                    nn.init.normal_(mod.bias, std=0.02)
                reinit.append(mod_name)
    calibrated = os.environ.get("ZOO_CALIBRATE_BN") == "1" and calibrate_batchnorm(model, hw)
    meta = {"input": f"x:float32[batch,3,{hw},{hw}]", "validate": [], "kind": "image", "hw": hw, "reinit_zero_linear": reinit,
            "batchnorm_calibrated": calibrated}
    return model, (torch.randn(1, 3, hw, hw),), meta


def calibrate_batchnorm(model, hw, batches=4, batch_size=8):
    """ZOO_CALIBRATE_BN=1: replace BatchNorm's initial statistics (mean 0, var 1) by those of random inputs, as training
    leaves them. Without it, deep ResNets' activations grow block after block (resnet152's logits reach ~1e7), and a
    per-element tolerance then fails on float32 rounding alone, native runtime against native runtime."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return False
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(batch_size, 3, hw, hw))
    model.eval()
    return True


def params_m(model):
    return sum(p.numel() for p in model.parameters()) / 1e6


# Run order: cheap models first, so a time budget covers as much of the zoo as it can; then the rest alphabetically.
FIRST = [
    "squeezenet1_1", "squeezenet1_0", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "mobilenet_v3_small",
    "mnasnet0_5", "mobilenet_v2", "mobilenet_v3_large", "mnasnet1_0", "regnet_x_400mf", "regnet_y_400mf",
    "resnet18", "efficientnet_b0", "googlenet", "alexnet", "resnet34", "densenet121", "resnet50",
    "regnet_y_800mf", "shufflenet_v2_x1_5", "mnasnet0_75", "mnasnet1_3", "shufflenet_v2_x2_0", "regnet_x_800mf",
    "convnext_tiny", "swin_t", "vit_b_32", "inception_v3", "resnext50_32x4d", "maxvit_t", "vit_b_16", "swin_v2_t",
    "efficientnet_b1", "regnet_y_1_6gf", "regnet_x_1_6gf", "vgg11",
]
# Above ~300 M parameters: skipped with SKIP_HUGE=1 (the default) on a 2-core, 23 GB machine.
HUGE = {"vit_h_14": 632.0, "regnet_y_128gf": 644.8, "vit_l_16": 304.3, "vit_l_32": 306.5}


def cmd_list():
    rest = [n for n in vision_builders() if n not in FIRST]
    for name in list(SEQUENCE) + FIRST + rest:
        print(name, "huge" if name in HUGE else "-")


def cmd_trace(out, name):
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, name + ".pt")
    model, example, meta = build(name)
    meta["params_m"] = round(params_m(model), 3)
    if not os.path.exists(path):
        with torch.no_grad():
            traced = torch.jit.trace(model, example, check_trace=False)
        tmp = path + ".tmp"
        torch.jit.save(traced, tmp)
        os.replace(tmp, path)
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(meta, f)
    print(f"  wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB, {meta['params_m']:.1f} M params)", file=sys.stderr)


def cmd_export(src, meta_path, dst):
    with open(meta_path) as f:
        meta = json.load(f)
    module = torch.jit.load(src).eval()
    if meta["kind"] == "int64":
        example = torch.randint(1, meta["vocab"], (1, meta["seq"]))
        names, axes = ["ids"], {"ids": {0: "batch", 1: "seq"}}
    else:
        hw = meta["hw"]
        example = torch.randn(1, 3, hw, hw)
        names, axes = ["x"], {"x": {0: "batch"}}
    try:
        with torch.no_grad():
            torch.onnx.export(module, (example,), dst, opset_version=17, input_names=names, dynamic_axes=axes)
    except BaseException as e:  # noqa: BLE001  (report every failure, including SystemExit from the exporter)
        first = (str(e).strip().splitlines() or [""])[0]
        print(f"failed: {type(e).__name__}: {first[:200]}")
        return 1
    print("ok")
    return 0


def main():
    cmd = sys.argv[1]
    if cmd == "list":
        cmd_list()
    elif cmd == "trace":
        cmd_trace(sys.argv[2], sys.argv[3])
    elif cmd == "export":
        sys.exit(cmd_export(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
