"""mfsappendchunks (APPEND_SLICE 438/439) through a stock mfsmount, against
the stock mfsmaster and mds with the same expectations (differential).
What the stock master does is written up in docs/spec-notes/appendchunks.md;
each test checks one part of it with real file data on a stock chunkserver.

Sources are mostly made of a few bytes at chunk starts of a long sparse file,
so that several 64 MiB chunks cost little; contents are checked against a
model (length + pieces, zeros elsewhere) with SHA-256 over the whole file.
"""

import hashlib
import os
import re
import stat
import subprocess
import time

import pytest

BOTH = pytest.mark.parametrize("master_kind", ["stock", "mdsd"], indirect=True)
MiB = 1 << 20
C = 64 * MiB                       # chunk size
USER = 1000


def run(mnt, *argv, uid=None):
    cmd = list(argv)
    if uid is not None:
        cmd = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *cmd]
    return subprocess.run(cmd, cwd=mnt, capture_output=True, text=True, timeout=120)


def ok(mnt, *argv, **kw):
    r = run(mnt, *argv, **kw)
    assert r.returncode == 0, (argv, r.stdout, r.stderr)
    return r.stdout


def append(mnt, *args, **kw):
    """mfsappendchunks [args]; must succeed and print nothing."""
    out = ok(mnt, "mfsappendchunks", *args, **kw)
    assert out == ""
    return out


def write(path, data, off=0, mode="wb"):
    with open(path, mode) as f:
        f.seek(off)
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def chunks(mnt, rel):
    """Chunk table as mfsfileinfo prints it: list of chunk ids, None for a
    hole ("empty")."""
    out = ok(mnt, "mfsfileinfo", rel)
    res = []
    for idx, rest in re.findall(r"chunk (\d+): (.*)", out):
        assert int(idx) == len(res), out
        m = re.search(r"\(id:(\d+) ver:\d+\)", rest)
        res.append(int(m.group(1)) if m else None)
        if not m:
            assert rest.strip() == "empty", out
    return res


def file_sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(4 * MiB)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def model_sha(length, pieces):
    """SHA-256 of `length` bytes: zeros except pieces {offset: bytes}."""
    h = hashlib.sha256()
    pos = 0
    zero = bytes(4 * MiB)
    for off in sorted(pieces):
        data = pieces[off]
        assert off >= pos and off + len(data) <= length
        while pos < off:
            n = min(len(zero), off - pos)
            h.update(zero[:n])
            pos += n
        h.update(data)
        pos += len(data)
    while pos < length:
        n = min(len(zero), length - pos)
        h.update(zero[:n])
        pos += n
    return h.hexdigest()


def check(path, length, pieces):
    assert os.stat(path).st_size == length
    assert file_sha(path) == model_sha(length, pieces)


def shift(pieces, by):
    return {off + by: d for off, d in pieces.items()}


@pytest.fixture
def mnt(cluster):
    """The mount's root (mode 0777), with search permission for a user on
    the test's directories above it (given for the test, taken back)."""
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


@pytest.fixture
def three(mnt):
    """'three': 3 chunks, 2*C+100 bytes, 100 bytes of data at the start of
    each chunk. Returns its pieces."""
    pieces = {0: os.urandom(100), C: os.urandom(100), 2 * C: os.urandom(100)}
    for off, data in pieces.items():
        write(mnt / "three", data, off, "r+b" if off else "wb")
    assert os.stat(mnt / "three").st_size == 2 * C + 100
    return pieces


# ---------------------------------------------------------------- layout

