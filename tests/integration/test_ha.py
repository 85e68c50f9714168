"""High availability: a 3-node mdsd group (one Raft group) behind a floating
service address, under stock mfsmount and stock mfschunkservers (issue #5).

mds only: the stock mfsmaster has no HA of its own (its metaloggers and a
manual promotion are not a failover), so there is nothing to compare, and
nothing here is differential.

Topology (mfsharness/mdscluster.py): every mdsd in a network namespace of
its own, peers through the host; the VIP follows the leader through the
nodes' MDS_NOTIFY_SCRIPT (keepalived style); the mount (root namespace)
and the chunkservers (their own namespaces, MASTER_RECONNECTION_DELAY = 1)
know only the VIP. Faults: kill -9, SIGSTOP/SIGCONT, a partition (the
host end of a node's veth down), graceful restarts.

Load runs in separate processes (never threads of the test process: a
fork of a process holding files open on a FUSE mount has deadlocked
before), each appending a line per operation to a record file:
`t_start t_end op status fields...` (time.time()). An operation counts as
acknowledged when status is "ok"; failed operations have unknown outcome
and their names are never touched again. The checks replay the records.

Knobs (environment), short defaults for `make test`:
  MDS_HA_KILLS         leader kills in test_kill_leader_under_load (3; 20)
  MDS_NEMESIS_SECONDS  length of test_nemesis (60; 300)
  MDS_NEMESIS_SEED     its fault schedule (random; printed)
  MDS_NEMESIS_DATA=0   no file data in the nemesis (default: every 8th
                       create writes and fsyncs a few KiB)
  MDS_CATCHUP_OPS      operations while a node is down (5000; 100000)
  MDS_HA_GOALS=1       fail when a latency goal is missed (default: the
                       numbers are printed and missed goals warned about)
  MDS_HA_RESULTS=PATH  kill timings as JSON
  MDS_HA_LOADS         the loads of the kill test (meta,read; `make chaos`:
                       meta,read,write; writes also run in the partition,
                       rolling-restart and nemesis tests of make test)
`make chaos` runs this module with the long values (see the Makefile).
"""

import collections
import hashlib
import json
import math
import os
import random
import signal
import statistics
import subprocess
import time
import warnings
from types import SimpleNamespace

import pytest

from mfsharness import HarnessError, MdsdMaster, wait_for
from mfsharness.mdscluster import MdsCluster, mdsctl_binary, vip_connect_via

KILLS = int(os.environ.get("MDS_HA_KILLS", "3"))
NEMESIS_SECONDS = float(os.environ.get("MDS_NEMESIS_SECONDS", "60"))
CATCHUP_OPS = int(os.environ.get("MDS_CATCHUP_OPS", "5000"))
NEMESIS_DATA = os.environ.get("MDS_NEMESIS_DATA", "1") != "0"
ENFORCE_GOALS = os.environ.get("MDS_HA_GOALS", "") == "1"
KILL_LOADS = [k for k in os.environ.get("MDS_HA_LOADS", "meta,read").split(",")
              if k]

# Goals of issue #5 (seconds): (metric, statistic, limit).
GOALS = [("elected", "median", 0.5), ("meta", "p99", 1.0),
         ("read", "p99", 1.0), ("write", "p99", 2.0)]

RECOVERY_TIMEOUT = 60      # a load must succeed again within this after a fault
CLUSTER = dict(nodes=3, chunkservers=2, mounts=1)


def _mdsd_available():
    reason = MdsdMaster.available()
    if reason:
        return reason
    if not os.access(mdsctl_binary(), os.X_OK):
        return f"{mdsctl_binary()} not built"
    return None


# ---- load processes ------------------------------------------------------------------

