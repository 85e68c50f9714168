"""mdsd as a daemon under a stock mfsmount: crashes, restarts, bad input.

These are about mds itself (the stock master's own crash recovery is a
different mechanism: change logs replayed with -a), so they run on mdsd
only.
"""

import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

MDSD = pytest.mark.parametrize("master_kind", ["mdsd"], indirect=True)

REGISTER_BLOB = b"DjI1GAQDULI5d2YjA26ypc3ovkhjvhciTQVx3CS4nYgtBoUcsljiVpsErJENHaw0"


class CreateLoop(threading.Thread):
    """Creates files one after another; remembers which creates succeeded."""

    def __init__(self, directory):
        super().__init__(daemon=True)
        self.directory = directory
        self.created = []
        self.failed = 0
        self.stop = threading.Event()

    def run(self):
        i = 0
        while not self.stop.is_set():
            name = f"f{i:06d}"
            try:
                os.close(os.open(self.directory / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                self.created.append(name)
            except OSError:
                self.failed += 1
            i += 1


@MDSD
@pytest.mark.deadline(240)
def test_kill_9_during_creates_loses_no_acknowledged_create(master, mount_factory):
    mount = mount_factory(master)
    d = mount.path / "loop"
    d.mkdir()
    loop = CreateLoop(d)
    loop.start()
    time.sleep(2)
    before_kill = len(loop.created)
    master.kill()
    master.start()
    time.sleep(5)   # the mount reconnects (every 2 s) and goes on creating
    loop.stop.set()
    loop.join(120)
    assert before_kill > 0
    assert len(loop.created) > before_kill, "the mount did not continue after the restart"
    present = set(os.listdir(d))
    missing = [n for n in loop.created if n not in present]
    assert not missing, f"{len(missing)} acknowledged creates lost, e.g. {missing[:5]}"
    assert mount.proc.alive(), "mfsmount exited: it should not need a remount"


@MDSD
def test_clean_restart_keeps_the_mount_working(master, mount_factory):
    mount = mount_factory(master)
    (mount.path / "before").mkdir()
    master.stop()
    master.start()
    deadline = time.time() + 30
    while True:
        try:
            (mount.path / "after").mkdir()
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.5)
    assert sorted(os.listdir(mount.path)) == ["after", "before"]
    assert mount.proc.alive()


def frame(msgtype, payload):
    return struct.pack(">II", msgtype, len(payload)) + payload


def connection_closed(sock, timeout=5.0):
    """True when the peer closes (NOPs it may send first are skipped)."""
    sock.settimeout(timeout)
    end = time.time() + timeout
    while time.time() < end:
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        if not data:
            return True
    return False


def register_newsession(sock):
    info, path = b"/probe\0", b"/\0"
    payload = (REGISTER_BLOB + bytes([2]) + struct.pack(">I", 0x000300EA) +
               struct.pack(">I", len(info)) + info + struct.pack(">I", len(path)) + path)
    sock.sendall(frame(400, payload))
    hdr = sock.recv(8, socket.MSG_WAITALL)
    mtype, length = struct.unpack(">II", hdr)
    body = sock.recv(length, socket.MSG_WAITALL)
    assert mtype == 401 and length == 49, (mtype, length, body)
    return struct.unpack(">I", body[4:8])[0]


@MDSD
def test_malformed_packets_close_only_that_session(master, mount_factory):
    mount = mount_factory(master)
    (mount.path / "still-here").mkdir()
    addr = (master.client_host, master.client_port)
    cases = {
        "oversized frame": frame(406, b"")[:4] + struct.pack(">I", 60_000_000),
        "request before REGISTER": frame(406, b"\0" * 20),
        "bad REGISTER blob": frame(400, b"x" * 64 + bytes([2]) + b"\0" * 12),
        "unknown REGISTER rcode": frame(400, REGISTER_BLOB + bytes([9])),
    }
    for what, data in cases.items():
        with socket.create_connection(addr, timeout=5) as s:
            s.sendall(data)
            assert connection_closed(s), f"{what}: connection not closed"
    # A registered session that sends a truncated LOOKUP is closed too.
    with socket.create_connection(addr, timeout=5) as s:
        register_newsession(s)
        s.sendall(frame(406, struct.pack(">II", 1, 1)))
        assert connection_closed(s), "truncated LOOKUP: connection not closed"
    # Random garbage after registering.
    with socket.create_connection(addr, timeout=5) as s:
        register_newsession(s)
        s.sendall(os.urandom(4096))
        connection_closed(s)
    # The daemon is up and the other session works.
    assert master.proc.alive()
    assert "still-here" in os.listdir(mount.path)
    (mount.path / "and-more").mkdir()
    assert "malformed" in master.proc.log_tail(200) or "closed" in master.proc.log_tail(200)


@MDSD
def test_unknown_message_is_answered_enotsup_not_closed(master):
    with socket.create_connection((master.client_host, master.client_port), timeout=5) as s:
        register_newsession(s)
        s.sendall(frame(9999, struct.pack(">I", 77)))
        s.settimeout(5)
        while True:
            mtype, length = struct.unpack(">II", s.recv(8, socket.MSG_WAITALL))
            body = s.recv(length, socket.MSG_WAITALL) if length else b""
            if mtype != 0:   # skip NOPs
                break
        assert mtype == 1                      # ANTOAN_UNKNOWN_COMMAND
        assert struct.unpack(">I", body[:4])[0] == 77
        # Still registered: a STATFS is answered.
        s.sendall(frame(402, struct.pack(">I", 78)))
        while True:
            mtype, length = struct.unpack(">II", s.recv(8, socket.MSG_WAITALL))
            body = s.recv(length, socket.MSG_WAITALL) if length else b""
            if mtype != 0:
                break
        assert mtype == 403 and length == 48


@MDSD
def test_second_daemon_on_the_same_data_directory_is_refused(master, harness):
    cfg = master.conf_path / f"{master.name}.cfg"
    r = subprocess.run([str(master.program()), "-f", "-c", str(cfg), "start"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "already runs" in r.stderr
    assert master.proc.alive()


def mdsctl_info(data_path):
    from mfsharness.masters import mdsd_binary
    r = subprocess.run([str(mdsd_binary().parent / "mdsctl"), "info", str(data_path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return dict(line.rsplit(" ", 1) for line in r.stdout.splitlines())


def info_when(master, pred, what, timeout=10):
    end = time.time() + timeout
    while True:
        info = mdsctl_info(master.data_path)
        if pred(info):
            return info
        assert time.time() < end, f"mdsctl info never showed {what}: {info}"
        time.sleep(0.05)


@pytest.mark.parametrize("master_kind", ["mdsd"], indirect=True)
@pytest.mark.deadline(240)
def test_session_of_a_vanished_mount_expires_and_releases_its_files(harness, master_kind,
                                                                      mount_factory):
    from mfsharness.masters import MdsdMaster
    from mfsharness.mount import force_unmount
    master = MdsdMaster(harness, extra_config={"SESSION_SUSTAIN_TIME": 60}).start()
    keeper = mount_factory(master)
    gone = mount_factory(master)
    subprocess.run(["mfssettrashtime", "0", str(gone.path)], check=True, capture_output=True)
    # mdsctl info reads the store file, which mdsd commits up to 10 ms
    # after applying: poll.
    info_when(master, lambda i: i["sessions"] == "2", "both sessions")
    inodes_before = int(mdsctl_info(master.data_path)["inodes"])
    fd = os.open(gone.path / "held", os.O_CREAT | os.O_RDWR, 0o644)
    os.unlink(gone.path / "held")                      # now sustained: open, no name
    info_when(master, lambda i: int(i["inodes"]) == inodes_before + 1, "the held file")
    inodes_held = inodes_before + 1
    # Closing sends nothing to the master (it learns from the next
    # SUSTAINED_INODES list, every 60 s), so the session still holds it.
    os.close(fd)
    gone.proc.signal(signal.SIGKILL)                   # no CLOSESESSION
    gone.proc.wait_exit(10)
    force_unmount(gone.path)
    end = time.time() + 150
    while time.time() < end:
        info = mdsctl_info(master.data_path)
        if info["sessions"] == "1":
            break
        time.sleep(2)
    assert info["sessions"] == "1", "the vanished mount's session was not closed"
    assert int(info["inodes"]) == inodes_held - 1, "its sustained file was not released"
    assert os.listdir(keeper.path) == []               # the other mount is fine
    assert "had no connection for 60 s" in master.proc.log_tail(300)


@MDSD
@pytest.mark.deadline(240)
def test_closing_a_session_that_holds_many_files_frees_them_all(master, mount_factory):
    # mds only: mds releases a closing session's files in pieces of 512
    # (MC_SESSION_RELEASE, then MC_SESSION_CLOSE), so that no single
    # command holds the node; how the close is split is mds's own. (The
    # differential view, that a bench run leaves nothing behind on either
    # master, is test_bench.py's.)
    from mfsharness.mdscluster import mdsctl_binary
    mnt = mount_factory(master).path
    subprocess.run(["mfssettrashtime", "0", str(mnt)], check=True, capture_output=True)
    before = info_when(master, lambda i: i["sessions"] == "1", "the mount's session")
    # One bench session creates 1,300 files (CREATE opens them for it)
    # and unlinks them: they stay, sustained, until the session closes,
    # which the bench does last (three pieces, then the close).
    argv = [str(mdsctl_binary()), "bench", "-j", "-m",
            f"{master.client_host}:{master.client_port}", "-s", "1", "-u", "1300",
            "-d", "30", "unlink"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    (run,) = json.loads(r.stdout)["runs"]
    assert run["errors"] == 0, run["first_error"]
    assert run["ops_by_type"]["unlink"]["count"] == 1300
    end = time.time() + 30
    while time.time() < end:
        info = mdsctl_info(master.data_path)
        if info["sessions"] == before["sessions"] and info["inodes"] == before["inodes"]:
            break
        time.sleep(0.5)
    assert info["sessions"] == before["sessions"], "the bench session was not closed"
    assert info["inodes"] == before["inodes"], \
        f"{int(info['inodes']) - int(before['inodes'])} of its files were not freed"
    assert "failed" not in master.proc.log_tail(300)
