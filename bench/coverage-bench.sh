#!/usr/bin/env bash
# Coverage benchmark (issue 5, "Convert II"): the torchvision 0.14 classification zoo plus a text encoder, an LSTM
# tagger and a GRU classifier, traced locally with Debian's python3-torch (bench/make_zoo.py, not committed), each
# converted with the published CLI (timed), validated against libtorch (CPU EP, batches 1 and 2, atol 1e-4,
# rtol 1e-3), and exported with torch.onnx.export (opset 17) in the same run.
# Target: every model converts and matches, including those torch.onnx.export fails on.
# Where both converted, bench/OrtLatency --graph-only compares the operators ONNX Runtime runs for the two files after
# its own optimisation (issue 6: equal operator counts mean equal kernels, so equal latency up to noise).
# A mismatch is handed to bench/fp64_oracle.py, which reruns the model in float64 and says whether the ONNX output is
# farther from it than the native float32 runs (libtorch, PyTorch 1.13) are; if not, the row says "float32 noise".
#
# Usage: bash bench/coverage-bench.sh [MODEL ...]        (default: every model of `make_zoo.py list`, cheap first)
#   env MODELS="a b"    same as the arguments
#   env SKIP_HUGE=1     (default) skip models above ~300 M parameters (vit_h_14, regnet_y_128gf, vit_l_16, vit_l_32)
#   env TIMEOUT=600     seconds per step (trace, convert, validate, export) of one model
#   env BUDGET_S=0      stop starting new models after this many seconds (0 = no limit); the rest are listed
#                       as not run
#   env SKIP_PUBLISH=1  reuse bench/work/cli (common.sh)
#   env GRAPH_ONLY=1    skip validation: trace, convert, export and compare ONNX Runtime's graphs only (issue 6)
#   env LATENCY=1       skip validation, and once every model is converted and exported, time each pair with
#                       bench/OrtLatency (ONNX Runtime CPU, one shared pool of 2 threads, batch 1 and 8, alternating
#                       pairs; issue 6's latency ratio per model) while nothing else of this script runs
#   env RUNS=100        (LATENCY) timed pairs per batch size at most;  LAT_BUDGET_S=20 seconds of timed pairs per
#                       batch size at most (at least 5 pairs), so big models stay affordable
#   env RECHECK=1       (LATENCY, default) a pair whose 95 % interval lies wholly above 1.00 at either batch size is
#                       timed again at once with the two files in the other order (torch.onnx.export's loaded and run
#                       first), the ratio inverted back to ModelForge / torch.onnx.export: a real slowdown reads above
#                       1.00 both ways, an effect of position or drift does not
#   env KEEP_MODELS=0   (default) delete each model's .pt and .onnx once its row is written (the whole zoo would
#                       need ~30 GB of disk); 1 keeps them in bench/work/zoo
#   env FAMILIES=1      instead of the zoo: issue 18's model families (bench/families/*.py) under PyTorch 1.13 and 2.6,
#                       with torch.onnx.export on the same archives and the full-size speed check (bench/coverage-families.sh
#                       says how, and its own options)
# Rows go to stdout as they finish and to bench/work/logs/coverage/table.md; logs per model in that folder.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

first_error() {  # first "error MF####: ..." line of a log, else its last line
    local l
    l=$(grep -m1 -oE '(error|warning) MF[0-9]{4}:.*' "$1")
    [ -n "$l" ] || l=$(grep -v '^\s*$' "$1" | tail -1)
    echo "${l:0:220}" | tr '|' '/'
}

if [ "${FAMILIES:-0}" = 1 ]; then
    publish_cli
    source bench/coverage-families.sh
    exit 0
fi

SKIP_HUGE="${SKIP_HUGE:-1}"
TIMEOUT="${TIMEOUT:-600}"
BUDGET_S="${BUDGET_S:-0}"
KEEP_MODELS="${KEEP_MODELS:-0}"
GRAPH_ONLY="${GRAPH_ONLY:-0}"
LATENCY="${LATENCY:-0}"
RUNS="${RUNS:-100}"
LAT_BUDGET_S="${LAT_BUDGET_S:-20}"
RECHECK="${RECHECK:-1}"
ZOO="$WORK/zoo"
CL="$LOGS/coverage"
mkdir -p "$ZOO" "$CL"

