"""fsx: random writes, truncates and reads on a few files, checked byte by byte.

In the style of fsx (the file system exerciser): a seeded random sequence of
operations on a few files through stock mfsmounts backed by the master and
two stock chunkservers, with a reference copy of every file kept in memory.
Every read is compared with the reference; a single differing byte fails
the test with the operation number, the offset and size, the first
differing byte and the tail of the operation log (the whole log is written
to fsx-ops.log in the test's directory).

What is exercised:
  - writes of 1 byte to 1 MiB at aligned and unaligned offsets, past the end
    of the file (holes), and on one file across the 64 MiB chunk boundary;
  - truncates down (into a chunk, below a chunk boundary) and up (holes);
  - reads anywhere, past the end included; fstat sizes; fsync;
  - closing and reopening files (now and then with O_DIRECT and aligned
    buffers), a remount half way, and at the end a full comparison through
    fresh mounts, before and after the master is restarted;
  - three mounts with different data cache modes: NEVER (the harness
    default), DIRECT (direct I/O, no page cache) and AUTO (the page cache
    kept across opens when the master says the file did not change). Each
    file is used through one mount only, so no cross-client coherence is
    assumed.

Seed: MDS_FSX_SEED (default: random, printed with -s and in a failure's
captured output); number of operations: MDS_FSX_OPS (default 20000). The
operation log, with seconds since the start, is fsx-ops.log in the test's
directory. On this 2-core machine one run takes 1 to 2.5 minutes per
master kind (about half of it the 20000 operations; the rest mounts,
unmounts and the restart).
"""

import collections
import mmap
import os
import random
import subprocess
import time

import pytest

BOTH = pytest.mark.parametrize("master_kind", ["stock", "mdsd"], indirect=True)

KiB = 1 << 10
MiB = 1 << 20
CHUNK = 64 * MiB
BLOCK = 64 * KiB          # MooseFS block (the unit of a chunk's CRCs)
PAGE = 4096
OPS = int(os.environ.get("MDS_FSX_OPS", "20000"))
LOG_TAIL = 40

MOUNT_COMMON = (
    "mfsattrcacheto=0", "mfsentrycacheto=0", "mfsdirentrycacheto=0",
    "mfsnegentrycacheto=0", "mfstimeout=60", "mfsnice=0", "mfsallowoomkiller",
)
CACHE_MODES = ("NEVER", "DIRECT", "AUTO")


class Mismatch(AssertionError):
    pass


def first_difference(a, b):
    """Index of the first byte where a and b differ (or the shorter length)."""
    n, step, i = min(len(a), len(b)), 64 * KiB, 0
    while i < n and a[i:i + step] == b[i:i + step]:
        i += step
    while i < n and a[i] == b[i]:
        i += 1
    return i


class FileSpec:
    """One file: its mount, its size range and where operations land.

    `windows` are (start, end) byte ranges that offsets are drawn from, the
    last one up to `maxlen`; a file with a window around CHUNK gets writes,
    reads and truncates across the chunk boundary.
    """

    def __init__(self, name, mount_index, maxlen, windows):
        self.name = name
        self.mount_index = mount_index
        self.maxlen = maxlen
        self.windows = windows


FILES = (
    FileSpec("small", 0, 1 * MiB, [(0, 1 * MiB)]),
    FileSpec("medium", 0, 8 * MiB, [(0, 8 * MiB)]),
    FileSpec("boundary", 0, CHUNK + 3 * MiB,
             [(0, 2 * MiB), (CHUNK - 3 * MiB, CHUNK + 3 * MiB)]),
    FileSpec("direct", 1, 4 * MiB, [(0, 4 * MiB)]),
    FileSpec("auto", 2, 4 * MiB, [(0, 4 * MiB)]),
    FileSpec("auto-boundary", 2, CHUNK + 1 * MiB,
             [(0, 1 * MiB), (CHUNK - 1 * MiB, CHUNK + 1 * MiB)]),
)


