#!/usr/bin/env bash
# int8 benchmark (issue 21), in one run per model:
#  - ModelForge: convert the TorchScript file, then `optimize --precision int8 --calibration-samples 256` (static QDQ,
#    generated inputs; the calibration time is the quantizer's own, printed by the command) for the CNNs, or
#    `optimize --precision int8-dynamic` for the transformers (ViT-B/16, the BERT-like encoder: MatMul-heavy, where
#    ONNX Runtime's quantization guide recommends dynamic quantization);
#  - ONNX Runtime CPU latency (2 intra-op threads, batch 1 and 8) of the int8 model vs torch.onnx.export's fp32 ONNX of
#    the same TorchScript (bench/OrtLatency: one shared pool, alternating pairs, median of per-pair ratios);
#  - accuracy of the int8 model against native fp32 libtorch outputs on ROWS inputs not used for calibration
#    (bench/int8_reference.py): cosine per row (mean, worst) and SQNR in dB;
#  - `optimize --precision fp16` of the same ONNX: its size against ModelForge's fp32 ONNX, and its accuracy the same way.
#
# Usage: bash bench/int8-bench.sh [MODEL ...]
#   default: resnet50 mobilenet_v2 efficientnet_b0 convnext_tiny vit_b_16 bert_encoder (the models of issue 21);
#   bert_encoder is nn.TransformerEncoder with BERT-base layers (768 wide, 12 heads) on float [batch, SEQ, 768]
#   env RUNS=30 BUDGET_S=60   timed pairs per batch size, capped at BUDGET_S seconds
#   env SAMPLES=256 ROWS=256   calibration samples, reference rows (issue 21: 256 inputs not used for calibration)
#   env BERT_LAYERS=12 SEQ=128 the encoder's depth and sequence length (fewer layers: an affordable run)
#   env SKIP_PUBLISH=1         reuse bench/work/cli and bench/work/ortlatency
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ONNX_DIR="$WORK/onnx"
RUNS="${RUNS:-30}"; BUDGET_S="${BUDGET_S:-60}"; SAMPLES="${SAMPLES:-256}"; ROWS_REF="${ROWS:-256}"
BERT_LAYERS="${BERT_LAYERS:-12}"; SEQ="${SEQ:-128}"
if [ $# -gt 0 ]; then REQUESTED=("$@"); else REQUESTED=(resnet50 mobilenet_v2 efficientnet_b0 convnext_tiny vit_b_16 bert_encoder); fi
MODELS=()
for m in "${REQUESTED[@]}"; do
    [ "$m" = bert_encoder ] && m="bert_encoder_L${BERT_LAYERS}_S${SEQ}"   # bench/make_models.py names the encoder by its size
    MODELS+=("$m")
done
mkdir -p "$ONNX_DIR"
publish_cli
publish_ortlatency
ensure_models "${MODELS[@]}"

# The shape of one input row (no batch dim).
row_shape() { case "$1" in bert_encoder_*) echo "$SEQ,768" ;; *) echo "3,224,224" ;; esac; }
# Static QDQ int8 for the CNNs, dynamic int8 for the transformers.
int8_kind() { case "$1" in vit_b_16|bert_encoder_*) echo dynamic ;; *) echo static ;; esac; }
# cosine mean, cosine min and SQNR of MODEL.onnx in ORT against the native fp32 reference outputs.
accuracy() {
    "$ORTLAT" "$1" --accuracy "$WORK/$2.ref.in.f32" "$WORK/$2.ref.out.f32" --rows "$ROWS_REF" 2>>"$LOGS/$2.acc.stderr" | awk '{print $5, $7, $9}'
}

