"""High availability of the chunk-location map (issue #5): followers keep
the leader's map of which chunkserver holds which copy, streamed as soft
state, so a new leader answers READ_CHUNK for existing files before the
chunkservers have registered with it again.

mds only (the stock master has no failover). Topology as in test_ha.py
(mfsharness/mdscluster.py): three mdsd nodes in namespaces behind a VIP,
two stock chunkservers that know only the VIP, with
MASTER_RECONNECTION_DELAY = 5 so the window between the failover and their
re-registration long enough to see; stock mounts through the VIP. The
stock chunkserver retries on a periodic timer (anywhere from 0 to the delay
after the loss), so the test holds the window open itself: while it reads,
the chunkservers' namespaces have no route to the VIP (the mounts reach the
chunkservers directly, so reads are unaffected).
"""

import hashlib
import os
import re
import subprocess
import time
from types import SimpleNamespace

import pytest

from mfsharness import HarnessError, MdsdMaster, wait_for
from mfsharness.mdscluster import MdsCluster, mdsctl_binary
from mfsharness.netns import ip

RECONNECTION_DELAY = 5
FILES = 6
FILE_SIZE = 3 * 1024 * 1024 + 12345      # a few chunk blocks, not block-aligned
READ_GOAL = 1.0                          # s from the new leader serving to the read


def _available():
    reason = MdsdMaster.available()
    if reason:
        return reason
    if not os.access(mdsctl_binary(), os.X_OK):
        return f"{mdsctl_binary()} not built"
    return None


@pytest.fixture
def ha(harness):
    reason = _available()
    if reason:
        pytest.skip(reason)
    clusters = []

    def make(**kw):
        c = MdsCluster(harness, **kw)
        clusters.append(c)
        return c.start()

    yield SimpleNamespace(make=make, harness=harness)
    for c in clusters:
        c.release()


