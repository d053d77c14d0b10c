#!/usr/bin/env bash
# Optimisation and large-model benchmark (issue 6), in one run:
#  1. ONNX Runtime CPU latency (2 intra-op threads, batch 1 and 8) of ModelForge's ONNX (default --optimize all)
#     vs torch.onnx.export's ONNX for the same TorchScript file, for the torchvision zoo of bench/make_models.py:
#     both models in one process on one shared thread pool, run in alternating pairs (bench/OrtLatency); ratio =
#     median of the per-pair ratios with a bootstrap 95 % interval; plus whether ONNX Runtime, after its own
#     optimisation, runs the same operators for both files.
#  2. Conversion wall time and peak RSS of a generated wide MLP whose weights exceed 2 GB (bench/make_big_model.py),
#     which is written with external data; ONNX Runtime then loads it once.
#  3. Conversion peak RSS of one torchvision model (RSS_MODEL, default resnet50) at --optimize none, basic and all,
#     as a multiple of its .pt size (BatchNorm folding is the only pass that computes new weights).
#
# Usage: bash bench/optimize-bench.sh [MODEL ...]
#   env RUNS=100           timed pairs per model and batch size (after 5 warm-up runs)
#   env SKIP_PUBLISH=1     reuse bench/work/cli and bench/work/ortlatency
#   env SKIP_BIG=1         skip part 2;  BIG_LAYERS=12 BIG_WIDTH=8192 size the MLP (default 3.0 GiB of weights)
#   env KEEP_BIG=1         keep the big .pt/.onnx/.onnx.data (deleted afterwards by default: several GB)
#   env SKIP_LATENCY=1     skip part 1;  SKIP_RSS=1 skip part 3;  RSS_MODEL=resnet50 the model of part 3
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ONNX_DIR="$WORK/onnx"
RUNS="${RUNS:-100}"
ALL_MODELS=(resnet50 resnet18 mobilenet_v2 mobilenet_v3_large efficientnet_b0 densenet121
            vgg11 squeezenet1_1 shufflenet_v2_x1_0 alexnet googlenet regnet_y_400mf mnasnet1_0)
