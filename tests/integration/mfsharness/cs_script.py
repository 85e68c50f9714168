"""cs_script - a chunkserver played by the test, frame by frame.

ScriptedChunkserver opens the master's chunkserver port from inside a
network namespace (a master refuses 127/8 chunkservers) and lets a test
send exactly the frames a stock 3.0.117 mfschunkserver sends, or frames no
chunkserver would send (out of order, malformed, garbage), and read what
the master answers. The socket is created in a helper thread that joined
the namespace with setns(2), so the test itself stays in the host
namespace. Formats: /work/shared/spec/moosefs-chunkserver-protocol.md.

    cs = ScriptedChunkserver(netns, master, port=23456)
    ack = cs.begin(total=10 << 30)          # MATOCS_MASTER_ACK fields
    cs.labels(0b101)
    cs.chunk_batch([(0x1001, 1), (0x1002, 3)])   # waits for the 1-byte ACK
    cs.end()
    ...
    cs.close()
"""

import ctypes
import hashlib
import os
import socket
import struct
import threading
import time

CLONE_NEWNET = 0x40000000

ANTOAN_NOP = 0
CSTOMA_REGISTER = 100
CSTOMA_SPACE = 101
CSTOMA_CHUNK_DAMAGED = 102
CSTOMA_CURRENT_LOAD = 103
MATOCS_MASTER_ACK = 104
CSTOMA_CHUNK_LOST = 105
CSTOMA_ERROR_OCCURRED = 106
CSTOMA_CHUNK_NEW = 107
CSTOMA_LABELS = 109

VERSION_3_0_117 = 0x000300EA


def socket_in_netns(netns_name):
    """A TCP socket living in the named network namespace."""
    out = {}

    def make():
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            fd = os.open(f"/run/netns/{netns_name}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns")
            finally:
                os.close(fd)
            out["sock"] = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        except Exception as e:  # reported in the caller's thread
            out["error"] = e

    t = threading.Thread(target=make)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["sock"]


class MasterClosed(Exception):
    """The master closed the connection."""


class ScriptedChunkserver:
    def __init__(self, netns, master, port, timeout=5.0):
        self.netns = netns
        self.master = master
        self.port = port
        self.sock = socket_in_netns(netns.name)
        self.sock.settimeout(timeout)
        self.sock.connect((master.cs_host_for(netns), master.cs_port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    @property
    def address(self):
        return (self.netns.ns_addr, self.port)

    # ---- frames -------------------------------------------------------------

    def send(self, type_, payload=b""):
        self.sock.sendall(struct.pack(">LL", type_, len(payload)) + payload)

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv(self, timeout=None):
        """The next frame from the master, NOPs included: (type, payload)."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        while True:
            if len(self.buf) >= 8:
                t, n = struct.unpack(">LL", self.buf[:8])
                if len(self.buf) >= 8 + n:
                    frame = (t, self.buf[8:8 + n])
                    self.buf = self.buf[8 + n:]
                    return frame
            data = self.sock.recv(65536)
            if not data:
                raise MasterClosed("master closed the connection")
            self.buf += data

    def recv_skip_nops(self, timeout=None):
        while True:
            t, p = self.recv(timeout)
            if t != ANTOAN_NOP:
                return t, p

    def closed_by_master(self, within=5.0):
        """True if the master closes the connection within `within` s (any
        frames it sends before are skipped)."""
        deadline = time.monotonic() + within
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.recv(timeout=left)
        except MasterClosed:
            return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    # ---- registration ---------------------------------------------------------

    def begin_payload(self, csid=0, timeout=0, used=0, total=0, chunks=0,
                      passcode=None, version=VERSION_3_0_117):
        p = struct.pack(">B", 60)
        if passcode is not None:
            p += passcode
        p += struct.pack(">LLHHHQQLQQL", version, 0, self.port, timeout, csid,
                         used, total, chunks, 0, 0, 0)
        return p

    def begin(self, **kw):
        """rver 60 BEGIN; returns the ACK's (atype, fields...)."""
        self.send(CSTOMA_REGISTER, self.begin_payload(**kw))
        return self.read_ack()

    def read_ack(self):
        t, p = self.recv_skip_nops()
        if t != MATOCS_MASTER_ACK:
            raise AssertionError(f"expected MASTER_ACK, got type {t}: {p.hex()}")
        if len(p) == 17:
            return struct.unpack(">BLHHQ", p)        # atype version timeout csid metaid
        if len(p) == 33:
            return (p[0], p[1:])                      # challenge
        return (p[0], p[1:])

    def answer_challenge(self, random, password, **kw):
        """Re-sends BEGIN with MD5(random[:16] password random[16:])."""
        digest = hashlib.md5(random[:16] + password + random[16:]).digest()
        self.send(CSTOMA_REGISTER, self.begin_payload(passcode=digest, **kw))
        return self.read_ack()

    def labels(self, mask):
        self.send(CSTOMA_LABELS, struct.pack(">L", mask))

    def chunk_batch(self, chunks, wait_ack=True):
        """rver 61 with (chunkid, version) pairs; waits for the 1-byte ACK."""
        p = struct.pack(">B", 61) + b"".join(
            struct.pack(">QL", cid, ver) for cid, ver in chunks)
        self.send(CSTOMA_REGISTER, p)
        if wait_ack:
            t, ack = self.recv_skip_nops()
            if (t, ack) != (MATOCS_MASTER_ACK, b"\x00"):
                raise AssertionError(f"expected the 1-byte ACK, got {t} {ack.hex()}")

    def end(self):
        self.send(CSTOMA_REGISTER, b"\x3e")

    def disconnect(self):
        self.send(CSTOMA_REGISTER, b"\x3f")

    # ---- reports ----------------------------------------------------------------

    def space(self, used, total, chunks=0, tdused=0, tdtotal=0, tdchunks=0):
        self.send(CSTOMA_SPACE, struct.pack(">QQLQQL", used, total, chunks,
                                            tdused, tdtotal, tdchunks))

    def load(self, load, hlstatus=1):
        self.send(CSTOMA_CURRENT_LOAD, struct.pack(">LB", load, hlstatus))

    def nop(self):
        self.send(ANTOAN_NOP)

    def chunk_new(self, chunks):
        self.send(CSTOMA_CHUNK_NEW, b"".join(struct.pack(">QL", c, v)
                                             for c, v in chunks))

    def chunk_lost(self, ids):
        self.send(CSTOMA_CHUNK_LOST, b"".join(struct.pack(">Q", c) for c in ids))

    def chunk_damaged(self, ids):
        self.send(CSTOMA_CHUNK_DAMAGED, b"".join(struct.pack(">Q", c)
                                                 for c in ids))

    def error_occurred(self):
        self.send(CSTOMA_ERROR_OCCURRED)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
