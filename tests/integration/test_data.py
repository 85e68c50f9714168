"""File data through stock mfsmount and stock mfschunkserver processes,
against the stock mfsmaster and mds with the same expectations
(differential).

What is written through a mount must come back byte for byte, and it must
come back from the chunkservers: reads go through a second mount (another
session, so nothing from the writer's caches), after a remount (a fresh
mfsmount process, empty kernel caches), and every mount runs with
mfscachemode=NEVER (the harness default). Content comes from seeded RNGs,
so a failure names the file and the seed; comparisons are SHA-256.

The stock master's background work is made test-sized by its config
(MASTER_CONFIG): the chunk loop starts at once instead of after 60 s and
passes over every chunk once a minute (the smallest pass it allows), so
deletions and replications happen within a minute or two. mds accepts the
same keys. Timeouts below are generous because the stock master is slow
at this, not because mds may be.

A stock mfsmount keeps a file it opened acquired for its whole session
(the master shows it in the meta mount's "sustained" folder after an
unlink), so tests that expect an unlinked file's chunks to go unlink files
that the unlinking mount never opened, written by a mount that has ended.
"""

import hashlib
import os
import random
import re
import subprocess
import threading
import time

import pytest

from mfsharness import Mount

BOTH = pytest.mark.parametrize("master_kind", ["stock", "mdsd"], indirect=True)

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30
CHUNK = 64 * MiB

MASTER_CONFIG = {
    "REPLICATIONS_DELAY_INIT": 0,     # chunk loop from the start (default 60 s)
    "CHUNKS_LOOP_MIN_TIME": 60,       # one pass a minute (default 300 s)
}

TOOL_TIMEOUT = 60


# ---- data -------------------------------------------------------------------------

def content(seed, size):
    """`size` bytes from a RNG seeded with `seed`."""
    return random.Random(seed).randbytes(size)


def pieces(seed, size, piece=4 * MiB):
    """content(seed, size) in pieces (the same bytes), for large files."""
    rng = random.Random(seed)
    done = 0
    while done < size:
        n = min(piece, size - done)
        yield rng.randbytes(n)
        done += n


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(4 * MiB)
            if not b:
                return h.hexdigest()
            h.update(b)


def write_file(path, chunks_of_data):
    """Writes, fsyncs and closes; returns (size, sha256) of what was written."""
    h = hashlib.sha256()
    size = 0
    with open(path, "wb") as f:
        for b in chunks_of_data:
            f.write(b)
            h.update(b)
            size += len(b)
        f.flush()
        os.fsync(f.fileno())
    return size, h.hexdigest()


def first_difference(a, b):
    """(offset, 16 bytes of a, 16 bytes of b) where files a and b first
    differ, or None."""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        offset = 0
        while True:
            x, y = fa.read(MiB), fb.read(MiB)
            if x != y:
                i = next((i for i in range(min(len(x), len(y))) if x[i] != y[i]),
                         min(len(x), len(y)))
                return (offset + i, x[i:i + 16].hex(), y[i:i + 16].hex())
            if not x:
                return None
            offset += len(x)


def chunks_for(size):
    return (size + CHUNK - 1) // CHUNK


# ---- what the MooseFS tools show ---------------------------------------------------

def tool(*argv):
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                       timeout=TOOL_TIMEOUT)
    assert r.returncode == 0, \
        f"`{' '.join(map(str, argv))}` failed ({r.returncode}): {r.stderr}{r.stdout}"
    return r.stdout


CHUNK_LINE = re.compile(r"^\tchunk (\d+): ([0-9A-F]{16})_([0-9A-F]{8}) ")
COPY_LINE = re.compile(r"^\t\tcopy \d+: ([\d.]+):(\d+) \(status:([A-Z ]+)\)")


def file_chunks(path):
    """`mfsfileinfo path` as {chunk index: (chunk id, version,
    [(ip, port, status), ...])}."""
    found = {}
    current = None
    for line in tool("mfsfileinfo", path).splitlines():
        m = CHUNK_LINE.match(line)
        if m:
            current = int(m.group(1))
            found[current] = (int(m.group(2), 16), int(m.group(3), 16), [])
            continue
        m = COPY_LINE.match(line)
        if m and current is not None:
            found[current][2].append((m.group(1), int(m.group(2)), m.group(3)))
    return found


def valid_copies(path):
    """{chunk index: sorted [(ip, port)] of its VALID copies} of a file."""
    return {i: sorted((ip, port) for ip, port, st in cps if st == "VALID")
            for i, (_, _, cps) in file_chunks(path).items()}


