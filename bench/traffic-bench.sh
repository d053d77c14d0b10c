#!/usr/bin/env bash
# Traffic-aware batching benchmark (issue 22): the dynamic-batcher simulator's predicted p99 against a real batching
# queue in-process (bench/TrafficBench): Poisson arrivals from an open-loop generator at 3 rates below 80 % of
# saturation, N ONNX Runtime sessions taking batches with the simulator's own policy (DynamicBatcherPolicy).
# Target: predicted p99 within 20 % of measured.
#
# Usage: bash bench/traffic-bench.sh
#   env INSTANCES=1 MAX_BATCH=8 PREFERRED=4,8 DELAY_US=2000 SECONDS=45 FRACTIONS=0.3,0.5,0.7
# Model: the example's ResNet-18 (examples/resnet18: fixtures/models/resnet18_small/model.pt, x:float32[batch,3,64,64]).
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
MODEL=fixtures/models/resnet18_small/model.pt
INPUT='x:float32[batch,3,64,64]'
INSTANCES="${INSTANCES:-1}"
MAX_BATCH="${MAX_BATCH:-8}"
PREFERRED="${PREFERRED:-4,8}"
DELAY_US="${DELAY_US:-2000}"
SECONDS_PER_RATE="${SECONDS:-45}"
FRACTIONS="${FRACTIONS:-0.3,0.5,0.7}"
OUT="$WORK/traffic"
mkdir -p "$OUT"

build_release bench/TrafficBench "$WORK/trafficbench" trafficbench

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
table="$("$WORK/trafficbench/TrafficBench" "$MODEL" "$INPUT" "$OUT" --instances "$INSTANCES" --max-batch "$MAX_BATCH" \
    --preferred "$PREFERRED" --delay-us "$DELAY_US" --seconds "$SECONDS_PER_RATE" --fractions "$FRACTIONS" \
    2> >(tee "$LOGS/trafficbench.log" >&2))" || { log "TrafficBench failed"; exit 1; }
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

echo "## Traffic-aware batching: simulated vs measured p99 (resnet18 example)"
echo
echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- Machine: $(nproc) CPUs, ${cpu:-unknown CPU}; load average (1/5/15 min) before $load_before, after $load_after"
echo "- Command: \`bash bench/traffic-bench.sh\` (INSTANCES=$INSTANCES MAX_BATCH=$MAX_BATCH PREFERRED=$PREFERRED DELAY_US=$DELAY_US SECONDS=$SECONDS_PER_RATE FRACTIONS=$FRACTIONS)"
echo "- Service times: the tuner's exhaustive measurement of batch 1..$MAX_BATCH at $INSTANCES instance(s) (0.5 s warm-up, ≥ 1 s and ≥ 10 requests per window, ≤ 6 windows); report in $OUT/service/"
echo "- Measured: open-loop Poisson generator, one FIFO queue, DynamicBatcherPolicy, ONNX Runtime CPU sessions; the first 10 % of each run dropped. Predicted: BatcherSimulator, 20,000 requests (first 1,000 dropped), same policy and rate"
echo
echo "$table"
