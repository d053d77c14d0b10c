#!/usr/bin/env bash
# Batch-tuner benchmark (issue 4): wall time of the tuner's quick search and the throughput of its choice, against an
# exhaustive sweep of the same grid with the same measurement windows, in one process (bench/TuneBench).
# Target: the choice within 5 % of the sweep's best throughput in ≤ 30 % of the sweep's time.
#
# Usage: bash bench/tune-bench.sh [MODEL]            (default resnet18; any name bench/make_models.py knows)
#   env BATCHES=1,2,4,8,16,32,64  INSTANCES=1,2  BUDGET_MS=   (empty: no p99 budget)
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
MODEL="${1:-resnet18}"
BATCHES="${BATCHES:-1,2,4,8,16,32,64}"
INSTANCES="${INSTANCES:-1,2}"
OUT="$WORK/tune/$MODEL"
ensure_models "$MODEL"
mkdir -p "$OUT"

build_release bench/TuneBench "$WORK/tunebench" tunebench

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
args=("$MODELS_DIR/$MODEL.pt" 'x:float32[batch,3,224,224]' "$OUT" --batches "$BATCHES" --instances "$INSTANCES")
[ -n "${BUDGET_MS:-}" ] && args+=(--budget "$BUDGET_MS")
table="$("$WORK/tunebench/TuneBench" "${args[@]}" 2> >(tee "$LOGS/tunebench-$MODEL.log" >&2))" || { log "TuneBench failed"; exit 1; }
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

echo "## Batch tuner: quick search vs exhaustive sweep ($MODEL)"
echo
echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- Machine: $(nproc) CPUs, ${cpu:-unknown CPU}; load average (1/5/15 min) before $load_before, after $load_after"
echo "- Command: \`bash bench/tune-bench.sh $MODEL\` (BATCHES=$BATCHES INSTANCES=$INSTANCES BUDGET_MS=${BUDGET_MS:-none})"
echo "- ONNX Runtime CPU provider; grid batch {$BATCHES} × instances {$INSTANCES}; windows: 0.5 s warm-up, ≥ 1 s and ≥ 3 requests (≤ 4 s), stable = last 3 within ±10 %, ≤ 6 windows"
echo "- Reports: $OUT/{quick,exhaustive}/tuning.{json,svg}"
echo
echo "$table"
