# Shared by the benchmarks: paths, the published CLI, and the locally generated torchvision models.
# Source it from a bench script: source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
#   env REPS=3          repetitions per measurement
#   env SKIP_PUBLISH=1  reuse bench/work/cli instead of re-publishing

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WORK=bench/work
CLI="$WORK/cli/modelforge"
ORTLAT="$WORK/ortlatency/OrtLatency"   # bench/OrtLatency: ONNX Runtime latency and graph comparison of two models
MODELS_DIR="$WORK/models"
LOGS="$WORK/logs"
REPS="${REPS:-3}"
PY=/usr/bin/python3   # Debian's python3 with python3-torch, not the pyenv one on PATH
mkdir -p "$WORK" "$LOGS"

log() { echo "$*" >&2; }

need_gnu_time() {
    if [ ! -x /usr/bin/time ]; then
        log "installing GNU time"
        apt-get install -y time >&2 || { apt-get update >&2 && apt-get install -y time >&2; } || { log "need /usr/bin/time"; exit 1; }
    fi
}

# Publishes the CLI once in Release, so the measured process is the real `modelforge`.
publish_cli() {
    if [ -z "${SKIP_PUBLISH:-}" ] || [ ! -x "$CLI" ]; then
        log "publishing src/Cli (Release) -> $WORK/cli"
        if ! dotnet publish src/Cli -c Release -o "$WORK/cli" >"$LOGS/publish.log" 2>&1; then
            log "dotnet publish failed; see $LOGS/publish.log"; tail -20 "$LOGS/publish.log" >&2; exit 1
        fi
    fi
}

# Publishes bench/OrtLatency once in Release (same SKIP_PUBLISH rule as the CLI).
publish_ortlatency() {
    if [ -z "${SKIP_PUBLISH:-}" ] || [ ! -x "$ORTLAT" ]; then
        log "publishing bench/OrtLatency -> $WORK/ortlatency"
        dotnet publish bench/OrtLatency -c Release -o "$WORK/ortlatency" >"$LOGS/publish-ortlatency.log" 2>&1 \
            || { log "publishing bench/OrtLatency failed; see $LOGS/publish-ortlatency.log"; exit 1; }
    fi
}

# build_release PROJECT OUT_DIR NAME: builds a bench program in Release into OUT_DIR, its log in $LOGS/NAME-build.log
# (same SKIP_PUBLISH rule as the CLI: set, an existing build is reused).
build_release() {
    if [ -n "${SKIP_PUBLISH:-}" ] && [ -d "$2" ]; then return 0; fi
    log "building $1 (Release)"
    if ! dotnet build "$1" -c Release -o "$2" >"$LOGS/$3-build.log" 2>&1; then
        log "build failed; see $LOGS/$3-build.log"; tail -20 "$LOGS/$3-build.log" >&2; exit 1
    fi
}

# ensure_models NAME...: traces the torchvision models that are not in $MODELS_DIR yet (bench/make_models.py).
ensure_models() {
    local missing=() m
    for m in "$@"; do [ -f "$MODELS_DIR/$m.pt" ] || missing+=("$m"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    "$PY" -c 'import torch, torchvision' 2>/dev/null || { log "need Debian python3-torch/python3-torchvision at $PY to generate ${missing[*]}"; exit 1; }
    log "generating ${missing[*]}"
    "$PY" bench/make_models.py "$MODELS_DIR" "${missing[@]}" || exit 1
}