LOAD_PY = r'''
import errno, hashlib, os, random, sys, time

mode, root, rec_path, stop_path = sys.argv[1:5]
args = sys.argv[5:]
out = os.open(rec_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)


def rec(t0, op, status, *fields):
    line = " ".join([f"{t0:.6f}", f"{time.time():.6f}", op, status,
                     *map(str, fields)])
    os.write(out, (line + "\n").encode())


def why(e):
    if isinstance(e, OSError) and e.errno:
        return errno.errorcode.get(e.errno, str(e.errno))
    return type(e).__name__


def content(name):
    h = hashlib.sha256(name.encode()).digest()
    return hashlib.shake_256(name.encode()).digest(
        1 + int.from_bytes(h[:2], "big") % 16384)


def stopped():
    return os.path.exists(stop_path)


def path(name):
    return os.path.join(root, name)


def create(name, data=None):
    """O_EXCL create, optional data + fsync, close; returns the inode."""
    fd = os.open(path(name), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    closed = False
    try:
        ino = os.fstat(fd).st_ino
        if data:
            done = 0
            while done < len(data):
                done += os.write(fd, data[done:])
            os.fsync(fd)
        closed = True
        os.close(fd)
    finally:
        if not closed:
            try:
                os.close(fd)
            except OSError:
                pass
    return ino


def backoff():
    time.sleep(0.02)


def run_create(prefix, with_data):
    i = 0
    while not stopped():
        name = f"{prefix}{i:07d}"
        i += 1
        t0 = time.time()
        try:
            ino = create(name, content(name) if with_data else None)
            rec(t0, "write" if with_data else "create", "ok", name, ino)
        except Exception as e:
            rec(t0, "write" if with_data else "create", why(e), name)
            backoff()


def run_race(prefix):
    """Creates prefix0, prefix1, ... with O_EXCL; another process may race
    for the same names (EEXIST is a normal answer)."""
    i = 0
    while not stopped():
        name = f"{prefix}{i:07d}"
        i += 1
        t0 = time.time()
        try:
            ino = create(name)
            rec(t0, "create", "ok", name, ino)
        except FileExistsError:
            rec(t0, "create", "EEXIST", name)
        except Exception as e:
            rec(t0, "create", why(e), name)
            backoff()


def run_read(count):
    names = [f"r{j:04d}" for j in range(count)]
    j = 0
    while not stopped():
        name = names[j % count]
        j += 1
        t0 = time.time()
        try:
            with open(path(name), "rb") as f:
                got = f.read()
            rec(t0, "read", "ok" if got == content(name) else "bad", name,
                len(got))
        except Exception as e:
            rec(t0, "read", why(e), name)
            backoff()


def run_mix(seed, data_every):
    """Creates (every data_every-th with data, 0: none), renames (to new
    names and over existing ones), unlinks; names whose outcome is unknown
    (the operation failed) are dropped."""
    rng = random.Random(seed)
    live, nid = [], 0
    while not stopped():
        r = rng.random()
        if len(live) < 20 or (r < 0.45 and len(live) < 3000):
            name = f"n{nid:07d}"
            nid += 1
            data = content(name) if data_every and nid % data_every == 0 \
                else None
            t0 = time.time()
            try:
                ino = create(name, data)
                rec(t0, "create", "ok", name, ino, name if data else "-")
                live.append(name)
            except Exception as e:
                rec(t0, "create", why(e), name)
                backoff()
        elif r < 0.75:
            a = live[rng.randrange(len(live))]
            if rng.random() < 0.3:
                b = live[rng.randrange(len(live))]
                if b == a:
                    continue
            else:
                b = f"n{nid:07d}"
                nid += 1
            t0 = time.time()
            try:
                os.rename(path(a), path(b))
                rec(t0, "rename", "ok", a, b)
                live.remove(a)
                if b not in live:
                    live.append(b)
            except Exception as e:
                rec(t0, "rename", why(e), a, b)
                live.remove(a)
                if b in live:
                    live.remove(b)
                backoff()
        else:
            a = live[rng.randrange(len(live))]
            t0 = time.time()
            try:
                os.unlink(path(a))
                rec(t0, "unlink", "ok", a)
            except Exception as e:
                rec(t0, "unlink", why(e), a)
                backoff()
            live.remove(a)


def run_churn(prefix, count, keep_every):
    """count creates, each unlinked again except every keep_every-th."""
    for i in range(count):
        if i % 100 == 0 and stopped():
            break
        name = f"{prefix}{i:07d}"
        t0 = time.time()
        try:
            ino = create(name)
        except Exception as e:
            rec(t0, "create", why(e), name)
            backoff()
            continue
        if i % keep_every == 0:
            rec(t0, "create", "ok", name, ino)
            continue
        t0 = time.time()
        try:
            os.unlink(path(name))
        except Exception as e:
            rec(t0, "unlink", why(e), name)
            backoff()
    rec(time.time(), "done", "ok", prefix)


if mode == "create":
    run_create(args[0], False)
elif mode == "write":
    run_create(args[0], True)
elif mode == "race":
    run_race(args[0])
elif mode == "read":
    run_read(int(args[0]))
elif mode == "mix":
    run_mix(int(args[0]), int(args[1]))
elif mode == "churn":
    run_churn(args[0], int(args[1]), int(args[2]))
else:
    sys.exit(f"unknown mode {mode}")
'''


def content(name):
    """What LOAD_PY writes into a file named `name`."""
    h = hashlib.sha256(name.encode()).digest()
    return hashlib.shake_256(name.encode()).digest(
        1 + int.from_bytes(h[:2], "big") % 16384)


# x86_64 numbers of the calls a load makes on the mount.
SYSCALLS = {0: "read", 1: "write", 3: "close", 4: "stat", 5: "fstat",
            6: "lstat", 74: "fsync", 82: "rename", 87: "unlink", 257: "openat",
            262: "newfstatat", 316: "renameat2", 263: "unlinkat",
            217: "getdents64", 35: "nanosleep", 230: "clock_nanosleep"}

Record = collections.namedtuple("Record", "t0 t1 op status fields")


