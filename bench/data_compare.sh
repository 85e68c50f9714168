#!/usr/bin/env bash
# bench/data_compare.sh - sequential file data through a stock mfsmount, the
# stock mfsmaster and mdsd side by side: write and read MB/s, in one run on
# this machine. Needs root and `make`.
#
#   bash bench/data_compare.sh [SIZE_MIB [ROUNDS]]   (default 1024 1)
#
# Each master gets one stock mfschunkserver in a network namespace and a
# stock mfsmount with mfsmount's default caching (brought up by the
# integration harness, tests/integration/mfsharness). A file of SIZE_MIB
# is written in 1 MiB writes and fsync()ed, then read back through a fresh
# mount after the page cache is dropped (bench/data_bench.py says exactly
# what is timed). With ROUNDS > 1 the best round counts. Prints a table of
# MB/s (10^6 bytes) and the ratio mds / stock; everything it starts is
# stopped and removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
rounds=${2:-1}
[ "$(id -u)" = 0 ] || { echo "data_compare: run as root" >&2; exit 1; }
[ -x build/mdsd ] || { echo "data_compare: build first (make)" >&2; exit 1; }
out=$(mktemp /tmp/mds-databench-out.XXXXXX)
trap 'rm -f "$out"' EXIT
PYTHONPATH=tests/integration /usr/bin/python3 bench/data_bench.py \
  --size "$size" --rounds "$rounds" --kinds stock,mdsd | tee "$out" >&2
declare -A r
while read -r tag phase kind rest; do
  [ "$tag" = best ] && r[$phase,$kind]=$rest
done < "$out"
printf '%-6s %9s %11s %11s %9s\n' phase size_MiB stock_MB/s mds_MB/s mds/stock
for phase in write read; do
  s=${r[$phase,stock]:-failed (no result)}; m=${r[$phase,mdsd]:-failed (no result)}
  ratio=-
  case "$s $m" in *failed*) ;; *) ratio=$(python3 -c "print(f'{$m/$s:.2f}')") ;; esac
  printf '%-6s %9s %11s %11s %9s\n' "$phase" "$size" "${s%% *}" "${m%% *}" "$ratio"
done
for phase in write read; do
  for kind in stock mdsd; do
    case ${r[$phase,$kind]:-failed} in failed*) echo "$phase $kind: ${r[$phase,$kind]:-failed (no result)}" ;; esac
  done
done
