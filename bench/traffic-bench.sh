#!/usr/bin/env bash
# Traffic-aware batching benchmark (issue 22): the dynamic-batcher simulator's predicted p99 against a real batching
# queue in-process (bench/TrafficBench): Poisson arrivals from an open-loop generator at 3 rates below 80 % of
# saturation, N ONNX Runtime sessions taking batches with the simulator's own policy (DynamicBatcherPolicy). The model
# gets all cores but one (CORES), which the generator keeps; each rate runs REPEATS times, the rates taking turns.
# Target: predicted p99 within 20 % of measured.
#
# Usage: bash bench/traffic-bench.sh
#   env INSTANCES=1 MAX_BATCH=8 PREFERRED=4,8 DELAY_US=2000 RUN_SECONDS=45 REPEATS=3 CORES=nproc-1 FRACTIONS=0.3,0.5,0.7 MODEL=resnet18|small
# Model: torchvision's ResNet-18 at 224×224 (random weights, traced by bench/make_models.py with Debian's PyTorch),
# or MODEL=small for the example's fixtures/models/resnet18_small (64×64; its sub-millisecond batches measure the
# in-process queue's own overhead more than the model). RUN_SECONDS, not SECONDS: bash sets SECONDS itself.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if [ "${MODEL:-resnet18}" = small ]; then
  MODEL_PATH=fixtures/models/resnet18_small/model.pt
  INPUT='x:float32[batch,3,64,64]'
else
  /usr/bin/python3 bench/make_models.py "$WORK/models" resnet18 >&2 || { log "make_models.py failed (needs Debian's python3-torch)"; exit 1; }
  MODEL_PATH="$WORK/models/resnet18.pt"
  INPUT='x:float32[batch,3,224,224]'
fi
INSTANCES="${INSTANCES:-1}"
MAX_BATCH="${MAX_BATCH:-8}"
PREFERRED="${PREFERRED:-4,8}"
DELAY_US="${DELAY_US:-2000}"
SECONDS_PER_RATE="${RUN_SECONDS:-45}"
FRACTIONS="${FRACTIONS:-0.3,0.5,0.7}"
REPEATS="${REPEATS:-3}"
CORES="${CORES:-$(( $(nproc) > 1 ? $(nproc) - 1 : 1 ))}"
OUT="$WORK/traffic"
mkdir -p "$OUT"

build_release bench/TrafficBench "$WORK/trafficbench" trafficbench

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
table="$("$WORK/trafficbench/TrafficBench" "$MODEL_PATH" "$INPUT" "$OUT" --instances "$INSTANCES" --max-batch "$MAX_BATCH" \
    --preferred "$PREFERRED" --delay-us "$DELAY_US" --seconds "$SECONDS_PER_RATE" --fractions "$FRACTIONS" \
    --repeats "$REPEATS" --cores "$CORES" \
    2> >(tee "$LOGS/trafficbench.log" >&2))" || { log "TrafficBench failed"; exit 1; }
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

echo "## Traffic-aware batching: simulated vs measured p99 (${MODEL:-resnet18})"
echo
echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- Machine: $(nproc) CPUs, ${cpu:-unknown CPU}; load average (1/5/15 min) before $load_before, after $load_after"
echo "- Command: \`bash bench/traffic-bench.sh\` (INSTANCES=$INSTANCES MAX_BATCH=$MAX_BATCH PREFERRED=$PREFERRED DELAY_US=$DELAY_US RUN_SECONDS=$SECONDS_PER_RATE REPEATS=$REPEATS CORES=$CORES FRACTIONS=$FRACTIONS MODEL=${MODEL:-resnet18})"
echo "- Service times: the tuner's exhaustive measurement of batch 1..$MAX_BATCH at $INSTANCES instance(s) on $CORES core(s) (0.5 s warm-up, ≥ 1 s and ≥ 10 requests per window, ≤ 6 windows), then each batch size's open-loop service-time distribution (Poisson at half its closed-loop throughput, ≥ 2 s and ≥ 100 requests, ≤ 30 s), which the simulator samples; report in $OUT/service/"
echo "- Measured: open-loop Poisson generator (on the core the model does not use), one FIFO queue, DynamicBatcherPolicy, ONNX Runtime CPU sessions; $REPEATS runs per rate, the rates taking turns, the first 10 % of each run dropped, the p99 of all runs' requests together. Predicted: BatcherSimulator, 20,000 requests (first 1,000 dropped), same policy and rate"
echo
echo "$table"
