"""python3 -m mfsharness sweep: clean up after test runs that died.

Removes the mounts, processes, namespaces and claims recorded by pytest
processes that no longer exist (the same sweep every session starts with).
Runs of live pytest processes are left alone.
"""

import sys

from .ledger import sweep_dead_runs


def main(argv):
    if argv != ["sweep"]:
        sys.stderr.write("usage: python3 -m mfsharness sweep\n")
        return 2
    for line in sweep_dead_runs():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
