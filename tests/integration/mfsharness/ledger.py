"""ledger - what this test run owns, written down so that nothing outlives it.

Every resource the harness creates (a process, a FUSE mount, a network
namespace, a claimed port, subnet or name) is recorded in a small JSON file
under STATE_DIR (one file per pytest process) before or right after it comes
into existence, and struck off when it is torn down. Three things use it:

  * the atexit hook of the same run, which tears down whatever is still
    recorded (a test interrupted between setup and teardown, a broken
    fixture);
  * sweep_dead_runs(), called when every session starts, which does the same
    for runs whose pytest process died without running atexit (SIGKILL, OOM);
  * claim(), which makes parallel runs pick different ports, subnets and
    names: a claim is a file created with O_EXCL.

Processes are identified by pid *and* start time (field 22 of
/proc/PID/stat), so a recycled pid is never signalled.
"""

import atexit
import contextlib
import fcntl
import json
import os
from pathlib import Path

STATE_DIR = Path(os.environ.get("MDST_STATE_DIR", "/tmp/mdst-harness"))


def proc_stat(pid):
    """(state, starttime) of a process, or None if there is none."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = data.rsplit(")", 1)[1].split()
    return fields[0], int(fields[19])


def proc_starttime(pid):
    st = proc_stat(pid)
    return st[1] if st else None


def proc_alive(pid, starttime):
    """True if `pid` runs and is the process that started at `starttime`."""
    st = proc_stat(pid)
    return st is not None and st[0] != "Z" and st[1] == starttime


class Ledger:
    """The record of one pytest process. Use ledger() to get it."""

    def __init__(self, state_dir=STATE_DIR):
        self.dir = Path(state_dir)
        self.claims_dir = self.dir / "claims"
        self.runs_dir = self.dir / "runs"
        self.claims_dir.mkdir(parents=True, exist_ok=True)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        self.owner = {"pid": pid, "starttime": proc_starttime(pid)}
        self.path = self.runs_dir / f"{pid}-{self.owner['starttime']}.json"
        self.state = {"owner": self.owner, "procs": [], "mounts": [],
                      "netns": [], "claims": []}

    @contextlib.contextmanager
    def lock(self):
        """Serialises allocation and sweeping across all runs on the host."""
        fd = os.open(self.dir / "lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def claim(self, key):
        """Take `key` (e.g. "port-29421") for this run; False if taken."""
        try:
            fd = os.open(self.claims_dir / key,
                         os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as f:
            json.dump(self.owner, f)
        self._add("claims", key)
        return True

    def release(self, key):
        with contextlib.suppress(FileNotFoundError):
            (self.claims_dir / key).unlink()
        self._drop("claims", key)

    def add_proc(self, pid, starttime, argv):
        self._add("procs", {"pid": pid, "starttime": starttime,
                            "argv": list(argv)})

    def drop_proc(self, pid):
        self.state["procs"] = [p for p in self.state["procs"]
                               if p["pid"] != pid]
        self._save()

    def add_mount(self, path):
        self._add("mounts", str(path))

    def drop_mount(self, path):
        self._drop("mounts", str(path))

    def add_netns(self, name):
        self._add("netns", name)

    def drop_netns(self, name):
        self._drop("netns", name)

    def cleanup(self):
        """Tears down everything still recorded (the atexit safety net)."""
        if not any(self.state[k] for k in ("procs", "mounts", "netns",
                                           "claims")):
            self._save()
            return []
        done = cleanup_state(self.state, self.claims_dir)
        for k in ("procs", "mounts", "netns", "claims"):
            self.state[k] = []
        self._save()
        return done

    def _add(self, kind, item):
        if item not in self.state[kind]:
            self.state[kind].append(item)
        self._save()

    def _drop(self, kind, item):
        if item in self.state[kind]:
            self.state[kind].remove(item)
        self._save()

    def _save(self):
        if not any(self.state[k] for k in ("procs", "mounts", "netns",
                                           "claims")):
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1))
        tmp.rename(self.path)


def cleanup_state(state, claims_dir):
    """Removes what one run recorded; returns a line per thing removed."""
    from . import mount, netns, procs  # they import this module

    done = []
    for path in state["mounts"]:
        if mount.force_unmount(path):
            done.append(f"unmounted {path}")
    for p in state["procs"]:
        if procs.kill_recorded(p["pid"], p["starttime"]):
            done.append(f"killed pid {p['pid']} ({' '.join(p['argv'][:3])})")
    for name in state["netns"]:
        if netns.delete_netns(name):
            done.append(f"deleted network namespace {name}")
    for key in state["claims"]:
        path = Path(claims_dir) / key
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text()) == state["owner"]:
                path.unlink()
    return done


def sweep_dead_runs():
    """Cleans up after runs whose pytest process is gone. Returns a log."""
    led = ledger()
    done = []
    with led.lock():
        for run in sorted(led.runs_dir.glob("*.json")):
            try:
                state = json.loads(run.read_text())
            except (OSError, ValueError):
                continue
            owner = state["owner"]
            if proc_alive(owner["pid"], owner["starttime"]):
                continue
            done += [f"run {owner['pid']}: {line}"
                     for line in cleanup_state(state, led.claims_dir)]
            run.unlink()
        for claim in led.claims_dir.iterdir():
            with contextlib.suppress(OSError, ValueError):
                owner = json.loads(claim.read_text())
                if not proc_alive(owner["pid"], owner["starttime"]):
                    claim.unlink()
    return done


_LEDGER = None


def ledger():
    """The ledger of this process, created (and its atexit hook set) once."""
    global _LEDGER
    if _LEDGER is None or _LEDGER.owner["pid"] != os.getpid():
        _LEDGER = Ledger()
        atexit.register(_LEDGER.cleanup)
    return _LEDGER