"$PY" -c 'import torch, torchvision' 2>/dev/null || { log "need Debian python3-torch/python3-torchvision at $PY"; exit 1; }
publish_cli
publish_ortlatency

declare -A HUGE=()
all=()
while read -r name tag; do
    all+=("$name")
    [ "$tag" = huge ] && HUGE[$name]=1
done < <("$PY" bench/make_zoo.py list)

if [ $# -gt 0 ]; then sel=("$@"); elif [ -n "${MODELS:-}" ]; then read -r -a sel <<<"$MODELS"; else sel=("${all[@]}"); fi

TABLE="$CL/table.md"
: >"$TABLE"
row() { echo "$*"; echo "$*" >>"$TABLE"; }

echo "## Coverage run: ${#sel[@]} model(s), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GB RAM"
echo "## SKIP_HUGE=$SKIP_HUGE TIMEOUT=$TIMEOUT BUDGET_S=$BUDGET_S GRAPH_ONLY=$GRAPH_ONLY LATENCY=$LATENCY RUNS=$RUNS LAT_BUDGET_S=$LAT_BUDGET_S RECHECK=$RECHECK"
echo
row "| model | params M | input | convert s | ModelForge convert | validate (CPU EP, batch 1,2; max abs err) | torch.onnx.export (opset 17) | ORT graph vs torch.onnx.export |"
row "|---|---:|---|---:|---|---|---|---|"

n_conv=0; n_match=0; n_noise=0; n_mf_fail=0; n_te_fail=0; n_run=0; n_same_ops=0
not_run=(); mf_failures=(); noise_cases=(); te_failures=(); graph_diffs=(); to_time=()
t_begin=$(date +%s)


for m in "${sel[@]}"; do
    if [ "$SKIP_HUGE" = 1 ] && [ -n "${HUGE[$m]:-}" ]; then
        not_run+=("$m (SKIP_HUGE: above ~300 M parameters)"); log "skip $m (huge)"; continue
    fi
    if [ "$BUDGET_S" -gt 0 ] && [ $(( $(date +%s) - t_begin )) -ge "$BUDGET_S" ]; then
        not_run+=("$m (time budget BUDGET_S=$BUDGET_S spent)"); continue
    fi
    log "== $m"
    n_run=$((n_run + 1))
    pt="$ZOO/$m.pt"; meta="$ZOO/$m.json"; onnx="$ZOO/$m.onnx"
    if ! timeout "$TIMEOUT" "$PY" bench/make_zoo.py trace "$ZOO" "$m" >"$CL/$m.trace.log" 2>&1 || [ ! -f "$meta" ]; then
        row "| $m | ? | ? | – | not traced: $(tail -1 "$CL/$m.trace.log" | cut -c1-150 | tr '|' '/') | – | – | – |"
        n_run=$((n_run - 1)); not_run+=("$m (tracing with torch.jit.trace failed, see $CL/$m.trace.log)"); continue
    fi
    read -r params input extra < <("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["params_m"], d["input"], " ".join(d["validate"]))' "$meta")
    read -r -a vextra <<<"$extra"

    # convert (timed, whole process)
    rm -f "$onnx"
    t0=$(date +%s.%N)
    timeout "$TIMEOUT" "$CLI" convert "$pt" --input "$input" -o "$onnx" >"$CL/$m.convert.log" 2>&1
    crc=$?
    t1=$(date +%s.%N)
    csec=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    if [ $crc -eq 0 ] && [ -f "$onnx" ] && { [ "$GRAPH_ONLY" = 1 ] || [ "$LATENCY" = 1 ]; }; then
        n_conv=$((n_conv + 1)); conv="ok"; val="not run (GRAPH_ONLY/LATENCY)"
    elif [ $crc -eq 0 ] && [ -f "$onnx" ]; then
        n_conv=$((n_conv + 1)); conv="ok"
        rm -rf "$CL/$m.failures"
        timeout "$TIMEOUT" "$CLI" validate "$pt" "$onnx" --input "$input" --batch 1,2 --atol 1e-4 --rtol 1e-3 --ep cpu \
            --save-failures "$CL/$m.failures" "${vextra[@]}" >"$CL/$m.validate.log" 2>&1
        vrc=$?
        maxabs=$(awk '$1 == "onnxruntime-cpu" && ($4 == "PASS" || $4 == "FAIL") { if ($5 + 0 > mx) mx = $5 + 0; seen = 1 }
                      END { if (seen) printf "%.2e", mx }' "$CL/$m.validate.log")
        case $vrc in
            0) val="PASS ($maxabs)"; n_match=$((n_match + 1)) ;;
            1)  # who is right? float64 decides (bench/fp64_oracle.py)
                timeout "$TIMEOUT" "$PY" bench/fp64_oracle.py "$pt" "$CL/$m.failures" --atol 1e-4 --rtol 1e-3 \
                    >"$CL/$m.oracle.log" 2>&1
                if grep -q '^verdict: native-noise' "$CL/$m.oracle.log"; then
                    val="**MISMATCH**, float32 noise ($maxabs; see below)"; n_noise=$((n_noise + 1))
                    noise_cases+=("$m: $(grep -m1 -E 'FAILED' "$CL/$m.validate.log" | cut -c1-160); float64 oracle: $(grep -m1 '^batch' "$CL/$m.oracle.log")")
                else
                    val="**MISMATCH** ($maxabs)"; n_mf_fail=$((n_mf_fail + 1))
                    mf_failures+=("$m: validate exit 1, max abs $maxabs: $(grep -m1 -E 'FAILED|MF[0-9]{4}' "$CL/$m.validate.log" | cut -c1-200); float64 oracle: $(grep -v '^\s*$' "$CL/$m.oracle.log" | head -1 | cut -c1-300)")
                fi ;;
            124|137) val="**timeout ${TIMEOUT}s**"; n_mf_fail=$((n_mf_fail + 1)); mf_failures+=("$m: validate timed out after ${TIMEOUT}s") ;;
            *) val="**error (exit $vrc)**: $(first_error "$CL/$m.validate.log")"; n_mf_fail=$((n_mf_fail + 1)); mf_failures+=("$m: validate exit $vrc: $(first_error "$CL/$m.validate.log")") ;;
        esac
    else
        case $crc in
            124|137) conv="**timeout ${TIMEOUT}s**" ;;
            *) conv="**failed (exit $crc)**: $(first_error "$CL/$m.convert.log")" ;;
        esac
        val="–"; n_mf_fail=$((n_mf_fail + 1)); mf_failures+=("$m: convert exit $crc: $(first_error "$CL/$m.convert.log")")
    fi

    # baseline: torch.onnx.export of the same TorchScript module
    # its own folder: above 2 GB torch.onnx.export writes every weight as a separate file next to the model
    tdir="$ZOO/$m.torch"; rm -rf "$tdir"; mkdir -p "$tdir"; tonnx="$tdir/model.onnx"
    te=$(timeout "$TIMEOUT" "$PY" bench/make_zoo.py export "$pt" "$meta" "$tonnx" 2>"$CL/$m.export.log" | tail -1)
    terc=${PIPESTATUS[0]}
    [ -n "$te" ] || te="failed (exit $terc): $(grep -v '^\s*$' "$CL/$m.export.log" | tail -1 | cut -c1-150)"
    [ "$te" = ok ] || { n_te_fail=$((n_te_fail + 1)); te_failures+=("$m: $te"); }
    graph="–"
    if [ "$te" = ok ] && [ -f "$onnx" ] && [ "$LATENCY" = 1 ]; then
        graph="timed below"
        dims=""; [ "$input" = "${input/seq/}" ] || dims="--dim seq=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["seq"])' "$meta")"
        to_time+=("$m $onnx $tonnx $dims")
    elif [ "$te" = ok ] && [ -f "$onnx" ]; then
        graph=$(timeout "$TIMEOUT" "$ORTLAT" "$onnx" "$tonnx" --graph-only 2>"$CL/$m.graph.log" | sed 's/^ort-graph //')
        [ -n "$graph" ] || graph="failed: $(tail -1 "$CL/$m.graph.log" | cut -c1-120)"
        case $graph in same-ops*) n_same_ops=$((n_same_ops + 1)) ;; *) graph_diffs+=("$m: $graph") ;; esac
    fi
    if [ "$graph" = "timed below" ]; then
        [ "$KEEP_MODELS" = 1 ] || rm -f "$pt"   # the pair stays until it is timed
    else
        rm -rf "$tdir"
        [ "$KEEP_MODELS" = 1 ] || rm -f "$pt" "$onnx" "$onnx.data"
    fi
    row "| $m | $params | \`$input\` | $csec | $conv | $val | $(echo "$te" | tr '|' '/') | $graph |"
