"""BSD flock and POSIX (fcntl) locks through a stock mfsmount, against the
stock mfsmaster and against mds, with the same expectations.

Locks belong to processes, so every test drives separate `locker`
processes (LOCKER below): each opens the file and runs one lock command per
line it reads, printing the outcome. A command that blocks prints nothing
until it is granted; the test sees that as "no answer yet".
"""

import os
import select
import signal
import subprocess
import sys
import time

import pytest

BOTH = pytest.mark.parametrize("master_kind", ["stock", "mdsd"], indirect=True)

# One process holding one descriptor of PATH. Commands (one a line):
#   flock sh|ex|un [nb]          flock(2)
#   setlk r|w|u START LEN        fcntl F_SETLK   (LEN 0 = to EOF)
#   setlkw r|w|u START LEN       fcntl F_SETLKW
#   getlk r|w START LEN          fcntl F_GETLK -> "unlck" or "r|w START LEN same|other"
#   intr CMD...                  CMD, interrupted by SIGALRM after 1 s
#   close / reopen               close the descriptor / open it again
# Answers: "ok", an errno name, or the F_GETLK result; "ready" at start.
LOCKER = r'''
import errno, fcntl, os, signal, struct, sys
path = sys.argv[1]
fd = os.open(path, os.O_RDWR)
TYPES = {"r": fcntl.F_RDLCK, "w": fcntl.F_WRLCK, "u": fcntl.F_UNLCK}
NAMES = {fcntl.F_RDLCK: "r", fcntl.F_WRLCK: "w"}
FLOCK = "hhqqi4x"
class Alarm(Exception):
    pass
def alarm(signum, frame):
    raise Alarm()
signal.signal(signal.SIGALRM, alarm)
def run(words):
    global fd
    if words[0] == "flock":
        op = {"sh": fcntl.LOCK_SH, "ex": fcntl.LOCK_EX, "un": fcntl.LOCK_UN}[words[1]]
        if "nb" in words[2:]:
            op |= fcntl.LOCK_NB
        fcntl.flock(fd, op)
        return "ok"
    if words[0] in ("setlk", "setlkw", "getlk"):
        t, start, length = TYPES[words[1]], int(words[2]), int(words[3])
        arg = struct.pack(FLOCK, t, os.SEEK_SET, start, length, 0)
        cmd = {"setlk": fcntl.F_SETLK, "setlkw": fcntl.F_SETLKW,
               "getlk": fcntl.F_GETLK}[words[0]]
        res = fcntl.fcntl(fd, cmd, arg)
        if cmd != fcntl.F_GETLK:
            return "ok"
        t, _, start, length, pid = struct.unpack(FLOCK, res)
        if t == fcntl.F_UNLCK:
            return "unlck"
        return "%s %d %d %s" % (NAMES[t], start, length,
                                "same" if pid == os.getpid() else "other")
    if words[0] == "intr":
        signal.alarm(1)
        try:
            return run(words[1:])
        except Alarm:
            return "EINTR"
        finally:
            signal.alarm(0)
    if words[0] == "close":
        os.close(fd)
        return "ok"
    if words[0] == "reopen":
        fd = os.open(path, os.O_RDWR)
        return "ok"
    return "bad command"
print("ready", flush=True)
for line in sys.stdin:
    try:
        out = run(line.split())
    except OSError as e:
        out = errno.errorcode.get(e.errno, str(e.errno))
    print(out, flush=True)
'''


