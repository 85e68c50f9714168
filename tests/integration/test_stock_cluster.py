"""A stock MooseFS cluster under the harness: the harness's own proof.

Start a stock master and a chunkserver in a network namespace, mount, write
and read back, remount, tear down, and check that nothing is left: no
namespace, no veth, no mount, no process. Then the same when the test body
fails, when pytest is told to stop (SIGTERM) and when it is killed outright
(SIGKILL; the next session's sweep cleans up).
"""

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mfsharness import Footprint
from mfsharness.ledger import sweep_dead_runs

MiB = 1 << 20
HERE = Path(__file__).resolve().parent


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def write_synced(path, data):
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


@pytest.mark.cluster(chunkservers=1, mounts=1)
def test_file_reads_back_after_remount_and_teardown_leaves_nothing(cluster):
    data = os.urandom(5 * MiB)
    want = sha256(data)
    path = cluster.mount / "random.bin"

    write_synced(path, data)
    got = sha256(path.read_bytes())
    assert got == want, f"read back sha256 {got}, wrote {want}"

    cluster.mount.remount()
    got = sha256((cluster.mount / "random.bin").read_bytes())
    assert got == want, f"after remount read sha256 {got}, wrote {want}"

    cs = cluster.chunkservers[0]
    stored = sum(f.stat().st_size for f in cs.chunk_files())
    assert stored >= len(data), \
        f"chunk files on {cs.name} hold {stored} bytes, expected at least " \
        f"{len(data)}: {cs.chunk_files()}"

    footprint = cluster.footprint()
    assert len(footprint.pids) == 4, \
        f"expected master, chunkserver and two mfsmount runs, got {footprint}"
    cluster.teardown()
    assert footprint.leftovers() == [], \
        f"left behind after teardown: {footprint.leftovers()}"


INNER_TEST = textwrap.dedent('''
    import os
    import time
    from pathlib import Path

    def test_inner(cluster):
        (cluster.mount / "f").write_bytes(b"written before the end")
        Path(os.environ["MDST_FOOTPRINT"]).write_text(
            cluster.footprint().to_json())
        if os.environ["MDST_END"] == "fails":
            raise RuntimeError("deliberate failure after setup")
        time.sleep(120)
''')


def run_inner(tmp_path, end):
    """Runs INNER_TEST in a pytest of its own; ends it the way `end` says.

    Returns (exit status, output, footprint of the inner cluster).
    """
    test = tmp_path / "inner" / "test_inner.py"
    test.parent.mkdir()
    test.write_text(INNER_TEST)
    footprint_file = tmp_path / "footprint.json"
    env = dict(os.environ, MDST_FOOTPRINT=str(footprint_file), MDST_END=end,
               PYTHONPATH=str(HERE))
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
            "-p", "mfsharness.plugin", "-q", "--basetemp",
            str(tmp_path / "inner-tmp"), str(test)]
    out = tmp_path / "inner.out"
    with open(out, "wb") as f:
        inner = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT,
                                 cwd=test.parent, env=env)
    try:
        deadline = time.monotonic() + 60
        while not footprint_file.exists() and inner.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        if end == "sigterm":
            inner.send_signal(signal.SIGTERM)
        elif end == "sigkill":
            inner.send_signal(signal.SIGKILL)
        status = inner.wait(timeout=90)
    finally:
        if inner.poll() is None:
            inner.kill()
            inner.wait()
    output = out.read_text(errors="replace")
    assert footprint_file.exists(), \
        f"inner test never brought its cluster up:\n{output}"
    return status, output, Footprint.from_json(footprint_file.read_text())


def test_teardown_runs_when_the_test_body_fails(tmp_path):
    status, output, footprint = run_inner(tmp_path, "fails")
    assert status == 1, f"inner pytest exited {status}, expected 1:\n{output}"
    assert "deliberate failure after setup" in output, output
    assert "log tail (call): master1" in output, \
        f"no master log tail in the failure report:\n{output}"
    assert footprint.leftovers() == [], \
        f"left behind by a failing test: {footprint.leftovers()}\n{output}"


def test_teardown_runs_when_pytest_gets_sigterm(tmp_path):
    status, output, footprint = run_inner(tmp_path, "sigterm")
    assert status == 2, \
        f"inner pytest exited {status}, expected 2 (interrupted):\n{output}"
    assert footprint.leftovers() == [], \
        f"left behind by an interrupted test: {footprint.leftovers()}\n{output}"


def test_next_session_sweeps_what_a_killed_pytest_left(tmp_path):
    status, output, footprint = run_inner(tmp_path, "sigkill")
    assert status == -signal.SIGKILL, \
        f"inner pytest exited {status}, expected SIGKILL:\n{output}"
    swept = sweep_dead_runs()
    assert footprint.leftovers() == [], \
        f"left behind after the sweep: {footprint.leftovers()}\n" \
        f"sweep did: {swept}"
