"""mdscluster - a group of mdsd nodes behind a floating service address.

Each mdsd node runs in a network namespace of its own (netns.Netns: a veth
pair and a /30, claimed and cleaned up through the ledger); the nodes reach
each other through the host, as chunkserver namespaces do. Clients and
chunkservers know one address only, the VIP, which follows the leader:

    root ns:  mfsmount -H VIP          host route VIP/32 via <leader ns_addr>
    cs ns:    mfschunkserver MASTER_HOST = VIP   (POOL via the host)
    node ns:  mdsd, VIP/32 on its interface while it is the leader

The VIP is the inside address of a namespace of its own, the "parking"
namespace (nothing runs in it). So the host always has a route to the VIP:
the connected /30 of the parking veth, where a connection is refused at
once; the /32 through the leader is more specific and wins while it
exists. Traffic to the VIP can therefore never follow the host's default
route, also while no leader holds it (a partitioned node's host end down
takes its /32 with it). Every route and address made here belongs to a
veth or a namespace the ledger knows, so deleting the namespaces removes
all of them; the VIP's /30 is claimed like every other subnet.

The VIP moves by mdsd's MDS_NOTIFY_SCRIPT, a shell script written here for
each node (what keepalived's notify scripts do): mdsd runs `SCRIPT leader`
when it becomes leader and `SCRIPT follower` when it stops (and at start),
inside its own namespace, with MDS_NODE_ID, MDS_TERM and MDS_LEADER_ID set.
  leader    adds VIP/32 to the node's interface and, in the host namespace
            (nsenter --net=/proc/<pytest pid>/ns/net), replaces the host
            route VIP/32 by one via this node, unless a newer term already
            moved it (a state file holds the term and node of the last
            move; a late script of an old leader leaves it alone);
  follower  removes VIP/32 from the node's interface, and the host route if
            the last move was this node's.
All invocations of all nodes take one lock (flock) and append a line to
<cluster dir>/notify.log: start and end times, node, role, term, leader and
what was done; script_events() parses it (the timing of VIP moves).

A partition is the host end of a node's veth set down: the node reaches
nothing and nothing reaches it, but it can still run its notify script,
which can only move the host route (the route through a down link is
refused; the host's /32 via that node is gone with the link anyway).
Each node's /30 also has a low-priority host route into the parking
namespace, which drops what it gets: while a node is cut off, what its
peers send it is lost in silence, as in a real partition, instead of
following the host's default route out of the machine.

MdsCluster is a masters.Master: client_host is the VIP, cs_host_for()
names the VIP, mfscli() reaches the leader through it, so StockChunkserver
and Mount take it as their master unchanged. Operations on nodes:
start() (bootstrap, joins, VIP, chunkservers, mounts), join()/remove()/
transfer_leader(), leader(), wait_leader(), wait_vip(), kill(node)
(SIGKILL); on a node: start()/stop()/kill() (a restart keeps DATA_PATH),
pause()/resume() (SIGSTOP/SIGCONT), partition()/heal(), wipe(); and
digests(), wait_converged(), watch_failover() and pinned_mount() (a mount whose mfsmount runs inside one
node's namespace and talks to that node only: the minority side of a
partition). release() heals and resumes everything before the harness
tears down (a stopped process would make SIGTERM wait). check_alive()
raises if a node died without being killed or stopped (its exit status
named); diagnose() gives every node's status, the VIP route, the notify
log and the nodes' log tails, for failure messages.

A node's status is its own answer on the control port (see
MdsNode.status(): mdsctl status would also ask every other member in turn,
taking seconds whenever one is cut off or stopped); control commands
(bootstrap, join, remove, transfer-leader) go through mdsctl, run inside
the node's namespace.

bootstrap="mdsctl" (default) is the operator flow: node 1 starts with
MDS_BOOTSTRAP = 0 and `mdsctl bootstrap`, the others start empty and are
`mdsctl join`ed. bootstrap="config" leaves MDS_BOOTSTRAP at its default
(a new DATA_PATH makes a one-node group): every node is a group of its
own, for proving the topology and VIP moves with a single-node mdsd;
notify() runs a node's script by hand.
"""

import inspect
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from types import SimpleNamespace

from .masters import Master, START_TIMEOUT, mdsd_binary, tcp_accepts
from .mount import Mount
from .netns import POOL, ip
from .procs import HarnessError, stop_all, wait_for

