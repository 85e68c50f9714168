"""mfsmakesnapshot / mfsrmsnapshot (SNAPSHOT 468/469) through a stock
mfsmount, against the stock mfsmaster and mds with the same expectations
(differential). What the stock master does is written up in
docs/spec-notes/snapshot.md; each test here checks one part of it with real
file data on a stock chunkserver.
"""

import os
import re
import stat
import subprocess
import time

import pytest

BOTH = pytest.mark.parametrize("master_kind", ["stock", "mdsd"], indirect=True)
MiB = 1 << 20
USER = 1000


def run(mnt, *argv, uid=None, gid=None, umask=None):
    """Runs argv in mnt (relative paths), as root or as uid:gid (no
    supplementary groups), with the given umask."""
    cmd = list(argv)
    if umask is not None:
        cmd = ["sh", "-c", f"umask {umask:03o}; exec \"$@\"", "sh", *cmd]
    if uid is not None:
        gid = uid if gid is None else gid
        cmd = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *cmd]
    return subprocess.run(cmd, cwd=mnt, capture_output=True, text=True, timeout=60)


def ok(mnt, *argv, **kw):
    r = run(mnt, *argv, **kw)
    assert r.returncode == 0, (argv, r.stdout, r.stderr)
    return r.stdout


def snap(mnt, *args, **kw):
    return ok(mnt, "mfsmakesnapshot", *args, **kw)


def snap_fails(mnt, *args, **kw):
    """The error mfsmakesnapshot prints (on stdout) for a refused snapshot."""
    r = run(mnt, "mfsmakesnapshot", *args, **kw)
    assert r.returncode != 0, (args, r.stdout, r.stderr)
    return r.stdout + r.stderr


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def chunk_ids(mnt, rel):
    """Chunk ids of a file as mfsfileinfo prints them."""
    return [int(x) for x in re.findall(r"\(id:(\d+) ver:\d+\)", ok(mnt, "mfsfileinfo", rel))]


def eattrs(mnt, rel):
    """Set of extra attributes of one object (mfsgeteattr)."""
    line = ok(mnt, "mfsgeteattr", rel).strip()
    value = line.rsplit(": ", 1)[1]
    return set() if value == "-" else set(value.split(","))


def tool_value(mnt, toolname, rel):
    """'path: value' of mfsgettrashtime / mfsgetgoal."""
    return ok(mnt, toolname, rel).strip().rsplit(": ", 1)[1]


def xattrs(path):
    return {k: os.getxattr(path, k, follow_symlinks=False)
            for k in os.listxattr(path, follow_symlinks=False)}


@pytest.fixture
def mnt(cluster):
    """The mount's root (mode 0777). The tools resolve absolute paths, so a
    user running them needs search permission on the test's directories
    above the mount (root-only under /tmp/pytest-of-root): given for the
    test, taken back afterwards."""
    m = cluster.mount.path
    os.chmod(m, 0o777)
    changed = []
    d = m.parent
    while str(d).startswith("/tmp/pytest-of-") and d != d.parent:
        mode = stat.S_IMODE(os.stat(d).st_mode)
        if not mode & 0o001:
            os.chmod(d, mode | 0o001)
            changed.append((d, mode))
        d = d.parent
    yield m
    for d, mode in changed:
        os.chmod(d, mode)


# ---------------------------------------------------------------- file data

@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_copy_shares_chunks_until_written(mnt):
    data = os.urandom(3 * MiB + 12345)
    write(mnt / "orig", data)
    snap(mnt, "orig", "copy")
    assert (mnt / "copy").read_bytes() == data
    assert os.stat(mnt / "copy").st_ino != os.stat(mnt / "orig").st_ino
    ids = chunk_ids(mnt, "orig")
    assert len(ids) == 1
    assert chunk_ids(mnt, "copy") == ids            # same chunk, not copied

    # Writing the copy gives it a chunk of its own; the original keeps its.
    with open(mnt / "copy", "r+b") as f:
        f.seek(1000)
        f.write(b"COPY")
    assert chunk_ids(mnt, "orig") == ids
    assert chunk_ids(mnt, "copy") != ids
    copy_data = data[:1000] + b"COPY" + data[1004:]
    assert (mnt / "copy").read_bytes() == copy_data
    assert (mnt / "orig").read_bytes() == data

    # Writing the original does not reach the copy either.
    with open(mnt / "orig", "r+b") as f:
        f.seek(5)
        f.write(b"ORIG")
    orig_data = data[:5] + b"ORIG" + data[9:]
    assert (mnt / "orig").read_bytes() == orig_data
    assert (mnt / "copy").read_bytes() == copy_data

    # Unlinking the original leaves the copy readable.
    os.unlink(mnt / "orig")
    assert (mnt / "copy").read_bytes() == copy_data


