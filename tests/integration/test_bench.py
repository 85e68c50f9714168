"""mdsctl bench against real masters: every profile runs without an
unexpected reply on the stock mfsmaster and on mdsd and leaves nothing
behind; what it counts is what it made; against a three-node cluster it
reaches the leader through a follower's redirect and the replicas agree.

Numbers are not checked here (timing goals belong to bench/ and
docs/benchmarks.md); these tests check that the load generator does what
it says, so its numbers mean something.
"""

import importlib.machinery
import importlib.util
import json
import os
import socket
import struct
import subprocess
import threading

import pytest

from mfsharness.mdscluster import mdsctl_binary

from test_ha import assert_digests_equal, ha  # noqa: F401  (the cluster fixture)

BOTH = pytest.mark.parametrize("master_kind", ["stock", "mdsd"], indirect=True)

# The operations each profile must have carried out.
PROFILE_OPS = {
    "create": {"create"},
    "mkdir": {"mkdir"},
    "stat": {"lookup", "getattr"},
    "readdir": {"readdir"},
    "rename": {"rename"},
    "unlink": {"unlink"},
    "setattr": {"setattr"},
    "mixed": {"lookup", "getattr", "readdir", "create", "rename", "setattr", "unlink"},
}


def bench(host, port, *args, timeout=300):
    argv = [str(mdsctl_binary()), "bench", "-j", "-m", f"{host}:{port}", *args]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(argv)} exited {r.returncode}:\n{r.stderr}"
    return json.loads(r.stdout)


@BOTH
def test_every_profile_runs_without_errors_and_leaves_nothing_behind(master, mount_factory):
    doc = bench(master.client_host, master.client_port, "-d", "1.5", "-s", "1,3",
                "-f", "50", "-r", "300", "-u", "600", "all")
    runs = {(r["profile"], r["sessions"]): r for r in doc["runs"]}
    assert set(runs) == {(p, s) for p in PROFILE_OPS for s in (1, 3)}
    for (profile, sessions), r in sorted(runs.items()):
        assert r["errors"] == 0, f"{profile} x{sessions}: {r['first_error']}"
        done = {op for op, o in r["ops_by_type"].items() if o["count"] > 0}
        assert done == PROFILE_OPS[profile], f"{profile} x{sessions} did {done}"
        for op, o in r["ops_by_type"].items():
            assert 0 < o["p50_us"] <= o["p90_us"] <= o["p99_us"] <= o["p999_us"], (profile, op, o)
    # every unlink run removed exactly the files its setup made
    for s in (1, 3):
        assert runs[("unlink", s)]["ops_by_type"]["unlink"]["count"] == 600
    mount = mount_factory(master)
    assert os.listdir(mount.path) == []


@BOTH
def test_what_a_run_counts_is_what_it_made(master, mount_factory):
    # 16 sessions: many replies arrive in one epoll batch, the case where a
    # reply read after the n-th in the same turn was once counted as well
    sessions = 16
    doc = bench(master.client_host, master.client_port, "-k", "-n", "250", "-d", "60",
                "-s", str(sessions), "create")
    (run,) = doc["runs"]
    assert run["errors"] == 0, run["first_error"]
    assert run["ops"] == 250
    assert run["ops_by_type"]["create"]["count"] == 250
    mount = mount_factory(master)
    work = mount.path / doc["work_directory"] / f"create-{sessions}"
    made = [n for s in range(sessions) for n in os.listdir(work / f"s{s}")]
    # replies after the 250th are waited for but not counted: at most one
    # more per session was made
    assert 250 <= len(made) <= 250 + sessions, len(made)


def test_a_follower_redirects_the_bench_to_the_leader(ha):
    cluster = ha.make(nodes=3)
    leader = cluster.wait_leader()
    follower = next(n for n in cluster.nodes if n is not leader)
    doc = bench(follower.addr, cluster.client_port, "-d", "1", "-s", "4", "-f", "50",
                "create,mixed")
    for r in doc["runs"]:
        assert r["errors"] == 0, f"{r['profile']}: {r['first_error']}"
        assert r["ops"] > 0
    assert_digests_equal(cluster)