class Load:
    """One load process (LOAD_PY MODE ROOT ...) and its record file."""

    def __init__(self, harness, mode, root, *args, label=None):
        d = harness.path("loads")
        script = d / "load.py"
        if not script.exists():
            script.write_text(LOAD_PY)
        self.mode = mode
        self.root = root
        self.name = harness.unique_name(f"load-{label or mode}")
        self.rec_path = d / f"{self.name}.rec"
        self.stop_path = d / f"{self.name}.stop"
        self.records = []
        self.killed = False
        self._pos = 0
        self._partial = b""
        self.proc = harness.start(self.name, [
            "/usr/bin/python3", script, mode, root, self.rec_path,
            self.stop_path, *args])

    def poll(self):
        """Reads what was appended since; returns all records."""
        try:
            with open(self.rec_path, "rb") as f:
                f.seek(self._pos)
                data = f.read()
        except FileNotFoundError:
            return self.records
        self._pos += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            f = line.decode().split()
            self.records.append(Record(float(f[0]), float(f[1]), f[2], f[3],
                                       f[4:]))
        return self.records

    def acked(self, op=None):
        return [r for r in self.poll() if r.status == "ok"
                and (op is None or r.op == op)]

    def first_ok_since(self, t, op=None):
        """The first acknowledged operation that started at or after t."""
        for r in self.poll():
            if r.status == "ok" and r.t0 >= t and (op is None or r.op == op):
                return r
        return None

    def errors(self):
        return [r for r in self.poll() if r.status not in ("ok", "EEXIST")]

    def alive(self):
        return self.proc.alive()

    def stop(self, timeout=120):
        """Asks the process to stop after its current operation; kills it
        if it does not within `timeout` (self.killed tells)."""
        self.stop_path.touch()
        if not self.proc.wait_exit(timeout):
            self.killed = True
            self.proc.signal(signal.SIGKILL)
            # A process blocked in a FUSE request dies once the request
            # ends: at the latest when the harness unmounts.
            if not self.proc.wait_exit(5):
                self.poll()
                return
        self.proc.reap()
        self.poll()

    def blocked_in(self):
        """The system call the process is blocked in (from /proc), e.g.
        "fsync(fd 3)", or None."""
        try:
            f = open(f"/proc/{self.proc.pid}/syscall").read().split()
        except OSError:
            return None
        if not f or f[0] in ("running", "-1"):
            return None
        name = SYSCALLS.get(int(f[0]), f"syscall {f[0]}")
        return f"{name}(arg0 {int(f[1], 16)})"

    def describe(self):
        recs = self.poll()
        ok = sum(r.status == "ok" for r in recs)
        errs = collections.Counter(r.status for r in recs
                                   if r.status not in ("ok", "EEXIST"))
        last = recs[-1] if recs else None
        blocked = self.blocked_in() if self.alive() else None
        return (f"{self.name}: {len(recs)} ops, {ok} ok, errors {dict(errs)},"
                f" last {last}, {'running' if self.alive() else 'exited'}"
                f"{f', blocked in {blocked}' if blocked else ''}"
                f"{' (killed)' if self.killed else ''}\n"
                f"  log: {self.proc.log_tail(5)}")


def wait_progress(loads, since, cluster, timeout=RECOVERY_TIMEOUT, what=""):
    """Waits until every load has an acknowledged op that started after
    `since`; returns {load name: that record}."""
    found = {}

    def progressed():
        cluster.check_alive()
        for load in loads:
            if load.name not in found:
                r = load.first_ok_since(since)
                if r:
                    found[load.name] = r
        return len(found) == len(loads)

    wait_for(progressed, timeout,
             f"every load to succeed again {what}".strip(), interval=0.01,
             diagnose=lambda: "\n".join(l.describe() for l in loads)
             + "\n" + cluster.diagnose())
    return found


# ---- checks ----------------------------------------------------------------------

def listing(directory):
    names = os.listdir(directory)
    dupes = [n for n, c in collections.Counter(names).items() if c > 1]
    return set(names), dupes


def check_created(load, directory, with_data=False, limit=20):
    """Every acknowledged create (or write) of `load` exists in directory,
    with the inode it was created with (and the content it was written
    with). Returns a list of problems."""
    present, dupes = listing(directory)
    problems = [f"{directory}: names listed twice: {dupes[:limit]}"] if dupes else []
    for r in load.acked():
        if r.op not in ("create", "write"):
            continue
        name, ino = r.fields[0], int(r.fields[1])
        p = directory / name
        if name not in present:
            problems.append(f"{load.name}: acknowledged {r.op} of {name} at "
                            f"{r.t1:.3f} is missing")
            continue
        st = os.stat(p)
        if st.st_ino != ino:
            problems.append(f"{name}: inode {st.st_ino}, created as {ino}")
        if with_data:
            got = p.read_bytes()
            want = content(name)
            if got != want:
                problems.append(f"{name}: {len(got)} bytes read, {len(want)} "
                                f"written (sha256 {hashlib.sha256(got).hexdigest()[:12]}"
                                f" vs {hashlib.sha256(want).hexdigest()[:12]})")
        if len(problems) >= limit:
            problems.append("(more not checked)")
            break
    return problems