@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_append_truncate_and_unlink_after_snapshot(mnt):
    data = os.urandom(200000)
    write(mnt / "orig", data)
    for name in ("shrunk", "grown", "kept"):
        snap(mnt, "orig", name)
    ids = chunk_ids(mnt, "orig")

    # Truncating a copy (down or up) gives it its own chunk.
    os.truncate(mnt / "shrunk", 1000)
    assert chunk_ids(mnt, "shrunk") != ids
    assert (mnt / "shrunk").read_bytes() == data[:1000]
    os.truncate(mnt / "grown", 300000)
    assert chunk_ids(mnt, "grown") != ids
    assert (mnt / "grown").read_bytes() == data + bytes(100000)

    # Appending to the original: the original moves to a new chunk, the
    # copies keep the old one.
    with open(mnt / "orig", "ab") as f:
        f.write(b"tail")
    assert chunk_ids(mnt, "kept") == ids
    assert chunk_ids(mnt, "orig") != ids
    assert (mnt / "orig").read_bytes() == data + b"tail"
    assert (mnt / "kept").read_bytes() == data
    assert (mnt / "shrunk").read_bytes() == data[:1000]

    os.unlink(mnt / "orig")
    assert (mnt / "kept").read_bytes() == data
    assert os.stat(mnt / "kept").st_size == 200000


# ---------------------------------------------------------- attributes

@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_file_copy_keeps_attributes(mnt):
    f = mnt / "f"
    write(f, b"hello\n" * 1000)
    os.chmod(f, 0o640)
    os.chown(f, 1000, 1001)
    os.setxattr(f, "user.k", b"v")
    ok(mnt, "mfssettrashtime", "7200", "f")
    ok(mnt, "mfssetgoal", "3", "f")
    ok(mnt, "mfsseteattr", "-f", "noowner", "f")
    os.utime(f, (1000000000, 1100000000))
    os.link(f, mnt / "f-link")
    src = os.stat(f)
    time.sleep(1.2)
    parent_before = os.stat(mnt).st_mtime

    snap(mnt, "f", "c")
    c = os.stat(mnt / "c")
    assert c.st_ino != src.st_ino
    assert stat.S_ISREG(c.st_mode)
    assert stat.S_IMODE(c.st_mode) == 0o640
    assert (c.st_uid, c.st_gid) == (1000, 1001)     # the original's owner
    assert c.st_nlink == 1                           # the original has 2
    assert c.st_size == src.st_size
    # atime, mtime and even ctime are the original's
    assert int(c.st_atime) == int(src.st_atime)
    assert int(c.st_mtime) == 1100000000
    assert int(c.st_ctime) == int(src.st_ctime)
    assert xattrs(mnt / "c") == {"user.k": b"v"}
    assert tool_value(mnt, "mfsgettrashtime", "c") == "7200"
    assert tool_value(mnt, "mfsgetgoal", "c") == "3"
    assert eattrs(mnt, "c") == {"noowner", "snapshot"}
    assert eattrs(mnt, "f") == {"noowner"}           # the source is not marked
    # the parent of the copy is changed now
    assert os.stat(mnt).st_mtime > parent_before


