#!/usr/bin/env bash
# scripts/demo.sh - a local mds with a stock chunkserver and a stock mfsmount.
#
#   demo.sh [start]   start mdsd, one mfschunkserver and mount (stock mfsmount)
#   demo.sh stop      unmount, stop the chunkserver and mdsd, remove the
#                     network namespace; nothing of the demo keeps running
#   demo.sh status
#
# Everything lives in $MDS_DEMO_DIR (default /tmp/mds-demo): mdsd's config,
# exports and metadata (data/), the chunkserver's config and disk (cs/; its
# disk is the directory cs/hdd, on whatever file system holds it), the
# start-up logs and the mountpoint mnt/. Metadata and file data stay there
# between runs. The daemons log to syslog (idents mdsd, mfschunkserver).
#
# mfschunkserver refuses a master on 127.x, so it runs in a network
# namespace of its own, $MDS_DEMO_NETNS (default mdsdemo), joined to the
# host by a veth pair (mdsdemoh on the host, mdsdemon inside) with the /30
# $MDS_DEMO_NET (default 10.219.250.0/30: .1 on the host, .2 inside; the
# integration tests use 10.213.0.0/16). mdsd serves clients on
# 127.0.0.1:$MDS_DEMO_PORT (default 19421) and chunkservers on
# <host .1>:$MDS_DEMO_CS_PORT (default 19420); the chunkserver serves data
# on <.2>:9422 inside its namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${MDS_DEMO_DIR:-/tmp/mds-demo}
port=${MDS_DEMO_PORT:-19421}
cs_port=${MDS_DEMO_CS_PORT:-19420}
ns=${MDS_DEMO_NETNS:-mdsdemo}
net=${MDS_DEMO_NET:-10.219.250.0/30}
host_if=${ns}h
ns_if=${ns}n
cfg=$dir/mdsd.cfg
cs_cfg=$dir/cs/mfschunkserver.cfg
mdsd=$PWD/build/mdsd
action=${1:-start}

