#!/usr/bin/env bash
# Conversion benchmark: whole-process wall time and peak RSS of
# `modelforge convert` vs. Debian's torch.onnx.export on the same TorchScript files.
#
# Usage: bash bench/convert-bench.sh [MODEL ...]
#   env REPS=3          repetitions per measurement (median time, max RSS reported)
#   env SKIP_PUBLISH=1  reuse bench/work/cli instead of re-publishing
#   env SKIP_TORCH=1    don't run the torch.onnx.export baseline
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ONNX_DIR="$WORK/onnx"

ALL_MODELS=(resnet50 resnet18 mobilenet_v2 mobilenet_v3_large efficientnet_b0 densenet121
            vgg11 squeezenet1_1 shufflenet_v2_x1_0 alexnet googlenet regnet_y_400mf mnasnet1_0)
if [ $# -gt 0 ]; then MODELS=("$@"); else MODELS=("${ALL_MODELS[@]}"); fi

mkdir -p "$ONNX_DIR"
need_gnu_time
publish_cli
HAVE_TORCH=0
if [ -z "${SKIP_TORCH:-}" ] && [ -x "$PY" ] && "$PY" -c 'import torch, torchvision' 2>/dev/null; then HAVE_TORCH=1; fi
ensure_models "${MODELS[@]}"

# --- helpers ----------------------------------------------------------------
# measure NAME CMD... : runs CMD $REPS times under /usr/bin/time.
# Sets M_TIME (median wall s), M_RSS (max RSS KB over runs), M_ERR ("" or "failed (exit N): first stderr line").
measure() {
    local name="$1"; shift
    local times=() rss=0 i rc tf ef
    M_ERR=""
    for ((i = 1; i <= REPS; i++)); do
        tf="$LOGS/$name.$i.time"; ef="$LOGS/$name.$i.stderr"
        /usr/bin/time -o "$tf" -f "%e %M" "$@" >"$LOGS/$name.$i.stdout" 2>"$ef"
        rc=$?
        if [ $rc -ne 0 ]; then
            local first
            first="$(grep -v '^[[:space:]]*$' "$ef" | grep -v -i 'warn' | head -n1)"
            [ -n "$first" ] || first="$(head -n1 "$ef")"
            [[ "$first" == *" error "* ]] && first="error ${first#* error }"   # drop the long source-location prefix
            M_ERR="failed (exit $rc): ${first:0:200}"
            M_TIME=""; M_RSS=""
            return 1
        fi
        local t r
        read -r t r < <(tail -n1 "$tf")
        times+=("$t")
        [ "$r" -gt "$rss" ] && rss=$r
    done
    M_TIME="$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')"
    M_RSS=$rss
    return 0
}

mb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }   # bytes -> MiB
kb_mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }  # KiB -> MiB
esc() { printf '%s' "$1" | sed 's/|/\\|/g'; }

# --- run --------------------------------------------------------------------
ROWS=()
FAILURES=()
for m in "${MODELS[@]}"; do
    pt="$MODELS_DIR/$m.pt"
    size=$(stat -c %s "$pt")
    log "== $m ($(mb "$size") MiB)"

    mf_t="—"; mf_rss="—"; ratio="—"
    if measure "$m.modelforge" "$CLI" convert "$pt" --input 'x:float32[batch,3,224,224]' -o "$ONNX_DIR/$m.onnx"; then
        mf_t=$(printf '%.2f' "$M_TIME"); mf_rss=$(kb_mb "$M_RSS")
        ratio=$(awk -v k="$M_RSS" -v b="$size" 'BEGIN {printf "%.2f", k * 1024 / b}')
        log "   modelforge: ${mf_t}s, ${mf_rss} MiB"
    else
        mf_t="$M_ERR"; FAILURES+=("$m: ModelForge $M_ERR")
        log "   modelforge: $M_ERR"
    fi

    tx_t="n/a"; tx_rss="n/a"; speed="n/a"
    if [ $HAVE_TORCH -eq 1 ]; then
        if measure "$m.torch" "$PY" bench/torch_export.py "$pt" "$ONNX_DIR/$m.torch.onnx"; then
            tx_t=$(printf '%.2f' "$M_TIME"); tx_rss=$(kb_mb "$M_RSS")
            if [[ "$mf_t" =~ ^[0-9.]+$ ]]; then speed=$(awk -v a="$tx_t" -v b="$mf_t" 'BEGIN {printf "%.1f×", a / b}'); else speed="—"; fi
            log "   torch.onnx.export: ${tx_t}s, ${tx_rss} MiB"
        else
            tx_t="$M_ERR"; tx_rss="—"; speed="—"; FAILURES+=("$m: torch.onnx.export $M_ERR")
            log "   torch.onnx.export: $M_ERR"
        fi
    fi
    ROWS+=("| $m | $(mb "$size") | $(esc "$mf_t") | $mf_rss | $ratio | $(esc "$tx_t") | $speed | $tx_rss |")
done

# --- report -----------------------------------------------------------------
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
torchver="n/a"
[ $HAVE_TORCH -eq 1 ] && torchver="$("$PY" -c 'import torch, torchvision; print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")')"
echo "## Conversion benchmark"
echo
echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- Machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)"
echo "- .NET: $(dotnet --version 2>/dev/null || echo '?'); baseline: $torchver (Debian, $PY)"
echo "- Command: \`bash bench/convert-bench.sh${*:+ $*}\` (REPS=$REPS; median wall time, max peak RSS over the runs)"
echo "- ModelForge: \`bench/work/cli/modelforge convert M.pt --input x:float32[batch,3,224,224] -o M.onnx\` (Release publish)"
echo "- Baseline: \`$PY bench/torch_export.py M.pt out.onnx\` (torch.jit.load + torch.onnx.export, opset 17, dynamic batch)"
echo "- Times and RSS are whole-process, measured with GNU \`/usr/bin/time -f \"%e %M\"\`; MB = MiB."
echo
echo "| model | .pt MB | ModelForge s | ModelForge peak RSS MB | RSS / .pt | torch.onnx.export s | speed-up (export s / ModelForge s) | export peak RSS MB |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
if [ ${#FAILURES[@]} -gt 0 ]; then
    echo
    echo "Failures (logs in $LOGS/):"
    printf -- '- %s\n' "${FAILURES[@]}"
fi