@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_tree_copy(mnt):
    s = mnt / "src"
    s.mkdir()
    os.chmod(s, 0o750)
    os.chown(s, 1000, 1000)
    write(s / "f", b"F" * 12000)
    os.chown(s / "f", 1000, 1001)
    os.link(s / "f", s / "hl")
    os.symlink("f", s / "ln")
    os.mkfifo(s / "fifo")
    os.chown(s / "fifo", 1002, 1002)
    os.mknod(s / "cdev", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    (s / "sub").mkdir()
    os.chmod(s / "sub", 0o705)
    write(s / "sub" / "g", os.urandom(MiB))
    ok(mnt, "setfacl", "-m", "u:1234:rw", "src/sub/g")
    os.utime(s / "sub", (1000000000, 1100000000))

    snap(mnt, "src", "d1")                     # hard links become separate files
    snap(mnt, "-p", "src", "d2")               # -p keeps them linked
    for d in ("d1", "d2"):
        t = mnt / d
        assert sorted(os.listdir(t)) == ["cdev", "f", "fifo", "hl", "ln", "sub"]
        st = os.stat(t)
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_nlink) == (0o750, 1000, 1000, 3)
        assert os.readlink(t / "ln") == "f"
        fifo = os.stat(t / "fifo")
        assert stat.S_ISFIFO(fifo.st_mode) and (fifo.st_uid, fifo.st_gid) == (1002, 1002)
        cdev = os.stat(t / "cdev")
        assert stat.S_ISCHR(cdev.st_mode) and cdev.st_rdev == os.makedev(1, 3)
        sub = os.stat(t / "sub")
        assert stat.S_IMODE(sub.st_mode) == 0o705 and int(sub.st_mtime) == 1100000000
        assert (t / "sub" / "g").read_bytes() == (s / "sub" / "g").read_bytes()
        assert "user:1234:rw-" in ok(mnt, "getfacl", "-n", f"{d}/sub/g")
        assert (t / "f").read_bytes() == b"F" * 12000
        for rel in ("", "/f", "/hl", "/sub", "/sub/g", "/cdev", "/fifo"):
            assert "snapshot" in eattrs(mnt, d + rel), d + rel
    d1f, d1hl = os.stat(mnt / "d1" / "f"), os.stat(mnt / "d1" / "hl")
    assert d1f.st_ino != d1hl.st_ino and d1f.st_nlink == d1hl.st_nlink == 1
    d2f, d2hl = os.stat(mnt / "d2" / "f"), os.stat(mnt / "d2" / "hl")
    assert d2f.st_ino == d2hl.st_ino and d2f.st_nlink == 2
    assert (d2f.st_uid, d2f.st_gid) == (1000, 1001)

    # -p only links what is linked inside one SOURCE argument
    (mnt / "p3").mkdir()
    snap(mnt, "-p", "src/f", "src/hl", "p3")
    assert os.stat(mnt / "p3" / "f").st_ino != os.stat(mnt / "p3" / "hl").st_ino

    # the copies are independent
    write(mnt / "d1" / "f", b"changed")
    assert (s / "f").read_bytes() == b"F" * 12000
    assert (mnt / "d2" / "hl").read_bytes() == b"F" * 12000


@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_cp_mode(mnt):
    s = mnt / "src"
    s.mkdir()
    write(s / "f", b"data" * 100)
    os.chmod(s / "f", 0o664)
    os.chown(s / "f", 1000, 1001)
    os.setxattr(s / "f", "user.k", b"v")
    ok(mnt, "mfssettrashtime", "7200", "src/f")
    ok(mnt, "mfsseteattr", "-f", "noowner", "src/f")
    os.link(s / "f", s / "hl")
    os.symlink("f", s / "ln")
    (s / "sub").mkdir()
    os.chmod(s / "sub", 0o705)
    write(s / "sub" / "g", b"g")
    ok(mnt, "setfacl", "-m", "u:1234:rw", "src/sub/g")
    os.utime(s / "f", (1000000000, 1100000000))
    (mnt / "T").mkdir()
    ok(mnt, "mfssettrashtime", "3600", "T")
    ok(mnt, "mfssetgoal", "1", "T")
    ok(mnt, "mfsseteattr", "-f", "nodatacache", "T")
    before = time.time()

    snap(mnt, "-c", "src", "T/c", umask=0o027)
    t = mnt / "T" / "c"
    f = os.stat(t / "f")
    assert (f.st_uid, f.st_gid) == (0, 0)                  # the caller
    assert stat.S_IMODE(f.st_mode) == 0o640                # 0664 & ~027
    assert f.st_mtime >= before - 2 and f.st_ctime >= before - 2
    assert xattrs(t / "f") == {}
    assert stat.S_IMODE(os.stat(t / "sub").st_mode) == 0o700
    assert stat.S_IMODE(os.lstat(t / "ln").st_mode) == 0o750   # symlinks too
    assert "user:1234" not in ok(mnt, "getfacl", "-n", "T/c/sub/g")
    assert os.stat(t / "hl").st_ino != f.st_ino
    # trash time, goal and extra attributes come from the new parent
    assert tool_value(mnt, "mfsgettrashtime", "T/c/f") == "3600"
    assert tool_value(mnt, "mfsgetgoal", "T/c/f") == "1"
    assert eattrs(mnt, "T/c/f") == {"nodatacache", "snapshot"}
    assert eattrs(mnt, "T/c") == {"nodatacache", "snapshot"}
    assert (t / "f").read_bytes() == b"data" * 100

    # as a user, umask 077
    snap(mnt, "-c", "src", "u", uid=USER, umask=0o077)
    u = os.stat(mnt / "u" / "f")
    assert (u.st_uid, u.st_gid, stat.S_IMODE(u.st_mode)) == (USER, USER, 0o600)
    assert stat.S_IMODE(os.stat(mnt / "u").st_mode) == 0o700

    # -c with -p keeps hard links
    snap(mnt, "-cp", "src", "cp")
    assert os.stat(mnt / "cp" / "f").st_ino == os.stat(mnt / "cp" / "hl").st_ino


