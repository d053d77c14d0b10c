# FAMILIES=1 mode of bench/coverage-bench.sh (issue 18, model families); sourced by it after common.sh, not run alone.
# Every model of every bench/families/*.py file, for PyTorch 1.13 (Debian's python3) and 2.6 (fixtures/chroot-2x.sh):
# built at size "small" by bench/families_run.py, traced, and scripted where torch.jit.script accepts it; each archive
# converted with the published CLI (timed), validated against libtorch (CPU EP, batches 1 and 2, or the model's example
# when it has integer inputs; the model's own tolerances), and exported by torch.onnx.export (opset 17; 2.6: the TorchScript exporter, dynamo=False) in the same run,
# its ONNX validated the same way. Then, per family, its largest model (LARGEST in the families file) at size "full":
# whole-process time of `modelforge convert` vs a Python process running torch.onnx.export (target: 5x faster).
#   env VERSIONS="1.13 2.6"   which PyTorch generations to run
#   env FAMILY_MODELS="a b"   only these models (default: every model of every families file)
#   env SPEED=1               (default) run the full-size speed check; 0 skips it
#   env SPEED_MODELS="a b"    the speed check on these models instead of each family's largest (where torch.onnx.export
#                             cannot export the largest, the largest it can)
#   env ROWS=1                (default) run the per-archive table; 0 skips it (the speed check alone)
#   env TIMEOUT=600           seconds per step
# The 2.6 steps use the chroot's /repo mount; while another process holds it (someone else's repository mounted
# there), the run waits for it to be released (up to 30 minutes).
# Tables go to stdout and bench/work/logs/families/table.md; logs per model in that folder.

VERSIONS="${VERSIONS:-1.13 2.6}"
SPEED="${SPEED:-1}"
ROWS="${ROWS:-1}"
TIMEOUT="${TIMEOUT:-600}"
FL="$LOGS/families"
FW="$WORK/families"
CHROOT_MOUNT="${CHROOT_2X:-/work/chroot-trixie}/repo"
mkdir -p "$FL" "$FW"
read -r -a family_models <<<"${FAMILY_MODELS:-}"

# families_py VERSION ARGS...: bench/families_run.py under PyTorch 1.13 (Debian's python3) or 2.6 (the chroot).
families_py() {
    local version=$1; shift
    if [ "$version" = 1.13 ]; then timeout "$TIMEOUT" "$PY" bench/families_run.py "$@"; return; fi
    local waited=0
    while mountpoint -q "$CHROOT_MOUNT"; do  # another repository is mounted there: never unmount it, wait
        [ $waited -ge 1800 ] && { log "the chroot's /repo stayed in use for 30 minutes"; return 1; }
        sleep 20; waited=$((waited + 20))
    done
    # Debian 13 has no torchtext: text.py loads RoBERTa's files copied into the chroot (fixtures/README.md, families/).
    timeout "$TIMEOUT" fixtures/chroot-2x.sh env TORCHTEXT_ROBERTA=/opt/torchtext/models/roberta python3 bench/families_run.py "$@"
}

# validate_cell PT ONNX META LOG: "PASS (max abs)" / "**MISMATCH** (max abs)" / "**error (exit N)**: ..." for an archive's ONNX.
validate_cell() {
    local pt=$1 onnx=$2 meta=$3 vlog=$4 atol rtol specs=()
    read -r atol rtol < <("$PY" -c 'import json,sys; t=json.load(open(sys.argv[1]))["tolerance"]; print(t["atol"], t["rtol"])' "$meta")
    while read -r s; do specs+=(--input "$s"); done < <("$PY" -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["inputs"]))' "$meta")
    # Models with integer inputs (lengths, token ids) run on their example; the others on generated inputs at batch 1 and 2.
    local example; example=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("example") or "")' "$meta")
    if [ -n "$example" ]; then specs+=(--inputs "$example"); else specs+=(--batch 1,2); fi
    timeout "$TIMEOUT" "$CLI" validate "$pt" "$onnx" "${specs[@]}" --atol "$atol" --rtol "$rtol" --ep cpu >"$vlog" 2>&1
    local vrc=$? maxabs
    maxabs=$(awk '$1 == "onnxruntime-cpu" && ($4 == "PASS" || $4 == "FAIL") { if ($5 + 0 > mx) mx = $5 + 0; seen = 1 }
                  END { if (seen) printf "%.2e", mx }' "$vlog")
    case $vrc in
        0) echo "PASS ($maxabs)" ;;
        1) echo "**MISMATCH** ($maxabs)" ;;
        *) echo "**error (exit $vrc)**: $(first_error "$vlog")" ;;
    esac
}