def checkfile(path):
    """`mfscheckfile path` as {number of copies: number of chunks}."""
    out = {}
    for line in tool("mfscheckfile", path).splitlines():
        m = re.match(r"^\s*chunks with (\d+) cop(?:y|ies):\s+(\d+)$", line)
        if m:
            out[int(m.group(1))] = int(m.group(2))
        elif re.match(r"^\s*chunks with no copies:\s+(\d+)$", line):
            out[0] = int(line.split()[-1])
    return out


def listed_chunks(master):
    """{(ip, port): chunks} from `mfscli -SCS` (what the chunkservers report)."""
    return {(c.ip, c.port): c.chunks for c in master.chunkservers()}


def eventually(what, probe, ok, timeout, interval=1.0):
    """Polls probe() until ok(value); returns the value, or fails with the
    last value seen."""
    deadline = time.monotonic() + timeout
    start = time.monotonic()
    while True:
        value = probe()
        if ok(value):
            return value, time.monotonic() - start
        if time.monotonic() >= deadline:
            raise AssertionError(f"after {timeout:g} s still not {what}; "
                                 f"last seen: {value!r}")
        time.sleep(interval)


def setgoal(path, goal):
    out = tool("mfssetgoal", "-r", goal, path)
    assert "goal" in out or str(goal) in out, out


def settrashtime(path, seconds):
    tool("mfssettrashtime", "-r", seconds, path)


def tree_digest(root):
    """{relative path: (size, sha256)} of every regular file under root."""
    found = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            found[os.path.relpath(p, root)] = (os.path.getsize(p), sha256_of(p))
    return found


# ---- 1. sizes around block and chunk boundaries --------------------------------------

SIZES = {
    "empty": 0,
    "one_byte": 1,
    "block_minus_one": 64 * KiB - 1,
    "block_plus_one": 64 * KiB + 1,
    "chunk_plus_one": CHUNK + 1,
}


@BOTH
@pytest.mark.deadline(300)
@pytest.mark.cluster(chunkservers=1, mounts=2, master_config=MASTER_CONFIG)
def test_files_at_block_and_chunk_boundaries_read_back_from_the_chunkserver(cluster):
    writer, reader = cluster.mounts
    cs = cluster.chunkservers[0]
    (writer / "sizes").mkdir()
    want = {}
    for seed, (name, size) in enumerate(SIZES.items(), start=1):
        want[name] = write_file(writer / "sizes" / name, pieces(seed, size))
        assert want[name][0] == size

    def read_back(mount, when):
        got = {name: (os.path.getsize(mount / "sizes" / name),
                      sha256_of(mount / "sizes" / name)) for name in SIZES}
        bad = {n: (got[n], want[n]) for n in SIZES if got[n] != want[n]}
        assert not bad, f"{when}: (size, sha256) read != written: {bad}"

    read_back(reader, "through a second mount")
    writer.remount()
    read_back(writer, "after a remount of the writer")

    # Where the data is: one chunk per started 64 MiB, each with its one
    # copy on the one chunkserver, and that many chunk files on its disk.
    for name, size in SIZES.items():
        chunks = file_chunks(reader / "sizes" / name)
        assert sorted(chunks) == list(range(chunks_for(size))), \
            f"{name} ({size} B): chunk indexes {sorted(chunks)}"
        for index, (chunkid, version, cps) in chunks.items():
            assert chunkid != 0 and version >= 1, (name, index, chunkid, version)
            assert [(ip, port, st) for ip, port, st in cps] == \
                [(*cs.address, "VALID")], f"{name} chunk {index}: copies {cps}"
    total = sum(chunks_for(s) for s in SIZES.values())
    assert len(cs.chunk_files()) == total, \
        f"expected {total} chunk files on {cs.name}, found {cs.chunk_files()}"
    eventually(f"{total} chunks listed for {cs.address} by mfscli -SCS",
               lambda: listed_chunks(cluster.master),
               lambda v: v.get(cs.address) == total, timeout=30)


# ---- 2. a mixed tree of 1 GiB -----------------------------------------------------

TREE_SEED = 20240601
TREE_TOTAL = GiB


