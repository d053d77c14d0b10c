"""The PyTorch side of bench/coverage-bench.sh FAMILIES=1: every model of every bench/families/*.py file.

Runs under Debian's python3 (PyTorch 1.13) and inside the PyTorch 2.6 chroot (fixtures/chroot-2x.sh), from the
repository root:
    python3 bench/families_run.py build OUTDIR SIZE [MODEL ...]
        builds each model (all by default) at SIZE ("small" or "full"), traces it, and scripts it where
        torch.jit.script accepts it: OUTDIR/<model>.traced.pt, OUTDIR/<model>.scripted.pt, and OUTDIR/<model>.json
        (family, parameters, the CLI's --input specs, the example's shapes, the example as .npz when an input is an
        integer, tolerances, why scripting failed).
        One line per model on stdout: "<family> <model> <params M> traced|- scripted|-".
    python3 bench/families_run.py largest [MODEL ...]
        "<family> <model>" for each family's largest model (see cmd_largest), or for the models named.
    python3 bench/families_run.py export PT META ONNX
        torch.onnx.export of the saved archive (opset 17, dynamic batch; on 2.x the TorchScript exporter,
        dynamo=False): prints "ok" or "failed: ...".
"""

import glob
import importlib.util
import json
import os
import sys
import warnings

import torch

warnings.filterwarnings("ignore")
FAMILIES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "families")
torch._C._jit_set_texpr_fuser_enabled(False)  # 2.6's fuser makes running traced loops (RAFT) very slow


def families_files():
    for path in sorted(glob.glob(os.path.join(FAMILIES_DIR, "*.py"))):
        spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module


def all_models():
    """(family, model name, builder, families file module) of every families file, in file order."""
    for module in families_files():
        family_of = {m: f for f, names in getattr(module, "FAMILIES", {}).items() for m in names}
        for name, build in module.models().items():
            yield family_of.get(name, module.__name__), name, build, module


def first_line(error):
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


def input_specs(example, static):
    """--input specs: dim 0 a symbolic batch, or every dim as the example's when the families file says its models take
    static inputs (detection: one image, unbound into a list)."""
    dtype = lambda t: str(t.dtype).replace("torch.", "")
    batch = lambda x: [str(x.shape[0])] if static else ["batch"]
    return [f"input_{i}:{dtype(x)}[{','.join(batch(x) + [str(d) for d in x.shape[1:]])}]" for i, x in enumerate(example)]


def save_example(example, static, path):
    """The example inputs as an .npz for `modelforge validate --inputs` when some input is an integer (lengths, token
    ids: generated ones may be values the model itself rejects, as conformer needs max(lengths) == the time steps) or
    the inputs are static (detection: its detections depend on the image); returns the path, or None otherwise."""
    if not static and all(x.dtype.is_floating_point for x in example):
        return None
    import numpy as np
    np.savez(path, **{f"input_{i}": x.numpy() for i, x in enumerate(example)})
    return path


def cmd_build(out, size, wanted):
    os.makedirs(out, exist_ok=True)
    for family, name, build, module in all_models():
        if wanted and name not in wanted:
            continue
        model, example, tolerance = build(size)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        static = getattr(module, "STATIC_INPUTS", False)
        meta = {"family": family, "params_m": round(params, 3), "inputs": input_specs(example, static),
                "example": save_example(example, static, os.path.join(out, f"{name}.example.npz")),
                "shapes": [list(x.shape) for x in example], "dtypes": [str(x.dtype).replace("torch.", "") for x in example],
                "tolerance": tolerance, "script_error": None}
        with torch.no_grad():
            torch.jit.save(torch.jit.trace(model, example), os.path.join(out, f"{name}.traced.pt"))
        try:  # a families file may say what to script for a model (detection: its serving wrapper)
            scriptable = getattr(module, "scriptable", lambda m: m)(model)
            torch.jit.save(torch.jit.script(scriptable), os.path.join(out, f"{name}.scripted.pt"))
        except Exception as error:  # torch.jit.script raises several error types; any of them means "trace only"
            meta["script_error"] = first_line(error)
        with open(os.path.join(out, f"{name}.json"), "w") as f:
            json.dump(meta, f)
        print(family, name, f"{params:.3f}", "traced", "-" if meta["script_error"] else "scripted", flush=True)


def cmd_largest(wanted=()):
    """A families file names each family's largest model in LARGEST (building every full model to count would run its
    BatchNorm calibration at full size); without one, the family's model with the most parameters at size "small".
    With model names: those models instead (for a family whose largest model torch.onnx.export cannot export)."""
    if wanted:
        for family, name, _, _ in all_models():
            if name in wanted:
                print(family, name)
        return
    largest = {}
    for module in families_files():
        named = getattr(module, "LARGEST", {})
        family_of = {m: f for f, names in getattr(module, "FAMILIES", {}).items() for m in names}
        for name, build in module.models().items():
            family = family_of.get(name, module.__name__)
            if family in named:
                largest[family] = (named[family], 0)
                continue
            params = sum(p.numel() for p in build("small")[0].parameters())
            if family not in largest or params > largest[family][1]:
                largest[family] = (name, params)
    for family, (name, _) in largest.items():
        print(family, name)


def cmd_export(src, meta_path, dst):
    with open(meta_path) as f:
        meta = json.load(f)
    import torchvision  # noqa: F401  (registers torchvision::nms, roi_align, ... that detection archives call)
    if meta.get("example"):
        import numpy as np
        saved = np.load(meta["example"])
        example = tuple(torch.from_numpy(saved[f"input_{i}"]) for i in range(len(meta["inputs"])))
    else:
        example = tuple(torch.randn(shape).to(getattr(torch, dtype)) for shape, dtype in zip(meta["shapes"], meta["dtypes"]))
    names = [spec.split(":")[0] for spec in meta["inputs"]]
    extra = {} if torch.__version__.startswith("1.") else {"dynamo": False}
    try:
        module = torch.jit.load(src).eval()
        with torch.no_grad():
            torch.onnx.export(module, example, dst, opset_version=17, input_names=names,
                              dynamic_axes={n: {0: "batch"} for n, spec in zip(names, meta["inputs"]) if "[batch" in spec}, **extra)
    except BaseException as error:  # noqa: BLE001  (report every failure, including SystemExit from the exporter)
        print(f"failed: {type(error).__name__}: {first_line(error)}")
        return 1
    print("ok")
    return 0


def main():
    command = sys.argv[1]
    if command == "build":
        cmd_build(sys.argv[2], sys.argv[3], set(sys.argv[4:]))
    elif command == "largest":
        cmd_largest(set(sys.argv[2:]))
    elif command == "export":
        sys.exit(cmd_export(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