# --------------------------------------------------- destination exists

@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_existing_destination(mnt):
    write(mnt / "f", b"new content")
    write(mnt / "old", b"old")
    assert "File exists" in snap_fails(mnt, "f", "old")
    assert (mnt / "old").read_bytes() == b"old"
    ino = os.stat(mnt / "old").st_ino
    snap(mnt, "-o", "f", "old")
    assert (mnt / "old").read_bytes() == b"new content"
    assert os.stat(mnt / "old").st_ino != ino

    # an existing directory as destination: the tool snapshots into it
    (mnt / "dd").mkdir()
    snap(mnt, "f", "dd")
    assert (mnt / "dd" / "f").read_bytes() == b"new content"

    s = mnt / "src"
    s.mkdir()
    write(s / "f", b"A" * 1000)
    (s / "sub").mkdir()
    write(s / "sub" / "g", b"G" * 100)

    # "src/" = the contents: merged into an existing directory, which takes
    # the source's attributes; entries only in the destination stay
    (mnt / "m3").mkdir(mode=0o700)
    write(mnt / "m3" / "only", b"only")
    snap(mnt, "src/", "m3")
    assert sorted(os.listdir(mnt / "m3")) == ["f", "only", "sub"]
    assert stat.S_IMODE(os.stat(mnt / "m3").st_mode) == 0o755
    assert "snapshot" in eattrs(mnt, "m3")
    assert eattrs(mnt, "m3/only") == set()
    assert (mnt / "m3" / "sub" / "g").read_bytes() == b"G" * 100

    # a name clash anywhere inside: EEXIST, and nothing at all is changed
    (mnt / "m1").mkdir()
    write(mnt / "m1" / "only", b"only")
    (mnt / "m1" / "sub").mkdir()
    write(mnt / "m1" / "sub" / "g", b"y")
    assert "File exists" in snap_fails(mnt, "src/", "m1")
    assert sorted(os.listdir(mnt / "m1")) == ["only", "sub"]
    assert (mnt / "m1" / "sub" / "g").read_bytes() == b"y"
    # ... with -o the clashing files are replaced, others kept
    snap(mnt, "-o", "src/", "m1")
    assert sorted(os.listdir(mnt / "m1")) == ["f", "only", "sub"]
    assert (mnt / "m1" / "sub" / "g").read_bytes() == b"G" * 100

    # directory against non-directory: EPERM, even with -o
    (mnt / "m4").mkdir()
    (mnt / "m4" / "f").mkdir()
    for opt in ([], ["-o"]):
        assert "Operation not permitted" in snap_fails(mnt, *opt, "src/", "m4")
    assert os.listdir(mnt / "m4") == ["f"]
    write(mnt / "m6", b"file")
    assert "Operation not permitted" in snap_fails(mnt, "-o", "src/", "m6")
    assert (mnt / "m6").read_bytes() == b"file"


@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_snapshot_into_own_subtree_is_refused(mnt):
    (mnt / "src" / "sub").mkdir(parents=True)
    write(mnt / "src" / "f", b"x")
    assert "Invalid argument" in snap_fails(mnt, "src", "src/sub/inner")
    assert "Invalid argument" in snap_fails(mnt, "src", "src/inner")
    assert sorted(os.listdir(mnt / "src")) == ["f", "sub"]
    assert os.listdir(mnt / "src" / "sub") == []


# ------------------------------------------------------------ non-owner

