"""ports - free TCP ports that no parallel test run will also pick.

A port is taken by claiming "port-N" in the ledger (an O_EXCL file shared by
all runs on the host) and then checking that nothing listens on it, on
0.0.0.0 and therefore on any address. Ports come from below the kernel's
ephemeral range, so outgoing connections never sit on them.
"""

import random
import socket
from pathlib import Path

from .ledger import ledger
from .procs import HarnessError


def _port_range():
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range")
                  .read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    high = min(low, 32768) - 1
    return (15000, high) if high > 20000 else (40000, 60000)


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def claim_port():
    """Claims a free port for this run; release it with release_port()."""
    low, high = _port_range()
    led = ledger()
    for _ in range(500):
        port = random.randint(low, high)
        if not led.claim(f"port-{port}"):
            continue
        if port_is_free(port):
            return port
        led.release(f"port-{port}")
    raise HarnessError(f"no free TCP port found in {low}-{high}")


def release_port(port):
    ledger().release(f"port-{port}")