input_args() {  # input_args META: the --input options of a model's archive
    "$PY" -c 'import json,sys; print(" ".join("--input " + s for s in json.load(open(sys.argv[1]))["inputs"]))' "$1"
}

TABLE="$FL/table.md"
: >"$TABLE"
out() { echo "$*"; echo "$*" >>"$TABLE"; }
header() { out; out "$1"; out "$(sed -E 's/[^|]+/---/g' <<<"$1")"; }  # header ROW: a table's first row and its rule
declare -A conv=() match=() te_conv=() te_match=() total=()
t_begin=$(date +%s)
out "## Model families: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$ROWS" = 1 ] && header "| family | model | PyTorch | compiled | params M | ModelForge convert s | ModelForge converts | its ONNX matches libtorch | torch.onnx.export (opset 17) | its ONNX matches libtorch |"
for version in $VERSIONS; do
    [ "$ROWS" = 1 ] || break
    dir="$FW/$version"; rm -rf "$dir"; mkdir -p "$dir"
    log "== PyTorch $version: building the small models"
    families_py "$version" build "$dir" small "${family_models[@]}" >"$FL/build-$version.log" 2>"$FL/build-$version.err" \
        || log "building under PyTorch $version stopped: $(tail -1 "$FL/build-$version.err")"
    while read -r family model params _; do
        meta="$dir/$model.json"
        for compiled in traced scripted; do
            pt="$dir/$model.$compiled.pt"; key="$family $version"
            if [ ! -f "$pt" ]; then
                why=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["script_error"] or "")' "$meta" | tr '|' '/')
                out "| $family | $model | $version | $compiled | $params | – | not scriptable: ${why:0:120} | – | – | – |"; continue
            fi
            total[$key]=$(( ${total[$key]:-0} + 1 ))
            log "== $version $model $compiled"
            onnx="$dir/$model.$compiled.onnx"; logbase="$FL/$version-$model-$compiled"
            # shellcheck disable=SC2046  # input_args gives one word per option and value
            t0=$(date +%s.%N); timeout "$TIMEOUT" "$CLI" convert "$pt" $(input_args "$meta") -o "$onnx" >"$logbase.convert.log" 2>&1
            crc=$?; csec=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
            if [ $crc -eq 0 ]; then
                mf="ok"; conv[$key]=$(( ${conv[$key]:-0} + 1 ))
                mfval=$(validate_cell "$pt" "$onnx" "$meta" "$logbase.validate.log")
                [[ $mfval == PASS* ]] && match[$key]=$(( ${match[$key]:-0} + 1 ))
            else
                mf="**failed (exit $crc)**: $(first_error "$logbase.convert.log")"; mfval="–"
            fi
            tonnx="$dir/$model.$compiled.torch.onnx"
            te=$(families_py "$version" export "$pt" "$meta" "$tonnx" 2>"$logbase.export.log" | tail -1)
            [ -n "$te" ] || te="failed: $(grep -v '^\s*$' "$logbase.export.log" | tail -1 | cut -c1-150)"
            teval="–"
            if [ "$te" = ok ]; then
                te_conv[$key]=$(( ${te_conv[$key]:-0} + 1 ))
                teval=$(validate_cell "$pt" "$tonnx" "$meta" "$logbase.validate-torch.log")
                [[ $teval == PASS* ]] && te_match[$key]=$(( ${te_match[$key]:-0} + 1 ))
            fi
            out "| $family | $model | $version | $compiled | $params | $csec | $mf | $mfval | $(echo "${te:0:160}" | tr '|' '/') | $teval |"
        done
    done < <(grep -E '^[a-z_]+ [A-Za-z0-9_]+ [0-9.]+ traced ' "$FL/build-$version.log")  # its rows only (2.6's UCX writes to stdout too)