ROWS=()
FP16_ROWS=()
for m in "${MODELS[@]}"; do
    pt="$MODELS_DIR/$m.pt"; shape="$(row_shape "$m")"; kind="$(int8_kind "$m")"
    log "== $m ($kind int8)"
    "$CLI" convert "$pt" --input "x:float32[batch,$shape]" -o "$ONNX_DIR/$m.onnx" >"$LOGS/$m.int8.convert.log" 2>&1 \
        || { ROWS+=("| $m | convert failed (see $LOGS/$m.int8.convert.log) |"); continue; }
    [ -f "$ONNX_DIR/$m.torch.onnx" ] || "$PY" bench/torch_export.py "$pt" "$ONNX_DIR/$m.torch.onnx" "$shape" >"$LOGS/$m.export.log" 2>&1 \
        || { ROWS+=("| $m | torch.onnx.export failed (see $LOGS/$m.export.log) |"); continue; }
    if [ "$kind" = static ]; then
        precision=(--precision int8 --calibration-samples "$SAMPLES")
    else
        precision=(--precision int8-dynamic)
    fi
    "$CLI" optimize "$ONNX_DIR/$m.onnx" "${precision[@]}" -o "$ONNX_DIR/$m.int8.onnx" \
        >"$LOGS/$m.int8.log" 2>&1 || { ROWS+=("| $m | optimize failed (see $LOGS/$m.int8.log) |"); continue; }
    calibration=$(grep -o 'in [0-9.]* s' "$LOGS/$m.int8.log" | head -1 | awk '{print $2}')
    format=$(grep -o 'reduce_range: 7-bit\|full range' "$LOGS/$m.int8.log" | head -1)
    "$PY" bench/int8_reference.py "$pt" "$WORK/$m.ref.in.f32" "$WORK/$m.ref.out.f32" "$ROWS_REF" "$shape" >"$LOGS/$m.ref.log" 2>&1 \
        || { ROWS+=("| $m | reference failed (see $LOGS/$m.ref.log) |"); continue; }
    read -r cmean cmin sqnr < <(accuracy "$ONNX_DIR/$m.int8.onnx" "$m")
    out="$("$ORTLAT" "$ONNX_DIR/$m.int8.onnx" "$ONNX_DIR/$m.torch.onnx" --threads 2 --batch 1,8 --runs "$RUNS" --budget-s "$BUDGET_S" 2>"$LOGS/$m.int8.latency.stderr")"
    echo "$out" >"$LOGS/$m.int8.latency.log"
    read -r a1 b1 r1 < <(awk '$1 == "batch" && $2 == 1 {print $4, $6, $8 " [" $10 ", " $11 "]"}' <<<"$out")
    read -r a8 b8 r8 < <(awk '$1 == "batch" && $2 == 8 {print $4, $6, $8 " [" $10 ", " $11 "]"}' <<<"$out")
    log "   int8 b1 $a1 ms vs fp32 $b1 ms ($r1); b8 $a8 vs $b8 ($r8); cosine $cmean (min $cmin), SQNR $sqnr dB; calibration ${calibration:-—} s"
    ROWS+=("| $m | $kind | $a1 | $b1 | $r1 | $a8 | $b8 | $r8 | $cmean | $cmin | $sqnr | ${calibration:-—} | ${format:-—} |")

    "$CLI" optimize "$ONNX_DIR/$m.onnx" --precision fp16 -o "$ONNX_DIR/$m.fp16.onnx" >"$LOGS/$m.fp16.log" 2>&1 \
        || { FP16_ROWS+=("| $m | fp16 failed (see $LOGS/$m.fp16.log) |"); continue; }
    fp32_mb=$(stat -c %s "$ONNX_DIR/$m.onnx"); fp16_mb=$(stat -c %s "$ONNX_DIR/$m.fp16.onnx")
    size_ratio=$(awk -v a="$fp16_mb" -v b="$fp32_mb" 'BEGIN {printf "%.3f", a / b}')
    read -r hmean hmin hsqnr < <(accuracy "$ONNX_DIR/$m.fp16.onnx" "$m")
    log "   fp16 size ${size_ratio}× fp32; cosine $hmean (min $hmin), SQNR $hsqnr dB"
    FP16_ROWS+=("| $m | $(awk -v b="$fp32_mb" 'BEGIN {printf "%.1f", b / 1e6}') | $(awk -v b="$fp16_mb" 'BEGIN {printf "%.1f", b / 1e6}') | $size_ratio | $hmean | $hmin | $hsqnr |")
done

echo "## int8 (ModelForge) vs fp32 (torch.onnx.export), and fp16"
echo
echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), VNNI: $(grep -m1 -o 'avx512_vnni' /proc/cpuinfo || echo no); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- Command: \`bash bench/int8-bench.sh${*:+ $*}\` (RUNS=$RUNS BUDGET_S=$BUDGET_S SAMPLES=$SAMPLES ROWS=$ROWS_REF BERT_LAYERS=$BERT_LAYERS SEQ=$SEQ)"
echo "- Latency: ONNX Runtime CPU EP, one shared pool of 2 intra-op threads, ORT_ENABLE_ALL, median ms; ratio = median of per-pair int8 / fp32 [bootstrap 95 %]. Accuracy: the ONNX model in ORT vs native fp32 libtorch on $ROWS_REF inputs uniform in [-1, 1) not used for calibration (random-weight models, bench/make_models.py). int8: static = QDQ, calibrated on $SAMPLES generated samples (minmax; calibration s = the time \`optimize\` reports for running the calibration model); dynamic = int8 MatMul/Gemm weights, activations quantized at run time"
echo
echo "| model | int8 | int8 b1 ms | fp32 b1 ms | ratio b1 [95 %] | int8 b8 ms | fp32 b8 ms | ratio b8 [95 %] | cosine mean | cosine min | SQNR dB | calibration s | weights |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${ROWS[@]}"
echo
echo "fp16 (\`optimize --precision fp16\`, float32 inputs and outputs kept; size against ModelForge's fp32 ONNX; accuracy in ORT CPU, same inputs):"
echo
echo "| model | fp32 MB | fp16 MB | size fp16/fp32 | cosine mean | cosine min | SQNR dB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${FP16_ROWS[@]}"
