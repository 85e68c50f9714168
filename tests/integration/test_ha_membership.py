"""Membership as an operator changes it (docs/operations.md): a node whose
disk is wiped is removed and joined again and catches up from a snapshot;
leadership is moved to a named node and the service address follows.

mds only (the stock master has no replicas).
"""

import time

from test_ha import assert_digests_equal, assert_mount_unchanged, ha  # noqa: F401


def voters(node):
    st = node.status() or {}
    return sorted(m["id"] for m in st.get("members", []) if m.get("role") == "voter")


def test_a_wiped_node_is_removed_rejoins_and_catches_up_from_a_snapshot(ha):  # noqa: F811
    # A small snapshot threshold: the leader's log no longer reaches back to
    # the start when the wiped node comes back, so it needs the snapshot.
    c = ha.make(nodes=3, chunkservers=0, mounts=1,
                node_config={"MDS_SNAPSHOT_THRESHOLD": 64})
    mnt = c.mount.path
    mount_pid = c.mount.proc.pid
    for i in range(100):
        (mnt / f"a{i:03d}").mkdir()
    leader = c.wait_leader()
    victim = next(n for n in c.nodes if n is not leader)

    c.remove(victim)
    assert victim.id not in voters(leader), f"node {victim.id} still a voter"
    victim.stop()
    victim.wipe()
    for i in range(100):                      # changes while it is gone
        (mnt / f"b{i:03d}").mkdir()
    victim.start()
    c.join(victim)
    c.wait_members(60)
    assert victim.id in voters(c.wait_leader())
    (mnt / "after-join").mkdir()
    c.wait_converged(60)
    digests = assert_digests_equal(c)
    assert victim.id in digests
    log = victim.log_tail(400)
    assert "installed" in log and "snapshot" in log, \
        f"node {victim.id} did not catch up from a snapshot:\n{log}"
    assert_mount_unchanged(c.mount, mount_pid, c)


def test_transfer_leader_moves_leadership_and_the_service_address(ha):  # noqa: F811
    c = ha.make(nodes=3, chunkservers=0, mounts=1)
    mnt = c.mount.path
    mount_pid = c.mount.proc.pid
    old = c.wait_leader()
    target = next(n for n in c.nodes if n is not old)
    term = old.status()["term"]
    c.transfer_leader(to=target)
    new = c.wait_leader(30, min_term=term + 1)
    assert new is target, f"leadership went to node {new.id}, not {target.id}"
    c.wait_vip(30, node=target)
    deadline = time.time() + 30
    while True:                               # the mount follows the VIP
        try:
            (mnt / "after-transfer").mkdir()
            break
        except OSError:
            assert time.time() < deadline, "the mount did not come back"
            time.sleep(0.2)
    assert (mnt / "after-transfer").is_dir()
    assert_mount_unchanged(c.mount, mount_pid, c)
    c.wait_converged(60)
    assert_digests_equal(c)
