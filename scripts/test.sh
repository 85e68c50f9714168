#!/usr/bin/env bash
# scripts/test.sh - runs the test suites and ends with one summary line.
#
#   test.sh unit         cmocka unit tests of the ASan/UBSan build
#   test.sh fuzz         a short run of every libFuzzer target
#   test.sh integration  pytest integration tests (real processes)
#   test.sh all          all three
#
# The last line reads "summary: N passed, N failed" (", N skipped" when
# some were skipped); the exit status is non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
passed=0 failed=0 skipped=0
logdir=$(mktemp -d /tmp/mds-test-logs.XXXXXX)
export MDS_SHARED_DIR=${MDS_SHARED_DIR:-$(cd .. && pwd)/shared}

run_unit() {
  local build=${UNIT_BUILD:-build-asan}
  echo "== unit tests ($build)"
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    local name log rc p f
    name=$(basename "$t")
    log=$logdir/$name.log
    "$t" >"$log" 2>&1; rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
    p=${p:-0} f=${f:-0}
    if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi   # crashed or sanitizer abort
    passed=$((passed + p)) failed=$((failed + f))
    if [ "$f" = 0 ]; then
      printf '  %-28s %3d passed\n' "$name" "$p"
    else
      printf '  %-28s %3d passed, %d FAILED (exit %d):\n' "$name" "$p" "$f" "$rc"
      grep -E '^\[  (FAILED|ERROR) |ERROR|error|Sanitizer|expected|got' "$log" | head -n 40 | sed 's/^/    /'
    fi
  done
}

run_fuzz() {
  echo "== fuzz smoke (${FUZZ_SMOKE_SECONDS:=10}s per target)"
  local out
  out=$(FUZZ_SMOKE_SECONDS=$FUZZ_SMOKE_SECONDS bash scripts/fuzz.sh smoke 2>&1)
  echo "$out" | sed 's/^/  /'
  passed=$((passed + $(echo "$out" | grep -c ' ok for ')))
  failed=$((failed + $(echo "$out" | grep -c ' FAILED ')))
}

run_integration() {
  echo "== integration tests (pytest)"
  local xml=$logdir/pytest.xml rc
  /usr/bin/python3 -m pytest tests/integration -q -p no:cacheprovider \
    --junitxml="$xml" -o junit_family=xunit2 ${PYTEST_ARGS:-}
  rc=$?
  if [ $rc -eq 5 ]; then
    echo "  (no integration tests collected)"; return
  fi
  if [ ! -s "$xml" ]; then
    echo "  pytest exited $rc without a report"; failed=$((failed + 1)); return
  fi
  local counts
  counts=$(/usr/bin/python3 - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
k = sum(int(s.get("skipped", 0)) for s in suites)
print(t - f - k, f, k)
PY
)
  read -r p f k <<<"$counts"
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + k))
  if [ $rc -ne 0 ] && [ "$f" = 0 ]; then failed=$((failed + 1)); fi
}

case $mode in
  unit) run_unit ;;
  fuzz) run_fuzz ;;
  integration) run_integration ;;
  all) run_unit; run_fuzz; run_integration ;;
  *) echo "usage: test.sh unit|fuzz|integration|all" >&2; exit 2 ;;
esac
rm -rf "$logdir"

line="summary: $passed passed, $failed failed"
[ $skipped -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
