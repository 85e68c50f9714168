"""What the stock tools and df see of file data, against the stock mfsmaster
and mds with the same expectations (differential): STATFS space comes from
the chunkservers' disks; mfscheckfile counts copies per chunk; mfsfileinfo
lists each chunk's copies and their state (docs/spec-notes/check.md).
"""

import os
import re
import subprocess

import pytest

from mfsharness import wait_for

BOTH = pytest.mark.parametrize("master_kind", ["stock", "mdsd"], indirect=True)
MiB = 1 << 20


def tool(*argv):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (argv, r.stdout, r.stderr)
    return r.stdout


def fileinfo(path):
    """[(chunk index, [copy status, ...]) or (index, None) for an empty chunk]"""
    chunks = []
    for line in tool("mfsfileinfo", str(path)).splitlines():
        m = re.match(r"\s*chunk (\d+): (.*)", line)
        if m:
            chunks.append((int(m.group(1)),
                           None if m.group(2).strip() == "empty" else []))
            continue
        m = re.match(r"\s*copy \d+: \S+ \(status:(.*)\)", line)
        if m:
            chunks[-1][1].append(m.group(1))
    return chunks


def checkfile(path):
    """{copies: chunks} from mfscheckfile."""
    out = {}
    for line in tool("mfscheckfile", str(path)).splitlines():
        m = re.match(r"\s*chunks with (\d+) cop(?:y|ies):\s+(\d+)", line)
        if m:
            out[int(m.group(1))] = int(m.group(2))
    return out


@BOTH
@pytest.mark.cluster(chunkservers=1)
def test_df_shows_chunkserver_space(cluster):
    wait_for(lambda: os.statvfs(cluster.mount.path).f_blocks > 0, 30,
             "df to show the chunkserver's space", interval=0.5)
    st = os.statvfs(cluster.mount.path)
    total = st.f_blocks * st.f_frsize
    cs_total = cluster.master.chunkservers()[0].total
    # mfsmount reports in its own block units: same order of size.
    assert 0.5 * cs_total <= total <= 1.5 * cs_total, (total, cs_total)
    assert 0 < st.f_bavail <= st.f_blocks


@BOTH
@pytest.mark.cluster(chunkservers=2)
def test_copies_seen_by_the_tools(cluster):
    m = cluster.mount.path
    tool("mfssetgoal", "2", str(m))
    one = m / "one"
    one.write_bytes(os.urandom(MiB))
    sparse = m / "sparse"
    with open(sparse, "wb") as f:
        f.seek(64 * MiB + 10)
        f.write(b"tail")
    empty = m / "empty"
    empty.touch()

    assert checkfile(one) == {2: 1}
    info = fileinfo(one)
    assert [i for i, _ in info] == [0]
    assert info[0][1] == ["VALID", "VALID"]

    # A hole in the chunk table is an empty chunk; the tools ask per index.
    info = fileinfo(sparse)
    assert [i for i, _ in info] == [0, 1]
    assert info[0][1] is None
    assert info[1][1] == ["VALID", "VALID"]

    assert checkfile(empty) == {}
    assert "no chunks" in tool("mfsfileinfo", str(empty))
