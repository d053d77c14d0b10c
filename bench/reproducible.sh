#!/usr/bin/env bash
# Reproducible bundles (issue "Edges people trust"): builds the example spec twice, each time into a clean output
# folder, with the published CLI, and compares every file of the two outputs byte for byte.
#   bash bench/reproducible.sh           the first build reuses examples/resnet18's tuning lock if one is there
#   FRESH=1 bash bench/reproducible.sh   delete the lock first, so the first build measures and records it
# Prints, per file: identical or differs; then the counts and the batching both builds chose. Exits 1 if a served
# file (anything outside validation/ and build-manifest.json, which record when the gate ran and how long it took) differs.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
publish_cli
SPEC=examples/resnet18/resnet18.modelforge.json
LOCK=examples/resnet18/resnet18.tuning.lock.json
OUT="$WORK/reproducible"
[ -n "${FRESH:-}" ] && rm -f "$LOCK"
rm -rf "$OUT" && mkdir -p "$OUT"
for run in 1 2; do
    log "build $run -> $OUT/$run"
    "$CLI" build "$SPEC" -o "$OUT/$run" --progress plain >"$LOGS/reproducible-$run.log" 2>&1 \
        || { tail -20 "$LOGS/reproducible-$run.log" >&2; exit 1; }
    grep -E "^\[package\]|reusing the batching|recorded the decision" "$LOGS/reproducible-$run.log" | sed "s/^/  build $run: /"
done
served_differ=0 same=0 differ=0
while IFS= read -r file; do
    if cmp -s "$OUT/1/$file" "$OUT/2/$file"; then
        same=$((same + 1)); echo "identical  $file"
    else
        differ=$((differ + 1)); echo "differs    $file"
        case "$file" in validation/*|build-manifest.json) ;; *) served_differ=$((served_differ + 1)) ;; esac
    fi
done < <(cd "$OUT/1" && find . -type f | sed 's#^\./##' | LC_ALL=C sort)
[ "$(cd "$OUT/1" && find . -type f | LC_ALL=C sort)" = "$(cd "$OUT/2" && find . -type f | LC_ALL=C sort)" ] || { echo "the two outputs hold different files"; served_differ=1; }
echo "$same identical, $differ differ ($served_differ of them served files)"
[ "$served_differ" -eq 0 ]
