"""masters - the metadata service a test talks to, whichever daemon it is.

A test that needs "a master" asks for one through this interface, so the
same test can later run against stock mfsmaster and against our mdsd and
compare what clients observe (differential testing). What a test may rely
on is what a MooseFS client, chunkserver or tool sees:

    client_host, client_port   where mfsmount and mfscli connect
    cs_port                    where chunkservers connect ...
    cs_host_for(netns)         ... from inside `netns` (the host end of its
                               veth: the master listens on all addresses)
    start(), stop(), kill(),   lifecycle; start() returns once it listens,
    restart()                  kill() is a crash (SIGKILL)
    procs                      the processes it consists of (for pids, logs)
    chunkservers()             registered chunkservers, read through mfscli
                               (the admin protocol both must speak)

Adding a kind: subclass ConfiguredMaster (a daemon run in the foreground as
`PROGRAM -f -c CFG start` with a MooseFS-style KEY = VALUE config, as
DESIGN.md says mdsd is), give it `kind`, `program()`, `config()` and, if it
needs them, `prepare_data()` and `available()`, and add it to cluster.MASTER_KINDS.
The `master_kind` fixture then accepts the new name (parametrize a test with
indirect=True, or pass --mds-master on the command line).

A multi-node mdsd group will be a Master whose client_host is the leader's
(or a floating) address and whose procs are all its nodes; the interface
above does not assume a single process.
"""

import os
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .netns import POOL
from .procs import HarnessError, stop_all, wait_for

REPO_ROOT = Path(__file__).resolve().parents[3]
START_TIMEOUT = 30.0
MFSCLI_TIMEOUT = 15.0


@dataclass
class ChunkserverInfo:
    """One line of `mfscli -SCS`: a chunkserver the master knows is up."""
    ip: str
    port: int
    chunks: int
    used: int
    total: int


