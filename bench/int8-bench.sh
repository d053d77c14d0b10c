#!/usr/bin/env bash
# Static int8 benchmark (issue 21), in one run per model:
#  - ModelForge: convert the TorchScript file, then `optimize --precision int8 --calibration-samples 256` (generated
#    inputs; the calibration time is the quantizer's own, printed by the command);
#  - ONNX Runtime CPU latency (2 intra-op threads, batch 1 and 8) of the int8 model vs torch.onnx.export's fp32 ONNX of
#    the same TorchScript (bench/OrtLatency: one shared pool, alternating pairs, median of per-pair ratios);
#  - accuracy of the int8 model against native fp32 libtorch outputs on ROWS inputs not used for calibration
#    (bench/int8_reference.py): cosine per row (mean, worst) and SQNR in dB.
#
# Usage: bash bench/int8-bench.sh [MODEL ...]   (default: resnet50)
#   env RUNS=30 BUDGET_S=60   timed pairs per batch size, capped at BUDGET_S seconds
#   env SAMPLES=256 ROWS=64    calibration samples, reference rows
#   env SKIP_PUBLISH=1         reuse bench/work/cli and bench/work/ortlatency
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ONNX_DIR="$WORK/onnx"
RUNS="${RUNS:-30}"; BUDGET_S="${BUDGET_S:-60}"; SAMPLES="${SAMPLES:-256}"; ROWS_REF="${ROWS:-64}"
if [ $# -gt 0 ]; then MODELS=("$@"); else MODELS=(resnet50); fi
mkdir -p "$ONNX_DIR"
publish_cli
publish_ortlatency
ensure_models "${MODELS[@]}"

ROWS=()
for m in "${MODELS[@]}"; do
    pt="$MODELS_DIR/$m.pt"
    log "== $m"
    "$CLI" convert "$pt" --input 'x:float32[batch,3,224,224]' -o "$ONNX_DIR/$m.onnx" >"$LOGS/$m.int8.convert.log" 2>&1 \
        || { ROWS+=("| $m | convert failed (see $LOGS/$m.int8.convert.log) |"); continue; }
    [ -f "$ONNX_DIR/$m.torch.onnx" ] || "$PY" bench/torch_export.py "$pt" "$ONNX_DIR/$m.torch.onnx" >"$LOGS/$m.export.log" 2>&1 \
        || { ROWS+=("| $m | torch.onnx.export failed (see $LOGS/$m.export.log) |"); continue; }
    "$CLI" optimize "$ONNX_DIR/$m.onnx" --precision int8 --calibration-samples "$SAMPLES" -o "$ONNX_DIR/$m.int8.onnx" \
        >"$LOGS/$m.int8.log" 2>&1 || { ROWS+=("| $m | optimize failed (see $LOGS/$m.int8.log) |"); continue; }
    calibration=$(grep -o 'in [0-9.]* s' "$LOGS/$m.int8.log" | head -1 | awk '{print $2}')
    format=$(grep -o 'reduce_range: 7-bit\|full range' "$LOGS/$m.int8.log" | head -1)
    "$PY" bench/int8_reference.py "$pt" "$WORK/$m.ref.in.f32" "$WORK/$m.ref.out.f32" "$ROWS_REF" >"$LOGS/$m.ref.log" 2>&1 \
        || { ROWS+=("| $m | reference failed (see $LOGS/$m.ref.log) |"); continue; }
    acc="$("$ORTLAT" "$ONNX_DIR/$m.int8.onnx" --accuracy "$WORK/$m.ref.in.f32" "$WORK/$m.ref.out.f32" --rows "$ROWS_REF" 2>>"$LOGS/$m.acc.stderr")"
    read -r cmean cmin sqnr < <(awk '{print $5, $7, $9}' <<<"$acc")
    out="$("$ORTLAT" "$ONNX_DIR/$m.int8.onnx" "$ONNX_DIR/$m.torch.onnx" --threads 2 --batch 1,8 --runs "$RUNS" --budget-s "$BUDGET_S" 2>"$LOGS/$m.int8.latency.stderr")"
    echo "$out" >"$LOGS/$m.int8.latency.log"
    read -r a1 b1 r1 < <(awk '$1 == "batch" && $2 == 1 {print $4, $6, $8 " [" $10 ", " $11 "]"}' <<<"$out")
    read -r a8 b8 r8 < <(awk '$1 == "batch" && $2 == 8 {print $4, $6, $8 " [" $10 ", " $11 "]"}' <<<"$out")
    log "   int8 b1 $a1 ms vs fp32 $b1 ms ($r1); b8 $a8 vs $b8 ($r8); cosine $cmean (min $cmin), SQNR $sqnr dB; calibration $calibration s"
    ROWS+=("| $m | $a1 | $b1 | $r1 | $a8 | $b8 | $r8 | $cmean | $cmin | $sqnr | $calibration | $format |")
done

echo "## Static int8 (ModelForge) vs fp32 (torch.onnx.export)"
echo
echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), VNNI: $(grep -m1 -o 'avx512_vnni' /proc/cpuinfo || echo no)"
echo "- Command: \`bash bench/int8-bench.sh${*:+ $*}\` (RUNS=$RUNS BUDGET_S=$BUDGET_S SAMPLES=$SAMPLES ROWS=$ROWS_REF)"
echo "- Latency: ONNX Runtime CPU EP, one shared pool of 2 intra-op threads, ORT_ENABLE_ALL, median ms; ratio = median of per-pair int8 / fp32 [bootstrap 95 %]. Accuracy: int8 ONNX in ORT vs native fp32 libtorch on $ROWS_REF inputs uniform in [-1, 1) not used for calibration (random-weight torchvision models, bench/make_models.py). Calibration: $SAMPLES generated samples, minmax, the time \`optimize\` reports for running the calibration model"
echo
echo "| model | int8 b1 ms | fp32 b1 ms | ratio b1 [95 %] | int8 b8 ms | fp32 b8 ms | ratio b8 [95 %] | cosine mean | cosine min | SQNR dB | calibration s | weights |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${ROWS[@]}"
