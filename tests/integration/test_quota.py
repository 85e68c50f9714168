"""Directory quotas through the stock tools (mfssetquota, mfsgetquota,
mfsdelquota) and a stock mfsmount, against the stock mfsmaster and mds
with the same expectations (differential).

There are no chunkservers here, so no file has chunk data: the stock master
counts `size` and `realsize` from the chunks that exist, which is none (0),
while mds, having no chunks at all yet, counts a file as if every chunk up
to its length were written (meta/quota.h). The tests compare inodes and
length, every limit and the grace period exactly, and size/realsize usage
per master: 0 on stock, the computed figure on mds.
"""

import errno
import os
import signal
import subprocess
import threading
import time

import pytest

BOTH = pytest.mark.parametrize("master_kind", ["stock", "mdsd"], indirect=True)

KIND = ("inodes", "length", "size", "realsize")


@pytest.fixture
def mnt(master, mount_factory):
    """The root of a fresh file system, mounted with a stock mfsmount."""
    return mount_factory(master).path


def tool(*argv):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=60)


def ok(*argv):
    r = tool(*argv)
    assert r.returncode == 0, f"{argv}: expected success, got {r.returncode}: {r.stderr}"
    return r.stdout


def getquota(path):
    """What `mfsgetquota -n` prints: (grace text, {kind: (current, soft, hard)})
    with numbers as ints and an unset limit as None."""
    out = ok("mfsgetquota", "-n", path)
    lines = out.splitlines()
    head = lines[0]
    assert head.startswith(f"{path}: (current values | soft quota | hard quota) ; "), head
    grace = head.split("; ", 1)[1]
    rows = {}
    for line in lines[1:]:
        cells = [c.strip() for c in line.split("|")]
        rows[cells[0]] = tuple(None if c == "-" else int(c) for c in cells[1:4])
    assert sorted(rows) == sorted(KIND), out
    return grace, rows


def touch(path):
    """touch(1) as a program would: (exit status, stderr)."""
    r = tool("touch", path)
    return r.returncode, r.stderr


