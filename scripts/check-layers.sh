#!/usr/bin/env bash
# scripts/check-layers.sh - a layer includes only its own and lower layers.
#
# Layers, lowest first, as in DESIGN.md. Prints each offending include and
# exits non-zero if there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
layers=(base proto meta consensus shard sync gossip server ctl)
rank() { local i; for i in "${!layers[@]}"; do [ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }; done; echo -1; }

bad=0
for l in "${layers[@]}"; do
  me=$(rank "$l")
  for f in src/"$l"/*.[ch]; do
    [ -e "$f" ] || continue
    while IFS= read -r inc; do
      dep=${inc%%/*}
      r=$(rank "$dep")
      if [ "$r" -lt 0 ]; then
        echo "layers: $f includes \"$inc\": no such layer"; bad=1
      elif [ "$r" -gt "$me" ]; then
        echo "layers: $f ($l) includes \"$inc\" from the higher layer $dep"; bad=1
      fi
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\/[^"]*\)".*/\1/p' "$f")
  done
done
[ $bad = 0 ] && echo "layers: ok"
exit $bad