@BOTH
def test_cpu_time_per_operation_is_each_process_own(master):
    # -c reads each given process's CPU time around the measured seconds.
    # Creates cost the master CPU; a sleeping process given beside it has
    # spent none, so its share is 0 and the total is the master's alone.
    sleeper = subprocess.Popen(["sleep", "120"])
    try:
        doc = bench(master.client_host, master.client_port, "-d", "1.5", "-s", "2",
                    "-c", f"{master.proc.pid},{sleeper.pid}", "create")
    finally:
        sleeper.kill()
        sleeper.wait()
    (run,) = doc["runs"]
    assert run["errors"] == 0, run["first_error"]
    by_pid = run["cpu_us_per_op_by_pid"]
    assert set(by_pid) == {str(master.proc.pid), str(sleeper.pid)}
    assert by_pid[str(master.proc.pid)] > 0
    assert by_pid[str(sleeper.pid)] == 0
    assert run["cpu_us_per_op"] == pytest.approx(by_pid[str(master.proc.pid)])
    assert run["bench_cpu_us_per_op"] > 0
    # a process that is not on this machine is refused before any load
    r = subprocess.run([str(mdsctl_binary()), "bench", "-m",
                        f"{master.client_host}:{master.client_port}", "-c", "2147483647",
                        "create"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "no process 2147483647" in r.stderr


def load_compare():
    """bench/compare as a module (a script without a .py name)."""
    path = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "compare")
    loader = importlib.machinery.SourceFileLoader("bench_compare", path)
    spec = importlib.util.spec_from_loader("bench_compare", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


@BOTH
def test_cpu_budget_at_a_masters_own_rate_holds_what_it_spent(master):
    # bench/compare's budget: cores x 1 s / ops/s, less the bench's own CPU
    # per operation. At the rate a master really ran, the master and the
    # bench cannot have used more CPU than the machine has, so what the
    # master spent fits in that rate's budget and the cores it kept busy
    # are at most the machine's; a CPU figure of the wrong processes or
    # counted twice breaks this. 64 sessions load the machine.
    compare = load_compare()
    cores = os.cpu_count()
    doc = bench(master.client_host, master.client_port, "-d", "1.5", "-s", "64",
                "-c", str(master.proc.pid), "create")
    (run,) = doc["runs"]
    assert run["errors"] == 0, run["first_error"]
    busy = compare.cores_busy(run)
    assert 0.2 < busy <= cores * 1.1, busy
    left = compare.cpu_budget(run["ops_per_s"], cores, run["bench_cpu_us_per_op"])
    assert left is not None and run["cpu_us_per_op"] <= left * 1.1, (left, run)
    # a rate the bench alone would more than fill leaves nothing
    assert compare.cpu_budget(1.01 * cores * 1e6 / run["bench_cpu_us_per_op"], cores,
                              run["bench_cpu_us_per_op"]) is None


def test_server_side_latency_is_each_request_from_arrival_to_reply(ha):
    # -S fetches the leader's own request latencies (mdsctl stats) before
    # and after each measured run. One session and -n: the run ends with
    # its n-th reply and nothing else in flight, so the leader counted
    # exactly the run's requests; each request's time on the server lies
    # inside its round trip at the client, so every server percentile is
    # at most the client's (plus the histogram's bucket width, 1/16).
    cluster = ha.make(nodes=3)
    leader = cluster.wait_leader()
    follower = next(n for n in cluster.nodes if n is not leader)
    doc = bench(leader.addr, cluster.client_port, "-n", "300", "-d", "60", "-s", "1",
                "-f", "50", "-S", leader.peer_address, "create,stat")
    runs = {r["profile"]: r for r in doc["runs"]}
    expect = {"create": {"create"}, "stat": {"lookup", "getattr"}}
    for profile, ops in expect.items():
        r = runs[profile]
        assert r["errors"] == 0, r["first_error"]
        srv = r["server"]
        assert srv["node"] == leader.id
        assert set(srv["ops"]) == ops, (profile, srv["ops"])
        for op in ops:
            s, c = srv["ops"][op], r["ops_by_type"][op]
            assert s["count"] == c["count"], (profile, op, s, c)
            assert 0 < s["p50_us"] <= s["p90_us"] <= s["p99_us"] <= s["p999_us"]
            for q in ("p50_us", "p90_us", "p99_us"):
                assert s[q] <= c[q] * 17 / 16, (profile, op, q, s, c)
        assert sum(srv["ops"][op]["count"] for op in ops) == 300
    # the totals since start: the runs' requests and their setup's
    text = leader.mdsctl("stats").stdout
    rows = {line.split()[0]: line.split() for line in text.splitlines()
            if line and not line.startswith("#")}
    assert rows["op"][:3] == ["op", "count", "mean"]
    assert int(rows["create"][1]) >= 300
    assert int(rows["lookup"][1]) + int(rows["getattr"][1]) >= 300
    # a follower answered none of them (it only redirects REGISTER)
    assert json.loads(follower.mdsctl("stats", "-j").stdout)["ops"] == {}


class FrameTap:
    """A TCP relay in front of a master that keeps, per connection, the
    msgid of every request a client sends through it (the first four
    payload bytes of every frame but REGISTER's and the NOPs)."""

    REGISTER = 400

    def __init__(self, host, port):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.msgids = []             # one list per accepted connection
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self.lock:
                seen = []
                self.msgids.append(seen)
            threading.Thread(target=self._up, args=(client, server, seen), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client), daemon=True).start()

    def _up(self, src, dst, seen):
        buf = b""
        try:
            while data := src.recv(65536):
                dst.sendall(data)
                buf += data
                while len(buf) >= 8:
                    mtype, length = struct.unpack(">II", buf[:8])
                    if len(buf) < 8 + length:
                        break
                    if mtype not in (0, self.REGISTER) and length >= 4:
                        with self.lock:
                            seen.append(struct.unpack(">I", buf[8:12])[0])
                    buf = buf[8 + length:]
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass             # the other side went first: nothing left to relay

    def _down(self, src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


@BOTH
def test_each_session_reuses_one_msgid_as_a_mount_thread_does(master):
    # A stock mount's thread sends all its requests with the thread's one
    # msgid (client protocol spec 2.3), and mdsd keeps its exactly-once
    # record per (session, msgid): a bench that counted msgids up would
    # make mdsd do other work than a mount does (a first-use lookup per
    # request, no record past msgid 4096), and its numbers would not be
    # a mount's.
    tap = FrameTap(master.client_host, master.client_port)
    try:
        doc = bench("127.0.0.1", tap.port, "-n", "200", "-d", "60", "-s", "2",
                    "-f", "20", "create,stat")
    finally:
        tap.close()
    assert all(r["errors"] == 0 for r in doc["runs"]), doc["runs"]
    with tap.lock:
        conns = [ids for ids in tap.msgids if ids]
    assert sum(len(ids) for ids in conns) >= 400
    for ids in conns:
        assert set(ids) == {1}, sorted(set(ids))[:10]
