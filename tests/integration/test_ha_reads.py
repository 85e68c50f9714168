"""Reads stay linearizable when the leader is cut off (issue #5).

A leader serves reads from its own store only while it holds a lease (a
majority answered it within 3/4 of an election timeout); without one, reads
wait for a barrier entry that commits after they arrived
(docs/consistency.md, "Reads"). So a leader cut off by a partition must
never answer a read with a state older than what the majority side has
acknowledged meanwhile.

The check: a stock mount pinned to the leader's own address lists a
directory in a loop (a separate process records when each listing started
and ended, and the highest name it saw) while the leader is partitioned
away and the majority side, through the service address, creates names
m0000000, m0000001, ... in order (recording when each was acknowledged).
Every listing answered after the partition began must show every name
acknowledged before that listing started.

mds only: the stock master has no replicas to be stale against.
"""

import time

from test_ha import ha, wait_progress  # noqa: F401  (the cluster fixture)

LISTER_PY = r'''
import os, sys, time
root, rec_path, stop_path = sys.argv[1:4]
out = os.open(rec_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
while not os.path.exists(stop_path):
    t0 = time.time()
    try:
        names = [n for n in os.listdir(root) if n.startswith("m")]
        top = max((int(n[1:]) for n in names), default=-1)
        os.write(out, f"{t0:.6f} {time.time():.6f} ok {top}\n".encode())
    except OSError as e:
        os.write(out, f"{t0:.6f} {time.time():.6f} err {e.errno}\n".encode())
        time.sleep(0.05)
    time.sleep(0.005)
'''


def read_records(path):
    out = []
    try:
        text = path.read_text()
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        f = line.split()
        if len(f) == 4:
            out.append((float(f[0]), float(f[1]), f[2], int(f[3])))
    return out


def test_a_partitioned_leader_never_answers_a_stale_listing(ha):  # noqa: F811
    c = ha.make(nodes=3, chunkservers=0, mounts=1)
    mnt = c.mount.path
    (mnt / "seq").mkdir()
    old = c.wait_leader()
    old_term = old.status()["term"]
    minority = c.pinned_mount(old)

    d = ha.harness.path("lister")
    script = d / "lister.py"
    script.write_text(LISTER_PY)
    rec, stop = d / "lister.rec", d / "lister.stop"
    lister = ha.harness.start("lister", ["/usr/bin/python3", script,
                                         minority.path / "seq", rec, stop])
    writer = ha.load("create", mnt / "seq", "m", label="markers")
    wait_progress([writer], time.time(), c, 30, "before the partition")
    time.sleep(1)

    t_part = time.time()
    old.partition()
    others = [n for n in c.nodes if n is not old]
    c.watch_failover(old_term, t_part, timeout=30, among=others)
    wait_progress([writer], t_part, c, what="on the majority side during the partition")
    time.sleep(3)
    old.heal()
    c.wait_converged(60)
    time.sleep(2)
    stop.touch()
    writer.stop()
    lister.wait_exit(30)

    acked = sorted((r.t1, int(r.fields[0][1:])) for r in writer.acked())
    listings = [r for r in read_records(rec) if r[2] == "ok" and r[1] > t_part + 0.05]
    assert acked and listings, "no markers or no listings after the partition"
    stale = []
    for t0, t1, _, top in listings:
        # The highest marker acknowledged before this listing started.
        due = max((i for t_ack, i in acked if t_ack < t0), default=-1)
        if top < due:
            stale.append((t0, t1, top, due))
    assert not stale, (f"{len(stale)} stale listings (start, end, saw, due): "
                       f"{stale[:5]}\n" + c.diagnose())
