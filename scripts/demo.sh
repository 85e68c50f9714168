#!/usr/bin/env bash
# scripts/demo.sh - a local mds with a stock mfsmount on it.
#
#   demo.sh [start]   start one mdsd and mount it (stock mfsmount)
#   demo.sh stop      unmount and stop mdsd
#   demo.sh status
#
# Everything lives in $MDS_DEMO_DIR (default /tmp/mds-demo): the config,
# the exports file, the metadata, the logs and the mountpoint mnt/. The
# client port is $MDS_DEMO_PORT (default 19421), the chunkserver port
# $MDS_DEMO_CS_PORT (default 19420). File data needs
# chunkservers, which mds does not manage yet: the demo serves metadata
# (directories, names, attributes, links, xattrs); writing file contents
# fails with "No space left on device".
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${MDS_DEMO_DIR:-/tmp/mds-demo}
port=${MDS_DEMO_PORT:-19421}
cs_port=${MDS_DEMO_CS_PORT:-19420}
cfg=$dir/mdsd.cfg
mdsd=$PWD/build/mdsd
action=${1:-start}

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "demo: run as root (mfsmount needs FUSE with allow_other)" >&2
    exit 1
  fi
}

case $action in
start)
  need_root
  [ -x "$mdsd" ] || { echo "demo: build first (make)" >&2; exit 1; }
  command -v mfsmount >/dev/null || { echo "demo: mfsmount missing (make deps)" >&2; exit 1; }
  mkdir -p "$dir/data" "$dir/mnt"
  if grep -qs " $dir/mnt " /proc/mounts; then
    echo "demo: already running; mounted on $dir/mnt (stop: make demo-stop)"
    exit 0
  fi
  cat > "$dir/mfsexports.cfg" <<EXP
127.0.0.1	/	rw,alldirs,admin,maproot=0:0
127.0.0.1	.	rw
EXP
  cat > "$cfg" <<CFG
# mdsd.cfg of the demo: mfsmaster.cfg keys, see docs/config.md
DATA_PATH = $dir/data
EXPORTS_FILENAME = $dir/mfsexports.cfg
MATOCL_LISTEN_HOST = 127.0.0.1
MATOCL_LISTEN_PORT = $port
MATOCS_LISTEN_PORT = $cs_port
WORKING_USER = root
WORKING_GROUP = root
CFG
  "$mdsd" -c "$cfg" start 2> "$dir/mdsd-start.log" || { cat "$dir/mdsd-start.log" >&2; exit 1; }
  mfsmount "$dir/mnt" -H 127.0.0.1 -P "$port" -o mfscachemode=NEVER > "$dir/mfsmount.log" 2>&1 \
    || { cat "$dir/mfsmount.log" >&2; "$mdsd" -c "$cfg" stop; exit 1; }
  cat <<MSG
mds demo is running:
  mdsd     $("$mdsd" -c "$cfg" status), config $cfg, logs to syslog (ident mdsd)
  mount    $dir/mnt  (stock mfsmount -> 127.0.0.1:$port)
Try:  mkdir -p $dir/mnt/a/b && touch $dir/mnt/a/b/f && ls -laR $dir/mnt
      mfsgettrashtime $dir/mnt/a; mfsdirinfo $dir/mnt
Stop: make demo-stop
(File contents need chunkservers, which mds does not manage yet.)
MSG
  ;;
stop)
  need_root
  if grep -qs " $dir/mnt " /proc/mounts; then
    fusermount3 -u "$dir/mnt" || umount -l "$dir/mnt"
  fi
  [ -f "$cfg" ] && "$mdsd" -c "$cfg" stop || true
  ;;
status)
  [ -f "$cfg" ] && "$mdsd" -c "$cfg" status || echo "demo: not started"
  grep -s " $dir/mnt " /proc/mounts || true
  ;;
*)
  echo "usage: demo.sh [start|stop|status]" >&2; exit 2 ;;
esac