def tcp_accepts(host, port, timeout=1.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class Master:
    """Interface; see the module docstring."""

    kind = None
    client_host = "127.0.0.1"

    def __init__(self, harness, name=None):
        self.harness = harness
        self.name = name or harness.unique_name("master")
        self.client_port = harness.port()
        self.cs_port = harness.port()
        self.ml_port = harness.port()
        self.procs = []

    @classmethod
    def available(cls):
        """None if this kind can run here, else the reason it cannot."""
        return None

    def cs_host_for(self, netns):
        return netns.host_addr

    def start(self, timeout=START_TIMEOUT):
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError

    def kill(self):
        raise NotImplementedError

    def restart(self, timeout=START_TIMEOUT):
        self.stop()
        return self.start(timeout)

    def mfscli(self, *args, timeout=MFSCLI_TIMEOUT):
        """Runs mfscli against this master; returns its stdout."""
        argv = ["mfscli", "-H", self.client_host, "-P", str(self.client_port),
                "-n", *args]
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise HarnessError(f"`{' '.join(argv)}` failed ({r.returncode}):"
                               f" {r.stderr.strip() or r.stdout.strip()}")
        return r.stdout

    def chunkservers(self):
        """Connected chunkservers, from `mfscli -SCS`."""
        found = []
        for line in self.mfscli("-SCS").splitlines():
            label, _, rest = line.partition(":")
            if label != "chunk servers":
                continue
            # host port id labels version load maintenance chunks used total
            f = rest.strip().split("\t")
            found.append(ChunkserverInfo(ip=f[0], port=int(f[1]),
                                         chunks=int(f[7]), used=int(f[8]),
                                         total=int(f[9])))
        return found

    def wait_chunkservers(self, addresses, timeout=START_TIMEOUT,
                          diagnose=None):
        """Waits until every (ip, port) is registered and reports space.

        A chunkserver registers before its disks are scanned; until the
        master sees space on it, it will not place chunks there.
        """
        want = set(addresses)
        seen = {"last": "nothing yet"}

        def registered():
            try:
                servers = self.chunkservers()
            except HarnessError as e:   # e.g. restarting; retried
                seen["last"] = str(e)
                return False
            seen["last"] = repr(servers)
            return want <= {(c.ip, c.port) for c in servers if c.total > 0}

        def explain():
            return f"last mfscli -SCS: {seen['last']}\n" + \
                (diagnose or self.log_tails)()

        wait_for(registered, timeout,
                 f"chunkservers {sorted(want)} to register with {self.name}",
                 interval=0.2, diagnose=explain)

    def log_tails(self, lines=30):
        return "\n".join(f"--- {p.log_path}\n{p.log_tail(lines)}"
                         for p in self.procs)

    def __repr__(self):
        return f"<{type(self).__name__} {self.client_host}:{self.client_port}>"


class ConfiguredMaster(Master):
    """A master daemon run as `PROGRAM -f -c CFG start`, one process."""

    def __init__(self, harness, name=None, extra_config=None):
        super().__init__(harness, name)
        self.data_path = harness.path(self.name, "data")
        self.conf_path = harness.path(self.name)
        self.extra_config = dict(extra_config or {})
        self.proc = None

    def program(self):
        raise NotImplementedError

    def config(self):
        """Config keys for this kind (extra_config is applied on top)."""
        raise NotImplementedError

    def argv(self, cfg):
        return [self.program(), "-f", "-c", str(cfg), "start"]

    def prepare_data(self):
        """Prepares DATA_PATH before the first start."""

    def exports(self):
        """mfsexports.cfg lines: the mounts' address and the test subnets."""
        rule = "rw,alldirs,admin,maproot=0:0"
        return [f"127.0.0.1\t/\t{rule}",
                "127.0.0.1\t.\trw",
                f"{POOL}\t/\t{rule}",
                f"{POOL}\t.\trw"]

    def write_config(self):
        exports = self.conf_path / "mfsexports.cfg"
        exports.write_text("\n".join(self.exports()) + "\n")
        topology = self.conf_path / "mfstopology.cfg"
        topology.touch()
        keys = self.config()
        keys.update(self.extra_config)
        cfg = self.conf_path / f"{self.name}.cfg"
        cfg.write_text("".join(f"{k} = {v}\n" for k, v in keys.items()))
        return cfg

    def start(self, timeout=START_TIMEOUT):
        if self.proc is not None and self.proc.alive():
            raise HarnessError(f"{self.name} is already running")
        self.prepare_data()
        cfg = self.write_config()
        self.proc = self.harness.start(self.name, self.argv(cfg),
                                       cwd=self.data_path)
        self.procs.append(self.proc)

        def listening():
            if not self.proc.alive():
                raise HarnessError(f"{self.name} exited during startup:\n"
                                   f"{self.proc.log_tail()}")
            return tcp_accepts(self.client_host, self.client_port)

        wait_for(listening, timeout, f"{self.name} to listen on "
                 f"{self.client_host}:{self.client_port}",
                 diagnose=self.proc.log_tail)
        return self

    def stop(self):
        if self.proc is not None:
            stop_all([self.proc])

    def kill(self):
        """SIGKILL, as in a crash: no shutdown, no metadata dump."""
        if self.proc is not None:
            self.proc.signal(signal.SIGKILL)
            self.proc.wait_exit(10)
            self.proc.reap()


def mdsd_binary():
    """build/mdsd under the repository, or under $MDS_BUILD if set."""
    build = Path(os.environ.get("MDS_BUILD", REPO_ROOT / "build"))
    return build / "mdsd"


class MdsdMaster(ConfiguredMaster):
    """Our mdsd as a single-node master: the hook for differential tests.

    The keys are mfsmaster.cfg's (mdsd accepts them with the same meaning);
    WORKING_USER root because the test's config files live in a directory
    only root can read. A new DATA_PATH bootstraps a one-voter group.
    """

    kind = "mdsd"

    @classmethod
    def available(cls):
        path = mdsd_binary()
        if not os.access(path, os.X_OK):
            return f"{path} not built (run make, or set MDS_BUILD)"
        return None

    def program(self):
        return str(mdsd_binary())

    def config(self):
        return {
            "DATA_PATH": self.data_path,
            "EXPORTS_FILENAME": self.conf_path / "mfsexports.cfg",
            "MATOML_LISTEN_PORT": self.ml_port,
            "MATOCS_LISTEN_PORT": self.cs_port,
            "MATOCL_LISTEN_PORT": self.client_port,
            "WORKING_USER": "root",
            "WORKING_GROUP": "root",
            "MDS_LOG_LEVEL": os.environ.get("MDS_TEST_LOG_LEVEL", "info"),
        }