class Locker:
    """A process with the file open, taking locks when told to."""

    def __init__(self, path):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(path)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, bufsize=1)
        self.name = "locker"
        ready = self.read(30.0)
        assert ready == "ready", f"locker did not start: {ready!r}"

    def send(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def read(self, timeout):
        """The next answer, or None if there is none within timeout."""
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            return None
        return self.proc.stdout.readline().strip()

    def ask(self, cmd, timeout=10.0):
        self.send(cmd)
        return self.read(timeout)

    def quit(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


    def expect(self, cmd, answer, timeout=10.0):
        got = self.ask(cmd, timeout)
        assert got == answer, f"{self.name}: {cmd!r}: expected {answer!r}, got {got!r}"

    def eventually(self, cmd, answer, within=5.0):
        """Repeats cmd (one without side effects when it fails) until it
        gets answer, for state another process changes after it returned."""
        deadline = time.monotonic() + within
        while True:
            got = self.ask(cmd)
            if got == answer or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert got == answer, f"{self.name}: {cmd!r}: expected {answer!r} within {within} s, got {got!r}"

    def blocks(self, cmd, wait=1.0):
        """Sends cmd and checks it is still waiting after `wait` seconds."""
        got = self.ask(cmd, wait)
        assert got is None, f"{self.name}: {cmd!r}: expected it to block, got {got!r}"

    def answers(self, answer, timeout=10.0):
        """The answer of the blocked command."""
        got = self.read(timeout)
        assert got == answer, f"{self.name}: blocked command: expected {answer!r}, got {got!r}"

    def still_blocked(self, wait=1.0):
        got = self.read(wait)
        assert got is None, f"{self.name}: expected the command to stay blocked, got {got!r}"


@pytest.fixture
def lockers(request):
    """lockers(path, n) -> n Locker processes on path, named A, B, ...;
    killed at the end of the test."""
    made = []

    def make(path, n):
        for _ in range(n):
            lk = Locker(path)
            lk.name = chr(ord("A") + len(made))
            made.append(lk)
        return made[-n:]
    yield make
    for lk in made:
        lk.kill()


@pytest.fixture
def mnt(master, mount_factory):
    """The root of a fresh file system, mounted with a stock mfsmount."""
    return mount_factory(master).path


@pytest.fixture
def f(mnt):
    path = mnt / "f"
    path.write_bytes(b"")
    return path


# ---- flock -------------------------------------------------------------------


@BOTH
def test_flock_blocks_a_second_process_until_the_first_unlocks(f, lockers):
    a, b = lockers(f, 2)
    a.expect("flock ex", "ok")
    b.expect("flock ex nb", "EAGAIN")          # EWOULDBLOCK
    b.expect("flock sh nb", "EAGAIN")
    b.blocks("flock ex")
    a.expect("flock un", "ok")
    b.answers("ok")
    a.expect("flock sh nb", "EAGAIN")


@BOTH
def test_flock_shared_holders_and_conversions(f, lockers):
    a, b = lockers(f, 2)
    a.expect("flock sh", "ok")
    b.expect("flock sh", "ok")
    a.expect("flock ex nb", "EAGAIN")
    # The failed try kept A's shared lock: B cannot upgrade either.
    b.expect("flock ex nb", "EAGAIN")
    # A blocking upgrade gives the shared lock up while it waits, so two
    # upgrading holders do not deadlock: B's upgrade goes through.
    a.blocks("flock ex")
    b.expect("flock ex nb", "ok")
    b.expect("flock un", "ok")
    a.answers("ok")
    a.expect("flock sh nb", "ok")             # downgrade
    b.expect("flock sh nb", "ok")


@BOTH
def test_flock_waiters_are_granted_in_order(f, lockers):
    a, b, c, d, e = lockers(f, 5)
    a.expect("flock ex", "ok")
    b.blocks("flock sh")
    c.blocks("flock ex")
    d.blocks("flock sh")
    a.expect("flock un", "ok")
    b.answers("ok")
    # D and E would share with B, but C asked for exclusive before them.
    d.still_blocked()
    e.expect("flock sh nb", "EAGAIN")
    b.expect("flock un", "ok")
    c.answers("ok")
    d.still_blocked()
    c.expect("flock un", "ok")
    d.answers("ok")


@BOTH
def test_flock_interrupted_waiter_gets_eintr_and_not_the_lock(f, lockers):
    a, b, c = lockers(f, 3)
    a.expect("flock ex", "ok")
    c.expect("intr flock ex", "EINTR")        # SIGALRM after 1 s
    a.expect("flock un", "ok")
    b.expect("flock ex nb", "ok")


@BOTH
def test_flock_released_when_the_holder_closes_or_exits(f, lockers):
    a, b = lockers(f, 2)
    a.expect("flock ex", "ok")
    a.expect("close", "ok")
    # The kernel sends FUSE RELEASE, which carries the flock unlock, after
    # close() has returned (asynchronously), so B may ask before mfsmount has
    # told the master: the lock must be free soon after, not at once.
    b.eventually("flock ex nb", "ok")
    b.expect("flock un", "ok")
    a.expect("reopen", "ok")
    a.expect("flock ex", "ok")
    b.blocks("flock ex")
    a.kill()
    b.answers("ok")


# ---- POSIX (fcntl) locks -----------------------------------------------------------


@BOTH
def test_posix_ranges_merge_split_and_getlk(f, lockers):
    a, b, c = lockers(f, 3)
    a.expect("setlk w 0 10", "ok")
    a.expect("setlk w 10 10", "ok")
    b.expect("getlk r 0 0", "w 0 20 other")   # touching ranges merged
    a.expect("getlk w 0 0", "unlck")          # its own locks never conflict
    a.expect("setlk r 5 5", "ok")             # w[0,5) r[5,10) w[10,20)
    b.expect("getlk r 0 0", "w 0 5 other")
    b.expect("getlk r 5 5", "unlck")
    b.expect("getlk w 5 5", "r 5 5 other")
    b.expect("getlk r 5 10", "w 10 10 other")
    a.expect("setlk u 2 1", "ok")             # w[0,2) w[3,5) r[5,10) w[10,20)
    b.expect("getlk w 0 0", "w 0 2 other")
    b.expect("getlk w 2 1", "unlck")
    b.expect("getlk w 3 0", "w 3 2 other")
    b.expect("setlk r 5 5", "ok")
    b.expect("setlk w 5 5", "EAGAIN")
    b.expect("setlk w 2 1", "ok")
    b.expect("setlk w 100 0", "ok")           # to the end of the file
    c.expect("getlk r 50 0", "w 100 0 other")
    c.expect("getlk r 20 80", "unlck")
    a.expect("setlk r 0 10", "EAGAIN")        # B holds [2,3) for writing
    a.expect("setlk u 0 0", "ok")
    b.expect("setlk u 0 0", "ok")
    a.expect("setlk r 0 10", "ok")
    a.expect("setlk r 10 10", "ok")
    a.expect("setlk r 30 10", "ok")
    b.expect("getlk w 0 0", "r 0 20 other")
    a.expect("setlk r 15 20", "ok")           # bridges [0,20) and [30,40)
    b.expect("getlk w 0 0", "r 0 40 other")


@BOTH
def test_posix_getlk_reports_owners_in_the_order_they_locked(f, lockers):
    a, b, c = lockers(f, 3)
    b.expect("setlk w 50 10", "ok")
    a.expect("setlk w 0 10", "ok")
    # Not the lowest range: B took its first lock on the file before A.
    c.expect("getlk w 0 0", "w 50 10 other")
    b.expect("setlk u 0 0", "ok")
    b.expect("setlk w 50 10", "ok")
    c.expect("getlk w 0 0", "w 0 10 other")
    b.expect("setlk u 55 1", "ok")
    a.expect("setlk u 0 0", "ok")
    a.expect("setlk w 0 10", "ok")
    c.expect("getlk w 0 0", "w 50 5 other")


@BOTH
def test_posix_setlkw_waits_only_for_held_locks(f, lockers):
    a, b, c = lockers(f, 3)
    a.expect("setlk r 0 10", "ok")
    a.expect("setlk w 20 10", "ok")
    b.blocks("setlkw w 0 10")
    # Unlike flock, a queued writer does not hold later readers back.
    c.expect("setlk r 0 10", "ok")
    c.expect("setlk u 0 0", "ok")
    c.blocks("setlkw r 0 30")
    a.expect("setlk u 20 10", "ok")
    c.answers("ok")
    b.still_blocked()
    a.expect("setlk u 0 0", "ok")
    b.still_blocked()                         # C's read lock
    c.expect("setlk u 0 0", "ok")
    b.answers("ok")
    a.expect("getlk r 0 0", "w 0 10 other")


@BOTH
def test_posix_interrupted_setlkw_gets_eintr_and_not_the_lock(f, lockers):
    a, b, c = lockers(f, 3)
    a.expect("setlk w 0 10", "ok")
    c.expect("intr setlkw w 0 10", "EINTR")
    a.expect("setlk u 0 0", "ok")
    b.expect("getlk w 0 0", "unlck")
    b.expect("setlk w 0 10", "ok")


@BOTH
def test_posix_locks_released_when_the_holder_closes_or_exits(f, lockers):
    a, b = lockers(f, 2)
    a.expect("setlk w 0 0", "ok")
    b.expect("setlk r 0 1", "EAGAIN")
    a.expect("close", "ok")
    b.expect("getlk w 0 0", "unlck")
    a.expect("reopen", "ok")
    a.expect("setlk w 10 10", "ok")
    b.blocks("setlkw w 0 0")
    a.kill()
    b.answers("ok")


@BOTH
def test_flock_and_posix_locks_do_not_interact(f, lockers):
    a, b, c = lockers(f, 3)
    a.expect("flock ex", "ok")
    b.expect("setlk w 0 0", "ok")
    c.expect("flock ex nb", "EAGAIN")
    c.expect("setlk r 0 0", "EAGAIN")
    a.expect("setlk r 0 1", "EAGAIN")
    b.expect("flock sh nb", "EAGAIN")


# ---- sessions ---------------------------------------------------------------------


@BOTH
@pytest.mark.deadline(280)
def test_locks_of_a_closed_session_are_released(master, mount_factory, lockers):
    """Two mounts; the one holding the locks is stopped (mfsmount sends
    CLOSESESSION) while its process still has the file open. The other
    mount gets the locks once the session is gone: mds drops it at once;
    the stock master deletes a closed session about 10 s after CLOSESESSION,
    but never in the first 120 s after it started, so the stock run waits
    up to ~140 s (measured: the locks are still held 60 s after)."""
    m1, m2 = mount_factory(master), mount_factory(master)
    (m1.path / "f").write_bytes(b"")
    a, = lockers(m1.path / "f", 1)
    b, = lockers(m2.path / "f", 1)
    a.expect("flock ex", "ok")
    a.expect("setlk w 0 0", "ok")
    b.expect("flock ex nb", "EAGAIN")
    b.expect("setlk r 0 0", "EAGAIN")
    m1.proc.signal(signal.SIGTERM)
    deadline = time.monotonic() + 200
    got = None
    while time.monotonic() < deadline:
        got = b.ask("flock ex nb")
        if got == "ok":
            break
        assert got == "EAGAIN", f"B: 'flock ex nb': expected ok or EAGAIN, got {got!r}"
        time.sleep(1)
    assert got == "ok", "the flock lock of the closed session was never released"
    b.expect("setlk w 0 0", "ok")


@BOTH
def test_waiting_request_of_a_broken_connection(master_kind, master, mount_factory,
                                                lockers):
    """B waits for A's flock lock through mount 1, whose mfsmount is then
    killed: the connection breaks, the session stays (it could reconnect).
    Deliberate difference: mds cancels the requests that waited on the dead
    connection, so nobody holds the lock once A lets go. The stock master
    grants it to the connectionless session (measured: C gets EAGAIN), where
    it stays until that session expires."""
    m1, m2 = mount_factory(master), mount_factory(master)
    (m1.path / "f").write_bytes(b"")
    b, = lockers(m1.path / "f", 1)
    a, c = lockers(m2.path / "f", 2)
    a.expect("flock ex", "ok")
    b.blocks("flock ex")
    m1.proc.signal(signal.SIGKILL)
    time.sleep(2)
    a.expect("flock un", "ok")
    c.expect("flock ex nb", "ok" if master_kind == "mdsd" else "EAGAIN")


# ---- restarts (mds only: the stock master keeps locks in memory) -----------------


@pytest.mark.parametrize("master_kind", ["mdsd"], indirect=True)
@pytest.mark.parametrize("how", ["stop", "kill"])
@pytest.mark.deadline(200)
def test_locks_survive_an_mdsd_restart(master, f, lockers, how):
    """Locks are replicated state, kept in mdsd's LMDB: after a clean
    restart and after kill -9 they are still held. The mount reconnects
    with its session id and the locks are still its own; a request that
    was waiting when mdsd went down is re-sent by mfsmount (mdsd canceled
    the one its old connection left) and granted once the holder lets go."""
    a, b, c = lockers(f, 3)
    a.expect("flock ex", "ok")
    a.expect("setlk w 0 10", "ok")
    c.blocks("flock sh")
    if how == "stop":
        master.stop()
    else:
        master.kill()
    master.start()
    b.expect("flock ex nb", "EAGAIN", timeout=60)    # once the mount reconnected
    b.expect("flock sh nb", "EAGAIN")
    b.expect("setlk r 5 1", "EAGAIN")
    b.expect("getlk w 0 0", "w 0 10 other")
    c.still_blocked()
    a.expect("flock un", "ok")
    c.answers("ok", timeout=30)
    b.expect("flock ex nb", "EAGAIN")
    c.expect("flock un", "ok")
    b.expect("flock ex nb", "ok")
    a.expect("setlk u 0 0", "ok")
    b.expect("setlk w 0 0", "ok")
