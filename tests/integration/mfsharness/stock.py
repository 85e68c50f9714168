"""stock - the packaged MooseFS 3.0.117 daemons, run by a test.

StockMaster is mfsmaster with its own DATA_PATH, config, exports and ports.
StockChunkserver is mfschunkserver in a network namespace of its own (it
refuses a 127.x master), reaching the master at the host end of its veth.

Both run in the foreground (-f), as root (WORKING_USER/GROUP = root, so the
per-test directories need no chown), at normal priority and with the OOM
killer left alone (the packaged defaults raise priority and disable it).
"""

import signal
from pathlib import Path

from .masters import ConfiguredMaster, START_TIMEOUT
from .procs import HarnessError, stop_all


class StockMaster(ConfiguredMaster):
    """Stock mfsmaster 3.0.117 with its own DATA_PATH, config and ports.

    An empty file system is the packaged metadata.mfs.empty copied to
    DATA_PATH/metadata.mfs (mfsmaster will not start without a metadata
    file). It runs with -a, so after a crash (SIGKILL) restart() recovers
    the metadata from metadata.mfs.back plus the change logs.
    """

    kind = "stock"
    EMPTY_METADATA = Path("/var/lib/mfs/metadata.mfs.empty")

    @classmethod
    def available(cls):
        if not cls.EMPTY_METADATA.exists():
            return f"{cls.EMPTY_METADATA} missing (install moosefs-master)"
        return None

    def program(self):
        return "mfsmaster"

    def argv(self, cfg):
        return ["mfsmaster", "-a", "-f", "-c", str(cfg), "start"]

    def prepare_data(self):
        if not any(self.data_path.glob("metadata.mfs*")):
            (self.data_path / "metadata.mfs").write_bytes(
                self.EMPTY_METADATA.read_bytes())

    def config(self):
        return {
            "WORKING_USER": "root",
            "WORKING_GROUP": "root",
            "DATA_PATH": self.data_path,
            "EXPORTS_FILENAME": self.conf_path / "mfsexports.cfg",
            "TOPOLOGY_FILENAME": self.conf_path / "mfstopology.cfg",
            "NICE_LEVEL": 0,
            "DISABLE_OOM_KILLER": 0,
            "MATOML_LISTEN_PORT": self.ml_port,
            "MATOCS_LISTEN_PORT": self.cs_port,
            "MATOCL_LISTEN_PORT": self.client_port,
        }


class StockChunkserver:
    """Stock mfschunkserver in its own Netns, registered with `master`.

    Its disk is the directory hdd_path (on the test's file system); the
    master sees it as ns_addr:port. start() returns once the process runs;
    Cluster waits for registration with master.wait_chunkservers().
    """

    def __init__(self, harness, master, name=None, netns=None,
                 extra_config=None):
        self.harness = harness
        self.master = master
        self.name = name or harness.unique_name("cs")
        self.netns = netns
        self.port = harness.port()
        self.data_path = harness.path(self.name, "data")
        self.hdd_path = harness.path(self.name, "hdd")
        self.conf_path = harness.path(self.name)
        self.extra_config = dict(extra_config or {})
        self.proc = None
        self.procs = []

    @property
    def address(self):
        """(ip, port) the master and clients know this chunkserver by."""
        return (self.netns.ns_addr, self.port)

    def config(self):
        return {
            "WORKING_USER": "root",
            "WORKING_GROUP": "root",
            "DATA_PATH": self.data_path,
            "HDD_CONF_FILENAME": self.conf_path / "mfshdd.cfg",
            # The default keeps 256 MiB free per disk; 64 MiB is one chunk
            # (less makes the chunkserver warn).
            "HDD_LEAVE_SPACE_DEFAULT": "64MiB",
            "NICE_LEVEL": 0,
            "DISABLE_OOM_KILLER": 0,
            "MASTER_HOST": self.master.cs_host_for(self.netns),
            "MASTER_PORT": self.master.cs_port,
            "MASTER_RECONNECTION_DELAY": 1,
            "CSSERV_LISTEN_PORT": self.port,
        }

    def write_config(self):
        (self.conf_path / "mfshdd.cfg").write_text(f"{self.hdd_path}\n")
        keys = self.config()
        keys.update(self.extra_config)
        cfg = self.conf_path / "mfschunkserver.cfg"
        cfg.write_text("".join(f"{k} = {v}\n" for k, v in keys.items()))
        return cfg

    def start(self, timeout=START_TIMEOUT):
        if self.proc is not None and self.proc.alive():
            raise HarnessError(f"{self.name} is already running")
        if self.netns is None:
            self.netns = self.harness.netns()
        cfg = self.write_config()
        self.proc = self.harness.start(self.name, self.netns.exec_argv(
            ["mfschunkserver", "-f", "-c", cfg, "start"]))
        self.procs.append(self.proc)
        return self

    def wait_registered(self, timeout=START_TIMEOUT):
        self.master.wait_chunkservers(
            [self.address], timeout,
            diagnose=lambda: f"--- {self.proc.log_path}\n"
                             f"{self.proc.log_tail()}\n"
                             f"{self.master.log_tails()}")

    def stop(self):
        if self.proc is not None:
            stop_all([self.proc])

    def kill(self):
        """SIGKILL, as in a crash."""
        if self.proc is not None:
            self.proc.signal(signal.SIGKILL)
            self.proc.wait_exit(10)
            self.proc.reap()

    def restart(self, timeout=START_TIMEOUT):
        self.stop()
        self.start(timeout)
        self.wait_registered(timeout)
        return self

    def chunk_files(self):
        """The chunk files on this chunkserver's disk."""
        return sorted(self.hdd_path.glob("*/chunk_*.mfs"))

    def __repr__(self):
        return f"<StockChunkserver {self.name} {self.netns}>"
