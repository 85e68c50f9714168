#!/usr/bin/env python3
"""Creates, stats and removes empty files through a mount, from N threads.

    mount_creates.py DIR THREADS FILES_PER_THREAD

Prints one line per phase: "<phase> <ops/s>". Each thread works in its own
subdirectory of DIR (created here). Not a test: a measurement.
"""
import os
import sys
import threading
import time


def run(phase, nthreads, fn):
    threads = [threading.Thread(target=fn, args=(t,)) for t in range(nthreads)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def main():
    root, nthreads, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    dirs = [os.path.join(root, f"t{t}") for t in range(nthreads)]
    for d in dirs:
        os.mkdir(d)

    def create(t):
        for i in range(per):
            os.close(os.open(f"{dirs[t]}/f{i}", os.O_CREAT | os.O_WRONLY, 0o644))

    def stat(t):
        for i in range(per):
            os.stat(f"{dirs[t]}/f{i}")

    def unlink(t):
        for i in range(per):
            os.unlink(f"{dirs[t]}/f{i}")

    n = nthreads * per
    for name, fn in (("create", create), ("stat", stat), ("unlink", unlink)):
        print(f"{name} {n / run(name, nthreads, fn):.0f}", flush=True)


if __name__ == "__main__":
    main()