base=${net%/*}
host_addr=${base%.*}.$(( ${base##*.} + 1 ))
ns_addr=${base%.*}.$(( ${base##*.} + 2 ))

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "demo: run as root (mfsmount needs FUSE, the chunkserver a network namespace)" >&2
    exit 1
  fi
}

mounted() { grep -qs " $dir/mnt " /proc/mounts; }
netns_exists() { ip netns list | awk -v n="$ns" '$1 == n {f=1} END {exit !f}'; }
link_exists() { ip link show "$host_if" >/dev/null 2>&1; }

# The /30 must not overlap any address or route of the host (but our own).
check_net_free() {
  python3 - "$net" "$host_if" <<'PY'
import ipaddress, json, subprocess, sys
net, own = ipaddress.ip_network(sys.argv[1]), sys.argv[2]
def ipj(*a):
    return json.loads(subprocess.run(["ip", "-j", "-4", *a], check=True,
                                     capture_output=True, text=True).stdout or "[]")
for i in ipj("addr", "show"):
    for a in i.get("addr_info", []):
        if i["ifname"] != own and net.overlaps(
                ipaddress.ip_network(f"{a['local']}/{a['prefixlen']}", strict=False)):
            sys.exit(f"demo: {net} overlaps {a['local']}/{a['prefixlen']} on "
                     f"{i['ifname']}; choose another with MDS_DEMO_NET")
for r in ipj("route", "show", "table", "all"):
    dst = r.get("dst")
    if dst and dst != "default" and r.get("dev") != own:
        try:
            d = ipaddress.ip_network(dst, strict=False)
        except ValueError:
            continue
        if d.prefixlen > 0 and net.overlaps(d):
            sys.exit(f"demo: {net} overlaps the route {dst}; choose another "
                     f"with MDS_DEMO_NET")
PY
}

make_netns() {
  check_net_free
  ip netns add "$ns"
  ip link add "$host_if" type veth peer name "$ns_if" netns "$ns"
  ip addr add "$host_addr/30" dev "$host_if"
  ip link set "$host_if" up
  ip -n "$ns" addr add "$ns_addr/30" dev "$ns_if"
  ip -n "$ns" link set "$ns_if" up
  ip -n "$ns" link set lo up
}

write_configs() {
  mkdir -p "$dir/data" "$dir/mnt" "$dir/cs/data" "$dir/cs/hdd"
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
MATOCS_LISTEN_HOST = $host_addr
MATOCS_LISTEN_PORT = $cs_port
WORKING_USER = root
WORKING_GROUP = root
CFG
  echo "$dir/cs/hdd" > "$dir/cs/mfshdd.cfg"
  cat > "$cs_cfg" <<CFG
# stock mfschunkserver of the demo, run in network namespace $ns
WORKING_USER = root
WORKING_GROUP = root
DATA_PATH = $dir/cs/data
HDD_CONF_FILENAME = $dir/cs/mfshdd.cfg
NICE_LEVEL = 0
DISABLE_OOM_KILLER = 0
MASTER_HOST = $host_addr
MASTER_PORT = $cs_port
MASTER_RECONNECTION_DELAY = 1
CSSERV_LISTEN_HOST = $ns_addr
CFG
}

# "ip:port used total" of every chunkserver mdsd reports (mfscli -SCS).
registered() {
  mfscli -H 127.0.0.1 -P "$port" -n -SCS 2>/dev/null |
    awk -F'\t' '$1 == "chunk servers:" {print $2 ":" $3, $10, $11}'
}

wait_registered() {
  local i
  for i in $(seq 1 150); do
    if registered | awk -v a="$ns_addr" '$1 ~ "^" a ":" && $3 > 0 {ok=1} END {exit !ok}'; then
      return 0
    fi
    sleep 0.2
  done
  echo "demo: the chunkserver did not register with mdsd within 30 s" >&2
  tail -n 20 "$dir/cs/mfschunkserver.log" >&2 || true
  return 1
}

do_stop() {
  local pids p i
  if mounted; then
    fusermount3 -u "$dir/mnt" 2>/dev/null || umount -l "$dir/mnt"
  fi
  if [ -f "$cs_cfg" ] && [ -d "$dir/cs/data" ]; then
    mfschunkserver -c "$cs_cfg" stop >> "$dir/cs/mfschunkserver.log" 2>&1 || true
  fi
  if netns_exists; then
    # only the demo's chunkserver runs in the demo's namespace
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    if [ -n "$pids" ]; then
      for p in $pids; do kill "$p" 2>/dev/null || true; done
      for i in $(seq 1 50); do
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        [ -z "$pids" ] && break
        sleep 0.2
      done
      for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
    fi
  fi
  if [ -f "$cfg" ]; then
    "$mdsd" -c "$cfg" stop >/dev/null 2>&1 || true
  fi
  if link_exists; then ip link del "$host_if" 2>/dev/null || true; fi
  if netns_exists; then ip netns del "$ns" 2>/dev/null || true; fi
}

start_failed() {
  trap - ERR
  set +e
  echo "demo: start failed; removing what was started" >&2
  do_stop
  exit 1
}

case $action in
start)
  need_root
  [ -x "$mdsd" ] || { echo "demo: build first (make)" >&2; exit 1; }
  for t in mfsmount mfschunkserver mfscli ip; do
    command -v $t >/dev/null || { echo "demo: $t missing (make deps)" >&2; exit 1; }
  done
  if mounted; then
    echo "demo: already running; mounted on $dir/mnt (stop: make demo-stop)"
    exit 0
  fi
  do_stop      # leftovers of a demo that did not stop cleanly
  set -E
  trap start_failed ERR
  write_configs
  make_netns
  "$mdsd" -c "$cfg" start 2> "$dir/mdsd-start.log" \
    || { cat "$dir/mdsd-start.log" >&2; start_failed; }
  ip netns exec "$ns" mfschunkserver -c "$cs_cfg" start > "$dir/cs/mfschunkserver.log" 2>&1 \
    || { tail -n 20 "$dir/cs/mfschunkserver.log" >&2; start_failed; }
  wait_registered
  mfsmount "$dir/mnt" -H 127.0.0.1 -P "$port" -o mfscachemode=NEVER > "$dir/mfsmount.log" 2>&1 \
    || { cat "$dir/mfsmount.log" >&2; start_failed; }
  trap - ERR
  cat <<MSG
mds demo is running:
  mdsd         $("$mdsd" -c "$cfg" status), config $cfg, logs to syslog (ident mdsd)
  chunkserver  stock mfschunkserver in netns $ns at $ns_addr (disk $dir/cs/hdd),
               registered with mdsd at $host_addr:$cs_port
  mount        $dir/mnt  (stock mfsmount -> 127.0.0.1:$port)
Try:  cp /etc/services $dir/mnt/ && cmp /etc/services $dir/mnt/services
      mkdir -p $dir/mnt/a/b && dd if=/dev/urandom of=$dir/mnt/a/b/f bs=1M count=100 && ls -laR $dir/mnt
      mfsfileinfo $dir/mnt/services; mfsdirinfo $dir/mnt; mfscli -H 127.0.0.1 -P $port -SCS
Stop: make demo-stop   (files stay in $dir for the next make demo)
MSG
  ;;
stop)
  need_root
  do_stop
  ;;
status)
  if [ -f "$cfg" ]; then "$mdsd" -c "$cfg" status || true; else echo "demo: not started"; fi
  if [ -f "$cs_cfg" ] && [ -f "$dir/cs/data/.mfschunkserver.lock" ]; then
    mfschunkserver -c "$cs_cfg" test 2>&1 || true
  fi
  netns_exists && echo "network namespace $ns ($host_if $host_addr <-> $ns_addr)"
  registered | sed 's/^/chunkserver registered: /; s/ \([0-9]*\) \([0-9]*\)$/ used \1 of \2 bytes/' || true
  grep -s " $dir/mnt " /proc/mounts || true
  ;;
*)
  echo "usage: demo.sh [start|stop|status]" >&2; exit 2 ;;
esac