def assert_edquot(fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    assert e.value.errno == errno.EDQUOT, f"expected EDQUOT, got {e.value!r}"


def size_usage(master_kind, mds_figure):
    """The size/realsize usage each master shows without chunk data."""
    return 0 if master_kind == "stock" else mds_figure


@BOTH
def test_hard_inode_limit_refuses_creation_with_disk_quota_exceeded(mnt):
    q = mnt / "q"
    q.mkdir()
    ok("mfssetquota", "-I", "3", q)
    for i in range(3):
        (q / f"f{i}").touch()
    status, err = touch(q / "f3")
    assert status != 0 and "Disk quota exceeded" in err, err
    assert_edquot(os.mkdir, q / "sub")
    assert_edquot(os.symlink, "target", q / "link")
    assert not (q / "f3").exists()
    grace, rows = getquota(q)
    assert rows["inodes"] == (3, None, 3)
    (mnt / "outside").touch()                         # no quota there
    os.unlink(q / "f0")                               # room again
    (q / "f3").touch()
    assert getquota(q)[1]["inodes"] == (3, None, 3)


@BOTH
def test_getquota_shows_limits_grace_and_usage(mnt, master_kind):
    q = mnt / "q"
    (q / "sub").mkdir(parents=True)
    (q / "sub" / "file").touch()
    os.truncate(q / "sub" / "file", 100000)
    os.symlink("abcdefghij", q / "link")              # its length counts
    grace, rows = getquota(q)                         # no quota: usage only
    assert grace == "soft quota grace period: default"
    assert rows["inodes"] == (3, None, None)
    assert rows["length"] == (100010, None, None)

    ok("mfssetquota", "-p", "3600", "-i", "50", "-I", "100", "-l", "500M", "-L", "1G",
       "-s", "2G", "-S", "3G", "-r", "4G", "-R", "5G", q)
    grace, rows = getquota(q)
    assert grace == "soft quota grace period: 3600 seconds"
    assert rows["inodes"] == (3, 50, 100)
    assert rows["length"] == (100010, 500 * 10**6, 10**9)
    # 100000 bytes as written data: two 64 KiB blocks and an 8 KiB header;
    # realsize = size x goal (1 on mds' root).
    size = size_usage(master_kind, 2 * 65536 + 8192)
    assert rows["size"] == (size, 2 * 10**9, 3 * 10**9)
    assert rows["realsize"] == (size, 4 * 10**9, 5 * 10**9)

    # Setting without -p keeps the grace period; limits not named stay.
    ok("mfssetquota", "-I", "200", q)
    grace, rows = getquota(q)
    assert grace == "soft quota grace period: 3600 seconds"
    assert rows["inodes"] == (3, 50, 200)
    assert rows["length"][1:] == (500 * 10**6, 10**9)


@BOTH
def test_delquota_removes_soft_then_hard_limits(mnt):
    q = mnt / "q"
    q.mkdir()
    (q / "f").touch()
    ok("mfssetquota", "-p", "10", "-i", "5", "-I", "10", "-l", "500", "-L", "1000", q)
    ok("mfsdelquota", "-a", q)
    grace, rows = getquota(q)
    assert grace == "soft quota grace period: 10 seconds"
    assert rows["inodes"] == (1, None, 10)
    assert rows["length"] == (0, None, 1000)
    ok("mfsdelquota", "-I", q)
    assert getquota(q)[1]["inodes"] == (1, None, None)
    ok("mfsdelquota", "-A", q)
    grace, rows = getquota(q)
    assert grace == "soft quota grace period: default"
    assert all(rows[k][1:] == (None, None) for k in KIND), rows
    (q / "g").touch()
    assert getquota(q)[1]["inodes"] == (2, None, None)


@BOTH
@pytest.mark.deadline(120)
def test_soft_limit_is_enforced_once_the_grace_period_is_over(mnt):
    q = mnt / "q"
    q.mkdir()
    ok("mfssetquota", "-p", "2", "-i", "2", q)
    (q / "a").touch()
    (q / "b").touch()
    (q / "c").touch()                                 # over the soft limit
    (q / "d").touch()                                 # still within the grace period
    assert getquota(q)[1]["inodes"] == (4, 2, None)
    # The stock master notices the excess in a periodic check (about a
    # second); mds at the change. Well after 2 s both refuse.
    time.sleep(5)
    status, err = touch(q / "e")
    assert status != 0 and "Disk quota exceeded" in err, err
    os.truncate(q / "a", 1000)                        # no length limit: allowed


@BOTH
def test_moves_and_links_into_a_full_tree(mnt):
    full = mnt / "full"
    (full / "sub").mkdir(parents=True)
    for name in ("k0", "k1", "k2"):
        (full / name).touch()
    ok("mfssetquota", "-I", "2", "-L", "100", full)   # below the usage: accepted
    assert getquota(full)[1]["inodes"] == (4, None, 2)
    os.rename(full / "k0", full / "sub" / "k0")       # within the tree
    os.rename(full / "k1", mnt / "k1")                # out of it
    assert_edquot(os.rename, mnt / "k1", full / "k1")  # back in: one more
    os.rename(mnt / "k1", full / "k2")                # over a file: no more than before
    assert getquota(full)[1]["inodes"] == (3, None, 2)
    big = mnt / "big"
    big.touch()
    os.truncate(big, 1000)
    assert_edquot(os.link, big, full / "biglink")
    other = mnt / "other"
    (other / "d").mkdir(parents=True)
    (other / "d" / "x").touch()
    assert_edquot(os.rename, other / "d", full / "d")  # a directory with its file
    assert getquota(full)[1]["inodes"] == (3, None, 2)


@BOTH
def test_hard_length_limit_refuses_growth(mnt):
    q = mnt / "q"
    q.mkdir()
    (q / "f").touch()
    ok("mfssetquota", "-L", "150000", q)
    os.truncate(q / "f", 100000)
    assert_edquot(os.truncate, q / "f", 150001)
    os.truncate(q / "f", 150000)                      # exactly the limit
    assert getquota(q)[1]["length"] == (150000, None, 150000)
    os.truncate(q / "f", 10)
    assert getquota(q)[1]["length"] == (10, None, 150000)


@BOTH
def test_quota_needs_a_directory_and_an_admin_export(master, mount_factory):
    mnt = mount_factory(master).path
    (mnt / "d").mkdir()
    (mnt / "file").touch()
    r = tool("mfssetquota", "-I", "3", mnt / "file")
    assert r.returncode != 0 and "Operation not permitted" in r.stdout + r.stderr, r
    r = tool("mfsgetquota", mnt / "file")
    assert r.returncode != 0 and "Operation not permitted" in r.stdout + r.stderr, r
    ok("mfssetquota", "-I", "100", mnt / "d")
    # An export without `admin`: reading is allowed, changing is not.
    (master.conf_path / "mfsexports.cfg").write_text(
        "127.0.0.1\t/\trw,alldirs,maproot=0:0\n127.0.0.1\t.\trw\n")
    master.proc.signal(signal.SIGHUP)
    time.sleep(1.0)
    plain = mount_factory(master).path
    for argv in (("mfssetquota", "-I", "3"), ("mfsdelquota", "-I")):
        r = tool(*argv, plain / "d")
        assert r.returncode != 0 and "Operation not permitted" in r.stdout + r.stderr, r
    assert getquota(plain / "d")[1]["inodes"] == (0, None, 100)


@BOTH
def test_statfs_of_a_mount_rooted_at_a_quota_directory(master, mount_factory):
    mnt = mount_factory(master).path
    a = mnt / "a"
    (a / "sub").mkdir(parents=True)
    (a / "sub" / "f").touch()
    (a / "g").touch()
    ok("mfssetquota", "-I", "50", "-L", "1G", "-S", "2G", "-R", "3G", a)
    sub = mount_factory(master, subfolder="/a").path
    st = os.statvfs(sub)
    # Inodes in use: the subtree, its root included.
    assert st.f_files - st.f_ffree == 4
    # Space is the chunkservers' space capped by the limits: with no
    # chunkservers there is none on either master, quota or not.
    assert (st.f_blocks, st.f_bavail) == (0, 0)
    assert getquota(sub)[1]["inodes"] == (3, None, 50)


@BOTH
def test_a_full_outer_quota_refuses_a_create_its_inner_quota_allows(mnt):
    """The inner tree has room, the outer one does not. On mds this create
    charges the inner quota, then fails at the outer one: a command that
    fails after writing, so the batch it was applied in is redone without
    it (meta/apply.h). Creates elsewhere, running meanwhile, must all stay,
    and neither quota may keep a charge for the refused file."""
    outer = mnt / "outer"
    inner = outer / "inner"
    inner.mkdir(parents=True)
    free = mnt / "free"
    free.mkdir()
    ok("mfssetquota", "-I", "3", outer)
    ok("mfssetquota", "-I", "50", inner)
    (inner / "z").touch()                             # outer: inner, z = 2

    refused = []
    stop = threading.Event()
    made = [0] * 4

    def busy(k):
        while not stop.is_set():
            (free / f"t{k}-{made[k]}").touch()
            made[k] += 1

    threads = [threading.Thread(target=busy, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    (inner / "y").touch()                             # 3: the outer limit
    for i in range(50):
        try:
            (inner / f"x{i}").touch()
        except OSError as e:
            refused.append(e.errno)
    stop.set()
    for t in threads:
        t.join()
    assert refused == [errno.EDQUOT] * 50
    assert sorted(os.listdir(inner)) == ["y", "z"]
    assert len(os.listdir(free)) == sum(made) > 0
    assert getquota(outer)[1]["inodes"] == (3, None, 3)
    assert getquota(inner)[1]["inodes"] == (2, None, 50)
    os.unlink(inner / "y")                            # room again, in both
    (inner / "x0").touch()
    assert getquota(outer)[1]["inodes"] == (3, None, 3)
    assert getquota(inner)[1]["inodes"] == (2, None, 50)


# mds only: the stock master keeps quotas in its metadata dump like
# everything else; this checks that mds' quota table and usage come back
# from the replicated log after a crash, not from memory.
@pytest.mark.parametrize("master_kind", ["mdsd"], indirect=True)
def test_quota_and_usage_survive_a_crash(master, mount_factory):
    mount = mount_factory(master)
    q = mount.path / "q"
    q.mkdir()
    ok("mfssetquota", "-p", "30", "-I", "3", "-L", "1000", q)
    (q / "a").touch()
    os.truncate(q / "a", 600)
    (q / "b").touch()
    before = getquota(q)
    master.kill()
    master.start()
    deadline = time.time() + 30
    while True:
        try:
            after = getquota(q)
            break
        except AssertionError:
            if time.time() > deadline:
                raise
            time.sleep(0.5)
    assert after == before
    assert after[1]["inodes"] == (2, None, 3)
    assert after[1]["length"] == (600, None, 1000)
    (q / "c").touch()
    assert_edquot(os.mkdir, q / "d")
    assert_edquot(os.truncate, q / "a", 1001)
