#!/usr/bin/env bash
# Whole-model latency of `convert --fused-attention` (SDPA as com.microsoft.MultiHeadAttention) against the default plain
# ops, on ModelForge's own conversion of the Llama decoder fixture (fixtures/models/llama_decoder_small: 2 blocks,
# 4 query heads × 8, 2 key/value heads, grouped-query causal SDPA) at fixed sequence lengths. Both models in one
# OrtLatency process (ONNX Runtime CPU, 2 intra-op threads shared, alternating pairs; ratio = plain / fused, so > 1
# means the fused model is faster), plus the ops ONNX Runtime runs for each after its own optimisation.
#
# Usage: bash bench/attention-fusion-bench.sh        env SEQS="128 512" RUNS=40 BUDGET_S=20 SKIP_PUBLISH=1
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
publish_cli
publish_ortlatency
read -r -a SEQS <<<"${SEQS:-128 512}"
DIR="$WORK/attention-fusion"
mkdir -p "$DIR"
model=fixtures/models/llama_decoder_small/model.pt
echo "| seq | plain b1 ms | fused b1 ms | ratio b1 [95 %] | plain b8 ms | fused b8 ms | ratio b8 [95 %] |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for s in "${SEQS[@]}"; do
    "$CLI" convert "$model" --input "ids:int64[batch,$s]" -o "$DIR/plain$s.onnx" >"$LOGS/attention.plain$s.log" 2>&1 || { log "convert failed (seq $s)"; exit 1; }
    "$CLI" convert "$model" --input "ids:int64[batch,$s]" --fused-attention -o "$DIR/fused$s.onnx" >"$LOGS/attention.fused$s.log" 2>&1 || { log "convert --fused-attention failed (seq $s)"; exit 1; }
    out="$("$ORTLAT" "$DIR/plain$s.onnx" "$DIR/fused$s.onnx" --threads 2 --batch 1,8 --runs "${RUNS:-40}" --budget-s "${BUDGET_S:-20}" --int-range 50 2>"$LOGS/attention.$s.stderr")" \
        || { log "OrtLatency failed (seq $s); see $LOGS/attention.$s.stderr"; exit 1; }
    log "$out"
    row() { awk -v b="$1" '$1 == "batch" && $2 == b {printf "%s | %s | %s [%s, %s]", $4, $6, $8, $10, $11}' <<<"$out"; }
    echo "| $s | $(row 1) | $(row 8) |"
done