def replay_mix(records):
    """The state a mix load's acknowledged operations imply:
    (exists {name: (inode, content name or None)}, gone {names}, unknown
    {names})."""
    exists, gone, unknown = {}, set(), set()
    for r in records:
        f = r.fields
        if r.op == "create":
            if r.status == "ok":
                exists[f[0]] = (int(f[1]), None if f[2] == "-" else f[2])
                gone.discard(f[0])
            else:
                unknown.add(f[0])
        elif r.op == "rename":
            a, b = f
            if r.status == "ok":
                exists[b] = exists.pop(a)
                gone.add(a)
                gone.discard(b)
            else:
                unknown.update((a, b))
                exists.pop(a, None)
                exists.pop(b, None)
        elif r.op == "unlink":
            exists.pop(f[0], None)
            if r.status == "ok":
                gone.add(f[0])
            else:
                unknown.add(f[0])
    gone -= unknown
    return exists, gone, unknown


def check_mix(load, directory, limit=20):
    """Every acknowledged create/rename/unlink of a mix load is reflected
    in directory; no name is listed twice; no name appears that no
    operation made. Returns a list of problems."""
    exists, gone, unknown = replay_mix(load.poll())
    present, dupes = listing(directory)
    problems = [f"{directory}: names listed twice: {dupes[:limit]}"] if dupes else []
    for name, (ino, cname) in sorted(exists.items()):
        if name not in present:
            problems.append(f"{load.name}: {name} (inode {ino}) should exist"
                            f" ({history(load, name)})")
        else:
            st = os.stat(directory / name)
            if st.st_ino != ino:
                problems.append(f"{name}: inode {st.st_ino}, expected {ino} "
                                f"({history(load, name)})")
            elif cname is not None:
                got = (directory / name).read_bytes()
                if got != content(cname):
                    problems.append(f"{name}: content is not {cname}'s "
                                    f"({len(got)} bytes)")
        if len(problems) >= limit:
            return problems + ["(more not checked)"]
    for name in sorted(gone & present):
        problems.append(f"{load.name}: {name} should be gone "
                        f"({history(load, name)})")
        if len(problems) >= limit:
            return problems + ["(more not checked)"]
    if not load.killed:
        stray = present - set(exists) - unknown
        if stray:
            problems.append(f"{directory}: names no acknowledged operation "
                            f"left there: {sorted(stray)[:limit]}")
    return problems


def history(load, name):
    recs = [r for r in load.records if name in r.fields[:2]]
    return "; ".join(f"{r.t0:.3f} {r.op} {' '.join(r.fields)} -> {r.status}"
                     for r in recs[-6:])


def assert_digests_equal(cluster):
    digests = cluster.digests()
    assert len(set(digests.values())) == 1, \
        f"state digests differ: {digests}\n{cluster.diagnose()}"
    assert len(digests) == len(cluster.nodes), \
        f"digests of {sorted(digests)} only\n{cluster.diagnose()}"
    return digests


def assert_mount_unchanged(mount, pid, cluster):
    assert mount.proc.alive() and mount.proc.pid == pid and mount.mounted, \
        f"mfsmount {pid} is gone (needed a remount?): alive={mount.proc.alive()}"\
        f" pid now {mount.proc.pid}\n{mount.proc.log_tail()}\n{cluster.diagnose()}"


# ---- numbers ---------------------------------------------------------------------

def median(xs):
    return statistics.median(xs) if xs else None


def p99(xs):
    """Nearest rank: with fewer than 100 values, the largest."""
    if not xs:
        return None
    s = sorted(xs)
    return s[max(0, math.ceil(0.99 * len(s)) - 1)]


METRICS = ["detect", "elected", "vip", "meta", "read", "write"]


def summarize(rows):
    return {m: {"median": median([r[m] for r in rows if r[m] is not None]),
                "p99": p99([r[m] for r in rows if r[m] is not None]),
                "n": sum(r[m] is not None for r in rows)} for m in METRICS}


def format_table(rows, summary):
    def f(x):
        return "      -" if x is None else f"{x * 1000:7.0f}"
    lines = ["kill-9 of the leader, ms after the kill: detect (a survivor's "
             "term rose), elected (mdsctl shows the new leader), vip (its "
             "notify script moved the route), first acknowledged meta "
             "(create) / read / write (create+write+fsync) started after the"
             " kill; client = meta - vip",
             " kill  from->to  detect elected     vip    meta    read   write  client"]
    for r in rows:
        client = None if r["meta"] is None or r["vip"] is None \
            else r["meta"] - r["vip"]
        lines.append(f" {r['kill']:4d}  n{r['from']}->n{r['to']}  " +
                     " ".join(f(r[m]) for m in METRICS) + " " + f(client))
    for stat in ("median", "p99"):
        lines.append(f" {stat:>14}  " + " ".join(f(summary[m][stat])
                                                 for m in METRICS))
    return "\n".join(lines)


# ---- fixtures --------------------------------------------------------------------

