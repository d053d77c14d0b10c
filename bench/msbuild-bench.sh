#!/usr/bin/env bash
# Issue 8 benchmark: the no-change rebuild of a model project (ModelForge.Build, one ForgeModel) against a plain
# `dotnet build` of an empty project, in one run on this machine. Target: ratio <= 1.2.
#   bash bench/msbuild-bench.sh        (REPS=3 by default, from common.sh)
# Packs ModelForge.Build into $TMPDIR/modelforge-msbuild-bench/feed, restores it into a copy of tests/MSBuild.Tests/Sample, builds once,
# then times REPS no-change builds of each project alternately (median reported).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# Outside the repository: its Directory.Build.props (central package versions) must not reach the user-like projects.
DIR="${TMPDIR:-/tmp}/modelforge-msbuild-bench"
rm -rf "$DIR" && mkdir -p "$DIR/feed"

log "packing ModelForge.Build"
dotnet pack src/MSBuild.Tasks -c Release -o "$DIR/feed" -nodeReuse:false >"$LOGS/msbuild-pack.log" 2>&1 || { tail -20 "$LOGS/msbuild-pack.log"; exit 1; }

config() {
  cat >"$1/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources><clear /><add key="local" value="$DIR/feed" /></packageSources>
  <config><add key="globalPackagesFolder" value="$DIR/packages" /></config>
</configuration>
XML
}
cp -r tests/MSBuild.Tests/Sample "$DIR/models-project"
cp fixtures/models/resnet18_small/model.pt "$DIR/models-project/models/resnet.pt"
config "$DIR/models-project"
mkdir -p "$DIR/empty-project"
cat >"$DIR/empty-project/Empty.csproj" <<'XML'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
</Project>
XML
config "$DIR/empty-project"

build() { (cd "$1" && dotnet build -p:ModelForgeBuildVersion=0.1.0 "${@:2}" >"$ROOT/$LOGS/msbuild-$(basename "$1").log" 2>&1) || { tail -20 "$ROOT/$LOGS/msbuild-$(basename "$1").log"; exit 1; }; }
log "first builds (restore, convert, validate)"
build "$DIR/models-project"
build "$DIR/empty-project"

seconds() { local start end; start=$(date +%s.%N); build "$@"; end=$(date +%s.%N); echo "$end - $start" | bc; }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
models=() empty=()
for _ in $(seq "$REPS"); do
  models+=("$(seconds "$DIR/models-project" --no-restore)")
  empty+=("$(seconds "$DIR/empty-project" --no-restore)")
done
grep -q 'Skipping target "ModelForgeBuildModels"' <(cd "$DIR/models-project" && dotnet build -p:ModelForgeBuildVersion=0.1.0 --no-restore -v:d) \
  || { log "the model target was not skipped: the no-change build did work"; exit 1; }
m=$(printf '%s\n' "${models[@]}" | median); e=$(printf '%s\n' "${empty[@]}" | median)
echo "no-change dotnet build, median of $REPS (nproc $(nproc), load $(cut -d' ' -f1 /proc/loadavg)):"
printf '  model project (ModelForge.Build, 1 model)  %6.2f s   runs: %s\n' "$m" "${models[*]}"
printf '  empty project                            %6.2f s   runs: %s\n' "$e" "${empty[*]}"
printf '  ratio                                    %6.2f    (target <= 1.20)\n' "$(echo "$m / $e" | bc -l)"
