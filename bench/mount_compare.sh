#!/usr/bin/env bash
# bench/mount_compare.sh - the stock mfsmaster and mdsd side by side through
# a stock mfsmount: creates, stats and unlinks of empty files from 1 and 8
# threads, in one run on this machine. Needs root and `make`.
#
#   bash bench/mount_compare.sh [FILES_PER_THREAD]   (default 2000)
#
# Metadata only (no chunkservers). The mounts cache nothing, so every
# operation reaches the master. Prints a table of ops/s and the ratio
# mds / stock; everything it starts is stopped and removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
per=${1:-2000}
work=$(mktemp -d /tmp/mds-bench.XXXXXX)
opts=mfscachemode=NEVER,mfsattrcacheto=0,mfsentrycacheto=0
cleanup() {
  for m in "$work"/stock/mnt "$work"/mds/mnt; do
    grep -qs " $m " /proc/mounts && { fusermount3 -u "$m" || umount -l "$m"; }
  done
  [ -f "$work/stock/mfsmaster.cfg" ] && mfsmaster -c "$work/stock/mfsmaster.cfg" stop >/dev/null 2>&1 || true
  [ -f "$work/mds/mdsd.cfg" ] && build/mdsd -c "$work/mds/mdsd.cfg" stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
exports=$'127.0.0.1\t/\trw,alldirs,maproot=0:0\n127.0.0.1\t.\trw'

mkdir -p "$work"/stock/{data,mnt} "$work"/mds/{data,mnt}
sp=$(port); mp=$(port)
echo "$exports" > "$work/stock/exports.cfg"; touch "$work/stock/topology.cfg"
cp /var/lib/mfs/metadata.mfs.empty "$work/stock/data/metadata.mfs"
cat > "$work/stock/mfsmaster.cfg" <<CFG
WORKING_USER = root
WORKING_GROUP = root
NICE_LEVEL = 0
DATA_PATH = $work/stock/data
EXPORTS_FILENAME = $work/stock/exports.cfg
TOPOLOGY_FILENAME = $work/stock/topology.cfg
MATOCL_LISTEN_PORT = $sp
MATOCS_LISTEN_PORT = $(port)
MATOML_LISTEN_PORT = $(port)
CFG
echo "$exports" > "$work/mds/exports.cfg"
cat > "$work/mds/mdsd.cfg" <<CFG
WORKING_USER = root
DATA_PATH = $work/mds/data
EXPORTS_FILENAME = $work/mds/exports.cfg
MATOCL_LISTEN_PORT = $mp
MATOCS_LISTEN_PORT = $(port)
CFG
mfsmaster -c "$work/stock/mfsmaster.cfg" start >/dev/null 2>&1
build/mdsd -c "$work/mds/mdsd.cfg" start 2>/dev/null
mfsmount "$work/stock/mnt" -H 127.0.0.1 -P "$sp" -o "$opts" >/dev/null 2>&1
mfsmount "$work/mds/mnt" -H 127.0.0.1 -P "$mp" -o "$opts" >/dev/null 2>&1

declare -A r
for threads in 1 8; do
  for who in stock mds; do
    d="$work/$who/mnt/run$threads"; mkdir "$d"
    while read -r phase rate; do r[$who,$threads,$phase]=$rate; done \
      < <(python3 bench/mount_creates.py "$d" "$threads" "$per")
  done
done
printf '%-8s %7s %12s %12s %8s\n' phase threads stock_ops/s mds_ops/s mds/stock
for threads in 1 8; do
  for phase in create stat unlink; do
    s=${r[stock,$threads,$phase]}; m=${r[mds,$threads,$phase]}
    printf '%-8s %7s %12s %12s %8s\n' "$phase" "$threads" "$s" "$m" \
      "$(python3 -c "print(f'{$m/$s:.2f}')")"
  done
done
