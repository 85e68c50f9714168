#!/usr/bin/env bash
# scripts/fuzz.sh - runs the libFuzzer targets in build-fuzz/.
#
#   fuzz.sh smoke           every target for FUZZ_SMOKE_SECONDS (default 10)
#   fuzz.sh run TARGET SEC  one target for SEC seconds (long campaigns)
#
# Each target starts from tests/fuzz/corpus/TARGET; new inputs go to a
# scratch corpus, crashes to fuzz-artifacts/. Exits non-zero on a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-smoke}
mkdir -p fuzz-artifacts

run_one() {
  local t=$1 secs=$2
  local scratch
  scratch=$(mktemp -d /tmp/mds-fuzz-"$t".XXXXXX)
  local seeds=tests/fuzz/corpus/$t
  mkdir -p "$seeds"
  local rc=0
  build-fuzz/"$t" -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix=fuzz-artifacts/"$t"- "$scratch" "$seeds" \
    >"$scratch.log" 2>&1 || rc=$?
  if [ $rc -ne 0 ]; then
    echo "fuzz: $t FAILED (exit $rc); last lines:"
    tail -n 30 "$scratch.log"
  else
    echo "fuzz: $t ok for ${secs}s, $(awk '/stat::number_of_executed_units/ {print $2}' "$scratch.log") runs, no crash"
  fi
  rm -rf "$scratch" "$scratch.log"
  return $rc
}

case $mode in
  smoke)
    status=0
    for bin in build-fuzz/fuzz_*; do
      [ -x "$bin" ] || continue
      run_one "$(basename "$bin")" "${FUZZ_SMOKE_SECONDS:-10}" || status=1
    done
    exit $status ;;
  run)
    run_one "$2" "${3:-600}" ;;
  *)
    echo "usage: fuzz.sh smoke | run TARGET SECONDS" >&2; exit 2 ;;
esac