@pytest.fixture
def ha(harness):
    """make(**MdsCluster kwargs) -> a started cluster; load(...) -> a Load.
    Loads are stopped and nodes healed and resumed before the harness
    tears everything down."""
    reason = _mdsd_available()
    if reason:
        pytest.skip(reason)
    clusters, loads = [], []

    def make(**kw):
        c = MdsCluster(harness, **kw)
        clusters.append(c)
        return c.start()

    def load(mode, root, *args, label=None):
        lo = Load(harness, mode, root, *args, label=label)
        loads.append(lo)
        return lo

    yield SimpleNamespace(make=make, load=load, harness=harness)
    for c in clusters:
        c.release()
    for lo in loads:
        if lo.alive():
            lo.stop(timeout=30)


def write_read_set(directory, count=40):
    """Files r0000.. that read loads read back (written by the test
    process, closed before any load starts)."""
    directory.mkdir()
    for j in range(count):
        name = f"r{j:04d}"
        (directory / name).write_bytes(content(name))


# ---- the VIP mechanism with single-node mdsd (no cluster support needed) -------------

@pytest.mark.deadline(120)
def test_vip_follows_the_notify_script(ha):
    """Two one-node mdsd groups in namespaces; their notify scripts, run by
    hand, move the VIP: after kill -9 and while the holder is partitioned
    off, a late script of an older term does not take it back, and no
    connection to the VIP ever leaves through the host's default route."""
    # mdsd runs its own notify script (a one-node group leads at once);
    # here only the scripts run by hand may move the VIP.
    c = ha.make(nodes=2, bootstrap="config",
                node_config={"MDS_NOTIFY_SCRIPT": "/bin/true"})
    a, b = c.nodes
    assert c.vip_route() is None
    r = vip_connect_via(c)
    assert isinstance(r, ConnectionRefusedError), \
        f"no leader yet: the parking namespace should refuse, got {r!r}"

    a.notify("leader", term=1)
    assert c.vip_node() is a and a.has_vip(), c.diagnose()
    assert vip_connect_via(c) == a.netns.host_addr

    a.kill()                               # still routed to a: refused, fast
    r = vip_connect_via(c)
    assert isinstance(r, ConnectionRefusedError), r
    b.notify("leader", term=2)
    assert c.vip_node() is b and b.has_vip()
    assert vip_connect_via(c) == b.netns.host_addr

    a.start()
    a.notify("follower", term=2, leader=2)
    assert not a.has_vip() and c.vip_node() is b

    a.notify("leader", term=3)
    assert c.vip_node() is a
    a.partition()                          # the /32 goes with the link
    assert c.vip_route() is None
    r = vip_connect_via(c)
    assert isinstance(r, ConnectionRefusedError), \
        f"partitioned holder: parking should refuse, got {r!r}"
    b.notify("leader", term=4)             # the majority side moves it
    assert c.vip_node() is b and vip_connect_via(c) == b.netns.host_addr
    a.notify("leader", term=3)             # late script of the old term
    assert c.vip_node() is b, "a stale leader script took the VIP back"
    a.notify("follower", term=4, leader=2)
    assert not a.has_vip()
    a.heal()
    assert c.vip_node() is b
    # Peers reach each other again, from their own addresses.
    probe = ("import socket\n"
             f"s = socket.create_connection(('{b.addr}', {c.client_port}), 2)\n"
             "print(s.getsockname()[0])\n")
    out = subprocess.run(a.netns.exec_argv(["/usr/bin/python3", "-c", probe]),
                         capture_output=True, text=True, timeout=10)
    assert out.stdout.strip() == a.addr, out
    events = c.script_events()
    assert [(e["node"], e["role"], e["term"]) for e in events] == [
        (1, "leader", 1), (2, "leader", 2), (1, "follower", 2),
        (1, "leader", 3), (2, "leader", 4), (1, "leader", 3),
        (1, "follower", 4)], events
    assert events[5]["what"].startswith("stale=4/2"), events[5]


@pytest.mark.deadline(180)
def test_single_node_behind_the_vip(ha):
    """One mdsd in a namespace, a stock chunkserver and a stock mfsmount
    that know only the VIP: files written read back through the VIP."""
    c = ha.make(nodes=1, bootstrap="config", chunkservers=1, mounts=1)
    assert c.vip_node() is c.nodes[0]
    m = c.mount.path
    data = os.urandom(300 * 1024)
    (m / "f").write_bytes(data)
    (m / "d").mkdir()
    assert (m / "f").read_bytes() == data
    assert sorted(os.listdir(m)) == ["d", "f"]
    servers = [(s.ip, s.port) for s in c.chunkservers()]
    assert servers == [c.stock_chunkservers[0].address], servers


# ---- the group -------------------------------------------------------------------

