"""procs - daemons a test starts, known by pid and stopped by pid.

A Proc runs one program in the foreground under subprocess.Popen, in a new
session (so a Ctrl-C on the terminal reaches pytest, which then tears down in
order, not every daemon at once), with stdout and stderr appended to a log
file. It is recorded in the ledger from the moment it exists.

Stopping is SIGTERM, a bounded wait, then SIGKILL. Before the process is
reaped, the rest of its process group gets SIGKILL too: mfsmaster forks a
"data writer" child, and the zombie leader keeps the group id from being
reused while we do it. Nothing here ever signals a process it did not start.
"""

import os
import shlex
import signal
import subprocess
import time
from collections import deque
from pathlib import Path

from .ledger import ledger, proc_alive, proc_starttime

STOP_TIMEOUT = 20.0


class HarnessError(Exception):
    """A daemon, mount or namespace did not do what the harness needed."""


def wait_for(predicate, timeout, what, interval=0.1, diagnose=None):
    """Polls `predicate` until it returns a true value, which is returned.

    On timeout raises HarnessError naming `what`, followed by the text of
    `diagnose()` (e.g. a log tail) when given. `predicate` may raise
    HarnessError itself to fail fast (a daemon died while we waited).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = f"\n{diagnose()}" if diagnose else ""
            raise HarnessError(f"timed out after {timeout:g}s waiting for "
                               f"{what}{detail}")
        time.sleep(interval)


def log_tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            tail = deque(f, maxlen=lines)
    except OSError as e:
        return f"(no log: {e})"
    return b"".join(tail).decode("utf-8", "replace").rstrip("\n")


class Proc:
    """One started program. `name` is for humans and log file names."""

    def __init__(self, name, argv, log_path, cwd=None, env=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.cwd = cwd
        self.env = env
        self.popen = None
        self.pid = None
        self.starttime = None

    def start(self):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"=== {time.strftime('%H:%M:%S')} start: "
                      f"{shlex.join(self.argv)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, cwd=self.cwd, env=self.env,
                start_new_session=True)
        self.pid = self.popen.pid
        self.starttime = proc_starttime(self.pid)
        ledger().add_proc(self.pid, self.starttime, self.argv)
        return self

    def exited(self):
        """True once the process has exited (it may not be reaped yet)."""
        if self.popen is None:
            return True
        if self.popen.returncode is not None:
            return True
        try:
            info = os.waitid(os.P_PID, self.pid,
                             os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def alive(self):
        return self.popen is not None and not self.exited()

    def signal(self, sig):
        """Sends `sig` to the process (e.g. SIGSTOP to freeze a daemon)."""
        if self.alive():
            os.kill(self.pid, sig)

    def wait_exit(self, timeout):
        deadline = time.monotonic() + timeout
        while not self.exited():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def reap(self):
        """Kills what is left of the process group, then reaps the leader."""
        if self.popen is None or self.popen.returncode is not None:
            return
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.popen.wait(timeout=10)
        ledger().drop_proc(self.pid)

    def stop(self, timeout=STOP_TIMEOUT):
        stop_all([self], timeout)

    @property
    def returncode(self):
        """Exit status once reaped (see stop() and reap()), else None."""
        return None if self.popen is None else self.popen.returncode

    def log_tail(self, lines=40):
        return log_tail(self.log_path, lines)

    def __repr__(self):
        return f"<Proc {self.name} pid={self.pid}>"


def stop_all(procs, timeout=STOP_TIMEOUT):
    """SIGTERM to all at once, wait up to `timeout`, SIGKILL the rest.

    Returns the names of those that needed SIGKILL.
    """
    procs = [p for p in procs if p.popen is not None]
    for p in procs:
        if p.alive():
            os.kill(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    killed = []
    for p in procs:
        if not p.wait_exit(max(0.0, deadline - time.monotonic())):
            killed.append(p.name)
        p.reap()
    return killed


def kill_recorded(pid, starttime, timeout=10.0):
    """Stops a process another (dead) run recorded; True if it was alive."""
    if not proc_alive(pid, starttime):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while proc_alive(pid, starttime) and time.monotonic() < deadline:
        time.sleep(0.1)
    if proc_alive(pid, starttime):
        os.kill(pid, signal.SIGKILL)
    return True
