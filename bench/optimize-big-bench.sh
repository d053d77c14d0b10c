#!/usr/bin/env bash
# `modelforge optimize` on a model whose weights exceed 2 GB (issue 21: "works with models written with external data
# without holding the weights twice"): peak RSS and wall time of each precision, as a multiple of the weights' size.
#  1. Generates the wide MLP of bench/make_big_model.py (default 12 × Linear(8192, 8192) + ReLU, 3.0 GiB of float32
#     weights) and converts it; the ONNX goes to external data automatically (model.onnx + model.onnx.data).
#  2. Runs `optimize --precision P` for fp32 (a copy), fp16, int8-dynamic and int8 (static, CALIBRATION_SAMPLES
#     generated inputs) under GNU /usr/bin/time, and ONNX Runtime loads and runs each output once (OrtLatency --load-only).
#  3. With BEFORE_CLI=path/to/modelforge (a CLI published from an earlier commit), the same runs with it, side by side.
# Disk: the .pt is deleted after conversion; at most the fp32 ONNX (3 GiB) plus one output (up to 3 GiB) exist at once,
# and everything is deleted at the end unless KEEP_BIG=1.
#
# Usage: bash bench/optimize-big-bench.sh
#   env SKIP_PUBLISH=1        reuse bench/work/cli and bench/work/ortlatency
#   env BIG_LAYERS=12 BIG_WIDTH=8192   size the MLP;  CALIBRATION_SAMPLES=8;  PRECISIONS="fp32 fp16 int8-dynamic int8"
#   env BEFORE_CLI=...        also measure another build of the CLI;  KEEP_BIG=1 keep the files
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_gnu_time
publish_cli
publish_ortlatency
BIG_LAYERS="${BIG_LAYERS:-12}"; BIG_WIDTH="${BIG_WIDTH:-8192}"
SAMPLES="${CALIBRATION_SAMPLES:-8}"
read -r -a PRECISIONS <<<"${PRECISIONS:-fp32 fp16 int8-dynamic int8}"
DIR="$WORK/big-optimize"
mkdir -p "$DIR"
big_pt="$DIR/mlp.pt"
onnx="$DIR/mlp.onnx"
weights=$((BIG_LAYERS * (BIG_WIDTH * BIG_WIDTH + BIG_WIDTH) * 4))
gib() { awk -v b="$1" 'BEGIN {printf "%.2f", b / 2^30}'; }

if [ ! -f "$onnx.data" ]; then
    "$PY" bench/make_big_model.py "$big_pt" "$BIG_LAYERS" "$BIG_WIDTH" || exit 1
    "$CLI" convert "$big_pt" --input "x:float32[batch,$BIG_WIDTH]" -o "$onnx" >"$LOGS/big-optimize.convert.log" 2>&1 \
        || { log "convert failed: $(tail -3 "$LOGS/big-optimize.convert.log")"; exit 1; }
    rm -f "$big_pt"
fi
log "input: $onnx ($(stat -c %s "$onnx") B) + $(gib "$(stat -c %s "$onnx.data")") GiB external data; weights $(gib "$weights") GiB"

ROWS=()
measure() {  # measure LABEL CLI PRECISION
    local label="$1" cli="$2" precision="$3" out="$DIR/out.onnx" extra=()
    [ "$precision" = int8 ] && extra=(--calibration-samples "$SAMPLES")
    rm -f "$out" "$out.data"
    sync; echo 1 >/proc/sys/vm/drop_caches 2>/dev/null || true   # a cold page cache where we may
    if ! /usr/bin/time -o "$LOGS/big-optimize.$label.$precision.time" -f "%e %M" \
            "$cli" optimize "$onnx" --precision "$precision" "${extra[@]}" -o "$out" >"$LOGS/big-optimize.$label.$precision.log" 2>&1; then
        ROWS+=("| $label | $precision | failed: $(tail -n1 "$LOGS/big-optimize.$label.$precision.log" | cut -c1-120) | | | | |")
        return
    fi
    local t rss size load
    read -r t rss < <(tail -n1 "$LOGS/big-optimize.$label.$precision.time")
    size=$(( $(stat -c %s "$out") + $( [ -f "$out.data" ] && stat -c %s "$out.data" || echo 0) ))
    load="$("$ORTLAT" "$out" --load-only 2>&1 | tail -n1)"
    log "   $label $precision: ${t} s, peak RSS $((rss / 1024)) MiB, output $(gib "$size") GiB; $load"
    ROWS+=("| $label | $precision | $t | $(awk -v k="$rss" 'BEGIN {printf "%.0f", k / 1024}') | $(awk -v k="$rss" -v b="$weights" 'BEGIN {printf "%.2f", k * 1024 / b}') | $(gib "$size")$( [ -f "$out.data" ] && echo " (external)") | $load |")
    rm -f "$out" "$out.data"
}
for p in "${PRECISIONS[@]}"; do
    measure "this commit" "$CLI" "$p"
    [ -n "${BEFORE_CLI:-}" ] && measure "before" "$BEFORE_CLI" "$p"
done
[ -n "${KEEP_BIG:-}" ] || rm -f "$onnx" "$onnx.data"

echo
echo "mlp ${BIG_LAYERS}×${BIG_WIDTH}: $(gib "$weights") GiB of float32 weights in external data"
echo
echo "| CLI | precision | wall s | peak RSS MiB | peak RSS ÷ weights | output GiB | ONNX Runtime loads and runs it |"
echo "|---|---|---:|---:|---:|---|---|"
printf '%s\n' "${ROWS[@]}"