done

if [ ${#total[@]} -gt 0 ]; then
    header "| family | PyTorch | archives | ModelForge converts | ModelForge matches | torch.onnx.export converts | its ONNX matches |"
    while read -r key; do
        out "| ${key% *} | ${key#* } | ${total[$key]} | ${conv[$key]:-0} | ${match[$key]:-0} | ${te_conv[$key]:-0} | ${te_match[$key]:-0} |"
    done < <(printf '%s\n' "${!total[@]}" | sort)
fi

if [ "$SPEED" = 1 ]; then
    out
    out "Whole-process conversion of each family's largest model at full size (traced; one run each, wall clock):"
    header "| family | model | PyTorch | params M | modelforge convert s | torch.onnx.export process s | speed-up |"
    for version in $VERSIONS; do
        dir="$FW/$version-full"; rm -rf "$dir"; mkdir -p "$dir"
        read -r -a speed_models <<<"${SPEED_MODELS:-}"
        mapfile -t largest < <(families_py "$version" largest "${speed_models[@]}" 2>>"$FL/largest-$version.err" | grep -E '^[a-z_]+ [A-Za-z0-9_]+$')
        for entry in "${largest[@]}"; do
            read -r family model <<<"$entry"
            [ ${#family_models[@]} -eq 0 ] || [[ " ${family_models[*]} " == *" $model "* ]] || continue
            log "== full-size $model, PyTorch $version"
            families_py "$version" build "$dir" full "$model" >>"$FL/build-full-$version.log" 2>>"$FL/build-full-$version.err"
            pt="$dir/$model.traced.pt"; meta="$dir/$model.json"
            [ -f "$pt" ] || { out "| $family | $model | $version | – | not built (see $FL/build-full-$version.err) | | |"; continue; }
            params=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["params_m"])' "$meta")
            # shellcheck disable=SC2046
            t0=$(date +%s.%N); timeout "$TIMEOUT" "$CLI" convert "$pt" $(input_args "$meta") -o "$dir/$model.onnx" >"$FL/full-$version-$model.convert.log" 2>&1
            crc=$?; t1=$(date +%s.%N)
            families_py "$version" export "$pt" "$meta" "$dir/$model.torch.onnx" >"$FL/full-$version-$model.export.log" 2>&1
            terc=$?; t2=$(date +%s.%N)
            read -r mfs tes ratio < <(awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "%.2f %.2f %.1f\n", b - a, c - b, (c - b) / (b - a) }')
            [ $crc -eq 0 ] || { mfs="failed (exit $crc)"; ratio="–"; }
            [ $terc -eq 0 ] || { tes="failed (exit $terc): $(grep -o 'failed: .*' "$FL/full-$version-$model.export.log" | cut -c9-90 | tr '|' '/')"; ratio="–"; }
            [ "$ratio" = "–" ] || ratio="${ratio}×"   # no speed-up where either side failed
            out "| $family | $model | $version | $params | $mfs | $tes | $ratio |"
        done
        rm -rf "$dir"
    done
    [[ " $VERSIONS " == *" 2.6 "* ]] && out "(2.6: the torch.onnx.export process runs through fixtures/chroot-2x.sh, whose mount and chroot add about a second.)"
fi
out
out "Wall time $(( $(date +%s) - t_begin )) s."
