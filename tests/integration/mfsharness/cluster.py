"""cluster - a master, its chunkservers and mounts, brought up together.

Cluster.start() starts the master, then all chunkservers at once (each in
its own namespace), waits until the master reports every one of them with
disk space (so the first write has somewhere to go), then mounts. The
master is any kind in MASTER_KINDS; chunkservers and mounts are stock.
"""

from .masters import MdsdMaster
from .mount import Mount
from .stock import StockChunkserver, StockMaster

MASTER_KINDS = {cls.kind: cls for cls in (StockMaster, MdsdMaster)}


class Cluster:
    def __init__(self, harness, master_kind="stock", chunkservers=1,
                 mounts=1, master_config=None, chunkserver_config=None,
                 mount_options=None):
        self.harness = harness
        self.master = MASTER_KINDS[master_kind](harness,
                                                extra_config=master_config)
        self.chunkserver_config = chunkserver_config
        self.mount_options = mount_options
        self.chunkservers = []
        self.mounts = []
        self._want_chunkservers = chunkservers
        self._want_mounts = mounts

    def start(self):
        self.master.start()
        for _ in range(self._want_chunkservers):
            self.add_chunkserver(wait=False)
        self.wait_chunkservers()
        for _ in range(self._want_mounts):
            self.add_mount()
        return self

    def add_chunkserver(self, wait=True):
        cs = StockChunkserver(self.harness, self.master,
                              extra_config=self.chunkserver_config)
        self.chunkservers.append(cs)
        cs.start()
        if wait:
            cs.wait_registered()
        return cs

    def wait_chunkservers(self):
        procs = [cs.proc for cs in self.chunkservers]
        self.master.wait_chunkservers(
            [cs.address for cs in self.chunkservers],
            diagnose=lambda: "\n".join(
                [f"--- {p.log_path}\n{p.log_tail()}" for p in procs]
                + [self.master.log_tails()]))

    def add_mount(self, **kwargs):
        if self.mount_options is not None:
            kwargs.setdefault("options", self.mount_options)
        m = Mount(self.harness, self.master, **kwargs)
        self.mounts.append(m)
        return m.start()

    @property
    def mount(self):
        """The first mount."""
        return self.mounts[0]

    def footprint(self):
        return self.harness.footprint()

    def teardown(self):
        self.harness.teardown()

    def __repr__(self):
        return (f"<Cluster {self.master!r} chunkservers={self.chunkservers}"
                f" mounts={self.mounts}>")