if [ $# -gt 0 ]; then MODELS=("$@"); else MODELS=("${ALL_MODELS[@]}"); fi
mkdir -p "$ONNX_DIR"
need_gnu_time
publish_cli
publish_ortlatency
RSS_MODEL="${RSS_MODEL:-resnet50}"
[ -n "${SKIP_LATENCY:-}" ] && MODELS=()
ensure_models "${MODELS[@]}"
[ -z "${SKIP_RSS:-}" ] && ensure_models "$RSS_MODEL"

# --- 1. latency ---------------------------------------------------------------
ROWS=()
for m in "${MODELS[@]}"; do
    pt="$MODELS_DIR/$m.pt"
    log "== $m"
    "$CLI" convert "$pt" --input 'x:float32[batch,3,224,224]' -o "$ONNX_DIR/$m.onnx" >"$LOGS/$m.opt.convert.log" 2>&1 \
        || { ROWS+=("| $m | ModelForge convert failed (see $LOGS/$m.opt.convert.log) | | | | | | |"); continue; }
    if [ ! -f "$ONNX_DIR/$m.torch.onnx" ]; then
        "$PY" bench/torch_export.py "$pt" "$ONNX_DIR/$m.torch.onnx" >"$LOGS/$m.export.log" 2>&1 \
            || { ROWS+=("| $m | | | torch.onnx.export failed (see $LOGS/$m.export.log) | | | | |"); continue; }
    fi
    out="$("$ORTLAT" "$ONNX_DIR/$m.onnx" "$ONNX_DIR/$m.torch.onnx" --threads 2 --batch 1,8 --runs "$RUNS" 2>"$LOGS/$m.latency.stderr")" \
        || { ROWS+=("| $m | latency run failed (see $LOGS/$m.latency.stderr) | | | | | | |"); continue; }
    echo "$out" >"$LOGS/$m.latency.log"
    read -r a1 b1 r1 < <(awk '$1 == "batch" && $2 == 1 {print $4, $6, $8 " [" $10 ", " $11 "]"}' <<<"$out")
    read -r a8 b8 r8 < <(awk '$1 == "batch" && $2 == 8 {print $4, $6, $8 " [" $10 ", " $11 "]"}' <<<"$out")
    graph=$(awk '$1 == "ort-graph" {sub(/^ort-graph /, ""); print}' <<<"$out")
    log "   batch 1: $a1 ms vs $b1 ms ($r1); batch 8: $a8 ms vs $b8 ms ($r8); ORT graph: $graph"
    ROWS+=("| $m | $a1 | $b1 | $r1 | $a8 | $b8 | $r8 | $graph |")
done

# --- 2. a model over 2 GB -------------------------------------------------------
BIG_ROW=""
if [ -z "${SKIP_BIG:-}" ]; then
    BIG_LAYERS="${BIG_LAYERS:-12}"; BIG_WIDTH="${BIG_WIDTH:-8192}"
    big="$WORK/big/mlp_${BIG_LAYERS}x${BIG_WIDTH}.pt"
    mkdir -p "$WORK/big"
    [ -f "$big" ] || "$PY" bench/make_big_model.py "$big" "$BIG_LAYERS" "$BIG_WIDTH" || exit 1
    weights=$((BIG_LAYERS * (BIG_WIDTH * BIG_WIDTH + BIG_WIDTH) * 4))
    sync; echo 1 >/proc/sys/vm/drop_caches 2>/dev/null || true   # a cold page cache where we may
    /usr/bin/time -o "$LOGS/big.time" -f "%e %M" "$CLI" convert "$big" --input "x:float32[batch,$BIG_WIDTH]" -o "$WORK/big/mlp.onnx" \
        >"$LOGS/big.convert.log" 2>&1 || { log "big convert failed: $(tail -3 "$LOGS/big.convert.log")"; exit 1; }
    read -r t rss < <(tail -n1 "$LOGS/big.time")
    load="$("$ORTLAT" "$WORK/big/mlp.onnx" --load-only 2>&1 | tail -n1)"
    BIG_ROW="| mlp ${BIG_LAYERS}×${BIG_WIDTH} | $(awk -v b="$weights" 'BEGIN {printf "%.2f", b / 2^30}') | $(awk -v b="$(stat -c %s "$big")" 'BEGIN {printf "%.2f", b / 2^30}') | $t | $(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}') | $(awk -v k="$rss" -v b="$weights" 'BEGIN {printf "%.3f", k * 1024 / b}') | $(stat -c %s "$WORK/big/mlp.onnx") B + $(awk -v b="$(stat -c %s "$WORK/big/mlp.onnx.data")" 'BEGIN {printf "%.2f GiB", b / 2^30}') | $load |"
    [ -n "${KEEP_BIG:-}" ] || rm -f "$big" "$WORK/big/mlp.onnx" "$WORK/big/mlp.onnx.data"
fi

# --- 3. conversion peak RSS by optimisation level -------------------------------
RSS_ROWS=()
if [ -z "${SKIP_RSS:-}" ]; then
    pt="$MODELS_DIR/$RSS_MODEL.pt"
    for level in none basic all; do
        /usr/bin/time -o "$LOGS/rss.$level.time" -f "%e %M" "$CLI" convert "$pt" --input 'x:float32[batch,3,224,224]' --optimize "$level" \
            -o "$ONNX_DIR/$RSS_MODEL.$level.onnx" >"$LOGS/rss.$level.log" 2>&1 \
            || { RSS_ROWS+=("| $level | convert failed (see $LOGS/rss.$level.log) | | |"); continue; }
        read -r t rss < <(tail -n1 "$LOGS/rss.$level.time")
        RSS_ROWS+=("| $level | $t | $(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}') | $(awk -v k="$rss" -v b="$(stat -c %s "$pt")" 'BEGIN {printf "%.2f", k * 1024 / b}') |")
    done
fi

# --- report -------------------------------------------------------------------
echo "## Optimised ONNX latency and a model over 2 GB"
echo
echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)"
echo "- Command: \`bash bench/optimize-bench.sh${*:+ $*}\` (RUNS=$RUNS)"
if [ ${#ROWS[@]} -gt 0 ]; then
    echo "- Latency: ONNX Runtime $(grep -o 'OnnxRuntime.Gpu.Linux" Version="[^"]*' Directory.Packages.props | cut -d'"' -f3) CPU EP, one shared pool of 2 intra-op threads, ORT_ENABLE_ALL, median ms of $RUNS alternating pairs after 5 warm-up runs; ratio = median of per-pair ModelForge / torch.onnx.export [bootstrap 95 % interval] (≤ 1.00 means ModelForge's ONNX is as fast or faster); ORT graph: operator counts of the graphs ONNX Runtime runs after its own optimisation (same-ops = identical counts), and their weight elements (torch.onnx.export shares identical initializers, e.g. the all-zero biases folding leaves with random weights)"
    echo
    echo "| model | ModelForge b1 ms | torch.onnx b1 ms | ratio b1 [95 %] | ModelForge b8 ms | torch.onnx b8 ms | ratio b8 [95 %] | ORT graph (ModelForge vs torch) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${ROWS[@]}"
fi
if [ -n "$BIG_ROW" ]; then
    echo
    echo "| model | weights GiB | .pt GiB | convert s | peak RSS MiB | RSS / weights | output | ONNX Runtime load |"
    echo "|---|---:|---:|---:|---:|---:|---|---|"
    echo "$BIG_ROW"
fi
if [ ${#RSS_ROWS[@]} -gt 0 ]; then
    echo
    echo "$RSS_MODEL ($(awk -v b="$(stat -c %s "$MODELS_DIR/$RSS_MODEL.pt")" 'BEGIN {printf "%.1f MiB", b / 2^20}') .pt), \`modelforge convert --optimize LEVEL\` under GNU time:"
    echo
    echo "| --optimize | convert s | peak RSS MiB | RSS / .pt |"
    echo "|---|---:|---:|---:|"
    printf '%s\n' "${RSS_ROWS[@]}"
fi
