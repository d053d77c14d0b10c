#!/usr/bin/env bash
# CI smoke run of the ModelForge fuzzer: a Release build, then ~60 s spread over all seven targets (about 8.5 s each) with a
# fixed seed. Exits non-zero on any finding (inputs and exceptions under $FINDINGS), and also when the fuzzer process
# dies (a stack overflow cannot be caught; the input that killed it is left in $FINDINGS/current-input.bin).
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_TOTAL="${FUZZ_SECONDS:-60}"
SEED="${FUZZ_SEED:-20251125}"
FINDINGS="${FUZZ_FINDINGS:-out/fuzz-findings}"
dotnet build tests/Fuzz/ModelForge.Fuzz.csproj -c Release --nologo -v quiet
rc=0
dotnet tests/Fuzz/bin/Release/net10.0/ModelForge.Fuzz.dll --target all --seconds "$SECONDS_TOTAL" --seed "$SEED" --findings "$FINDINGS" || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "fuzz smoke run failed (exit $rc); findings in $FINDINGS:" >&2
  ls -l "$FINDINGS" >&2 || true
fi
exit "$rc"
