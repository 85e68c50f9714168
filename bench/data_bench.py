#!/usr/bin/env python3
"""Sequential write and read MB/s through a stock mfsmount, per master kind.

    PYTHONPATH=tests/integration data_bench.py [--size MIB] [--rounds N]
                                               [--kinds stock,mdsd]

For each master kind (stock mfsmaster, mdsd) the integration harness
(mfsharness) brings up the master, one stock mfschunkserver in a network
namespace and a stock mfsmount with mfsmount's default caching; all of them
run for the whole measurement, the kinds are measured alternately.

write: a new file, SIZE MiB written in 1 MiB write()s of random data (one
       random MiB, its first 8 bytes changed per write), fsync()ed and
       closed before the clock stops (as dd bs=1M conv=fsync);
read:  the file read back in 1 MiB read()s after the mount is remounted
       (mfsmount's caches gone) and the page cache is dropped
       (echo 3 > /proc/sys/vm/drop_caches), so the chunkserver reads its disk.

Prints "<phase> <kind> <MB/s>" per round (MB = 10^6 bytes) and, at the
end, one line per phase and kind with the best round: "best <phase> <kind>
<MB/s>", or "best <phase> <kind> failed <reason>". Not a test: a measurement.
Everything it started is stopped and removed at the end (the harness's
teardown; its atexit hook if interrupted).
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from mfsharness import Cluster, Harness
from mfsharness.cluster import MASTER_KINDS

MiB = 1 << 20
MOUNT_OPTIONS = ("mfstimeout=60", "mfsnice=0", "mfsallowoomkiller")


def drop_caches():
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def write_file(path, size_mib):
    block = bytearray(os.urandom(MiB))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        t0 = time.perf_counter()
        for i in range(size_mib):
            block[:8] = i.to_bytes(8, "little")
            done = 0
            while done < MiB:
                done += os.write(fd, memoryview(block)[done:])
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - t0


def read_file(path, size_mib):
    total = 0
    fd = os.open(path, os.O_RDONLY)
    try:
        t0 = time.perf_counter()
        while True:
            part = os.read(fd, MiB)
            if not part:
                break
            total += len(part)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - t0
    if total != size_mib * MiB:
        raise RuntimeError(f"read {total} bytes, wrote {size_mib * MiB}")
    return elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=1024, help="MiB per file")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--kinds", default="stock,mdsd")
    args = ap.parse_args()
    kinds = args.kinds.split(",")
    for kind in kinds:
        reason = MASTER_KINDS[kind].available()
        if reason:
            sys.exit(f"data_bench: {kind} unavailable: {reason}")

    work = Path(tempfile.mkdtemp(prefix="mds-databench."))
    harnesses, clusters = {}, {}
    best, failed = {}, {}
    try:
        for kind in kinds:
            h = Harness(work / kind, f"databench-{kind}")
            harnesses[kind] = h
            clusters[kind] = Cluster(h, master_kind=kind, chunkservers=1,
                                     mounts=1, mount_options=MOUNT_OPTIONS
                                     ).start()
        mb = args.size * MiB / 1e6
        for rnd in range(args.rounds):
            for kind in kinds:
                mount = clusters[kind].mount
                path = mount.path / f"seq{rnd}"
                for phase in ("write", "read"):
                    if (phase, kind) in failed:
                        continue
                    try:
                        if phase == "write":
                            secs = write_file(path, args.size)
                        else:
                            mount.remount()
                            drop_caches()
                            secs = read_file(mount.path / path.name,
                                             args.size)
                    except Exception as e:   # report it, measure the rest
                        failed[(phase, kind)] = f"{type(e).__name__}: {e}"
                        if phase == "write":
                            failed[("read", kind)] = "no file written"
                        print(f"{phase} {kind} failed {failed[(phase, kind)]}",
                              flush=True)
                        break
                    rate = mb / secs
                    best[(phase, kind)] = max(best.get((phase, kind), 0),
                                              rate)
                    print(f"{phase} {kind} {rate:.1f}", flush=True)
                if (("read", kind) not in failed
                        and os.path.exists(mount.path / path.name)):
                    os.unlink(mount.path / path.name)
    finally:
        for h in harnesses.values():
            h.teardown()
        shutil.rmtree(work, ignore_errors=True)
    for phase in ("write", "read"):
        for kind in kinds:
            if (phase, kind) in best:
                print(f"best {phase} {kind} {best[(phase, kind)]:.1f}")
            else:
                print(f"best {phase} {kind} failed "
                      f"{failed.get((phase, kind), 'not measured')}")


if __name__ == "__main__":
    main()