class Fsx:
    def __init__(self, seed, mounts, log_path):
        self.seed = seed
        self.rng = random.Random(seed)
        self.t0 = time.monotonic()
        self.mounts = mounts
        self.log = collections.deque(maxlen=LOG_TAIL)
        self.log_file = open(log_path, "w")
        self.ref = {f.name: bytearray() for f in FILES}
        self.fds = {}
        self.direct = {}          # name -> True if the fd has O_DIRECT
        self.opno = 0
        self.counts = collections.Counter()
        self.odirect_ok = True
        self.abuf = mmap.mmap(-1, 2 * MiB + PAGE)   # page-aligned buffer

    # ---- bookkeeping -------------------------------------------------------

    def path(self, spec):
        return self.mounts[spec.mount_index].path / spec.name

    def note(self, text):
        line = f"{self.opno:6d} {text}"
        self.log.append(line)
        self.log_file.write(f"{time.monotonic() - self.t0:9.3f} {line}\n")

    def fail(self, what, spec, off, size, got, want):
        diff = first_difference(got, want)
        at = off + diff
        lo = max(0, diff - 8)
        self.log_file.flush()
        raise Mismatch(
            f"fsx (seed {self.seed}): {what} mismatch at op {self.opno} on "
            f"{spec.name}: "
            f"offset {off} size {size}: got {len(got)} bytes, want "
            f"{len(want)}; first difference at file offset {at} "
            f"(0x{at:x}, {at % CHUNK} into chunk {at // CHUNK}, "
            f"{at % BLOCK} into its 64 KiB block)\n"
            f"  got  [{off + lo}..]: {bytes(got[lo:diff + 8]).hex(' ')}\n"
            f"  want [{off + lo}..]: {bytes(want[lo:diff + 8]).hex(' ')}\n"
            f"  file length per reference: {len(self.ref[spec.name])}\n"
            f"last {len(self.log)} operations:\n  " + "\n  ".join(self.log))

    # ---- files -------------------------------------------------------------

    def open(self, spec, direct=False):
        flags = os.O_RDWR | os.O_CREAT
        if direct:
            flags |= os.O_DIRECT
        try:
            fd = os.open(self.path(spec), flags, 0o644)
        except OSError:
            if not direct:
                raise
            self.odirect_ok = False
            return self.open(spec)
        self.fds[spec.name] = fd
        self.direct[spec.name] = direct
        self.note(f"open {spec.name}{' O_DIRECT' if direct else ''}")

    def close(self, spec):
        fd = self.fds.pop(spec.name, None)
        if fd is not None:
            os.close(fd)
            self.note(f"close {spec.name}")

    def close_all(self):
        for spec in FILES:
            self.close(spec)

    def open_all(self):
        for spec in FILES:
            self.open(spec)

    # ---- operations --------------------------------------------------------

    def pick_offset(self, spec, size):
        lo, hi = self.rng.choice(spec.windows)
        hi = min(hi, spec.maxlen - size)
        off = self.rng.randrange(lo, max(lo + 1, hi))
        r = self.rng.random()
        if r < 0.15:
            off -= off % BLOCK
        elif r < 0.3:
            off -= off % PAGE
        return off

    def pick_size(self, limit):
        r = self.rng.random()
        if r < 0.35:
            n = self.rng.randint(1, 4 * KiB)
        elif r < 0.8:
            n = self.rng.randint(4 * KiB, 128 * KiB)
        else:
            n = self.rng.randint(128 * KiB, limit)
        if self.rng.random() < 0.2:
            n = max(PAGE, n - n % PAGE)
        return n

    def write(self, spec):
        fd, ref = self.fds[spec.name], self.ref[spec.name]
        direct = self.direct[spec.name]
        size = self.pick_size(1 * MiB)
        off = self.pick_offset(spec, size)
        if direct:
            off -= off % PAGE
            size = max(PAGE, size - size % PAGE)
        data = self.rng.randbytes(size)
        self.note(f"write {spec.name} off={off} size={size} "
                  f"end={off + size}{' (direct)' if direct else ''}"
                  f"{' crosses-chunk' if off // CHUNK != (off + size - 1) // CHUNK else ''}")
        if direct:
            self.abuf[:size] = data
            done = os.pwritev(fd, [memoryview(self.abuf)[:size]], off)
        else:
            done = 0
            while done < size:
                done += os.pwrite(fd, data[done:], off + done)
        if done != size:
            raise Mismatch(f"fsx (seed {self.seed}): op {self.opno}: short "
                           f"write on {spec.name}"
                           f" at {off}: {done} of {size}")
        if off > len(ref):
            ref.extend(bytes(off - len(ref)))
        ref[off:off + size] = data

    def read(self, spec):
        fd, ref = self.fds[spec.name], self.ref[spec.name]
        direct = self.direct[spec.name]
        size = self.pick_size(512 * KiB)
        if ref and self.rng.random() < 0.7:
            # mostly where the data is
            off = self.rng.randrange(0, len(ref))
            if spec.windows[1:] and self.rng.random() < 0.5:
                lo, hi = spec.windows[-1]
                if lo < len(ref):
                    off = self.rng.randrange(lo, min(hi, len(ref)))
        else:
            off = self.pick_offset(spec, size)
        if direct:
            off -= off % PAGE
            size = max(PAGE, size - size % PAGE)
        self.note(f"read {spec.name} off={off} size={size}"
                  f"{' (direct)' if direct else ''}")
        want = ref[off:off + size]
        if direct:
            n = os.preadv(fd, [memoryview(self.abuf)[:size]], off)
            got = self.abuf[:n]
        else:
            got = bytearray()
            while len(got) < size:
                part = os.pread(fd, size - len(got), off + len(got))
                if not part:
                    break
                got += part
        if got != want:
            self.fail("read", spec, off, size, got, want)

    def truncate(self, spec):
        fd, ref = self.fds[spec.name], self.ref[spec.name]
        r = self.rng.random()
        lo, hi = self.rng.choice(spec.windows)
        if r < 0.1:
            size = 0
        elif r < 0.3:
            size = self.rng.randrange(lo, hi + 1) // BLOCK * BLOCK
        else:
            size = self.rng.randrange(lo, hi + 1)
        how = "shrink" if size < len(ref) else "grow"
        self.note(f"truncate {spec.name} {len(ref)} -> {size} ({how})")
        if self.rng.random() < 0.5:
            os.ftruncate(fd, size)
        else:
            os.truncate(self.path(spec), size)
        if size < len(ref):
            del ref[size:]
        else:
            ref.extend(bytes(size - len(ref)))

    def check_size(self, spec):
        fd, ref = self.fds[spec.name], self.ref[spec.name]
        self.note(f"fstat {spec.name}")
        size = os.fstat(fd).st_size
        if size != len(ref):
            self.log_file.flush()
            raise Mismatch(
                f"fsx (seed {self.seed}): size mismatch at op {self.opno} "
                f"on {spec.name}: "
                f"st_size {size}, reference {len(ref)}\nlast operations:\n  "
                + "\n  ".join(self.log))

    def fsync(self, spec):
        self.note(f"fsync {spec.name}")
        os.fsync(self.fds[spec.name])

    def reopen(self, spec):
        self.close(spec)
        direct = self.odirect_ok and self.rng.random() < 0.25
        self.open(spec, direct=direct)

    def verify_all(self, what, mounts=None):
        """Compares every file as a whole, read through `mounts` (by path)."""
        mounts = mounts or self.mounts
        for spec in FILES:
            path = mounts[spec.mount_index].path / spec.name
            ref = self.ref[spec.name]
            self.note(f"verify {spec.name} ({what}) length {len(ref)}")
            with open(path, "rb") as f:
                got = f.read()
            if got != ref:
                self.fail(f"whole-file ({what})", spec, 0, len(ref), got, ref)

    # ---- the run -----------------------------------------------------------

    def step(self):
        spec = self.rng.choice(FILES)
        r = self.rng.random()
        if r < 0.45:
            op = self.write
        elif r < 0.80:
            op = self.read
        elif r < 0.88:
            op = self.truncate
        elif r < 0.92:
            op = self.check_size
        elif r < 0.94:
            op = self.fsync
        else:
            op = self.reopen
        self.counts[op.__name__] += 1
        try:
            op(spec)
        except OSError as e:
            self.log_file.flush()
            raise Mismatch(
                f"fsx (seed {self.seed}): op {self.opno} ({op.__name__} on "
                f"{spec.name}) failed: "
                f"{e}\nlast {len(self.log)} operations:\n  "
                + "\n  ".join(self.log)) from e