@pytest.mark.deadline(180)
def test_group_forms_and_the_vip_reaches_the_leader(ha):
    """Bootstrap + join, as an operator does it: three voters, one leader,
    the VIP on it, chunkservers and a mount through the VIP, the same
    digest on every node."""
    c = ha.make(**CLUSTER)
    lead = c.wait_leader()
    st = lead.status()
    voters = sorted(m["id"] for m in st["members"] if m["role"] == "voter")
    assert voters == [1, 2, 3], st
    assert c.vip_node() is lead, c.diagnose()
    for n in c.nodes:
        if n is not lead:
            assert not n.has_vip(), f"follower {n.id} holds the VIP\n{c.diagnose()}"
    (c.mount.path / "hello").write_bytes(b"world")
    assert (c.mount.path / "hello").read_bytes() == b"world"
    assert_digests_equal(c)


@pytest.mark.deadline(120 + 45 * KILLS)
def test_kill_leader_under_load(ha, capsys):
    """kill -9 of the leader, MDS_HA_KILLS times, under creates, reads and
    writes through one stock mfsmount: every acknowledged operation is
    there afterwards (file by file: inode and content), the mount goes on
    without a remount, and the time from each kill to the new leader, the
    VIP move and the first success of each kind of operation is
    measured (printed; JSON in $MDS_HA_RESULTS)."""
    c = ha.make(**CLUSTER)
    mnt = c.mount.path
    mount_pid = c.mount.proc.pid
    for d in ("meta", "write"):
        (mnt / d).mkdir()
    write_read_set(mnt / "read")
    make = {"meta": lambda: ha.load("create", mnt / "meta", "m"),
            "read": lambda: ha.load("read", mnt / "read", "40"),
            "write": lambda: ha.load("write", mnt / "write", "w")}
    loads = {kind: make[kind]() for kind in KILL_LOADS}
    wait_progress(loads.values(), time.time(), c, 30, "at the start")

    rows = []
    try:
        kill_loop(c, loads, rows)
    finally:
        summary = summarize(rows)
        table = format_table(rows, summary)
        missed = [f"{m} {stat} {summary[m][stat]:.3f}s > goal {limit}s"
                  for m, stat, limit in GOALS
                  if summary[m][stat] is not None and summary[m][stat] > limit]
        with capsys.disabled():
            print(f"\n{table}\n" + (f"goals missed: {missed}\n" if missed
                                     else "all goals met\n"))
        if os.environ.get("MDS_HA_RESULTS"):
            with open(os.environ["MDS_HA_RESULTS"], "w") as f:
                json.dump({"kills": rows, "summary": summary, "missed": missed,
                           "complete": len(rows) == KILLS, "goals": GOALS,
                           "election_timeout_ms": c.election_timeout_ms,
                           "heartbeat_ms": c.heartbeat_ms}, f, indent=1)

    for lo in loads.values():
        lo.stop()
    bad_reads = [r for r in loads["read"].records
                 if r.status == "bad"] if "read" in loads else []
    assert not bad_reads, f"reads returned wrong bytes: {bad_reads[:5]}"
    problems = []
    if "meta" in loads:
        problems += check_created(loads["meta"], mnt / "meta")
    if "write" in loads:
        problems += check_created(loads["write"], mnt / "write", with_data=True)
    assert not problems, "\n".join(problems) + "\n" + c.diagnose()
    assert_mount_unchanged(c.mount, mount_pid, c)
    assert_digests_equal(c)
    if missed:
        if ENFORCE_GOALS:
            pytest.fail(f"latency goals missed: {missed}\n{table}")
        warnings.warn(f"HA latency goals missed: {missed}")


def kill_loop(c, loads, rows):
    """MDS_HA_KILLS rounds of: kill -9 the leader, time the recovery (a
    row each in `rows`), start the killed node again, let it catch up."""
    for k in range(1, KILLS + 1):
        old = c.wait_leader()
        old_term = old.status()["term"]
        c.wait_vip(10)
        wait_progress(loads.values(), time.time(), c, 30, f"before kill {k}")
        t_kill = old.kill()
        seen = c.watch_failover(old_term, t_kill, timeout=30)
        new = seen["leader"]
        found = wait_progress(loads.values(), t_kill, c,
                              what=f"after kill {k} (of node {old.id})")
        vip_at = c.vip_moved_at(new, seen["term"], since=t_kill)
        rows.append({
            "kill": k, "from": old.id, "to": new.id, "term": seen["term"],
            "detect": seen["detect"] - t_kill if seen["detect"] else None,
            "elected": seen["elected"] - t_kill,
            "vip": vip_at - t_kill if vip_at else None,
            **{kind: found[loads[kind].name].t1 - t_kill
               if kind in loads else None for kind in ("meta", "read", "write")}})
        old.start()
        c.wait_converged(60)


