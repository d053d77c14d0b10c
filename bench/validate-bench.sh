#!/usr/bin/env bash
# Validation benchmark: where `modelforge validate` spends its time on ResNet-50 at batch 1 and 8 (CPU EP), and
# how much the checking itself (comparison, statistics, reports) adds over the two runtimes' inferences.
# Target (issue 3): comparison + reports ≤ 10% of reference inference + ONNX Runtime inference.
#
# Usage: bash bench/validate-bench.sh [MODEL]     (default resnet50; env REPS, SKIP_PUBLISH as in common.sh)
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

MODEL="${1:-resnet50}"
publish_cli
ensure_models "$MODEL"
ONNX="$WORK/onnx/$MODEL.onnx"
mkdir -p "$WORK/onnx"
"$CLI" convert "$MODELS_DIR/$MODEL.pt" --input x:float32[batch,3,224,224] -o "$ONNX" >&2 || { log "convert failed"; exit 1; }

rows=()
for ((i = 1; i <= REPS; i++)); do
    out="$LOGS/validate-$MODEL.$i.stdout"
    start=$(date +%s.%N)
    "$CLI" validate "$MODELS_DIR/$MODEL.pt" "$ONNX" --input x:float32[batch,3,224,224] --batch 1,8 --ep cpu \
        --report "$WORK/validate-report-$MODEL" >"$out" 2>"$LOGS/validate-$MODEL.$i.stderr"
    rc=$?
    end=$(date +%s.%N)
    [ $rc -eq 0 ] || { log "validate exited $rc; see $out"; exit 1; }
    # "time: setup S s, reference inference R s, candidate inference C s, comparison K s, reports P s"
    read -r setup ref cand cmp rep < <(grep '^time:' "$out" | sed -E 's/[^0-9. ]//g' | awk '{print $1, $2, $3, $4, $5}')
    rows+=("$(awk -v s="$setup" -v r="$ref" -v c="$cand" -v k="$cmp" -v p="$rep" -v t0="$start" -v t1="$end" \
        'BEGIN { w = t1 - t0; printf "%.3f %.3f %.3f %.3f %.3f %.3f %.3f %.1f", w, s, r, c, k, p, r + c, 100 * (k + p) / (r + c) }')")
done

echo "## Validation time of $MODEL at batch 1 and 8 (onnxruntime-cpu vs libtorch), $REPS runs"
echo
echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "- Command: \`bash bench/validate-bench.sh${1:+ $1}\` (REPS=$REPS); each run: \`modelforge validate $MODEL.pt $MODEL.onnx --input x:float32[batch,3,224,224] --batch 1,8 --ep cpu --report DIR\`"
echo "- Phases from the command's own \`time:\` line; \"process\" is the whole process wall time."
echo
echo "| run | process s | setup s | libtorch inference s | ORT inference s | comparison s | reports s | inferences s | checking / inferences |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
i=0
for row in "${rows[@]}"; do
    i=$((i + 1))
    read -r w s r c k p inf pct <<<"$row"
    echo "| $i | $w | $s | $r | $c | $k | $p | $inf | $pct% |"
done