done

# Latency (LATENCY=1): every pair timed after all conversions, so no trace, convert or export runs beside a timing.
lat_rows=(); n_timed=0; n_le1=0; n_ci_below=0; n_ci_above=0; n_rechecked=0; n_recheck_above=0; lat_failures=()
# OrtLatency A B [args]: its "batch" lines as "B RATIO LO HI"; with swapped=1 the files were given as torch, ModelForge
# and the ratio (and the interval's ends, crosswise) are inverted back to ModelForge / torch.
ratios() { awk -v swapped="${2:-0}" '$1 == "batch" {
    if (swapped) printf "%s %.3f %.3f %.3f\n", $2, 1 / $8, 1 / $11, 1 / $10; else print $2, $8, $10, $11 }' <<<"$1"; }
if [ ${#to_time[@]} -gt 0 ]; then
    t_lat=$(date +%s)
    for entry in "${to_time[@]}"; do
        read -r m onnx tonnx dims <<<"$entry"
        log "== latency $m"
        # shellcheck disable=SC2086  # $dims is "" or "--dim seq=N"
        out=$(timeout "$((TIMEOUT * 3))" "$ORTLAT" "$onnx" "$tonnx" --threads 2 --batch 1,8 --runs "$RUNS" \
            --budget-s "$LAT_BUDGET_S" $dims 2>"$CL/$m.latency.stderr")
        lrc=$?
        echo "$out" >"$CL/$m.latency.log"
        recheck="–"
        if [ $lrc -eq 0 ] && [ "$RECHECK" = 1 ] && ratios "$out" | awk '$3 > 1.0 { above = 1 } END { exit !above }'; then
            log "== latency $m again, files swapped"
            # shellcheck disable=SC2086
            swapped=$(timeout "$((TIMEOUT * 3))" "$ORTLAT" "$tonnx" "$onnx" --threads 2 --batch 1,8 --runs "$RUNS" \
                --budget-s "$LAT_BUDGET_S" $dims 2>>"$CL/$m.latency.stderr")
            echo "$swapped" >"$CL/$m.latency-swapped.log"
            recheck=$(ratios "$swapped" 1 | awk '{ printf "%sb%s %s [%s, %s]", sep, $1, $2, $3, $4; sep = "; " }')
            n_rechecked=$((n_rechecked + 1))
            ratios "$swapped" 1 | awk '$3 > 1.0 { above = 1 } END { exit !above }' && n_recheck_above=$((n_recheck_above + 1))
        fi
        [ "$KEEP_MODELS" = 1 ] || rm -rf "$onnx" "$onnx.data" "$(dirname "$tonnx")"
        if [ $lrc -ne 0 ] || ! grep -q '^batch 8 ' <<<"$out"; then
            lat_failures+=("$m: OrtLatency exit $lrc: $(tail -1 "$CL/$m.latency.stderr" | cut -c1-200)")
            lat_rows+=("| $m | latency run failed (exit $lrc, see $CL/$m.latency.stderr) | | | | | | | |"); continue
        fi
        n_timed=$((n_timed + 1))
        cells=""
        for b in 1 8; do
            read -r a_ms b_ms ratio lo hi pairs < <(awk -v b="$b" '$1 == "batch" && $2 == b {print $4, $6, $8, $10, $11, $13}' <<<"$out")
            cells+=" $a_ms | $b_ms | $ratio [$lo, $hi] ($pairs) |"
            awk -v r="$ratio" 'BEGIN { exit !(r <= 1.0) }' && n_le1=$((n_le1 + 1))
            awk -v h="$hi" 'BEGIN { exit !(h < 1.0) }' && n_ci_below=$((n_ci_below + 1))
            awk -v l="$lo" 'BEGIN { exit !(l > 1.0) }' && n_ci_above=$((n_ci_above + 1))
        done
        graph=$(awk '$1 == "ort-graph" {sub(/^ort-graph /, ""); print}' <<<"$out")
        case $graph in same-ops*) n_same_ops=$((n_same_ops + 1)) ;; *) graph_diffs+=("$m: $graph") ;; esac
        lat_rows+=("| $m |$cells $recheck | $graph |")
    done
    echo
    echo "### Latency: ONNX Runtime CPU EP, one shared pool of 2 intra-op threads; ratio = median of per-pair ModelForge / torch.onnx.export [bootstrap 95 %] (pairs timed); RUNS=$RUNS LAT_BUDGET_S=$LAT_BUDGET_S; $(( $(date +%s) - t_lat )) s"
    echo
    echo "| model | ModelForge b1 ms | torch.onnx b1 ms | ratio b1 [95 %] (pairs) | ModelForge b8 ms | torch.onnx b8 ms | ratio b8 [95 %] (pairs) | files swapped (RECHECK) | ORT's optimised graphs |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|---|"
    printf '%s\n' "${lat_rows[@]}"
    echo
    echo "Latency: $n_timed model(s) timed at batch 1 and 8 ($((2 * n_timed)) ratios): $n_le1 at or below 1.00; interval wholly below 1.00 for $n_ci_below, wholly above for $n_ci_above."
    [ "$RECHECK" = 1 ] && echo "Rechecked with the files swapped: $n_rechecked model(s); an interval wholly above 1.00 again for $n_recheck_above."
    if [ ${#lat_failures[@]} -gt 0 ]; then echo "Latency failures:"; printf -- '- %s\n' "${lat_failures[@]}"; fi
fi

echo
echo "Summary: $n_run model(s) run; ModelForge converted $n_conv, matched $n_match, mismatched within native float32 noise $n_noise, failed $n_mf_fail; torch.onnx.export failed on $n_te_fail."
echo "ONNX Runtime runs the same operators for ModelForge's and torch.onnx.export's file on $n_same_ops model(s)."
if [ ${#graph_diffs[@]} -gt 0 ]; then echo "Where they differ:"; printf -- '- %s\n' "${graph_diffs[@]}"; fi
echo "Wall time $(( $(date +%s) - t_begin )) s."
if [ ${#mf_failures[@]} -gt 0 ]; then echo; echo "ModelForge failures:"; printf -- '- %s\n' "${mf_failures[@]}"; fi
if [ ${#noise_cases[@]} -gt 0 ]; then
    echo; echo "Mismatches where the ONNX output is no farther from a float64 run than the native float32 runs are:"
    printf -- '- %s\n' "${noise_cases[@]}"
fi
if [ ${#te_failures[@]} -gt 0 ]; then echo; echo "torch.onnx.export failures:"; printf -- '- %s\n' "${te_failures[@]}"; fi
if [ ${#not_run[@]} -gt 0 ]; then echo; echo "Not run (${#not_run[@]}):"; printf -- '- %s\n' "${not_run[@]}"; fi
[ "$n_mf_fail" -eq 0 ]