@pytest.mark.deadline(300)
def test_partitioned_leader(ha):
    """The leader cut off by a partition: it stops acknowledging (a mount
    pinned inside its namespace gets no acknowledgement while it is cut
    off), the majority elects a new leader and the VIP's mount goes on;
    both mounts race for the same names with O_EXCL creates, and no name
    is acknowledged to both; after healing every acknowledgement is
    there and all three digests agree."""
    c = ha.make(**CLUSTER)
    mnt = c.mount.path
    (mnt / "race").mkdir()
    (mnt / "write").mkdir()
    old = c.wait_leader()
    old_term = old.status()["term"]
    minority = c.pinned_mount(old)
    maj_race = ha.load("race", mnt / "race", "x", label="major-race")
    maj_write = ha.load("write", mnt / "write", "w", label="major-write")
    min_race = ha.load("race", minority.path / "race", "x", label="minor-race")
    min_write = ha.load("write", minority.path / "write", "v",
                        label="minor-write")
    everyone = [maj_race, maj_write, min_race, min_write]
    wait_progress(everyone, time.time(), c, 30, "before the partition")
    time.sleep(1)

    t_part = time.time()
    old.partition()
    others = [n for n in c.nodes if n is not old]
    seen = c.watch_failover(old_term, t_part, timeout=30, among=others)
    wait_progress([maj_race, maj_write], t_part, c,
                  what="on the majority side during the partition")
    c.wait_vip(10, node=seen["leader"])
    # The old leader notices it lost its majority and steps down.
    wait_for(lambda: (st := old.status()) and st.get("role") != "leader",
             10, f"partitioned node {old.id} to stop calling itself leader",
             interval=0.1, diagnose=c.diagnose)
    time.sleep(3)
    t_heal = time.time()
    old.heal()
    c.wait_converged(60)
    wait_progress(everyone, time.time(), c, what="after healing")
    for lo in everyone:
        lo.stop()

    # Nothing acknowledged by the cut-off leader while it was cut off
    # (an answer already on its way when the link went down: 0.2 s).
    late = [(lo.name, r) for lo in (min_race, min_write) for r in lo.records
            if r.status == "ok" and t_part + 0.2 < r.t1 < t_heal]
    assert not late, f"the partitioned leader acknowledged: {late[:5]}\n" \
        + c.diagnose()
    both = {r.fields[0] for r in maj_race.acked()} & \
        {r.fields[0] for r in min_race.acked()}
    assert not both, f"names acknowledged to both sides: {sorted(both)[:10]}"
    problems = []
    for lo in (maj_race, min_race):
        problems += check_created(lo, mnt / "race")
    problems += check_created(maj_write, mnt / "write", with_data=True)
    problems += check_created(min_write, mnt / "write", with_data=True)
    assert not problems, "\n".join(problems) + "\n" + c.diagnose()
    assert_digests_equal(c)


@pytest.mark.deadline(400)
def test_rolling_restart_under_load(ha):
    """Every node stopped (SIGTERM) and started again, one after the other,
    under creates, reads and writes: no operation fails, every
    acknowledged one is there, no remount, the same digest everywhere."""
    c = ha.make(**CLUSTER)
    mnt = c.mount.path
    mount_pid = c.mount.proc.pid
    for d in ("meta", "write"):
        (mnt / d).mkdir()
    write_read_set(mnt / "read")
    loads = [ha.load("create", mnt / "meta", "m"),
             ha.load("read", mnt / "read", "40"),
             ha.load("write", mnt / "write", "w")]
    wait_progress(loads, time.time(), c, 30, "at the start")
    for n in c.nodes:
        was_leader = c.leader() is n
        n.stop()
        t = time.time()
        if was_leader:
            c.wait_leader(30, exclude=[n])
        wait_progress(loads, t, c, what=f"with node {n.id} stopped")
        n.start()
        c.wait_converged(60)
        wait_progress(loads, time.time(), c, what=f"after node {n.id} is back")
    for lo in loads:
        lo.stop()
    errors = [(lo.name, r) for lo in loads for r in lo.errors()]
    assert not errors, f"operations failed: {errors[:10]}\n{c.diagnose()}"
    problems = check_created(loads[0], mnt / "meta") + \
        check_created(loads[2], mnt / "write", with_data=True)
    assert not problems, "\n".join(problems) + "\n" + c.diagnose()
    assert_mount_unchanged(c.mount, mount_pid, c)
    assert_digests_equal(c)