@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_new_dst_then_padding_to_a_chunk_boundary(mnt):
    write(mnt / "one", b"X")
    one_id = chunks(mnt, "one")
    assert len(one_id) == 1

    # dst does not exist: the tool creates it empty; an empty dst gets no
    # padding, the source's chunk becomes its chunk 0, length = source's.
    append(mnt, "d", "one")
    assert chunks(mnt, "d") == one_id
    check(mnt / "d", 1, {0: b"X"})

    # dst of 1 byte: padded to the next chunk boundary, then the chunk.
    append(mnt, "d", "one")
    assert chunks(mnt, "d") == one_id * 2
    check(mnt / "d", C + 1, {0: b"X", C: b"X"})
    assert (mnt / "one").read_bytes() == b"X"

    # dst already exactly on a boundary (64 MiB hole): no extra padding.
    write(mnt / "e", b"")
    os.truncate(mnt / "e", C)
    append(mnt, "e", "one")
    assert chunks(mnt, "e") == [None] + one_id
    check(mnt / "e", C + 1, {C: b"X"})

    # dst of 100 MiB (inside chunk 1): padded to 128 MiB.
    write(mnt / "f", b"F")
    os.truncate(mnt / "f", 100 * MiB)
    append(mnt, "f", "one")
    assert chunks(mnt, "f")[2:] == one_id
    check(mnt / "f", 2 * C + 1, {0: b"F", 2 * C: b"X"})


@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_big_source_with_real_data(mnt):
    big = os.urandom(C + 1)
    write(mnt / "big", big)
    ids = chunks(mnt, "big")
    assert len(ids) == 2 and None not in ids
    append(mnt, "d", "big")
    assert chunks(mnt, "d") == ids
    assert os.stat(mnt / "d").st_size == C + 1
    assert file_sha(mnt / "d") == hashlib.sha256(big).hexdigest()

    write(mnt / "g", b"head")
    append(mnt, "g", "big")
    assert chunks(mnt, "g")[1:] == ids
    check(mnt / "g", 2 * C + 1, {0: b"head", C: big})


@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_sparse_source_keeps_its_holes(mnt):
    write(mnt / "sparse", b"S" * 10, 2 * C + 5)       # chunks 0 and 1 are holes
    sp = chunks(mnt, "sparse")
    assert sp[:2] == [None, None] and sp[2] is not None
    append(mnt, "d", "sparse")
    assert chunks(mnt, "d") == sp
    check(mnt / "d", 2 * C + 15, {2 * C + 5: b"S" * 10})

    write(mnt / "e", b"E")
    append(mnt, "e", "sparse")
    e = chunks(mnt, "e")
    assert e[1:] == sp and e[0] is not None
    check(mnt / "e", 3 * C + 15, {0: b"E", 3 * C + 5: b"S" * 10})

    # A slice made only of a hole still counts whole chunks in the length.
    append(mnt, "-s", "0:1", "h", "sparse")
    assert chunks(mnt, "h") == [None]
    check(mnt / "h", C, {})


@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_empty_source_changes_nothing(mnt):
    write(mnt / "empty", b"")
    append(mnt, "d", "empty")
    assert os.stat(mnt / "d").st_size == 0
    assert chunks(mnt, "d") == []

    # A non-empty dst is not padded and keeps its times.
    write(mnt / "e", b"E")
    os.utime(mnt / "e", (1000000000, 1100000000))
    before = os.stat(mnt / "e")
    time.sleep(1.1)
    append(mnt, "e", "empty")
    after = os.stat(mnt / "e")
    assert after.st_size == 1
    assert (int(after.st_atime), int(after.st_mtime), int(after.st_ctime)) == \
        (1000000000, 1100000000, int(before.st_ctime))
    assert (mnt / "e").read_bytes() == b"E"


@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_several_sources(mnt, three):
    write(mnt / "one", b"X")
    write(mnt / "empty", b"")
    one = chunks(mnt, "one")
    t = chunks(mnt, "three")
    # one -> chunk 0; three -> chunks 1..3; empty -> nothing (no padding);
    # one -> chunk 4 (three ended inside chunk 3, so padded to 4*C).
    append(mnt, "d", "one", "three", "empty", "one")
    assert chunks(mnt, "d") == one + t + one
    check(mnt / "d", 4 * C + 1, {0: b"X", **shift(three, C), 4 * C: b"X"})


# ---------------------------------------------------------------- slices

SLICES = [
    # -s value, chunk indexes of 'three' appended, resulting length
    ("1:2", [1], C),
    ("1:", [1, 2], C + 100),
    (":1", [0], C),
    (":-1", [0, 1], 2 * C),
    ("-1:", [2], 100),
    ("-2:-1", [1], C),
    ("-5:", [0, 1, 2], 2 * C + 100),          # clamped to the start
    (":7", [0, 1, 2], 2 * C + 100),           # clamped to the end
    ("0:0", [], 0),
    ("2:1", [], 0),
    ("3:", [], 0),
    ("5:7", [], 0),
]


