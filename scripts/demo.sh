#!/usr/bin/env bash
# scripts/demo.sh - starts a local mds cluster with a stock mfsmount on it.
#
# The metadata service is not built yet (it arrives with the client
# protocol work), so there is nothing to start. Say so plainly.
set -euo pipefail
cd "$(dirname "$0")/.."
cat <<'MSG'
make demo: nothing to run yet.

mdsd does not serve metadata yet; when it does, this target will start one
mdsd, a stock mfschunkserver in a network namespace and a stock mfsmount,
and print the mountpoint. Today you can:
  make test                 build, run unit, fuzz and integration tests
  build/mdsd -h             the configuration keys mdsd accepts
  build/mdsd -c FILE test   check an mdsd.cfg / mfsmaster.cfg
MSG