@pytest.mark.parametrize("threshold", [
    pytest.param(1 << 30, id="log"),         # no compaction: the log is sent
    pytest.param(256, id="snapshot"),        # compacted away: a snapshot is
])
@pytest.mark.deadline(300 + CATCHUP_OPS // 100)
def test_node_down_catches_up(ha, threshold, capsys):
    """A follower stopped while MDS_CATCHUP_OPS creates and unlinks go
    through the mount (four processes) catches up when started again
    (from the log, or from a snapshot once the log was compacted) and
    reaches the leader's digest; every kept file is there."""
    c = ha.make(nodes=3, chunkservers=0, mounts=1,
                node_config={"MDS_SNAPSHOT_THRESHOLD": threshold})
    mnt = c.mount.path
    lead = c.wait_leader()
    c.wait_converged(60)
    down = next(n for n in c.nodes if n is not lead)
    down.stop()
    before = lead.status()
    procs = 4
    loads = []
    for p in range(procs):
        (mnt / f"c{p}").mkdir()
        loads.append(ha.load("churn", mnt / f"c{p}", "c",
                             str(CATCHUP_OPS // (2 * procs)), "50"))
    t0 = time.time()
    wait_for(lambda: all(any(r.op == "done" for r in lo.poll()) for lo in loads),
             60 + CATCHUP_OPS / 20, f"{CATCHUP_OPS} operations",
             interval=0.5,
             diagnose=lambda: "\n".join(lo.describe() for lo in loads))
    took = time.time() - t0
    for lo in loads:
        lo.stop()
    after = lead.status()
    t_start = time.time()
    down.start()
    c.wait_converged(120 + CATCHUP_OPS / 200)
    caught_up = time.time() - t_start
    with capsys.disabled():
        print(f"\ncatch-up ({threshold=}): {CATCHUP_OPS} ops in {took:.1f}s "
              f"({CATCHUP_OPS / took:.0f}/s), log {before.get('last')} -> "
              f"{after.get('last')} (snapshot {after.get('snapshot')}); node "
              f"{down.id} caught up in {caught_up:.1f}s")
    errors = [(lo.name, r) for lo in loads for r in lo.errors()]
    assert not errors, f"operations failed: {errors[:10]}"
    problems = []
    for p, lo in enumerate(loads):
        problems += check_created(lo, mnt / f"c{p}")
    assert not problems, "\n".join(problems) + "\n" + c.diagnose()
    assert_digests_equal(c)


# ---- nemesis ---------------------------------------------------------------------

def nemesis_fault(c, rng, timeline):
    """One fault on one node (the leader half of the time), undone after a
    random while: kill -9 then start, stop then start, SIGSTOP then
    SIGCONT, partition then heal."""
    lead = c.leader()
    target = lead if lead is not None and rng.random() < 0.5 \
        else rng.choice(c.nodes)
    kind = rng.choice(["kill", "restart", "pause", "partition"])

    def note(what):
        timeline.append((time.time(), f"{what} node {target.id}"
                         f"{' (leader)' if target is lead else ''}"))

    if kind == "kill":
        note("kill -9")
        target.kill()
        time.sleep(rng.uniform(0.2, 3))
        note("start")
        target.start()
    elif kind == "restart":
        note("stop")
        target.stop()
        time.sleep(rng.uniform(0.2, 2))
        note("start")
        target.start()
    elif kind == "pause":
        note("SIGSTOP")
        target.pause()
        time.sleep(rng.uniform(0.3, 4))
        note("SIGCONT")
        target.resume()
    else:
        note("partition")
        target.partition()
        time.sleep(rng.uniform(0.5, 6))
        note("heal")
        target.heal()


@pytest.mark.deadline(NEMESIS_SECONDS + 400)
def test_nemesis(ha, capsys):
    """MDS_NEMESIS_SECONDS of kill -9, SIGSTOP/SIGCONT, partitions and
    restarts, one node at a time, against creates, renames and unlinks
    through one stock mfsmount (three processes, a directory each). After
    every fault the load must succeed again; at the end every acknowledged
    create/rename/unlink is reflected (inodes, content), no name is listed
    twice, no name appears that no operation left, and all replicas'
    digests agree."""
    seed = int(os.environ.get("MDS_NEMESIS_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    c = ha.make(**CLUSTER)
    mnt = c.mount.path
    mount_pid = c.mount.proc.pid
    loads = []
    for p in range(3):
        (mnt / f"d{p}").mkdir()
        loads.append(ha.load("mix", mnt / f"d{p}", str(seed + p),
                             "8" if NEMESIS_DATA else "0"))
    wait_progress(loads, time.time(), c, 30, "at the start")
    timeline = []
    end = time.time() + NEMESIS_SECONDS

    def story():
        return f"seed {seed}; faults:\n" + "\n".join(
            f"  {t:.3f} {what}" for t, what in timeline)

    try:
        while time.time() < end:
            nemesis_fault(c, rng, timeline)
            t = time.time()
            c.wait_leader(30)
            wait_progress(loads, t, c, what="after " + timeline[-1][1])
            time.sleep(rng.uniform(0.5, 2.5))
    except HarnessError as e:
        raise AssertionError(f"{e}\n{story()}") from None
    for lo in loads:
        lo.stop()
    problems = []
    for p, lo in enumerate(loads):
        problems += check_mix(lo, mnt / f"d{p}")
    stats = {lo.name: collections.Counter(f"{r.op}:{r.status}" for r in lo.records)
             for lo in loads}
    with capsys.disabled():
        print(f"\nnemesis: {len(timeline)} fault events; {story()}\nops: {stats}")
    assert not problems, "\n".join(problems) + f"\n{story()}\n" + c.diagnose()
    assert_mount_unchanged(c.mount, mount_pid, c)
    digests = c.digests()
    assert len(set(digests.values())) == 1, \
        f"state digests differ: {digests}\n{story()}\n{c.diagnose()}"
