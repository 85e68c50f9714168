"""netns - network namespaces joined to the host by a veth pair.

mfschunkserver refuses a master on 127.x, so each chunkserver runs in its own
namespace and reaches the master through the host end of a veth pair:

    host: mdstXXXXXXh  10.213.a.b+1/30  <-->  mdstXXXXXXn  10.213.a.b+2/30 :netns mdstXXXXXX

Namespaces reach each other through the host (chunkservers talk to each
other in write chains and replication): each has a route to POOL via its
host end, and IPv4 forwarding is on for the host ends only.

Every /30 comes from POOL (override with MDST_NET_POOL) and is claimed in the
ledger under a host-wide lock, after checking that no address or route on the
host overlaps it; the name (mdst + 6 hex digits, so the interface names stay
within 15 characters) is claimed the same way. Anything named mdst* on a host
is ours. Deleting the host end of the pair deletes both ends; the namespace
is deleted after it, and only once the processes in it were stopped.
"""

import ipaddress
import json
import os
import random
import secrets
import subprocess

from .ledger import ledger
from .procs import HarnessError

PREFIX = "mdst"
POOL = ipaddress.ip_network(os.environ.get("MDST_NET_POOL", "10.213.0.0/16"))
IP_TIMEOUT = 20


def ip(*args, check=True):
    """Runs `ip ARGS`; returns stdout. Raises HarnessError on failure."""
    argv = ["ip", *args]
    r = subprocess.run(argv, capture_output=True, text=True,
                       timeout=IP_TIMEOUT)
    if check and r.returncode != 0:
        raise HarnessError(f"`{' '.join(argv)}` failed ({r.returncode}): "
                           f"{r.stderr.strip()}")
    return r.stdout


def netns_names():
    """Names of all network namespaces on the host (`ip netns list`)."""
    return {line.split()[0] for line in ip("netns", "list").splitlines()
            if line.strip()}


def host_links():
    """Names of all network interfaces in the host namespace."""
    return {link["ifname"] for link in json.loads(ip("-j", "link", "show"))}


def _host_networks():
    nets = []
    for iface in json.loads(ip("-j", "-4", "addr", "show")):
        for a in iface.get("addr_info", []):
            nets.append(ipaddress.ip_network(
                f"{a['local']}/{a['prefixlen']}", strict=False))
    for route in json.loads(ip("-j", "-4", "route", "show", "table", "all")):
        dst = route.get("dst")
        if dst and dst != "default":
            try:
                nets.append(ipaddress.ip_network(dst, strict=False))
            except ValueError:
                pass
    return nets


class Netns:
    """A network namespace with a veth pair and one /30 subnet.

    host_addr is the address of the host end (what processes inside use to
    reach the host, e.g. as MASTER_HOST); ns_addr the address inside.
    """

    def __init__(self, name, network):
        self.name = name
        self.network = network
        self.host_if = f"{name}h"
        self.ns_if = f"{name}n"
        hosts = list(network.hosts())
        self.host_addr = str(hosts[0])
        self.ns_addr = str(hosts[1])
        self.deleted = False

    @classmethod
    def create(cls):
        led = ledger()
        with led.lock():
            name = cls._pick_name(led)
            network = cls._pick_network(led)
            ns = cls(name, network)
            led.add_netns(name)
        try:
            ns._build()
        except BaseException:
            ns.delete()
            raise
        return ns

    @staticmethod
    def _pick_name(led):
        taken = netns_names() | host_links()
        for _ in range(100):
            name = PREFIX + secrets.token_hex(3)
            if name not in taken and f"{name}h" not in taken \
                    and led.claim(f"name-{name}"):
                return name
        raise HarnessError("no free namespace name")

    @staticmethod
    def _pick_network(led):
        used = _host_networks()
        blocks = POOL.num_addresses // 4
        for _ in range(1000):
            base = POOL.network_address + 4 * random.randrange(blocks)
            net = ipaddress.ip_network(f"{base}/30")
            if any(net.overlaps(u) for u in used):
                continue
            if led.claim(f"net-{base}"):
                return net
        raise HarnessError(f"no free /30 in {POOL}")

    def _build(self):
        n, plen = self.name, self.network.prefixlen
        ip("netns", "add", n)
        ip("link", "add", self.host_if, "type", "veth",
           "peer", "name", self.ns_if, "netns", n)
        ip("addr", "add", f"{self.host_addr}/{plen}", "dev", self.host_if)
        ip("link", "set", self.host_if, "up")
        ip("-n", n, "addr", "add", f"{self.ns_addr}/{plen}", "dev", self.ns_if)
        ip("-n", n, "link", "set", self.ns_if, "up")
        ip("-n", n, "link", "set", "lo", "up")
        # Namespaces reach each other through the host (chunkserver to
        # chunkserver: write chains, replication): a route to the pool via
        # the host end, and forwarding switched on for the host end only
        # (the host-wide ip_forward is left alone; the setting goes with
        # the interface).
        ip("-n", n, "route", "add", str(POOL), "via", self.host_addr)
        with open(f"/proc/sys/net/ipv4/conf/{self.host_if}/forwarding",
                  "w") as f:
            f.write("1\n")

    def exec_argv(self, argv):
        """argv that runs `argv` inside the namespace (ip execs, same pid)."""
        return ["ip", "netns", "exec", self.name, *map(str, argv)]

    def pids(self):
        """Pids of the processes running inside the namespace."""
        if self.name not in netns_names():
            return []
        return [int(p) for p in ip("netns", "pids", self.name).split()]

    def delete(self):
        """Removes the veth pair and the namespace; releases the claims."""
        if self.deleted:
            return
        inside = self.pids()
        delete_netns(self.name)
        led = ledger()
        led.release(f"net-{self.network.network_address}")
        led.release(f"name-{self.name}")
        led.drop_netns(self.name)
        self.deleted = True
        if inside:
            raise HarnessError(f"namespace {self.name} deleted while pids "
                               f"{inside} still ran in it")

    def __repr__(self):
        return f"<Netns {self.name} {self.host_addr}<->{self.ns_addr}>"


def delete_netns(name):
    """Deletes veth `name`h and namespace `name`; True if either existed."""
    existed = False
    if f"{name}h" in host_links():
        ip("link", "del", f"{name}h", check=False)
        existed = True
    if name in netns_names():
        ip("netns", "del", name, check=False)
        existed = True
    return existed
