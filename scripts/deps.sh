#!/usr/bin/env bash
# scripts/deps.sh - installs every Debian package mds builds and tests with.
#
# Idempotent and quiet when everything is present. libraft-dev must be 0.22
# from bookworm-backports (0.15 in bookworm main can lose committed entries);
# the backports source reuses the mirror address the machine's apt sources
# already name, so no host is written into the project.
set -euo pipefail

PKGS=(
  build-essential pkg-config make gcc
  libuv1-dev liblmdb-dev lmdb-utils libssl-dev libcmocka-dev libjansson-dev zlib1g-dev
  python3-pytest fuse3 iproute2 procps psmisc acl
  moosefs-master moosefs-chunkserver moosefs-client moosefs-cli
  b3sum clang-14 libclang-rt-14-dev bonnie++
)
BACKPORTS_PKGS=(libraft-dev)
RAFT_MIN="0.22"

if [ "$(id -u)" != 0 ]; then
  echo "deps: must run as root (apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

raft_ok=0
if v=$(dpkg-query -W -f='${Version}' libraft-dev 2>/dev/null); then
  dpkg --compare-versions "$v" ge "$RAFT_MIN" && raft_ok=1
fi

[ ${#missing[@]} -eq 0 ] && [ $raft_ok = 1 ] && exit 0

# Find the Debian mirror the machine already uses for bookworm main.
mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  mirror=$(awk '
    /^URIs:/   { uri=$2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") found=1 }
    /^$/       { if (found && uri != "") { print uri; exit } uri=""; found=0 }
    END        { if (found && uri != "") print uri }' "$f" | head -n1)
  [ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
fi

bp=/etc/apt/sources.list.d/mds-bookworm-backports.list
if [ $raft_ok = 0 ] && [ ! -f "$bp" ] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  if [ -z "$mirror" ]; then
    echo "deps: cannot find the bookworm mirror in /etc/apt/sources*, add bookworm-backports by hand" >&2
    exit 1
  fi
  echo "deps: enabling bookworm-backports from $mirror"
  echo "deb $mirror bookworm-backports main" > "$bp"
fi

echo "deps: installing ${missing[*]} ${BACKPORTS_PKGS[*]}"
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ $raft_ok = 0 ]; then
  apt-get install -y -qq --no-install-recommends -t bookworm-backports "${BACKPORTS_PKGS[@]}" >/dev/null
fi
v=$(dpkg-query -W -f='${Version}' libraft-dev)
if ! dpkg --compare-versions "$v" ge "$RAFT_MIN"; then
  echo "deps: libraft-dev $v installed, need >= $RAFT_MIN (bookworm-backports)" >&2
  exit 1
fi
# The stock daemons are started by the tests, never by the packages.
for s in moosefs-master moosefs-chunkserver moosefs-metalogger moosefs-cgiserv; do
  systemctl disable --now "$s" >/dev/null 2>&1 || true
done
echo "deps: done (libraft-dev $v)"
