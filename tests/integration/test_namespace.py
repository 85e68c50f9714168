"""Namespace operations through a stock mfsmount, against the stock
mfsmaster and against mds, with the same expectations (differential).

Each test starts its master (stock mfsmaster or a one-node mdsd), mounts it
with a stock mfsmount (no caching, so every operation reaches the master),
does what an operator or program would do, and checks what POSIX says.
File data needs chunkservers and is tested elsewhere; these tests touch
metadata only. Where mds deliberately differs from the stock master, the
test says so.
"""

import errno
import fcntl
import os
import stat
import subprocess
import time

import pytest

from mfsharness.mount import DEFAULT_OPTIONS

BOTH = pytest.mark.parametrize("master_kind", ["stock", "mdsd"], indirect=True)

USER = 1000
GROUP = 1000


@pytest.fixture
def mnt(master, mount_factory):
    """The root of a fresh file system, mounted with a stock mfsmount."""
    return mount_factory(master).path


def as_user(mnt, argv, uid=USER, gid=GROUP):
    """Runs argv as an unprivileged user in directory mnt (paths relative to
    it: the test's own directories above the mount are root-only)."""
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}",
                           "--clear-groups", *argv], cwd=mnt,
                          capture_output=True, text=True, timeout=60)


@BOTH
def test_mkdir_p_touch_and_stat_fields(mnt):
    deep = mnt / "a" / "b" / "c"
    subprocess.run(["mkdir", "-p", str(deep)], check=True)
    f = deep / "file"
    before = int(time.time())
    subprocess.run(["touch", str(f)], check=True)
    st = os.stat(f)
    assert stat.S_ISREG(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o644          # umask 022 of root
    assert (st.st_uid, st.st_gid) == (0, 0)
    assert st.st_size == 0
    assert st.st_nlink == 1
    assert before - 2 <= st.st_mtime <= time.time() + 2
    d = os.stat(deep)
    assert stat.S_ISDIR(d.st_mode)
    assert d.st_nlink == 2
    assert os.stat(mnt / "a").st_nlink == 3            # . and b/..
    assert sorted(os.listdir(mnt / "a" / "b")) == ["c"]


@BOTH
def test_chmod_chown_and_times(mnt):
    f = mnt / "f"
    f.touch()
    os.chmod(f, 0o4751)
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o4751
    os.chown(f, 1234, 5678)
    st = os.stat(f)
    assert (st.st_uid, st.st_gid) == (1234, 5678)
    # Linux clears set-user-ID on chown of a group-executable file.
    assert stat.S_IMODE(st.st_mode) & stat.S_ISUID == 0
    subprocess.run(["touch", "-d", "2001-02-03 04:05:06 UTC", str(f)], check=True)
    assert int(os.stat(f).st_mtime) == 981173106
    os.utime(f, (1000000000, 1100000000))
    st = os.stat(f)
    assert (int(st.st_atime), int(st.st_mtime)) == (1000000000, 1100000000)


@BOTH
def test_hard_links_and_link_counts(mnt):
    (mnt / "d").mkdir()
    f = mnt / "d" / "f"
    f.touch()
    os.link(f, mnt / "g")
    assert os.stat(f).st_nlink == 2
    assert os.stat(f).st_ino == os.stat(mnt / "g").st_ino
    os.unlink(f)
    assert os.stat(mnt / "g").st_nlink == 1
    with pytest.raises(PermissionError):
        os.link(mnt / "d", mnt / "dlink")             # no links to directories
    (mnt / "d" / "sub1").mkdir()
    (mnt / "d" / "sub2").mkdir()
    assert os.stat(mnt / "d").st_nlink == 4
    os.rmdir(mnt / "d" / "sub1")
    assert os.stat(mnt / "d").st_nlink == 3


@BOTH
def test_symlinks_and_readlink(mnt):
    (mnt / "target").touch()
    os.symlink("target", mnt / "link")
    assert os.readlink(mnt / "link") == "target"
    lst = os.lstat(mnt / "link")
    assert stat.S_ISLNK(lst.st_mode)
    assert lst.st_size == len("target")
    assert os.stat(mnt / "link").st_ino == os.stat(mnt / "target").st_ino
    long_target = "x/" * 1000 + "end"
    os.symlink(long_target, mnt / "long")
    assert os.readlink(mnt / "long") == long_target


@BOTH
def test_rename_cases(mnt):
    (mnt / "a").touch()
    os.rename(mnt / "a", mnt / "b")                   # file
    assert not (mnt / "a").exists() and (mnt / "b").exists()
    (mnt / "c").write_bytes(b"")
    ino_b = os.stat(mnt / "b").st_ino
    os.rename(mnt / "b", mnt / "c")                   # over an existing file
    assert os.stat(mnt / "c").st_ino == ino_b
    (mnt / "dir").mkdir()
    (mnt / "sub").mkdir()
    os.rename(mnt / "dir", mnt / "sub" / "dir")       # directory into a subdirectory
    assert os.stat(mnt / "sub").st_nlink == 3
    assert os.stat(mnt).st_nlink == 3
    os.rename(mnt / "c", mnt / "sub" / "dir" / "c")   # file into a subdirectory
    assert (mnt / "sub" / "dir" / "c").exists()
    with pytest.raises(OSError) as e:                 # into its own descendant
        os.rename(mnt / "sub", mnt / "sub" / "dir" / "x")
    assert e.value.errno == errno.EINVAL
    (mnt / "empty").mkdir()
    os.rename(mnt / "sub" / "dir", mnt / "empty")     # dir over an empty dir
    assert (mnt / "empty" / "c").exists()


@BOTH
def test_unlink_and_rmdir(mnt):
    (mnt / "d").mkdir()
    (mnt / "d" / "f").touch()
    with pytest.raises(OSError) as e:
        os.rmdir(mnt / "d")
    assert e.value.errno == errno.ENOTEMPTY
    os.unlink(mnt / "d" / "f")
    os.rmdir(mnt / "d")
    assert os.listdir(mnt) == []
    with pytest.raises(FileNotFoundError):
        os.unlink(mnt / "nothing")


@BOTH
def test_mkfifo_and_mknod(mnt):
    os.mkfifo(mnt / "fifo")
    assert stat.S_ISFIFO(os.stat(mnt / "fifo").st_mode)
    os.mknod(mnt / "chr", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    st = os.stat(mnt / "chr")
    assert stat.S_ISCHR(st.st_mode)
    assert (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3)
    os.mknod(mnt / "sock", 0o600 | stat.S_IFSOCK)
    assert stat.S_ISSOCK(os.stat(mnt / "sock").st_mode)


@BOTH
def test_xattrs(mnt):
    f = mnt / "x"
    f.touch()
    os.setxattr(f, "user.color", b"blue")
    assert os.getxattr(f, "user.color") == b"blue"
    os.setxattr(f, "user.size", b"42")
    assert sorted(os.listxattr(f)) == ["user.color", "user.size"]
    with pytest.raises(OSError) as e:
        os.setxattr(f, "user.color", b"red", os.XATTR_CREATE)
    assert e.value.errno == errno.EEXIST
    with pytest.raises(OSError) as e:
        os.setxattr(f, "user.none", b"x", os.XATTR_REPLACE)
    assert e.value.errno == errno.ENODATA
    os.setxattr(f, "user.color", b"red", os.XATTR_REPLACE)
    assert os.getxattr(f, "user.color") == b"red"
    os.removexattr(f, "user.color")
    assert os.listxattr(f) == ["user.size"]
    with pytest.raises(OSError) as e:
        os.getxattr(f, "user.color")
    assert e.value.errno == errno.ENODATA


@BOTH
def test_name_length_limit(mnt):
    (mnt / ("n" * 255)).touch()
    assert os.listdir(mnt) == ["n" * 255]
    with pytest.raises(OSError) as e:
        (mnt / ("n" * 256)).touch()
    assert e.value.errno == errno.ENAMETOOLONG


@BOTH
@pytest.mark.deadline(600)
def test_directory_of_20000_entries_is_listed_completely(mnt):
    d = mnt / "big"
    d.mkdir()
    names = {f"entry-{i:05d}" for i in range(20000)}
    for name in names:
        os.close(os.open(d / name, os.O_CREAT | os.O_WRONLY, 0o644))
    assert set(os.listdir(d)) == names
    assert len(os.listdir(d)) == 20000


@BOTH
@pytest.mark.deadline(600)
def test_a_listing_gives_each_entry_its_own_attributes(master, mount_factory, mnt):
    """A mount that keeps directory listings (mfsdirentrycacheto) answers
    stat from the attributes READDIR returned with each name. mds reads
    a listing's inodes in inode order, 512 entries at a time, and puts
    them back in the directory's order: 1,300 entries with their own
    modes cover several pieces."""
    d = mnt / "modes"
    d.mkdir()
    want = {}
    for i in range(1300):
        name = f"f{(i * 7919) % 1300:04d}"   # names not in creation order
        mode = 0o400 | (i * 37) % 0o1000
        os.close(os.open(d / name, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(d / name, mode)
        want[name] = mode
    caching = ("mfsattrcacheto=60", "mfsentrycacheto=60", "mfsdirentrycacheto=60")
    keys = {o.split("=")[0] for o in caching}
    cached = mount_factory(master, options=[
        *(o for o in DEFAULT_OPTIONS if o.split("=")[0] not in keys), *caching])
    got = {e.name: stat.S_IMODE(e.stat(follow_symlinks=False).st_mode)
           for e in os.scandir(cached.path / "modes")}
    assert got == want


@BOTH
def test_permission_denials_for_a_non_root_user(mnt):
    for name, mode in (("private", 0o700), ("readonly", 0o755), ("open", 0o777)):
        (mnt / name).mkdir()
        os.chmod(mnt / name, mode)
    (mnt / "private" / "secret").touch()
    r = as_user(mnt, ["ls", "private"])
    assert r.returncode != 0 and "Permission denied" in r.stderr, r
    r = as_user(mnt, ["cat", "private/secret"])
    assert r.returncode != 0 and "Permission denied" in r.stderr, r
    r = as_user(mnt, ["touch", "readonly/f"])
    assert r.returncode != 0 and "Permission denied" in r.stderr, r
    r = as_user(mnt, ["touch", "open/mine"])
    assert r.returncode == 0, r.stderr
    assert os.stat(mnt / "open" / "mine").st_uid == USER
    r = as_user(mnt, ["chmod", "600", "readonly"])
    assert r.returncode != 0 and "not permitted" in r.stderr, r
    (mnt / "open" / "roots").touch()
    os.chmod(mnt / "open" / "roots", 0o600)
    r = as_user(mnt, ["cat", "open/roots"])
    assert r.returncode != 0 and "Permission denied" in r.stderr, r
    r = as_user(mnt, ["rm", "-f", "open/roots"])
    assert r.returncode == 0, r.stderr        # the directory is 0777, not sticky
    assert not (mnt / "open" / "roots").exists()


@BOTH
def test_open_then_unlinked_file_still_answers_fstat(mnt):
    f = mnt / "held"
    fd = os.open(f, os.O_CREAT | os.O_RDWR, 0o640)
    try:
        os.unlink(f)
        assert not f.exists()
        st = os.fstat(fd)
        assert stat.S_ISREG(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o640
    finally:
        os.close(fd)


@BOTH
def test_unlinked_file_with_trash_time_is_in_the_meta_mount(master, mount_factory):
    mnt = mount_factory(master).path
    (mnt / "dir1").mkdir()
    (mnt / "dir1" / "f1").touch()
    r = subprocess.run(["mfsgettrashtime", str(mnt / "dir1" / "f1")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "86400" in r.stdout
    os.unlink(mnt / "dir1" / "f1")
    meta = mount_factory(master, options=["mfsmeta", "mfscachemode=NEVER",
                                          "mfsattrcacheto=0", "mfsentrycacheto=0"]).path
    deadline = time.time() + 20
    found = []
    while time.time() < deadline and not found:
        for bucket in os.listdir(meta / "trash"):
            if bucket == "undel":
                continue
            found += [n for n in os.listdir(meta / "trash" / bucket)
                      if n.endswith("|dir1|f1")]
        if not found:
            time.sleep(0.5)
    assert found, "the unlinked file is not in the trash"


@BOTH
def test_statfs_answers(mnt):
    (mnt / "x").touch()
    st = os.statvfs(mnt)
    assert st.f_namemax >= 255
    r = subprocess.run(["df", str(mnt)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