def content(name):
    seed = hashlib.sha256(name.encode()).digest()
    block = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest()
                     for i in range(2048))
    out = (block * (FILE_SIZE // len(block) + 1))[:FILE_SIZE]
    return out


def tool(*argv):
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"`{' '.join(map(str, argv))}` failed: {r.stderr}{r.stdout}"
    return r.stdout


def read_file(path, timeout=30):
    r = subprocess.run(["cat", str(path)], capture_output=True, timeout=timeout)
    assert r.returncode == 0, f"cat {path} failed ({r.returncode}): {r.stderr!r}"
    return r.stdout


def locations(node):
    """The node's chunk_locations status (None while it does not answer)."""
    st = node.status()
    return st.get("chunk_locations") if st else None


def block_master(c, on):
    """Chunkservers cannot reach the VIP (the master), or can again."""
    for cs in c.stock_chunkservers:
        ip("-n", cs.netns.name, "route", "add" if on else "del", "prohibit", f"{c.vip}/32")


def registrations(node):
    """How many chunkserver registrations the node's log shows."""
    return node.log_tail(100000).count("chunkserver register begin")


@pytest.mark.deadline(240)
def test_new_leader_reads_existing_files_before_chunkservers_reregister(ha):
    """Write files with goal 2, wait until the followers hold every copy,
    kill -9 the leader, and read the files through a mount that never read
    them while the chunkservers wait out their reconnection delay: the new
    leader lists the inherited copies, the bytes are right, and the read
    comes within about a second of the new leader serving. The
    chunkservers then register and their inherited entries are replaced;
    reads and writes go on."""
    c = ha.make(nodes=3, chunkservers=2, mounts=1,
                chunkserver_config={"MASTER_RECONNECTION_DELAY": RECONNECTION_DELAY})
    lead = c.wait_leader()
    mnt = c.mount.path
    (mnt / "g").mkdir()
    tool("mfssetgoal", "-r", 2, mnt / "g")
    for i in range(FILES):
        (mnt / "g" / f"f{i}").write_bytes(content(f"f{i}"))
    for i in range(FILES):
        assert (mnt / "g" / f"f{i}").read_bytes() == content(f"f{i}")
    copies = 2 * FILES                        # one chunk per file, two copies
    followers = [n for n in c.nodes if n is not lead]

    def followers_hold_the_map():
        locs = [locations(n) for n in followers]
        return all(l and l["synced"] and l["dump_complete"] and l["copies"] >= copies
                   and l["inherited_servers"] == 2 for l in locs) and locs
    try:
        wait_for(followers_hold_the_map, 30, "the followers' chunk maps")
    except HarnessError:
        raise AssertionError(f"followers did not get the map: expected {copies} copies on "
                             f"2 inherited servers, got {[locations(n) for n in followers]}"
                             f"\n{c.diagnose()}")

    # A mount that has read nothing (no cached chunk locations).
    reader = c.add_mount()
    assert (reader.path / "g").is_dir()

    block_master(c, True)
    t_kill = c.kill(lead)
    new = c.wait_leader(exclude=(lead,))
    regs_before = registrations(new)
    wait_for(lambda: (new.status() or {}).get("serving"), 10, "the new leader serving")
    t_serving = time.time()
    # A lookup first: the mount's own reconnection to the new leader (not
    # about chunks) is timed apart from the reads.
    assert not (reader.path / "g" / "absent").exists()
    t_meta = time.time()
    got, took = {}, []
    for i in range(FILES):
        got[i] = read_file(reader.path / "g" / f"f{i}")
        took.append(round(time.time() - t_meta, 3))
    t_read = time.time()
    locs = locations(new)
    regs_after = registrations(new)
    print(f"\nkill -> serving {t_serving - t_kill:.3f} s, serving -> first lookup "
          f"{t_meta - t_serving:.3f} s, lookup -> {FILES} files read "
          f"{t_read - t_meta:.3f} s (after each file: {took}); new leader: {locs}")
    for i in range(FILES):
        assert got[i] == content(f"f{i}"), f"f{i}: {len(got[i])} bytes, wrong content"
    # The chunkservers had not registered with the new leader yet: every
    # copy listed came from the stream.
    assert locs["inherited_servers"] == 2, locs
    assert regs_after == regs_before == 0, \
        f"chunkservers registered with node {new.id} before the read\n{new.log_tail(60)}"
    assert t_read - t_meta <= READ_GOAL, \
        f"the reads took {t_read - t_meta:.3f} s after the mount reached the new leader " \
        f"(goal {READ_GOAL} s)"

    # They register after their delay: the inherited entries are replaced.
    block_master(c, False)
    def reregistered():
        l = locations(new)
        return l and l["inherited_servers"] == 0 and l["copies"] >= copies and l
    try:
        wait_for(reregistered, RECONNECTION_DELAY + 30, "re-registrations")
    except HarnessError:
        raise AssertionError(f"chunkservers did not re-register: {locations(new)}\n"
                             f"{new.log_tail(60)}")
    assert registrations(new) == 2
    for i in range(FILES):
        assert read_file(reader.path / "g" / f"f{i}") == content(f"f{i}")
    (reader.path / "g" / "after").write_bytes(content("after"))
    assert read_file(c.mount.path / "g" / "after") == content("after")


@pytest.mark.deadline(120)
def test_a_restarted_follower_gets_the_map_again(ha):
    """A follower that restarts (empty map) gets a full dump when its link
    comes back, and then the deltas of new files."""
    c = ha.make(nodes=3, chunkservers=2, mounts=1)
    lead = c.wait_leader()
    mnt = c.mount.path
    (mnt / "g").mkdir()
    tool("mfssetgoal", "-r", 2, mnt / "g")
    (mnt / "g" / "a").write_bytes(content("a"))
    f = next(n for n in c.nodes if n is not lead)
    f.stop()
    f.start()
    (mnt / "g" / "b").write_bytes(content("b"))

    def has_both():
        l = locations(f)
        return l and l["synced"] and l["dump_complete"] and l["copies"] >= 4 and l
    try:
        wait_for(has_both, 30, "the restarted follower's map")
    except HarnessError:
        raise AssertionError(f"restarted follower: expected 4 copies, got {locations(f)}\n"
                             f"{f.log_tail(40)}")


WRITER_PY = r'''
import os, sys, time
path, size = sys.argv[1], int(sys.argv[2])
t0 = time.time()
try:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    data = bytes((i * 7) & 0xff for i in range(size))
    done = 0
    while done < size:
        done += os.write(fd, data[done:])
    os.fsync(fd)
    os.close(fd)
    print(f"ok {time.time() - t0:.3f}", flush=True)
except OSError as e:
    print(f"error {e.errno} {e.strerror} after {time.time() - t0:.3f}", flush=True)
'''


@pytest.mark.deadline(180)
def test_a_creation_the_dead_leader_never_carried_out_is_redone(ha):
    """The leader logs a new chunk for a write (the slot names it, locked
    to the writer) and dies before any chunkserver has made it: the
    chunkservers' links are down, so its create never arrives. The new
    leader finds the chunk on no chunkserver once they are all back; it
    undoes the creation and decides again, so the writer's fsync (the
    mount re-sends its WRITE_CHUNK) succeeds and the data reads back.
    (Before, every retry got CHUNKLOST until the mount gave up with ENXIO.)"""
    c = ha.make(nodes=3, chunkservers=2, mounts=1)
    lead = c.wait_leader()
    mnt = c.mount.path
    (mnt / "w").mkdir()
    (mnt / "w" / "before").write_bytes(b"x" * 1000)        # chunkservers work
    size = 300000
    for cs in c.stock_chunkservers:
        ip("link", "set", cs.netns.host_if, "down")
    writer = subprocess.Popen(["/usr/bin/python3", "-c", WRITER_PY,
                               str(mnt / "w" / "f"), str(size)],
                              stdout=subprocess.PIPE, text=True)
    try:
        # The leader logged the chunk: its followers have the slot.
        def chunk_logged():
            r = subprocess.run(["mfsfileinfo", str(mnt / "w" / "f")],
                               capture_output=True, text=True, timeout=10)
            m = re.search(r"chunk 0: ([0-9A-F]{16})_", r.stdout)
            return m and int(m.group(1), 16) != 0 and r.stdout
        info = wait_for(chunk_logged, 20, "the new chunk in the file's slot 0")
        time.sleep(0.5)          # the MCH_NEW is committed on a majority
        c.kill(lead)
        # The dead leader's kernel still retransmits the create it had
        # sent: keep that from reaching the chunkservers once their links
        # are up (it did in CI).
        lead.partition()
        new = c.wait_leader(exclude=(lead,))
        for cs in c.stock_chunkservers:
            ip("link", "set", cs.netns.host_if, "up")
        try:
            out, _ = writer.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            out = "still blocked in write/fsync 90 s after the kill"
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    log = new.log_tail(100000)
    assert out.startswith("ok"), f"the writer: {out!r}; mfsfileinfo before the kill:\n{info}" \
        f"\n{c.diagnose()}"
    assert "creation abandoned by an earlier leader: undone" in log, \
        f"node {new.id} did not undo the abandoned creation:\n{new.log_tail(60)}"
    expect = bytes((i * 7) & 0xff for i in range(size))
    assert read_file(mnt / "w" / "f") == expect
    reader = c.add_mount()
    assert read_file(reader.path / "w" / "f") == expect