def tree_layout(seed=TREE_SEED, total=TREE_TOTAL):
    """[(relative path, size, seed)]: 1200 small files (0 - 32 KiB) in 24
    directories, 40 medium ones (256 KiB - 4 MiB), and large ones (30 - 200
    MiB, chunk-unaligned) making up the rest of `total` bytes."""
    rng = random.Random(seed)
    files = []
    for i in range(1200):
        files.append((f"small/d{i % 24:02d}/f{i:04d}", rng.randrange(0, 32 * KiB + 1)))
    for i in range(40):
        files.append((f"medium/m{i:02d}", rng.randrange(256 * KiB, 4 * MiB)))
    left = total - sum(size for _, size in files)
    i = 0
    while left > 0:
        size = min(left, rng.randrange(30 * MiB, 200 * MiB))
        files.append((f"large/l{i:02d}", size))
        left -= size
        i += 1
    return [(path, size, seed * 100000 + n) for n, (path, size) in enumerate(files)]


@BOTH
@pytest.mark.deadline(420)
@pytest.mark.cluster(chunkservers=1, mounts=1, master_config=MASTER_CONFIG)
def test_a_mixed_tree_of_one_gib_reads_back_identically(cluster):
    mount = cluster.mount
    layout = tree_layout()
    assert sum(size for _, size, _ in layout) == TREE_TOTAL
    want = {}
    started = time.monotonic()
    for path, size, seed in layout:
        target = mount / "tree" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        want[path] = write_file(target, pieces(seed, size))
    wrote = time.monotonic() - started

    mount.remount()
    started = time.monotonic()
    got = tree_digest(mount / "tree")
    read = time.monotonic() - started
    print(f"1 GiB tree ({len(layout)} files): wrote in {wrote:.1f} s, "
          f"read back in {read:.1f} s")
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    bad = sorted(p for p in set(want) & set(got) if got[p] != want[p])
    assert not missing and not extra and not bad, \
        f"missing {missing[:10]}, unexpected {extra[:10]}, " \
        f"different (size, sha256) {[(p, got[p], want[p]) for p in bad[:10]]}"
    stored = sum(f.stat().st_size for f in cluster.chunkservers[0].chunk_files())
    assert stored >= TREE_TOTAL, f"chunk files hold {stored} bytes < {TREE_TOTAL}"


# ---- 3. truncate, overwrite, append ------------------------------------------------