MDSCTL_TIMEOUT = 5.0
STATUS_TIMEOUT = 2.0


def mdsctl_binary():
    return mdsd_binary().parent / "mdsctl"


NOTIFY_SCRIPT = r"""#!/bin/sh
# mdsd notify script of node {node} (written by mfsharness.mdscluster):
# moves the service address {vip} to the leader. See mdscluster.py.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
VIP={vip}
NS_IF={ns_if}
NS_ADDR={ns_addr}
HOST_IF={host_if}
NODE={node}
HOSTNET=/proc/{host_pid}/ns/net
STATE={state}
role=${{1:-}}
term=${{MDS_TERM:-0}}
t0=$(date +%s.%N)
exec 9>>{lock}
flock 9
sterm=0 snode=0
[ -r "$STATE" ] && read sterm snode < "$STATE"
case $role in
leader)
    ip addr replace "$VIP/32" dev "$NS_IF"
    ra=$?
    if [ "$term" -ge "$sterm" ]; then
        nsenter --net="$HOSTNET" ip route replace "$VIP/32" via "$NS_ADDR" dev "$HOST_IF"
        rc=$?
        [ $rc = 0 ] && echo "$term $NODE" > "$STATE"
        what="moved=$rc addr=$ra"
    else
        what="stale=$sterm/$snode addr=$ra"
    fi
    ;;
follower)
    ip addr del "$VIP/32" dev "$NS_IF" 2>/dev/null
    what="off=$?"
    if [ "$snode" = "$NODE" ]; then
        nsenter --net="$HOSTNET" ip route del "$VIP/32" via "$NS_ADDR" dev "$HOST_IF" 2>/dev/null
        what="$what unrouted=$?"
        echo "$sterm 0" > "$STATE"
    fi
    ;;
*)
    what="unknown-role"
    ;;
esac
echo "$t0 $(date +%s.%N) node=$NODE role=$role term=$term leader=${{MDS_LEADER_ID:-}} $what" >> {log}
"""


class ProtocolMismatch(Exception):
    pass


def control_call(host, port, request, timeout):
    body = json.dumps(request, separators=(",", ":")).encode()
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(struct.pack(">II", 10, len(body)) + body)
        head = b""
        while len(head) < 8:
            b = s.recv(8 - len(head))
            if not b:
                raise OSError("closed before answering")
            head += b
        mtype, length = struct.unpack(">II", head)
        if mtype != 11 or length > 1 << 24:
            raise ProtocolMismatch(f"answer type {mtype}, length {length}")
        data = b""
        while len(data) < length:
            b = s.recv(length - len(data))
            if not b:
                raise OSError("closed mid-answer")
            data += b
    try:
        answer = json.loads(data)
    except ValueError:
        raise ProtocolMismatch(f"answer not JSON: {data[:100]!r}")
    if not isinstance(answer, dict):
        raise ProtocolMismatch(f"answer not an object: {data[:200]!r}")
    return answer


# The same two definitions, as source for a probe run inside a namespace.
CONTROL_CALL_PY = "import json, socket, struct\n\n" + \
    inspect.getsource(ProtocolMismatch) + "\n" + inspect.getsource(control_call)


