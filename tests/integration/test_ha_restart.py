"""Every node of a cluster crashes at once and comes back (issue #5:
"restart of all nodes keeps everything").

A three-node cluster gets a tree of directories and files through a stock
mount; then all three mdsd are killed with SIGKILL (no clean stop: what
survives is what each node had fsynced) and started again. They elect a
leader among themselves, the VIP follows it, the same mount (no remount)
sees everything that was acknowledged, and all replicas' digests agree.

mds only (the stock master has no replicas).
"""

import time

from test_ha import assert_digests_equal, assert_mount_unchanged, ha  # noqa: F401
from mfsharness import wait_for


def test_all_nodes_killed_and_restarted_keep_everything(ha):  # noqa: F811
    c = ha.make(nodes=3, chunkservers=0, mounts=1)
    mnt = c.mount.path
    mount_pid = c.mount.proc.pid
    names = []
    for i in range(60):
        d = mnt / f"d{i:03d}"
        d.mkdir()
        (d / "sub").mkdir()
        names.append(d.name)
    (mnt / "renamed-from").mkdir()
    (mnt / "renamed-from").rename(mnt / "renamed-to")
    old_term = c.wait_leader().status()["term"]

    for n in c.nodes:
        n.kill()
    time.sleep(0.5)
    for n in c.nodes:
        n.start()
    leader = c.wait_leader(60, min_term=old_term + 1)
    c.wait_vip(60, node=leader)

    # The mount reconnects by itself; everything acknowledged is there.
    wait_for(lambda: (mnt / "renamed-to").is_dir(), 60,
             "the mount to see the tree again after the restart", interval=0.2,
             diagnose=c.diagnose)
    seen = sorted(p.name for p in mnt.iterdir() if p.name.startswith("d"))
    assert seen == names, f"directories after the restart: {len(seen)} of {len(names)}"
    assert all((mnt / n / "sub").is_dir() for n in names)
    assert not (mnt / "renamed-from").exists()
    # And it takes new changes.
    (mnt / "after").mkdir()
    assert (mnt / "after").is_dir()
    assert_mount_unchanged(c.mount, mount_pid, c)
    c.wait_converged(60)
    assert_digests_equal(c)