def _pwrite(path, offset, data):
    fd = os.open(path, os.O_WRONLY)
    try:
        assert os.pwrite(fd, data, offset) == len(data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _append(path, data):
    with open(path, "ab") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


TRUNCATE_STEPS = [
    ("write 3 MiB + 5", "write", 0, 3 * MiB + 5),
    ("truncate down within the chunk", "truncate", 1 * MiB + 123),
    ("truncate up within the chunk", "truncate", 2 * MiB + 7),
    ("overwrite in the middle", "write", 500000, 100000),
    ("truncate up across the chunk boundary", "truncate", CHUNK + 100 * KiB),
    ("write into the second chunk (was a hole)", "write", CHUNK + 50 * KiB, 4096),
    ("append 1 MiB + 3", "append", 1 * MiB + 3),
    ("overwrite across the chunk boundary", "write", CHUNK - 1000, 5000),
    ("truncate down across the chunk boundary", "truncate", CHUNK - 10),
    ("truncate up to the chunk boundary", "truncate", CHUNK),
    ("append 2 MiB (a new chunk)", "append", 2 * MiB),
    ("truncate up over two chunk boundaries", "truncate", 2 * CHUNK + 2 * MiB),
    ("write into the third chunk", "write", 2 * CHUNK + 1 * MiB, 1000),
    ("overwrite the first block", "write", 0, 64 * KiB),
    ("truncate to 0", "truncate", 0),
    ("append 70000 bytes", "append", 70000),
    ("truncate down within the block", "truncate", 777),
]


@BOTH
@pytest.mark.deadline(300)
@pytest.mark.cluster(chunkservers=1, mounts=2, master_config=MASTER_CONFIG)
def test_truncate_overwrite_and_append_match_a_local_reference(cluster, work_dir):
    writer, reader = cluster.mounts
    path = writer / "f"
    ref = work_dir / "reference"
    path.touch()
    ref.touch()
    for n, (what, op, *args) in enumerate(TRUNCATE_STEPS):
        if op == "write":
            offset, size = args
            data = content(1000 + n, size)
            for p in (path, ref):
                _pwrite(p, offset, data)
        elif op == "append":
            data = content(1000 + n, args[0])
            for p in (path, ref):
                _append(p, data)
        else:
            for p in (path, ref):
                os.truncate(p, args[0])
        want = (os.path.getsize(ref), sha256_of(ref))
        got = (os.path.getsize(reader / "f"), sha256_of(reader / "f"))
        assert got == want, \
            f"step {n} ({what}): second mount reads (size, sha256) {got}, " \
            f"reference {want}; first difference (offset, read, reference): " \
            f"{first_difference(reader / 'f', ref)}"
    writer.remount()
    got = (os.path.getsize(path), sha256_of(path))
    assert got == want, f"after a remount: {got}, reference {want}"
    assert (path.read_bytes()) == ref.read_bytes()
    chunks = file_chunks(path)
    assert sorted(chunks) == [0], f"a 777-byte file has chunks {sorted(chunks)}"


# ---- 4. unlink frees the chunks ----------------------------------------------------

@BOTH
@pytest.mark.deadline(600)
@pytest.mark.cluster(chunkservers=1, mounts=1, master_config=MASTER_CONFIG)
def test_unlink_frees_the_chunks_on_the_chunkserver(cluster, harness):
    cs = cluster.chunkservers[0]
    mount = cluster.mount
    (mount / "d").mkdir()
    settrashtime(mount / "d", 0)      # unlink deletes, no trash
    files = {"big": CHUNK + 1, "two_chunks": CHUNK + 64 * KiB,
             "s1": 1, "s2": 100 * KiB, "keep": 3 * MiB}
    # Written by a mount that then ends, so no live session holds them open.
    writer = Mount(harness, cluster.master).start()
    want = {n: write_file(writer / "d" / n, pieces(500 + i, size))
            for i, (n, size) in enumerate(files.items())}
    writer.unmount()
    total = sum(chunks_for(s) for s in files.values())
    assert len(cs.chunk_files()) == total, cs.chunk_files()
    eventually(f"mfscli -SCS to list {total} chunks",
               lambda: listed_chunks(cluster.master),
               lambda v: v.get(cs.address) == total, timeout=30)
    keep_chunks = file_chunks(mount / "d" / "keep")

    for n in files:
        if n != "keep":
            os.unlink(mount / "d" / n)
    left = chunks_for(files["keep"])
    (_, took) = eventually(
        f"the chunk files of the unlinked files ({total - left} of {total}) "
        f"to be deleted from {cs.name}",
        lambda: [f.name for f in cs.chunk_files()],
        lambda v: len(v) <= left, timeout=500, interval=2)
    print(f"unlinked chunks deleted after {took:.0f} s")
    names = [f.name for f in cs.chunk_files()]
    ids = sorted(int(n.split("_")[1], 16) for n in names)
    assert ids == sorted(c[0] for c in keep_chunks.values()), \
        f"left on disk {names}, the kept file has {keep_chunks}"
    eventually(f"mfscli -SCS to list {left} chunks",
               lambda: listed_chunks(cluster.master),
               lambda v: v.get(cs.address) == left, timeout=30)
    assert (os.path.getsize(mount / "d" / "keep"),
            sha256_of(mount / "d" / "keep")) == want["keep"]
    assert sorted(os.listdir(mount / "d")) == ["keep"]


# ---- 5. goal 2: two copies, and a lost copy is replaced ------------------------------

@BOTH
@pytest.mark.deadline(480)
@pytest.mark.cluster(chunkservers=2, mounts=1, master_config=MASTER_CONFIG)
def test_goal_two_keeps_two_copies_and_a_lost_server_is_replaced(cluster):
    mount = cluster.mount
    first, second = cluster.chunkservers
    (mount / "g").mkdir()
    setgoal(mount / "g", 2)
    files = {"big": CHUNK + 1, "small": 1000, "medium": 5 * MiB}
    want = {n: write_file(mount / "g" / n, pieces(700 + i, size))
            for i, (n, size) in enumerate(files.items())}
    total = sum(chunks_for(s) for s in files.values())
    both = sorted([first.address, second.address])
    for n, size in files.items():
        copies = valid_copies(mount / "g" / n)
        assert copies == {i: both for i in range(chunks_for(size))}, \
            f"{n}: VALID copies per chunk {copies}, expected {both} each"
        assert checkfile(mount / "g" / n) == {2: chunks_for(size)}, \
            tool("mfscheckfile", mount / "g" / n)
    for cs in (first, second):
        assert len(cs.chunk_files()) == total, (cs.name, cs.chunk_files())

    first.kill()           # a crash: the master re-replicates at once
    third = cluster.add_chunkserver()
    now = sorted([second.address, third.address])

    def state():
        return {n: valid_copies(mount / "g" / n) for n in files}

    goal = {n: {i: now for i in range(chunks_for(s))} for n, s in files.items()}
    (_, took) = eventually("every chunk to have VALID copies on the second and "
                           f"the third chunkserver {now}", state,
                           lambda v: v == goal, timeout=360, interval=2)
    print(f"goal 2 restored after {took:.0f} s")
    for n, size in files.items():
        assert checkfile(mount / "g" / n) == {2: chunks_for(size)}
    assert len(third.chunk_files()) == total, third.chunk_files()

    # The new copies hold the data: read with only the third server left.
    second.kill()
    # Read once the master has noticed: a mount handed the dead server's
    # copy before that may give up on it (EIO; seen once on the stock
    # master in CI).
    only = {n: {i: [third.address] for i in range(chunks_for(s))}
            for n, s in files.items()}
    eventually(f"the copies listed only on the third chunkserver {third.address}",
               state, lambda v: v == only, timeout=120, interval=1)
    mount.remount()
    got = {n: (os.path.getsize(mount / "g" / n), sha256_of(mount / "g" / n))
           for n in files}
    assert got == want, f"read from the replicated copies: {got}, wrote {want}"


# ---- 6. a chunkserver restarted during writes -----------------------------------------

class Writer(threading.Thread):
    """Writes files one after another until stopped; records for each
    whether every write, fsync and close succeeded."""

    def __init__(self, directory, seed):
        super().__init__(daemon=True)
        self.directory = directory
        self.rng = random.Random(seed)
        self.results = {}          # name -> (size, sha256) or the exception
        self.stop = threading.Event()
        self.started_files = 0

    def run(self):
        n = 0
        while not self.stop.is_set():
            name = f"w{n:04d}"
            size = self.rng.randrange(1 * MiB, 6 * MiB)
            seed = self.rng.randrange(1 << 30)
            self.started_files = n + 1
            try:
                self.results[name] = write_file(self.directory / name,
                                                pieces(seed, size, 256 * KiB))
            except OSError as e:
                self.results[name] = e
            n += 1

    def done(self):
        return len(self.results)

    def wait_files(self, count, timeout):
        target = self.done() + count
        end = time.monotonic() + timeout
        while self.done() < target:
            assert self.is_alive(), "writer thread died"
            assert time.monotonic() < end, \
                f"writer finished {self.done()} files, waited for {target}"
            time.sleep(0.1)


@BOTH
@pytest.mark.deadline(600)
@pytest.mark.cluster(chunkservers=2, mounts=1, master_config=MASTER_CONFIG)
def test_a_chunkserver_restarted_during_writes_corrupts_nothing(cluster):
    mount = cluster.mount
    first, second = cluster.chunkservers
    (mount / "w").mkdir()
    setgoal(mount / "w", 2)
    writer = Writer(mount / "w", seed=6006)
    writer.start()
    try:
        writer.wait_files(3, timeout=120)
        second.restart()                   # graceful: stop, start, register
        writer.wait_files(3, timeout=180)
        second.kill()                      # a crash in the middle of a write
        second.start()
        second.wait_registered()
        writer.wait_files(3, timeout=180)
    finally:
        writer.stop.set()
        writer.join(timeout=300)
    assert not writer.is_alive(), "the writer is stuck"

    ok = {n: r for n, r in writer.results.items() if not isinstance(r, Exception)}
    failed = {n: r for n, r in writer.results.items() if isinstance(r, Exception)}
    print(f"{len(ok)} files written, {len(failed)} writes reported errors: {failed}")
    assert len(ok) >= 6, f"only {len(ok)} files written without error: {failed}"

    def check(when):
        bad = {}
        for n, w in ok.items():
            p = mount / "w" / n
            got = (os.path.getsize(p), sha256_of(p))
            if got != w:
                bad[n] = (got, w)
        assert not bad, f"{when}: files whose write succeeded read back " \
                        f"different (size, sha256): {bad}"

    mount.remount()
    check("after the restarts")

    # Once the master has both copies valid again, each copy must hold the
    # data: read with only the restarted server left.
    both = sorted([first.address, second.address])

    def undergoal():
        out = {}
        for n in ok:
            c = valid_copies(mount / "w" / n)
            if any(v != both for v in c.values()):
                out[n] = c
        return out
    (_, took) = eventually("every chunk of the written files to have VALID "
                           f"copies on both chunkservers {both}", undergoal,
                           lambda v: not v, timeout=300, interval=2)
    print(f"both copies valid after {took:.0f} s")
    first.kill()
    mount.remount()
    check("read from the restarted chunkserver alone")
