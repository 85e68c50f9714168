"""harness - everything one test starts, and the teardown of all of it.

A Harness owns a test's directory tree (configs, data, disks, mountpoints,
logs/<process>.log), the ports and namespaces it claimed and every process
it started. Daemons, mounts and namespaces are created through it, so that
teardown() can undo them in a safe order whatever state the test left them
in: unmount (while chunkservers still take the flush), stop all processes
(SIGTERM together, then SIGKILL), delete namespaces, release claims.

teardown() is idempotent. footprint() names everything the test ever
created, so that a test can check afterwards that none of it is left.
"""

import json
import warnings
from dataclasses import asdict, dataclass, field

from .ledger import proc_alive
from .mount import is_mounted
from .netns import Netns, host_links, netns_names
from .ports import claim_port, release_port
from .procs import HarnessError, Proc, stop_all


class HarnessWarning(UserWarning):
    """Something in teardown that is worth a look but fails no test."""


@dataclass
class Footprint:
    """What a test created on the machine; leftovers() what still exists."""
    netns: list = field(default_factory=list)
    links: list = field(default_factory=list)
    mountpoints: list = field(default_factory=list)
    pids: list = field(default_factory=list)     # [pid, starttime] pairs

    def leftovers(self):
        found = []
        names = netns_names()
        found += [f"network namespace {n}" for n in self.netns if n in names]
        links = host_links()
        found += [f"link {l}" for l in self.links if l in links]
        found += [f"mount on {m}" for m in self.mountpoints if is_mounted(m)]
        found += [f"process {pid}" for pid, start in self.pids
                  if proc_alive(pid, start)]
        return found

    def to_json(self):
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text):
        return cls(**json.loads(text))


class Harness:
    def __init__(self, root, name):
        self.root = root
        self.name = name
        self.procs = []
        self.mounts = []
        self.namespaces = []
        self.ports = []
        self.torn_down = False
        self._names = {}

    def unique_name(self, base):
        """base1, base2, ...: names for directories, logs and processes."""
        n = self._names.get(base, 0) + 1
        self._names[base] = n
        return f"{base}{n}"

    def path(self, *parts):
        """A directory under the test's root (created)."""
        p = self.root.joinpath(*parts)
        p.mkdir(parents=True, exist_ok=True)
        return p

    def port(self):
        """A free TCP port, claimed against parallel runs until teardown."""
        p = claim_port()
        self.ports.append(p)
        return p

    def netns(self):
        """A new Netns, deleted at teardown."""
        ns = Netns.create()
        self.namespaces.append(ns)
        return ns

    def start(self, name, argv, cwd=None, env=None):
        """Starts `argv` as a tracked Proc logging to logs/<name>.log."""
        log = self.path("logs") / f"{name}.log"
        proc = Proc(name, argv, log, cwd=cwd, env=env)
        self.procs.append(proc)
        return proc.start()

    def add_mount(self, mount):
        self.mounts.append(mount)

    def log_tails(self, lines=30):
        """[(process name, log path, last lines)] for every log written."""
        seen, out = set(), []
        for p in self.procs:
            if p.log_path in seen:
                continue
            seen.add(p.log_path)
            out.append((p.name, p.log_path, p.log_tail(lines)))
        return out

    def footprint(self):
        return Footprint(
            netns=[n.name for n in self.namespaces],
            links=[i for n in self.namespaces for i in (n.host_if, n.ns_if)],
            mountpoints=[str(m.path) for m in self.mounts],
            pids=[[p.pid, p.starttime] for p in self.procs if p.pid])

    def teardown(self):
        if self.torn_down:
            return
        self.torn_down = True
        errors = []
        for m in reversed(self.mounts):
            try:
                m.unmount()
            except Exception as e:  # keep going: the rest must go too
                errors.append(f"unmount {m.path}: {e}")
        killed = stop_all(list(reversed(self.procs)))
        if killed:
            warnings.warn(HarnessWarning(
                f"{', '.join(killed)} ignored SIGTERM and needed SIGKILL"))
        for ns in reversed(self.namespaces):
            try:
                ns.delete()
            except Exception as e:
                errors.append(f"delete {ns.name}: {e}")
        for p in self.ports:
            release_port(p)
        if errors:
            raise HarnessError("teardown: " + "; ".join(errors))