@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_slices(mnt, three):
    t = chunks(mnt, "three")
    for i, (sl, idx, length) in enumerate(SLICES):
        name = f"s{i}"
        append(mnt, "-s", sl, name, "three")
        assert chunks(mnt, name) == [t[j] for j in idx], sl
        pieces = {(k * C): three[j * C] for k, j in enumerate(idx)}
        check(mnt / name, length, pieces)

    # An empty slice leaves a non-empty dst alone (no padding).
    write(mnt / "p", b"P")
    append(mnt, "-s", "5:7", "p", "three")
    check(mnt / "p", 1, {0: b"P"})
    # The same slice is applied to every source.
    append(mnt, "-s", "1:2", "q", "three", "p", "three")
    assert chunks(mnt, "q") == [t[1], t[1]]
    check(mnt / "q", 2 * C, {0: three[C], C: three[C]})


# ------------------------------------------------------- copy-on-write

@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_chunks_shared_until_written(mnt, three):
    t = chunks(mnt, "three")
    append(mnt, "cw", "three")
    assert chunks(mnt, "cw") == t

    # Writing dst gives it its own chunk; the source keeps its data.
    write(mnt / "cw", b"COW!", 10, "r+b")
    cw = chunks(mnt, "cw")
    assert cw[0] not in t and cw[1:] == t[1:]
    assert chunks(mnt, "three") == t
    cw_pieces = dict(three)
    cw_pieces[0] = three[0][:10] + b"COW!" + three[0][14:]
    check(mnt / "cw", 2 * C + 100, cw_pieces)
    check(mnt / "three", 2 * C + 100, three)

    # Writing the source does not reach dst either.
    write(mnt / "three", b"SRC!", C + 10, "r+b")
    t2 = chunks(mnt, "three")
    assert t2[1] not in t and t2[0] == t[0] and t2[2] == t[2]
    assert chunks(mnt, "cw") == cw
    src_pieces = dict(three)
    src_pieces[C] = three[C][:10] + b"SRC!" + three[C][14:]
    check(mnt / "three", 2 * C + 100, src_pieces)
    check(mnt / "cw", 2 * C + 100, cw_pieces)

    # Appending to dst past the shared tail chunk, then removing the source.
    with open(mnt / "cw", "ab") as f:
        f.write(b"tail")
    assert chunks(mnt, "three") == t2
    check(mnt / "three", 2 * C + 100, src_pieces)
    os.unlink(mnt / "three")
    cw_pieces[2 * C] = three[2 * C] + b"tail"
    check(mnt / "cw", 2 * C + 104, cw_pieces)


# --------------------------------------------------------- attributes

@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_times(mnt):
    write(mnt / "one", b"X")
    write(mnt / "t", b"tt")
    os.utime(mnt / "t", (1000000000, 1100000000))
    os.utime(mnt / "one", (1200000000, 1300000000))
    dst0, src0, dir0 = os.stat(mnt / "t"), os.stat(mnt / "one"), os.stat(mnt)
    time.sleep(1.1)
    now = int(time.time())
    append(mnt, "t", "one")
    dst, src, d = os.stat(mnt / "t"), os.stat(mnt / "one"), os.stat(mnt)
    assert dst.st_size == C + 1
    # dst: atime and mtime set to now; ctime NOT changed.
    assert int(dst.st_atime) >= now and int(dst.st_mtime) >= now
    assert int(dst.st_ctime) == int(dst0.st_ctime)
    # src: atime set to now, mtime and ctime unchanged.
    assert int(src.st_atime) >= now
    assert int(src.st_mtime) == 1300000000
    assert int(src.st_ctime) == int(src0.st_ctime)
    # other attributes untouched
    assert (dst.st_mode, dst.st_uid, dst.st_gid, dst.st_nlink) == \
        (dst0.st_mode, dst0.st_uid, dst0.st_gid, dst0.st_nlink)
    assert src.st_size == 1
    assert int(d.st_mtime) == int(dir0.st_mtime)


