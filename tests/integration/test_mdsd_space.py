"""mdsd when its disk or its metadata map fills up, under a stock mfsmount.

A change is refused with ENOSPC before it is logged when space is short,
so nothing already acknowledged can fail later; reads go on, removals go
on, and once space is back changes work again. mds only: the stock master
keeps metadata in RAM and has no such limits to test.
"""

import errno
import os
import subprocess
import time

import pytest

MDSD = pytest.mark.parametrize("master_kind", ["mdsd"], indirect=True)


@pytest.fixture
def small_disk(harness):
    """A 128 MiB tmpfs in the test's tree, unmounted at teardown."""
    path = harness.path("smalldisk")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128m", "tmpfs", str(path)],
                   check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill_disk(disk, leave):
    """Fills the tmpfs at `disk` behind mdsd's back, to `leave` bytes free;
    returns the filler file (unlink it to give the space back)."""
    filler = disk / "filler"
    st = os.statvfs(disk)
    subprocess.run(["fallocate", "-l", str(st.f_bavail * st.f_frsize - leave), str(filler)],
                   check=True)
    return filler


def wait_until(what, fn, timeout=10.0):
    end = time.time() + timeout
    while True:
        try:
            return fn()
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.2)


@MDSD
@pytest.mark.deadline(240)
def test_full_disk_refuses_changes_but_keeps_reads_and_data(harness, master_kind,
                                                            small_disk, mount_factory):
    from mfsharness.masters import MdsdMaster
    data = small_disk / "data"
    master = MdsdMaster(harness, extra_config={
        "DATA_PATH": data, "MDS_DISK_RESERVE": 32 << 20,
        "MDS_LMDB_MAP_SIZE": 64 << 20}).start()
    mnt = mount_factory(master).path
    made = []
    for i in range(50):
        (mnt / f"d{i}").mkdir()
        made.append(f"d{i}")
    filler = fill_disk(small_disk, 16 << 20)    # below the 32 MiB reserve
    time.sleep(0.5)
    with pytest.raises(OSError) as e:
        (mnt / "refused").mkdir()
    assert e.value.errno == errno.ENOSPC
    assert sorted(os.listdir(mnt)) == sorted(made)      # reads go on
    os.rmdir(mnt / "d0")                                 # removals go on
    made.remove("d0")
    filler.unlink()
    wait_until("space back", lambda: (mnt / "after").mkdir())
    made.append("after")
    master.kill()
    master.start()
    assert sorted(wait_until("remount", lambda: os.listdir(mnt), 30)) == sorted(made)
    assert "metadata space short" in master.proc.log_tail(400)


@MDSD
@pytest.mark.deadline(300)
def test_full_metadata_map_refuses_growth_and_keeps_what_was_acknowledged(harness,
                                                                         master_kind,
                                                                         mount_factory):
    from mfsharness.masters import MdsdMaster
    master = MdsdMaster(harness, extra_config={"MDS_LMDB_MAP_SIZE": 16 << 20}).start()
    mount = mount_factory(master)
    mnt = mount.path
    # Removed files must really go (not to the trash) for space to come back.
    subprocess.run(["mfssettrashtime", "0", str(mnt)], check=True, capture_output=True)
    value = b"v" * 60000
    acknowledged = []
    refused = None
    for i in range(1000):
        f = mnt / f"f{i}"
        try:
            f.touch()
            os.setxattr(f, "user.big", value)
            acknowledged.append(f.name)
        except OSError as e:
            refused = e
            break
    assert refused is not None and refused.errno == errno.ENOSPC, refused
    assert len(acknowledged) > 10
    assert os.getxattr(mnt / acknowledged[-1], "user.big") == value   # reads go on
    for _ in range(len(acknowledged) // 2):                           # removals go on
        os.unlink(mnt / acknowledged.pop())
    # Files this mount created stay open for it (mfsmount reports them in
    # SUSTAINED_INODES) until it lets go: unmounting closes the session and
    # frees them. Then the pages are reused and growth is accepted again.
    mount.remount()
    wait_until("space back", lambda: (mnt / "again").touch())
    acknowledged.append("again")
    master.kill()
    master.start()
    names = wait_until("remount", lambda: os.listdir(mnt), 30)
    missing = [n for n in acknowledged if n not in names]
    assert not missing, f"acknowledged files lost: {missing[:5]}"
    assert os.getxattr(mnt / acknowledged[0], "user.big") == value


@MDSD
@pytest.mark.deadline(300)
def test_a_store_commit_that_fails_loses_nothing_acknowledged(harness, master_kind,
                                                              small_disk, mount_factory):
    # With no disk reserve the space check cannot help: the disk is filled
    # behind mdsd's back, to 2 MiB, and files with xattrs fill the rest.
    # The store file is committed up to 10 ms after the replies, so its
    # commit fails with changes already acknowledged (the log, on the same
    # disk, fails about then too). The failed commit stops the node (it
    # serves no reads that would miss them); after a restart with space
    # back, the log replays everything that was acknowledged.
    from mfsharness.masters import MdsdMaster
    data = small_disk / "data"
    master = MdsdMaster(harness, extra_config={
        "DATA_PATH": data, "MDS_DISK_RESERVE": 0, "MDS_LMDB_MAP_SIZE": 64 << 20}).start()
    mnt = mount_factory(master).path
    filler = fill_disk(small_disk, 2 << 20)     # room for some hundreds of files first
    acknowledged = []
    value = b"v" * 3000
    deadline = time.time() + 60
    failed = None
    for i in range(20000):
        if time.time() > deadline:
            break
        try:
            (mnt / f"f{i}").touch()
            os.setxattr(mnt / f"f{i}", "user.v", value)
            acknowledged.append(f"f{i}")
        except OSError as e:
            failed = e
            break
        if "metadata store commit failed" in master.proc.log_tail(20):
            break
    log = master.proc.log_tail(400)
    assert "metadata store commit failed" in log, \
        f"the store never failed to commit ({len(acknowledged)} files, {failed})"
    assert "stopped serving" in log
    assert master.proc.alive()
    master.kill()
    filler.unlink()
    master.start()
    names = set(wait_until("remount", lambda: os.listdir(mnt), 60))
    missing = [n for n in acknowledged if n not in names]
    assert not missing, f"{len(missing)} acknowledged files lost, e.g. {missing[:5]}"
    assert len(acknowledged) > 100
