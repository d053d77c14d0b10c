#!/usr/bin/env bash
# Sizes of what ModelForge ships (issue "Edges people trust": the installed CPU tool <= 520 MB).
#   bash bench/tool-size.sh            CPU packages: ModelForge.Tool (+ .linux-x64) and ModelForge.Build
#   GPU=1 bash bench/tool-size.sh      also ModelForge.Tool.Gpu and ModelForge.Build.Gpu (-p:ModelForgeGpu=true)
#   KEEP=1                             keep $DIR (the feed and the installed tools) for a look
# Packs in Release into $TMPDIR/modelforge-tool-size/feed, installs each tool package with
# `dotnet tool install --tool-path` (its own NuGet packages folder, nothing global), and prints the .nupkg sizes, the
# installed payload (the folder modelforge runs from), the whole tool store, and the largest files of the payload.
# Sizes are du's apparent sizes: MiB (1 MiB = 1,048,576 bytes; du -sh prints the same unit as M) and bytes.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
DIR="${TMPDIR:-/tmp}/modelforge-tool-size"
rm -rf "$DIR" && mkdir -p "$DIR/feed"
cat >"$DIR/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources><clear /></packageSources>
  <config><add key="globalPackagesFolder" value="$DIR/packages" /></config>
</configuration>
XML

pack() { # pack PROJECT LOGNAME [EXTRA...]
    log "packing $1 ${*:3}"
    dotnet pack "$1" -c Release -o "$DIR/feed" -nodeReuse:false "${@:3}" >"$LOGS/size-pack-$2.log" 2>&1 \
        || { tail -20 "$LOGS/size-pack-$2.log" >&2; exit 1; }
}
size() { # size PATH: "NNN.N MiB (BBB bytes)", du's apparent size
    du -sb "$1" | awk '{ if ($1 < 1048576) printf "%.1f KiB (%d bytes)", $1 / 1024, $1; else printf "%.1f MiB (%d bytes)", $1 / 1048576, $1 }'
}

variants=("")
[ -n "${GPU:-}" ] && variants+=(".Gpu")
for v in "${variants[@]}"; do
    extra=(); [ "$v" = ".Gpu" ] && extra=(-p:ModelForgeGpu=true)
    pack src/Cli "tool$v" "${extra[@]}"
    pack src/MSBuild.Tasks "build$v" "${extra[@]}"
done
# The last pack's restore may have been for the GPU ids: put the CPU one back for later builds.
[ -n "${GPU:-}" ] && dotnet restore src/Cli -nodeReuse:false >/dev/null 2>&1

echo "## packages (.nupkg)"
for f in "$DIR"/feed/*.nupkg; do echo "$(basename "$f")  $(size "$f")"; done

for v in "${variants[@]}"; do
    tools="$DIR/tools$v"
    log "installing ModelForge.Tool$v"
    (cd "$DIR" && dotnet tool install --tool-path "$tools" "ModelForge.Tool$v" --add-source "$DIR/feed" >"$ROOT/$LOGS/size-install$v.log" 2>&1) \
        || { cat "$LOGS/size-install$v.log" >&2; exit 1; }
    payload="$(dirname "$(readlink -f "$tools/modelforge")")"
    echo
    echo "## ModelForge.Tool$v installed (dotnet tool install --tool-path)"
    echo "payload (the folder modelforge runs from): $(size "$payload"), $(ls "$payload" | wc -l) files"
    echo "whole tool path, with the SDK's copies of the .nupkg in .store: $(size "$tools")"
    echo "largest files of the payload:"
    (cd "$payload" && ls -S | head -8 | while read -r f; do printf '  %-40s %s bytes\n' "$f" "$(stat -c %s "$f")"; done)
    "$tools/modelforge" --version >/dev/null || { log "installed modelforge$v does not run"; exit 1; }
done

if [ -z "${KEEP:-}" ]; then rm -rf "$DIR"; fi