@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_snapshot_by_a_user(mnt):
    write(mnt / "suid", b"r" * 10)
    os.chmod(mnt / "suid", 0o4755)
    write(mnt / "sgid", b"r" * 10)
    os.chown(mnt / "sgid", 0, 1001)
    os.chmod(mnt / "sgid", 0o2775)
    write(mnt / "secret", b"s")
    os.chmod(mnt / "secret", 0o600)
    write(mnt / "mine", b"m")
    os.chown(mnt / "mine", USER, 1001)
    os.chmod(mnt / "mine", 0o640)
    (mnt / "ro").mkdir(mode=0o755)
    (mnt / "u").mkdir()
    os.chmod(mnt / "u", 0o777)
    (mnt / "closed").mkdir()
    os.chmod(mnt / "closed", 0o711)
    write(mnt / "closed" / "x", b"x")
    (mnt / "tree").mkdir()
    write(mnt / "tree" / "f", b"t")

    # another user's objects become the caller's; set-id bits are dropped
    snap(mnt, "suid", "u/suid", uid=USER)
    st = os.stat(mnt / "u" / "suid")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (USER, USER, 0o755)
    snap(mnt, "sgid", "u/sgid", uid=USER)
    st = os.stat(mnt / "u" / "sgid")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (USER, USER, 0o775)
    snap(mnt, "tree", "u/tree", uid=USER)
    for rel in ("u/tree", "u/tree/f"):
        st = os.stat(mnt / rel)
        assert (st.st_uid, st.st_gid) == (USER, USER), rel
    assert (mnt / "u" / "tree" / "f").read_bytes() == b"t"
    # the caller's own file keeps its group
    snap(mnt, "mine", "u/mine", uid=USER)
    st = os.stat(mnt / "u" / "mine")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (USER, 1001, 0o640)
    # -c keeps the set-uid bit (mode & ~umask)
    snap(mnt, "-c", "suid", "u/suidc", uid=USER, umask=0o022)
    assert stat.S_IMODE(os.stat(mnt / "u" / "suidc").st_mode) == 0o4755

    # no read permission on the source, no write permission on the parent
    assert "Permission denied" in snap_fails(mnt, "secret", "u/secret", uid=USER)
    assert "Permission denied" in snap_fails(mnt, "suid", "ro/x", uid=USER)
    assert "Permission denied" in snap_fails(mnt, "closed", "u/closed", uid=USER)
    assert sorted(os.listdir(mnt / "u")) == ["mine", "sgid", "suid", "suidc", "tree"]
    assert os.listdir(mnt / "ro") == []


# --------------------------------------------------------- mfsrmsnapshot

@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_rmsnapshot(mnt):
    s = mnt / "src"
    s.mkdir()
    write(s / "f", b"A" * 1000)
    (s / "sub").mkdir()
    write(s / "sub" / "g", b"g")

    snap(mnt, "src", "e1")
    ok(mnt, "mfsrmsnapshot", "e1")
    assert not (mnt / "e1").exists()
    assert (s / "f").read_bytes() == b"A" * 1000

    snap(mnt, "src/f", "f1")
    ok(mnt, "mfsrmsnapshot", "f1")
    assert not (mnt / "f1").exists()

    # only snapshot objects may be removed
    r = run(mnt, "mfsrmsnapshot", "src/f")
    assert r.returncode != 0 and "Operation not permitted" in r.stdout + r.stderr
    assert (s / "f").exists()

    # a change inside a snapshot clears the flag of what changed: the
    # directory that got a new entry, a written file
    snap(mnt, "src", "e2")
    write(mnt / "e2" / "new", b"n")
    assert eattrs(mnt, "e2") == set()
    assert eattrs(mnt, "e2/new") == set()
    assert "snapshot" in eattrs(mnt, "e2/f")
    snap(mnt, "src", "e3")
    with open(mnt / "e3" / "f", "ab") as f:
        f.write(b"more")
    assert eattrs(mnt, "e3/f") == set()
    # a chmod does not clear it
    snap(mnt, "src", "e4")
    os.chmod(mnt / "e4" / "f", 0o600)
    assert "snapshot" in eattrs(mnt, "e4/f")

    # without -f nothing is removed if anything inside is not a snapshot object
    r = run(mnt, "mfsrmsnapshot", "e2")
    assert r.returncode != 0 and "Operation not permitted" in r.stdout + r.stderr
    assert sorted(os.listdir(mnt / "e2")) == ["f", "new", "sub"]
    # -f removes what it may and leaves the rest
    ok(mnt, "mfsrmsnapshot", "-f", "e2")
    assert sorted(os.listdir(mnt / "e2")) == ["new"]

    # a user needs write permission on the parent
    snap(mnt, "src", "e5")
    r = run(mnt, "mfsrmsnapshot", "e5", uid=USER)
    assert r.returncode != 0 and "Permission denied" in r.stdout + r.stderr
    assert (mnt / "e5" / "f").exists()
    snap(mnt, "src", "own", uid=USER)
    ok(mnt, "mfsrmsnapshot", "own", uid=USER)
    assert not (mnt / "own").exists()