def _run(argv, timeout):
    try:
        return subprocess.run([str(a) for a in argv], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(
            e.cmd, 124, e.stdout or "", f"timed out after {timeout:g}s")


class MdsNode:
    """One mdsd of an MdsCluster, in its own namespace."""

    def __init__(self, cluster, node_id):
        self.cluster = cluster
        self.id = node_id
        self.name = f"{cluster.name}-n{node_id}"
        h = cluster.harness
        self.dir = h.path(cluster.name, f"n{node_id}")
        self.data_path = h.path(cluster.name, f"n{node_id}", "data")
        self.netns = h.netns()
        # Connections this node opens (to peers, to chunkservers) leave
        # from its own address, never from the VIP it may hold.
        ip("-n", self.netns.name, "route", "replace", str(POOL),
           "via", self.netns.host_addr, "src", self.netns.ns_addr)
        # While the node is partitioned (its host end down, and with it the
        # host's connected route to its /30), what other namespaces send it
        # must not follow the host's default route: this route takes over
        # and the parking namespace drops it (silence, as in a real
        # partition). It goes with the parking veth.
        parking = cluster.parking
        ip("route", "add", str(self.netns.network), "via", parking.ns_addr,
           "dev", parking.host_if, "metric", "4000")
        self.proc = None
        self.procs = []
        self.paused = False
        self.partitioned = False
        self.expected_down = False
        self.notify_path = self.dir / "notify.sh"
        self._write_script()

    # ---- configuration ----

    @property
    def addr(self):
        return self.netns.ns_addr

    @property
    def peer_address(self):
        return f"{self.addr}:{self.cluster.peer_port}"

    def _write_script(self):
        c = self.cluster
        self.notify_path.write_text(NOTIFY_SCRIPT.format(
            node=self.id, vip=c.vip, ns_if=self.netns.ns_if,
            ns_addr=self.addr, host_if=self.netns.host_if,
            host_pid=os.getpid(), state=c.dir / "vip.state",
            lock=c.dir / "vip.lock", log=c.notify_log))
        self.notify_path.chmod(0o755)

    def config(self):
        c = self.cluster
        keys = {
            "DATA_PATH": self.data_path,
            "EXPORTS_FILENAME": c.dir / "mfsexports.cfg",
            "TOPOLOGY_FILENAME": c.dir / "mfstopology.cfg",
            "MATOML_LISTEN_PORT": c.ml_port,
            "MATOCS_LISTEN_PORT": c.cs_port,
            "MATOCL_LISTEN_PORT": c.client_port,
            "WORKING_USER": "root",
            "WORKING_GROUP": "root",
            "MDS_LOG_LEVEL": os.environ.get("MDS_TEST_LOG_LEVEL", "info"),
            "MDS_NODE_ID": self.id,
            "MDS_PEER_LISTEN_HOST": "*",
            "MDS_PEER_LISTEN_PORT": c.peer_port,
            "MDS_PEER_ADDRESS": self.peer_address,
            "MDS_NOTIFY_SCRIPT": self.notify_path,
            "MDS_ELECTION_TIMEOUT_MS": c.election_timeout_ms,
            "MDS_HEARTBEAT_MS": c.heartbeat_ms,
        }
        if c.bootstrap_mode == "mdsctl":
            keys["MDS_BOOTSTRAP"] = 0
        keys.update(c.node_config)
        return keys

    def write_config(self):
        cfg = self.dir / "mdsd.cfg"
        cfg.write_text("".join(f"{k} = {v}\n" for k, v in self.config().items()))
        return cfg

    # ---- lifecycle ----

    def alive(self):
        return self.proc is not None and self.proc.alive()

    @property
    def running(self):
        """Alive and not stopped by SIGSTOP: it can answer mdsctl."""
        return self.alive() and not self.paused

    def start(self, timeout=START_TIMEOUT):
        if self.alive():
            raise HarnessError(f"{self.name} is already running")
        cfg = self.write_config()
        self.paused = False
        self.expected_down = False
        self.proc = self.cluster.harness.start(
            self.name, self.netns.exec_argv([mdsd_binary(), "-f", "-c", cfg,
                                             "start"]),
            cwd=self.data_path)
        self.procs.append(self.proc)
        self.cluster.procs.append(self.proc)

        def listening():
            if not self.proc.alive():
                raise HarnessError(f"{self.name} exited during startup:\n"
                                   f"{self.proc.log_tail()}")
            return self.listening()

        wait_for(listening, timeout, f"{self.name} to listen",
                 interval=0.05, diagnose=self.proc.log_tail)
        return self

    def listening(self):
        c = self.cluster
        port = c.client_port if c.bootstrap_mode == "config" else c.peer_port
        if not self.partitioned:
            return tcp_accepts(self.addr, port, timeout=0.5)
        probe = ("import socket,sys\n"
                 f"socket.create_connection(('{self.addr}', {port}), 0.5)\n")
        return _run(self.netns.exec_argv(["/usr/bin/python3", "-c", probe]),
                    5).returncode == 0

    def stop(self):
        """SIGTERM (after SIGCONT if paused); SIGKILL after the harness'
        stop timeout."""
        if self.proc is None:
            return
        self.expected_down = True
        if self.paused:
            self.resume()
        stop_all([self.proc])

    def kill(self):
        """SIGKILL, as in a crash. Returns the time.time() of the signal."""
        if not self.alive():
            raise HarnessError(f"{self.name} is not running")
        self.expected_down = True
        t = time.time()
        self.proc.signal(signal.SIGKILL)
        self.proc.wait_exit(10)
        self.proc.reap()
        self.paused = False
        return t

    def pause(self):
        self.proc.signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        if self.proc is not None:
            self.proc.signal(signal.SIGCONT)
        self.paused = False

    def partition(self):
        """Cuts the node off: the host end of its veth down."""
        ip("link", "set", self.netns.host_if, "down")
        self.partitioned = True

    def heal(self):
        ip("link", "set", self.netns.host_if, "up")
        self.partitioned = False

    def wipe(self):
        """Deletes DATA_PATH's contents (the node must be stopped)."""
        if self.alive():
            raise HarnessError(f"wipe {self.name}: it is running")
        shutil.rmtree(self.data_path)
        self.data_path.mkdir()

    # ---- mdsctl ----

    def mdsctl(self, *args, timeout=MDSCTL_TIMEOUT, check=True):
        """`mdsctl -H <this node> ARGS`, run inside the node's namespace (so
        it works while the node is partitioned). Returns CompletedProcess."""
        argv = self.netns.exec_argv([mdsctl_binary(), "-H", self.peer_address,
                                     *args])
        r = _run(argv, timeout)
        if check and r.returncode != 0:
            raise HarnessError(
                f"`mdsctl -H {self.peer_address} {' '.join(map(str, args))}`"
                f" failed ({r.returncode}): {r.stderr.strip()} "
                f"{r.stdout.strip()}")
        return r

    def status(self, timeout=STATUS_TIMEOUT):
        """This node's own status (what `mdsctl status -j` reports for the
        node asked: id, role, term, commit, applied, last, leader, members)
        as a dict, or None (the reason kept in self.last_status_error).

        mdsctl status also asks every other member, one after the other,
        with a timeout of at least a second each, so one partitioned or
        stopped member would make every call take seconds. The node's own
        answer is fetched here directly over the control port, with
        mdsctl's request framing (type 10, JSON {"op": "status"}; answer
        type 11, JSON), from the host, or from inside the namespace while
        the node is partitioned. If the framing is not what is expected,
        `mdsctl status -j` is used from then on."""
        if not self.running:
            self.last_status_error = "not running" if not self.alive() else "paused"
            return None
        if self.cluster.raw_status:
            try:
                if self.partitioned:
                    return self._status_inside(timeout)
                return control_call(self.addr, self.cluster.peer_port,
                                    {"op": "status"}, timeout)
            except ProtocolMismatch as e:
                self.cluster.raw_status = False
                self.cluster.raw_status_error = str(e)
            except (OSError, ValueError) as e:
                self.last_status_error = f"status: {e!r}"
                return None
        return self._status_mdsctl(timeout)

    def _status_inside(self, timeout):
        probe = (CONTROL_CALL_PY + "import json, sys\n"
                 f"print(json.dumps(control_call('{self.addr}', "
                 f"{self.cluster.peer_port}, {{'op': 'status'}}, {timeout})))\n")
        r = _run(self.netns.exec_argv(["/usr/bin/python3", "-c", probe]),
                 timeout + 5)
        if r.returncode != 0:
            if "ProtocolMismatch" in r.stderr:
                raise ProtocolMismatch(r.stderr.strip().splitlines()[-1])
            raise OSError(f"status inside {self.netns.name}: "
                          f"{r.stderr.strip().splitlines()[-1:]}")
        return json.loads(r.stdout)

    def _status_mdsctl(self, timeout):
        r = self.mdsctl("status", "-j", timeout=timeout + 10, check=False)
        if r.returncode != 0:
            self.last_status_error = f"rc {r.returncode}: {r.stderr.strip()} {r.stdout.strip()}"
            return None
        try:
            return json.loads(r.stdout)
        except ValueError:
            self.last_status_error = f"not JSON: {r.stdout[:300]!r}"
            return None

    def store_applied(self):
        """The applied index in the store file (`mdsctl info`): mdsd
        commits its store up to 10 ms after applying (5 ms once idle),
        so it can trail the index `status` reports."""
        r = _run([mdsctl_binary(), "info", self.data_path], 60)
        if r.returncode != 0:
            raise HarnessError(f"mdsctl info {self.data_path} failed "
                               f"({r.returncode}): {r.stderr.strip()}")
        for line in r.stdout.splitlines():
            if line.startswith("applied index "):
                return int(line.rsplit(" ", 1)[1])
        raise HarnessError(f"mdsctl info {self.data_path}: no applied index")

    def digest(self):
        r = _run([mdsctl_binary(), "digest", self.data_path], 120)
        if r.returncode != 0:
            raise HarnessError(f"mdsctl digest {self.data_path} failed "
                               f"({r.returncode}): {r.stderr.strip()}")
        return r.stdout.strip()

    def notify(self, role, term=1, leader=None):
        """Runs this node's notify script by hand, as mdsd would."""
        env = dict(os.environ, MDS_NODE_ID=str(self.id), MDS_TERM=str(term),
                   MDS_LEADER_ID=str(self.id if leader is None else leader))
        r = subprocess.run(self.netns.exec_argv([self.notify_path, role]),
                           env=env, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise HarnessError(f"{self.notify_path} {role} failed "
                               f"({r.returncode}): {r.stderr}")

    def has_vip(self):
        out = ip("-n", self.netns.name, "-j", "-4", "addr", "show", "dev",
                 self.netns.ns_if)
        return any(a.get("local") == self.cluster.vip
                   for i in json.loads(out) for a in i.get("addr_info", []))

    def log_tail(self, lines=40):
        return self.proc.log_tail(lines) if self.proc else "(never started)"

    def state_word(self):
        if self.proc is None:
            return "never started"
        if not self.alive():
            return "down" if self.expected_down else \
                f"DIED BY ITSELF ({self.exit_status()})"
        return "paused" if self.paused else "up"

    def exit_status(self):
        """How the process ended (it is reaped here), e.g. "signal 11"."""
        if self.proc is None or self.alive():
            return None
        self.proc.reap()
        rc = self.proc.returncode
        return f"signal {-rc}" if rc is not None and rc < 0 else f"exit {rc}"

    def died(self):
        """True if the process ended without kill()/stop() from here."""
        return self.proc is not None and not self.expected_down \
            and not self.alive()

    def __repr__(self):
        return f"<MdsNode {self.id} {self.addr} {self.state_word()}" \
               f"{' partitioned' if self.partitioned else ''}>"


class MdsCluster(Master):
    """mdsd nodes in namespaces, a VIP moved by their notify scripts,
    optional stock chunkservers (MASTER_HOST = VIP; in stock_chunkservers)
    and mounts (VIP)."""

    kind = "mdsd-ha"

    def __init__(self, harness, nodes=3, chunkservers=0, mounts=0,
                 bootstrap="mdsctl", node_config=None, chunkserver_config=None,
                 mount_options=None, election_timeout_ms=150, heartbeat_ms=30,
                 name=None):
        super().__init__(harness, name or harness.unique_name("mds"))
        if bootstrap not in ("mdsctl", "config"):
            raise ValueError(f"bootstrap={bootstrap!r}")
        self.bootstrap_mode = bootstrap
        self.raw_status = True         # see MdsNode.status()
        self.raw_status_error = None
        self.peer_port = harness.port()
        self.dir = harness.path(self.name)
        self.notify_log = self.dir / "notify.log"
        self.notify_log.touch()
        self.node_config = dict(node_config or {})
        self.chunkserver_config = chunkserver_config
        self.mount_options = mount_options
        self.election_timeout_ms = election_timeout_ms
        self.heartbeat_ms = heartbeat_ms
        self._want_chunkservers = chunkservers
        self._want_mounts = mounts
        # The parking namespace: its inside address is the VIP.
        self.parking = harness.netns()
        self.vip = self.parking.ns_addr
        self.nodes = [MdsNode(self, i + 1) for i in range(nodes)]
        self._write_exports()
        self.stock_chunkservers = []    # (chunkservers() is mfscli's list)
        self.mounts = []

    # ---- Master interface ----

    @property
    def client_host(self):
        return self.vip

    def cs_host_for(self, netns):
        return self.vip

    def _write_exports(self):
        rule = "rw,alldirs,admin,maproot=0:0"
        (self.dir / "mfsexports.cfg").write_text(
            f"127.0.0.1\t/\t{rule}\n127.0.0.1\t.\trw\n"
            f"{POOL}\t/\t{rule}\n{POOL}\t.\trw\n")
        (self.dir / "mfstopology.cfg").touch()

    def start(self, timeout=START_TIMEOUT):
        """Brings the group up (see bootstrap), waits for the VIP to reach
        the leader, then chunkservers and mounts."""
        if self.bootstrap_mode == "config":
            for n in self.nodes:
                n.start(timeout)
            if len(self.nodes) == 1:
                # A one-node group leads at once; an mdsd that does not run
                # MDS_NOTIFY_SCRIPT (yet) gets it run by hand.
                only = self.nodes[0]
                try:
                    self.wait_vip(3, node=only)
                except HarnessError:
                    only.notify("leader")
                    self.wait_vip(5, node=only)
        else:
            first = self.nodes[0]
            first.start(timeout)
            first.mdsctl("bootstrap")
            self.wait_leader(timeout, among=[first])
            for n in self.nodes[1:]:
                n.start(timeout)
                self.join(n)
            self.wait_members(timeout)
            self.wait_vip(timeout)
        for _ in range(self._want_chunkservers):
            self.add_chunkserver(wait=False)
        if self.stock_chunkservers:
            self.wait_chunkservers([cs.address for cs in self.stock_chunkservers],
                                   timeout, diagnose=self.diagnose)
        for _ in range(self._want_mounts):
            self.add_mount()
        return self

    def join(self, node, via=None):
        """`mdsctl join ID ADDRESS` sent to `via` (default: the leader, or
        node 1); mdsctl follows a "not leader" answer itself."""
        via = via or self.leader() or self.nodes[0]
        via.mdsctl("join", node.id, node.peer_address, timeout=30)

    def remove(self, node, via=None):
        via = via or self.leader() or next(n for n in self.nodes
                                           if n.running and n is not node)
        via.mdsctl("remove", node.id, timeout=30)

    def transfer_leader(self, to=None, via=None):
        via = via or self.leader()
        args = ["transfer-leader"] + ([to.id] if to is not None else [])
        via.mdsctl(*args, timeout=30)

    def stop(self):
        for n in self.nodes:
            n.stop()

    def kill(self, node=None):
        """SIGKILL of `node` (default: the leader); returns the time."""
        node = node or self.wait_leader()
        return node.kill()

    def add_chunkserver(self, wait=True):
        from .stock import StockChunkserver
        cs = StockChunkserver(self.harness, self,
                              extra_config=self.chunkserver_config)
        self.stock_chunkservers.append(cs)
        cs.start()
        if wait:
            cs.wait_registered()
        return cs

    def add_mount(self, **kwargs):
        if self.mount_options is not None:
            kwargs.setdefault("options", self.mount_options)
        m = Mount(self.harness, self, **kwargs)
        self.mounts.append(m)
        return m.start()

    def pinned_mount(self, node, **kwargs):
        """A stock mfsmount whose process runs in `node`'s namespace and
        connects to that node's own address (not the VIP); the FUSE mount
        is in the host's mount namespace like any other."""
        if self.mount_options is not None:
            kwargs.setdefault("options", self.mount_options)
        m = PinnedMount(self.harness, node, self.client_port, **kwargs)
        self.mounts.append(m)
        return m.start()

    @property
    def mount(self):
        return self.mounts[0]

    # ---- who leads ----

    def statuses(self, nodes=None):
        """{node id: status dict or None} of the running nodes, asked in
        parallel."""
        nodes = [n for n in (nodes or self.nodes) if n.running]
        out = {}

        def ask(n):
            out[n.id] = n.status()

        threads = [threading.Thread(target=ask, args=(n,)) for n in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return out

    def node(self, node_id):
        return next(n for n in self.nodes if n.id == node_id)

    def leader(self, among=None, min_term=0):
        """The running node that says it is leader with the highest term
        (at least min_term), or None."""
        best = None
        for nid, st in self.statuses(among).items():
            if st and st.get("role") == "leader" and st.get("term", 0) >= min_term:
                if best is None or st["term"] > best[1]:
                    best = (self.node(nid), st["term"])
        return best[0] if best else None

    def wait_leader(self, timeout=30, among=None, min_term=0, exclude=()):
        among = [n for n in (among or self.nodes) if n not in exclude]
        return wait_for(lambda: self.leader(among, min_term), timeout,
                        f"a leader among nodes {[n.id for n in among]}"
                        f" (term >= {min_term})",
                        interval=0.05, diagnose=self.diagnose)

    def vip_route(self):
        """The ns address the host routes the VIP to (None: the parking
        namespace, i.e. no leader holds it)."""
        routes = json.loads(ip("-j", "-4", "route", "show", "exact",
                               f"{self.vip}/32"))
        return routes[0].get("gateway") if routes else None

    def vip_node(self):
        gw = self.vip_route()
        return next((n for n in self.nodes if n.addr == gw), None)

    def wait_vip(self, timeout=30, node=None):
        """Waits until the host routes the VIP to `node` (default: the
        leader) and that node holds the VIP."""
        def routed():
            target = node or self.leader()
            return target is not None and self.vip_node() is target \
                and target.has_vip() and target
        return wait_for(routed, timeout, "the VIP to reach "
                        f"{'the leader' if node is None else node.name}",
                        interval=0.05, diagnose=self.diagnose)

    def wait_members(self, timeout=60, ids=None):
        """Waits until the leader lists every node (or `ids`) as a voter."""
        want = set(ids or (n.id for n in self.nodes))

        def all_voters():
            lead = self.leader()
            st = lead and lead.status()
            if not st:
                return False
            voters = {m["id"] for m in st.get("members", [])
                      if m.get("role") == "voter"}
            return want <= voters
        wait_for(all_voters, timeout, f"nodes {sorted(want)} to be voters",
                 interval=0.1, diagnose=self.diagnose)

    def wait_converged(self, timeout=60, nodes=None):
        """Waits until every running node (or `nodes`) is in the leader's
        term and has applied the leader's commit index. Returns the
        statuses."""
        nodes = [n for n in (nodes or self.nodes) if n.running]
        seen = {}

        def converged():
            sts = self.statuses(nodes)
            seen["last"] = sts
            if any(s is None for s in sts.values()):
                return False
            leaders = [s for s in sts.values() if s.get("role") == "leader"]
            if len(leaders) != 1:
                return False
            lead = leaders[0]
            return all(s.get("term") == lead["term"]
                       and s.get("applied") == lead["commit"]
                       for s in sts.values()) and sts

        return wait_for(converged, timeout,
                        f"nodes {[n.id for n in nodes]} to converge",
                        interval=0.1,
                        diagnose=lambda: f"last statuses: {seen.get('last')}\n"
                                         + self.diagnose())

    def digests(self, timeout=120, nodes=None):
        """{node id: `mdsctl digest`} of the running nodes, taken once all
        have applied the same index (and still had after the digests)."""
        nodes = [n for n in (nodes or self.nodes) if n.running]
        deadline = time.monotonic() + timeout
        while True:
            before = self.wait_converged(max(1, deadline - time.monotonic()),
                                         nodes)
            for n in nodes:     # the store files hold what was applied
                wait_for(lambda: n.store_applied() >= before[n.id]["applied"],
                         10, f"node {n.id}'s store file at applied index "
                         f"{before[n.id]['applied']}")
            digests = {n.id: n.digest() for n in nodes}
            after = self.statuses(nodes)
            if all(after.get(i) and after[i].get("applied") == before[i]["applied"]
                   for i in before):
                return digests
            if time.monotonic() > deadline:
                raise HarnessError(f"applied indexes kept moving: {before} "
                                   f"-> {after}")

    # ---- timing ----

    def watch_failover(self, old_term, since, timeout=30, among=None):
        """Polls the running nodes (`among`) with mdsctl status, each in a
        thread, until one is leader with a term above old_term.

        Returns {"detect": first time a node's term rose above old_term
        (an election timer fired: the failure was detected), "elected":
        first time a node said leader in a newer term, "leader": its node,
        "term": its term}; times are time.time() values at the end of the
        status call that saw them (resolution: one mdsctl call, ~10 ms)."""
        nodes = [n for n in (among or self.nodes) if n.running]
        found = {"detect": None, "elected": None, "leader": None, "term": None}
        lock = threading.Lock()
        done = threading.Event()
        deadline = time.time() + timeout

        def poll(n):
            while not done.is_set() and time.time() < deadline:
                st = n.status(timeout=1.0)
                t = time.time()
                if not st:
                    time.sleep(0.005)
                    continue
                with lock:
                    if st.get("term", 0) > old_term and found["detect"] is None:
                        found["detect"] = t
                    if st.get("role") == "leader" and st.get("term", 0) > old_term \
                            and found["elected"] is None:
                        found.update(elected=t, leader=n, term=st["term"])
                        done.set()

        threads = [threading.Thread(target=poll, args=(n,), daemon=True)
                   for n in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout + 5)
        done.set()
        if found["elected"] is None:
            raise HarnessError(f"no new leader (term > {old_term}) within "
                               f"{timeout:g}s of {since:.3f}\n" + self.diagnose())
        return found

    def script_events(self):
        """The notify log as dicts: t0, t1 (start and end, time.time()),
        node, role, term, leader, what."""
        events = []
        for line in self.notify_log.read_text().splitlines():
            f = line.split()
            if len(f) < 6:
                continue
            ev = {"t0": float(f[0]), "t1": float(f[1])}
            for kv in f[2:6]:
                k, _, v = kv.partition("=")
                ev[k] = v
            ev["node"] = int(ev["node"])
            ev["term"] = int(ev["term"] or 0)
            ev["what"] = " ".join(f[6:])
            events.append(ev)
        return events

    def vip_moved_at(self, node, term=None, since=0.0):
        """End time of the first `leader` script run of `node` (in `term`,
        if given) after `since` that moved the route; None if none."""
        for ev in self.script_events():
            if ev["role"] == "leader" and ev["node"] == node.id \
                    and ev["t1"] >= since and ev["what"].startswith("moved=0") \
                    and (term is None or ev["term"] == term):
                return ev["t1"]
        return None

    # ---- everything at once ----

    def release(self):
        """Heals, resumes and leaves processes for the harness to stop:
        called before the harness' teardown."""
        for n in self.nodes:
            if n.partitioned:
                try:
                    n.heal()
                except HarnessError:
                    pass
            if n.paused:
                n.resume()

    def check_alive(self):
        """Raises HarnessError if a node ended without being killed or
        stopped by the test (a crash), naming how it ended."""
        dead = [n for n in self.nodes if n.died()]
        if dead:
            raise HarnessError(
                "mdsd died by itself: " + ", ".join(
                    f"node {n.id} ({n.exit_status()})" for n in dead)
                + "\n" + self.diagnose())

    def diagnose(self, lines=25):
        """Statuses, the VIP route, the notify log and every node's log
        tail: appended to failure messages."""
        out = [f"VIP {self.vip} routed to {self.vip_route() or 'parking'};"
               f" nodes {self.nodes}"]
        for n in self.nodes:
            st = n.status() if n.running else None
            out.append(f"node {n.id}: {st if st else getattr(n, 'last_status_error', n.state_word())}")
        try:
            notify = self.notify_log.read_text().splitlines()[-15:]
        except OSError:
            notify = []
        out.append("--- notify.log (last 15)\n" + "\n".join(notify))
        for n in self.nodes:
            if n.proc is not None:
                out.append(f"--- {n.proc.log_path}\n{n.log_tail(lines)}")
        return "\n".join(out)

    def log_tails(self, lines=30):
        return self.diagnose(lines)

    def __repr__(self):
        return f"<MdsCluster VIP {self.vip}:{self.client_port} {self.nodes}>"


class PinnedMount(Mount):
    """A stock mfsmount run with `nsenter --net` in a node's namespace
    (the FUSE mount stays in the host's mount namespace) and connected to
    that node's address."""

    def __init__(self, harness, node, client_port, **kwargs):
        facade = SimpleNamespace(client_host=node.addr, client_port=client_port)
        super().__init__(harness, facade, **kwargs)
        self.node = node

    def argv(self):
        return ["nsenter", f"--net=/run/netns/{self.node.netns.name}",
                *super().argv()]


def vip_connect_via(cluster, timeout=1.0):
    """Connects to VIP:client port from the host; returns the host address
    the connection left from (which veth the route chose) or the error."""
    try:
        with socket.create_connection((cluster.vip, cluster.client_port),
                                      timeout=timeout) as s:
            return s.getsockname()[0]
    except OSError as e:
        return e