def mount_options(mode):
    return (f"mfscachemode={mode}",) + MOUNT_COMMON


def unmount_all(mounts):
    """Unmounts all at once: an mfsmount sometimes takes ~20 s to exit after
    its file system is unmounted (seen on a loaded machine), so all are told
    first and then waited for (Mount.unmount waits for its process)."""
    for m in mounts:
        if m.mounted:
            subprocess.run(["fusermount3", "-u", str(m.path)],
                           capture_output=True, timeout=30)
    for m in mounts:
        m.unmount()


def fresh_mounts(cluster):
    """New mounts of the cluster's master, one per cache mode (their own
    processes, nothing cached), for the final comparisons."""
    return [cluster.add_mount(options=mount_options(mode))
            for mode in CACHE_MODES]


@BOTH
@pytest.mark.deadline(900)
@pytest.mark.cluster(chunkservers=2, mounts=0)
def test_fsx_random_operations_read_back_exactly(cluster, work_dir):
    seed = int(os.environ.get("MDS_FSX_SEED", str(random.randrange(1 << 32))))
    print(f"fsx: seed {seed} (MDS_FSX_SEED={seed} repeats this run), "
          f"{OPS} operations")
    mounts = [cluster.add_mount(options=mount_options(mode))
              for mode in CACHE_MODES]
    fsx = Fsx(seed, mounts, work_dir / "fsx-ops.log")
    t0 = time.monotonic()
    try:
        fsx.open_all()
        for fsx.opno in range(1, OPS + 1):
            fsx.step()
            if fsx.opno == OPS // 2:
                # half way: close everything, remount, check every byte
                fsx.close_all()
                unmount_all(mounts)
                for m in mounts:
                    m.start()
                fsx.verify_all("after remount")
                fsx.open_all()
        fsx.close_all()
        ran = time.monotonic() - t0
        fsx.opno = OPS + 1
        fsx.verify_all("end, same mounts")
        fsx.verify_all("end, fresh mounts", fresh_mounts(cluster))

        # the master restarted: what it knows about chunks must still hold
        unmount_all(cluster.mounts)
        fsx.note("unmounted all")
        cluster.master.restart()
        fsx.note("master restarted")
        cluster.wait_chunkservers()
        fsx.note("chunkservers registered")
        fsx.opno = OPS + 2
        fsx.verify_all("after master restart", fresh_mounts(cluster))
        unmount_all(cluster.mounts)
    finally:
        for fd in fsx.fds.values():      # after a failure: unmountable
            try:
                os.close(fd)
            except OSError:
                pass
        fsx.log_file.close()
    print(f"fsx: {OPS} operations in {ran:.1f}s: {dict(fsx.counts)}; "
          f"O_DIRECT {'used' if fsx.odirect_ok else 'refused by the mount'}")
