"""Chunkservers that misbehave while file data flows through them: against
the stock mfsmaster and against mds with the same expectations
(differential), each test run on both masters.

1. Malformed chunkserver packets. A chunkserver played by the test
   (mfsharness.cs_script, driven here by a thread that keeps the link alive
   and answers the master's chunk operations) registers next to a stock
   chunkserver and then answers one operation with a frame of the wrong
   length (CREATE, SET_VERSION, DELETE, REPLICATE replies), or sends a
   truncated CHUNK_NEW, an oversize length header, an unknown type. The
   master must close that link only, stay up, keep serving a stock mount
   through the stock chunkserver (files written before and after read back
   correctly, the write that was in flight too), and keep its metadata
   (same files and contents after a master restart; for mds also the same
   `mdsctl digest` of DATA_PATH across a restart). Replies to operations
   never sent and statuses out of range are not framing errors: the master
   may ignore them or close the link, but must not take them as copies
   (except an unsolicited successful REPLICATE reply, which the stock
   master records as a rebalance copy: not sent here).
   The mds log must name the closed link; the stock master logs to syslog,
   so its log is not checked.
2. A stock chunkserver killed (SIGKILL) while a 200 MiB file is written
   through the mount with fsyncs, goal 1 and goal 2: the master stays up,
   the writer either succeeds and then reads back exactly what it wrote,
   or sees an error; what was fsynced reads back once the chunkserver is
   back (at goal 1 a read may fail instead: the killed chunkserver held the
   only copy and can come back with blocks whose checksums it never stored,
   then reports the chunk damaged; wrong bytes never pass); the same files
   and lengths after a master restart.
3. A chunkserver that comes back with a stale copy (goal 2, one of two
   chunkservers killed, the file overwritten on the survivor, the killed
   one started again): reads return the new content only, and the stale
   copy is replaced: mfsfileinfo shows two VALID copies again and both
   disks hold the chunk in its new version.

Nothing here is mds-only: every fault can be played against the stock
master as well, so every test is parametrised over both kinds.
"""

import collections
import hashlib
import os
import re
import socket
import struct
import subprocess
import threading
import time

import pytest

from mfsharness import wait_for
from mfsharness.cs_script import MasterClosed, ScriptedChunkserver
from mfsharness.masters import mdsd_binary

BOTH = pytest.mark.parametrize("master_kind", ["stock", "mdsd"], indirect=True)

MiB = 1 << 20
GiB = 1 << 30

MATOCS_CREATE, CSTOMA_CREATE = 110, 111
MATOCS_DELETE, CSTOMA_DELETE = 120, 121
MATOCS_DUPLICATE, CSTOMA_DUPLICATE = 130, 131
MATOCS_SET_VERSION, CSTOMA_SET_VERSION = 140, 141
MATOCS_REPLICATE, CSTOMA_REPLICATE = 150, 151
MATOCS_TRUNCATE, CSTOMA_TRUNCATE = 160, 161
MATOCS_DUPTRUNC, CSTOMA_DUPTRUNC = 170, 171
CSTOMA_CHUNK_NEW = 107
CSTOMA_SPACE = 101

# The stock master visits every chunk once per CHUNKS_LOOP_MIN_TIME (at
# least 60 s); stale copies are deleted on that visit.
LOOP_FAST = {"REPLICATIONS_DELAY_INIT": 0, "CHUNKS_LOOP_MIN_TIME": 60}

ST_OK, ST_NOTDONE, ST_IO, ST_CANTCONNECT = 0, 16, 22, 26


# ---- tools -----------------------------------------------------------------------

def tool(*argv):
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, (argv, r.stdout, r.stderr)
    return r.stdout


def fileinfo(path):
    """[(index, chunkid, version, [copy status, ...])] of mfsfileinfo."""
    chunks = []
    for line in tool("mfsfileinfo", path).splitlines():
        m = re.match(r"\s*chunk (\d+): ([0-9A-Fa-f]{16})_([0-9A-Fa-f]{8})", line)
        if m:
            chunks.append((int(m.group(1)), int(m.group(2), 16),
                           int(m.group(3), 16), []))
            continue
        m = re.match(r"\s*copy \d+: (\S+) \(status:(.*)\)", line)
        if m and chunks:
            chunks[-1][3].append(m.group(2))
    return chunks


