"""mount - a stock mfsmount, run in the foreground, on a test's mountpoint.

mfsmount -f keeps the pid we started as the FUSE server; it connects to the
master before it mounts (no mfsdelayedinit), so it either mounts or exits
with the reason in its log. The default options make it a thin client: no
data, attribute or entry caching (every operation reaches the master, which
is what a comparison of masters wants), a bounded I/O timeout instead of
retrying forever, and an empty config file instead of /etc/mfs/mfsmount.cfg.

Unmounting is `fusermount3 -u` (mfsmount then flushes and exits by itself),
falling back to `umount -l` for a busy or dead mount, then stopping the
process by pid.
"""

import os
import subprocess

from .ledger import ledger
from .procs import HarnessError, stop_all, wait_for

MOUNT_TIMEOUT = 30.0
UNMOUNT_TIMEOUT = 20.0

DEFAULT_OPTIONS = (
    "mfscachemode=NEVER",
    "mfsattrcacheto=0",
    "mfsentrycacheto=0",
    "mfsdirentrycacheto=0",
    "mfsnegentrycacheto=0",
    "mfstimeout=60",
    "mfsnice=0",
    "mfsallowoomkiller",
)


def _unescape(field):
    # /proc/mounts escapes space, tab, newline and backslash as \ooo.
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounts():
    """{mountpoint: fstype} of every mount in this mount namespace."""
    result = {}
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            result[_unescape(fields[1])] = fields[2]
    return result


def _canonical(path):
    # realpath() of the parent only: resolving the mountpoint itself would
    # stat it, and a stat of a mount whose master is gone blocks for
    # mfstimeout.
    path = os.path.abspath(path)
    return os.path.join(os.path.realpath(os.path.dirname(path)),
                        os.path.basename(path))


def is_mounted(path):
    """True if something is mounted on `path`; never touches the mount."""
    return _canonical(path) in mounts()


def force_unmount(path):
    """Lazily unmounts `path` if mounted; True if it was."""
    if not is_mounted(path):
        return False
    subprocess.run(["umount", "-l", str(path)], capture_output=True,
                   timeout=UNMOUNT_TIMEOUT)
    return True


class Mount:
    """A stock mfsmount of `master` on `<test dir>/mnt/<name>` (mnt1, ...).

    start() returns once the file system is mounted and answers statfs;
    unmount() returns once it is unmounted and the process is gone.
    remount() does both, leaving a fresh process (and empty kernel caches)
    on the same path.
    """

    def __init__(self, harness, master, name=None, options=DEFAULT_OPTIONS,
                 subfolder=None):
        self.harness = harness
        self.master = master
        self.name = name or harness.unique_name("mnt")
        self.path = harness.path("mnt", self.name)
        self.options = list(options)
        self.subfolder = subfolder
        self.proc = None
        self.procs = []          # every mfsmount process this mount ran
        harness.add_mount(self)

    def argv(self):
        cfg = self.harness.path("conf") / f"{self.name}-mfsmount.cfg"
        cfg.touch()
        opts = [f"mfscfgfile={cfg}", *self.options]
        if self.subfolder:
            opts.append(f"mfssubfolder={self.subfolder}")
        return ["mfsmount", "-f", str(self.path),
                "-H", self.master.client_host, "-P", str(self.master.client_port),
                "-o", ",".join(opts)]

    def start(self, timeout=MOUNT_TIMEOUT):
        if self.proc is not None and self.proc.alive():
            raise HarnessError(f"{self.name} is already mounted")
        ledger().add_mount(self.path)
        self.proc = self.harness.start(f"mfsmount-{self.name}", self.argv())
        self.procs.append(self.proc)

        def mounted():
            if not self.proc.alive():
                raise HarnessError(
                    f"mfsmount for {self.path} exited before mounting:\n"
                    f"{self.proc.log_tail()}")
            if not is_mounted(self.path):
                return False
            os.statvfs(self.path)
            return True

        wait_for(mounted, timeout, f"mfsmount on {self.path}",
                 diagnose=self.proc.log_tail)
        return self

    def unmount(self, timeout=UNMOUNT_TIMEOUT):
        if is_mounted(self.path):
            r = subprocess.run(["fusermount3", "-u", str(self.path)],
                               capture_output=True, text=True,
                               timeout=timeout)
            if r.returncode != 0:
                force_unmount(self.path)
        if self.proc is not None:
            if not self.proc.wait_exit(timeout):
                stop_all([self.proc], timeout=5)
            self.proc.reap()
        force_unmount(self.path)
        if is_mounted(self.path):
            raise HarnessError(f"{self.path} is still mounted")
        ledger().drop_mount(self.path)

    def remount(self, timeout=MOUNT_TIMEOUT):
        self.unmount()
        return self.start(timeout)

    @property
    def mounted(self):
        return is_mounted(self.path)

    def __truediv__(self, rel):
        return self.path / rel

    def __repr__(self):
        return f"<Mount {self.path} of {self.master.client_host}:" \
               f"{self.master.client_port}>"