@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_hard_linked_dst_and_eattrs(mnt):
    write(mnt / "one", b"X")
    write(mnt / "hl", b"H")
    os.link(mnt / "hl", mnt / "hl2")
    append(mnt, "hl", "one")
    check(mnt / "hl2", C + 1, {0: b"H", C: b"X"})

    # appendonly / undeletable on dst or src do not stop it.
    for name, attr in (("ea1", "appendonly"), ("ea2", "undeletable")):
        write(mnt / name, b"E")
        ok(mnt, "mfsseteattr", "-f", attr, name)
        append(mnt, name, "one")
        check(mnt / name, C + 1, {0: b"E", C: b"X"})
    ok(mnt, "mfsseteattr", "-f", "appendonly", "one")
    append(mnt, "ea3", "one")
    check(mnt / "ea3", 1, {0: b"X"})


# ------------------------------------------------------------- errors

@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_src_equal_dst_is_einval(mnt):
    write(mnt / "f", b"F")
    ids = chunks(mnt, "f")
    r = run(mnt, "mfsappendchunks", "f", "f")
    assert "f: Invalid argument" in r.stdout, (r.stdout, r.stderr)
    os.symlink("f", mnt / "l")
    r = run(mnt, "mfsappendchunks", "l", "f")      # the tool follows dst links
    assert "l: Invalid argument" in r.stdout, (r.stdout, r.stderr)
    assert chunks(mnt, "f") == ids
    check(mnt / "f", 1, {0: b"F"})

    # A symlink as source is followed as well.
    append(mnt, "d", "l")
    assert chunks(mnt, "d") == ids
    # In a list, the other sources are still appended.
    write(mnt / "one", b"X")
    r = run(mnt, "mfsappendchunks", "g", "one", "g", "one")
    assert "g: Invalid argument" in r.stdout, (r.stdout, r.stderr)
    check(mnt / "g", C + 1, {0: b"X", C: b"X"})


@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_permissions(mnt):
    write(mnt / "secret", b"S")
    os.chmod(mnt / "secret", 0o600)                # root's, unreadable for USER
    write(mnt / "pub", b"P")                       # 0644
    write(mnt / "d666", b"")
    os.chmod(mnt / "d666", 0o666)

    # No read permission on the source: EACCES from the master.
    r = run(mnt, "mfsappendchunks", "d666", "secret", uid=USER)
    assert "d666: Permission denied" in r.stdout, (r.stdout, r.stderr)
    assert os.stat(mnt / "d666").st_size == 0
    assert chunks(mnt, "d666") == []

    # Write permission on dst (not ownership) and read on src are enough.
    append(mnt, "d666", "pub", uid=USER)
    check(mnt / "d666", 1, {0: b"P"})
    write(mnt / "mine", b"M")
    os.chown(mnt / "mine", USER, USER)
    os.chmod(mnt / "mine", 0o600)
    write(mnt / "own", b"O")
    os.chown(mnt / "own", USER, USER)
    os.chmod(mnt / "own", 0o400)                   # owner may read
    append(mnt, "mine", "own", uid=USER)
    check(mnt / "mine", C + 1, {0: b"M", C: b"O"})
    # A dst created by the tool for the user is the user's.
    append(mnt, "new", "pub", uid=USER)
    s = os.stat(mnt / "new")
    assert (s.st_uid, s.st_gid) == (USER, USER)
    check(mnt / "new", 1, {0: b"P"})


@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_not_a_file(mnt):
    write(mnt / "one", b"X")
    os.mkdir(mnt / "dir")
    os.mkfifo(mnt / "fifo")
    for src in ("dir", "fifo"):
        r = run(mnt, "mfsappendchunks", "d-" + src, src)
        assert f"{src}: not a file" in r.stdout, (r.stdout, r.stderr)
        check(mnt / ("d-" + src), 0, {})           # the tool created dst
    r = run(mnt, "mfsappendchunks", "d-none", "none")
    assert r.returncode != 0 or "ENOENT" in r.stdout
    r = run(mnt, "mfsappendchunks", "dir", "one")
    assert r.returncode != 0
    assert "can't create/open file: dir" in r.stderr