def chunk_of(path, index=0):
    """(chunkid, version) of one chunk of a file."""
    for i, cid, ver, _ in fileinfo(path):
        if i == index:
            return cid, ver
    raise AssertionError(f"{path} has no chunk {index}: {fileinfo(path)}")


def connected(master, address):
    for c in master.chunkservers():
        if (c.ip, c.port) == tuple(address):
            return True
    return False


def mdsd_log(master):
    return "".join(p.log_path.read_text(errors="replace") for p in master.procs)


def digest(data_path):
    mdsctl = mdsd_binary().parent / "mdsctl"
    r = subprocess.run([str(mdsctl), "digest", str(data_path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def block(tag, i, size=MiB):
    """Deterministic content of block i of file `tag`."""
    return hashlib.shake_256(f"{tag}:{i}".encode()).digest(size)


# ---- a chunkserver played by a thread ----------------------------------------------

def status_reply(rtype, chunkid, status=ST_OK):
    return struct.pack(">LLQB", rtype, 9, chunkid, status)


def frame(type_, payload):
    return struct.pack(">LL", type_, len(payload)) + payload


def default_answer(t, p):
    """Answers as a chunkserver that has no data: creations, version changes
    and deletions succeed, replications fail (so no copy is ever recorded
    that a client would be sent to)."""
    if t in (MATOCS_CREATE, MATOCS_SET_VERSION, MATOCS_DELETE):
        return status_reply(t + 1, struct.unpack(">Q", p[:8])[0])
    if t == MATOCS_REPLICATE:
        cid, ver = struct.unpack(">QL", p[:12])
        return frame(CSTOMA_REPLICATE, struct.pack(">QLB", cid, ver, ST_CANTCONNECT))
    if t in (MATOCS_DUPLICATE, MATOCS_TRUNCATE, MATOCS_DUPTRUNC):
        return status_reply(t + 1, struct.unpack(">Q", p[:8])[0], ST_IO)
    return None


class FakeChunkserver:
    """A registered ScriptedChunkserver serviced by a thread: NOPs every 2 s,
    requests recorded in `requests`, answered by default_answer unless
    `faults[type]` is set: then that request (once) is answered with the
    raw bytes faults[type](payload) returns. `closed` is set when the master
    closes the link."""

    def __init__(self, netns, master, port, chunks=(), total=64 * GiB):
        self.cs = ScriptedChunkserver(netns, master, port=port)
        atype = self.cs.begin(used=0, total=total)[0]
        assert atype == 0, f"registration refused (atype {atype})"
        if chunks:
            self.cs.chunk_batch(list(chunks))
        self.cs.end()
        self.cs.space(0, total)
        self.faults = {}
        self.requests = []
        self.fault_sent = threading.Event()
        self.closed = threading.Event()
        self.lock = threading.Lock()
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return self.cs.address

    def send_raw(self, data):
        with self.lock:
            self.cs.send_raw(data)

    def _run(self):
        last_nop = 0.0
        while not self.stop:
            try:
                if time.monotonic() - last_nop >= 2:
                    self.send_raw(frame(0, b""))
                    last_nop = time.monotonic()
                t, p = self.cs.recv(timeout=0.5)
            except socket.timeout:
                continue
            except (MasterClosed, OSError):
                self.closed.set()
                return
            if t == 0:
                continue
            self.requests.append((t, p))
            fault = self.faults.pop(t, None)
            out = fault(p) if fault else default_answer(t, p)
            if fault:
                self.fault_sent.set()
            if out:
                try:
                    self.send_raw(out)
                except OSError:
                    self.closed.set()
                    return

    def seen(self):
        """{request type: count} of what the master sent."""
        return dict(collections.Counter(t for t, _ in self.requests))

    def wait_closed(self, timeout=15):
        return self.closed.wait(timeout)

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.cs.close()


# ---- 1. malformed packets --------------------------------------------------------------

@BOTH
@pytest.mark.deadline(600)
def test_malformed_chunkserver_packets_close_only_that_link(cluster_factory, harness):
    cluster = cluster_factory(chunkservers=1, mounts=1,
                              master_config=LOOP_FAST)
    master, good, mnt = cluster.master, cluster.chunkservers[0], cluster.mount.path
    tool("mfssettrashtime", "0", mnt)
    want = {}                       # path relative to mnt -> content

    def put(rel, data):
        (mnt / rel).write_bytes(data)
        want[rel] = data

    def check_all(where):
        for rel, data in want.items():
            got = (mnt / rel).read_bytes()
            assert got == data, (f"{where}: {rel} reads back wrong "
                                 f"({len(got)} bytes, want {len(data)})")

    # Written while only the stock chunkserver is there. g2/ has goal 2, so
    # its files are under goal and the master offers them to every fake.
    put("before", os.urandom(MiB + 12345))
    (mnt / "g2").mkdir()
    tool("mfssetgoal", "2", mnt / "g2")
    tool("mfssettrashtime", "0", mnt / "g2")
    for n in ("sv", "del", "rep"):  # one for each fault below
        put(f"g2/{n}", os.urandom(MiB // 2 + 7))

    ns = harness.netns()
    ports = iter(range(23456, 23556))
    closed_why = []

    def fake(chunks=()):
        return FakeChunkserver(ns, master, next(ports), chunks=chunks)

    def after_fault(f, what, log_pattern=None, within=60):
        assert f.wait_closed(within), (f"{what}: the master kept the link open "
                                   f"(requests seen: {f.seen()})")
        f.close()
        assert master.proc.alive(), f"{what}: the master died"
        wait_for(lambda: not connected(master, f.address), 15,
                 f"{what}: the fake to be listed disconnected")
        assert connected(master, good.address), \
            f"{what}: the stock chunkserver was disturbed"
        if master.kind == "mdsd" and log_pattern:
            wait_for(lambda: re.search(log_pattern, mdsd_log(master)), 10,
                     f"{what}: the mdsd log line /{log_pattern}/",
                     diagnose=lambda: master.proc.log_tail(20))
        closed_why.append(what)
        # Served through the stock chunkserver, as before.
        rel = f"after-{len(closed_why)}"
        put(rel, os.urandom(300_000 + len(closed_why)))
        check_all(what)

    # CREATE replies of the wrong length, while a goal-2 write creates its
    # chunk on both servers: the write goes on with the stock copy.
    for what, payload_len in (("CREATE reply of 8 bytes", 8),
                              ("CREATE reply of 10 bytes", 10)):
        f = fake()
        f.faults[MATOCS_CREATE] = lambda p, n=payload_len: frame(
            CSTOMA_CREATE, (p[:8] + b"\0\0")[:n])
        put(f"g2/create{payload_len}", os.urandom(MiB))
        assert f.fault_sent.is_set(), f"{what}: no CREATE reached the fake"
        after_fault(f, what, rf"malformed message type {CSTOMA_CREATE} "
                             rf"\({payload_len} bytes\)")

    # SET_VERSION: the fake reports a copy of g2/sv's chunk (the version the
    # master has), so the next write increases the version on both copies.
    cid, ver = chunk_of(mnt / "g2/sv")
    f = fake(chunks=[(cid, ver)])
    f.faults[MATOCS_SET_VERSION] = lambda p: frame(CSTOMA_SET_VERSION, p[:8] + b"\0\0")
    with open(mnt / "g2/sv", "r+b") as fh:
        fh.seek(1000)
        fh.write(b"new" * 1000)
    want["g2/sv"] = want["g2/sv"][:1000] + b"new" * 1000 + want["g2/sv"][4000:]
    assert f.fault_sent.is_set(), \
        f"SET_VERSION never reached the fake: {f.seen()}"
    after_fault(f, "SET_VERSION reply of 10 bytes",
                rf"malformed message type {CSTOMA_SET_VERSION} \(10 bytes\)")

    # DELETE: the fake reports a copy of g2/del's chunk in a version the
    # master does not have; a stale copy next to a valid one is deleted.
    cid, ver = chunk_of(mnt / "g2/del")
    f = fake(chunks=[(cid, ver + 5)])
    f.faults[MATOCS_DELETE] = lambda p: frame(CSTOMA_DELETE, p[:8])
    after_fault(f, "DELETE reply of 8 bytes",
                rf"malformed message type {CSTOMA_DELETE} \(8 bytes\)", within=100)

    # REPLICATE: g2/rep is under goal; the fake is the only destination.
    f = fake()
    f.faults[MATOCS_REPLICATE] = lambda p: frame(CSTOMA_REPLICATE, p[:8] + b"\0")
    after_fault(f, "REPLICATE reply of 9 bytes",
                rf"malformed message type {CSTOMA_REPLICATE} \(9 bytes\)")

    # Unsolicited frames.
    f = fake()
    f.send_raw(frame(CSTOMA_CHUNK_NEW, struct.pack(">QL", 0x77, 1) + b"\0" * 8))
    after_fault(f, "CHUNK_NEW of 20 bytes",
                rf"malformed message type {CSTOMA_CHUNK_NEW} \(20 bytes\)")
    f = fake()
    f.send_raw(struct.pack(">LL", CSTOMA_SPACE, 600_000_000) + b"\0" * 64)
    after_fault(f, "a header announcing 600 MB", r"frame of 600000000 bytes")
    f = fake()
    f.send_raw(frame(4321, b"\1\2\3"))
    after_fault(f, "unknown type 4321", r"unknown message type 4321")

    # The metadata outlives it all: a restart, the same files.
    if master.kind == "mdsd":
        master.stop()
        before = digest(master.data_path)
        master.start()
        good.wait_registered()
        master.stop()
        assert digest(master.data_path) == before, "the metadata changed across a restart"
        master.start()
    else:
        master.restart()
    good.wait_registered()
    check_all("after a master restart")


@BOTH
def test_replies_to_operations_never_sent_are_not_copies(cluster_factory, harness):
    cluster = cluster_factory(chunkservers=1, mounts=1,
                              master_config=LOOP_FAST)
    master, good, mnt = cluster.master, cluster.chunkservers[0], cluster.mount.path
    data = os.urandom(MiB)
    (mnt / "g2").mkdir()
    tool("mfssetgoal", "2", mnt / "g2")
    (mnt / "f").write_bytes(data)      # goal 1: never offered to the fake
    plain = os.urandom(200_000)
    (mnt / "plain").write_bytes(plain)
    cid, ver = chunk_of(mnt / "f")
    pcid, pver = chunk_of(mnt / "plain")

    ns = harness.netns()
    f = FakeChunkserver(ns, master, 23456)
    # No operation of these was sent to this server; some statuses are out
    # of range (> 53). (Not sent: a REPLICATE reply with status OK and the
    # chunk's version. The stock master takes it as a finished rebalance
    # replication and records the copy; mds ignores it. Not asserted.)
    f.send_raw(status_reply(CSTOMA_CREATE, cid, ST_OK)
               + status_reply(CSTOMA_CREATE, 0x7777777, 200)
               + status_reply(CSTOMA_SET_VERSION, cid, ST_OK)
               + status_reply(CSTOMA_SET_VERSION, pcid, 255)
               + status_reply(CSTOMA_DELETE, pcid, ST_OK)
               + status_reply(CSTOMA_DELETE, cid, 99)
               + status_reply(CSTOMA_DUPLICATE, 0x123456, ST_OK)
               + status_reply(CSTOMA_TRUNCATE, cid, ST_OK)
               + frame(CSTOMA_REPLICATE, struct.pack(">QLB", cid, ver, 77))
               + frame(CSTOMA_REPLICATE, struct.pack(">QLB", pcid, pver, 250)))
    time.sleep(3)
    assert master.proc.alive()
    assert connected(master, good.address)
    # Whether the link stayed or not, the fake holds no copy.
    for path, want in ((mnt / "f", 1), (mnt / "plain", 1)):
        copies = fileinfo(path)[0][3]
        assert copies == ["VALID"] * want, f"{path}: copies {copies}"
    # A status out of range for an operation that was sent: the write goes
    # on with the stock copy.
    if not f.closed.is_set():
        f.faults[MATOCS_CREATE] = lambda p: status_reply(CSTOMA_CREATE,
                                                         struct.unpack(">Q", p[:8])[0], 200)
        more = os.urandom(MiB)
        (mnt / "g2/more").write_bytes(more)
        assert f.fault_sent.is_set(), "no CREATE reached the fake"
        # The failed copy may be listed (stock: INVALID until deleted); only
        # the stock one is valid.
        copies = fileinfo(mnt / "g2/more")[0][3]
        assert copies.count("VALID") == 1, copies
        assert (mnt / "g2/more").read_bytes() == more
    f.close()
    wait_for(lambda: not connected(master, f.address), 15, "the fake to go")
    assert (mnt / "f").read_bytes() == data
    assert (mnt / "plain").read_bytes() == plain
    master.restart()
    good.wait_registered()
    assert (mnt / "f").read_bytes() == data
    assert (mnt / "plain").read_bytes() == plain


# ---- 2. a chunkserver killed mid-write ---------------------------------------------------

WRITER = r"""
import hashlib, os, sys
path, tag, blocks = sys.argv[1], sys.argv[2], int(sys.argv[3])
def out(*a):
    print(*a, flush=True)
try:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for i in range(blocks):
            data = hashlib.shake_256(f"{tag}:{i}".encode()).digest(1 << 20)
            n = os.write(fd, data)
            assert n == len(data), f"short write {n}"
            out("written", i + 1)
            if (i + 1) % 8 == 0:
                os.fsync(fd)
                out("synced", i + 1)
        os.fsync(fd)
        out("synced", blocks)
    finally:
        os.close(fd)
    out("done")
except Exception as e:
    out("error", repr(e))
"""


class Writer:
    """Writes `blocks` MiB blocks of block(tag, i) to path, fsync every 8.

    A process of its own, not a thread: a thread of the test process with
    a file open on the mount would make every fork of the test process
    (starting a chunkserver) close that file in the child, and the close
    (a FUSE flush) waits for the very chunkserver being started."""

    def __init__(self, path, tag, blocks):
        self.path, self.tag, self.blocks = path, tag, blocks
        self.written = 0          # blocks write() accepted
        self.synced = 0           # blocks covered by a successful fsync
        self.error = None
        self.done = False
        self.proc = None
        self.reader = None

    def start(self):
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", "-c", WRITER, str(self.path), self.tag,
             str(self.blocks)], stdout=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            word, _, rest = line.strip().partition(" ")
            if word == "written":
                self.written = int(rest)
            elif word == "synced":
                self.synced = int(rest)
            elif word == "done":
                self.done = True
            elif word == "error":
                self.error = rest

    def is_alive(self):
        return self.proc.poll() is None or self.reader.is_alive()

    def join(self, timeout):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return
        self.reader.join(timeout)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def check_blocks(path, tag, count, unreadable_ok=False):
    """None if each of `count` blocks reads back right, else a description
    of the first that reads back wrong (which block, what came instead).

    unreadable_ok: a block whose read fails (EIO, ENXIO: the chunk is
    reported damaged or lost) counts as not wrong, and so does a short read
    whose bytes are right (the mount returns what it got before the error,
    seen with a damaged chunk); the rest of that chunk is skipped (each
    read of it would wait out the mount's retries again) and the blocks of
    the next chunks are still checked. Wrong bytes never pass."""
    per_chunk = 64                  # 1 MiB blocks in a 64 MiB chunk
    fd = os.open(path, os.O_RDONLY)
    unreadable = []
    try:
        i = 0
        while i < count:
            want = block(tag, i)
            try:
                got = os.pread(fd, MiB, i * MiB)
                failed = None if len(got) == len(want) or got != want[:len(got)] \
                    else f"short read of {len(got)} right bytes"
            except OSError as e:
                if not unreadable_ok:
                    raise
                failed = e.strerror
            if failed is not None and unreadable_ok:
                unreadable.append((i, failed))
                i = (i // per_chunk + 1) * per_chunk
                continue
            if got != want:
                at = next((k for k in range(min(len(got), len(want)))
                           if got[k] != want[k]), min(len(got), len(want)))
                return (f"block {i}: {len(got)} bytes read, first difference at "
                        f"byte {at}; unreadable before it: {unreadable}")
            i += 1
    finally:
        os.close(fd)
    return None


@BOTH
@pytest.mark.parametrize("goal", [1, 2])
@pytest.mark.deadline(600)
def test_a_chunkserver_killed_mid_write(cluster_factory, goal):
    cluster = cluster_factory(chunkservers=2, mounts=1,
                              master_config=LOOP_FAST)
    master, mnt = cluster.master, cluster.mount.path
    tool("mfssetgoal", str(goal), mnt)
    early = os.urandom(3 * MiB)
    (mnt / "early").write_bytes(early)

    blocks = 200
    w = Writer(mnt / "big", "big", blocks)
    w.start()
    wait_for(lambda: w.written >= 40 or not w.is_alive(), 120,
             "the writer to get 40 MiB in")
    victim = cluster.chunkservers[1]
    victim.kill()
    killed_at = w.written
    if goal == 1:
        # Its chunks are nowhere else: the writer may wait for them; the
        # chunkserver comes back after a while.
        w.join(10)
        victim.start()
        victim.wait_registered()
    w.join(400)
    if w.is_alive():
        w.kill()
        pytest.fail("the writer hung")
    assert master.proc.alive(), "the master died"
    if goal == 2:
        victim.start()
        victim.wait_registered()

    def listing():
        return {p.name: p.stat().st_size for p in mnt.iterdir()}

    # Goal 1: the killed chunkserver held the only copy of the chunk being
    # written. It may come back with blocks whose checksums it never stored
    # (seen on both masters: "crc error", then CHUNK_DAMAGED); such a chunk
    # is unreadable (the read fails), which the client is told. Wrong bytes
    # are never allowed.
    lossy = goal == 1
    if w.error is None:
        assert w.done
        size = (mnt / "big").stat().st_size
        assert size == blocks * MiB, f"the writer succeeded, the file has {size} bytes"
        bad = check_blocks(mnt / "big", "big", blocks, unreadable_ok=lossy)
        assert bad is None, (f"the writer succeeded (chunkserver killed after "
                             f"{killed_at} MiB) but {bad}")
    else:
        # Allowed: the writer was told. What was fsynced is there.
        bad = check_blocks(mnt / "big", "big", w.synced, unreadable_ok=lossy)
        assert bad is None, (f"writer error {w.error!r}; of the {w.synced} "
                             f"fsynced blocks, {bad}")
    assert (mnt / "early").read_bytes() == early

    before = listing()
    master.restart()
    for cs in cluster.chunkservers:
        cs.wait_registered()
    assert listing() == before, "files or lengths changed across a master restart"
    assert (mnt / "early").read_bytes() == early
    if w.error is None:
        assert check_blocks(mnt / "big", "big", blocks, unreadable_ok=lossy) is None


# ---- 3. a chunkserver back with stale copies ---------------------------------------------

@BOTH
@pytest.mark.deadline(600)
def test_a_chunkserver_back_with_a_stale_copy(cluster_factory):
    cluster = cluster_factory(chunkservers=2, mounts=1,
                              master_config=LOOP_FAST)
    master, mnt = cluster.master, cluster.mount.path
    tool("mfssetgoal", "2", mnt)
    old = os.urandom(3 * MiB)
    path = mnt / "f"
    path.write_bytes(old)
    wait_for(lambda: fileinfo(path)[0][3] == ["VALID", "VALID"], 60,
             "two valid copies", diagnose=lambda: tool("mfsfileinfo", path))
    cid, v_old = chunk_of(path)

    stale = cluster.chunkservers[1]
    stale.kill()
    wait_for(lambda: not connected(master, stale.address), 20,
             "the killed chunkserver to be listed disconnected")
    patch = os.urandom(256 * 1024)
    with open(path, "r+b") as f:
        f.seek(MiB - 1000)
        f.write(patch)
        f.flush()
        os.fsync(f.fileno())
    new = old[:MiB - 1000] + patch + old[MiB - 1000 + len(patch):]
    assert path.read_bytes() == new
    cid2, v_new = chunk_of(path)
    assert cid2 == cid and v_new > v_old, \
        f"chunk {cid:x} v{v_old} became {cid2:x} v{v_new} (a version increase expected)"

    stale.start()
    stale.wait_registered()

    def settled():
        assert path.read_bytes() == new, "old data read back after the stale copy returned"
        info = fileinfo(path)
        return info[0][2] >= v_new and info[0][3] == ["VALID", "VALID"]
    wait_for(settled, 150, "two VALID copies of the new version again",
             interval=1, diagnose=lambda: tool("mfsfileinfo", path))
    cid3, v_final = chunk_of(path)
    assert cid3 == cid
    name = f"chunk_{cid:016X}_{v_final:08X}.mfs"
    for cs in cluster.chunkservers:
        wait_for(lambda: [p.name for p in cs.chunk_files()] == [name], 30,
                 f"{cs.name} to hold only {name}",
                 diagnose=lambda: repr(cs.chunk_files()))
    for _ in range(3):
        assert path.read_bytes() == new
