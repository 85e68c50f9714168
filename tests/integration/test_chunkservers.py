"""Chunkservers registering with the master, against the stock mfsmaster and
against mds with the same expectations (differential).

Stock mfschunkserver 3.0.117 processes (each in a network namespace) register
on the master's chunkserver port; what the master knows about them is read
the way an operator reads it, with `mfscli -SCS` (servers) and `mfscli -SIG`
(space and chunk copies). Where the stock chunkserver cannot be made to do
something (send a chunk list of our choosing, misbehave), a chunkserver
played by the test sends the frames (mfsharness.cs_script). File data
through chunkservers is not exercised here.

One difference is deliberate and not asserted: the "chunks" figure of
`mfscli -SIG` counts the stock master's chunk records (which outlive their
copies); mds counts chunks that have copies on record.
"""

import os
import signal
import socket
import struct
import time

import pytest

from mfsharness import StockChunkserver, wait_for
from mfsharness.cs_script import MasterClosed, ScriptedChunkserver

BOTH = pytest.mark.parametrize("master_kind", ["stock", "mdsd"], indirect=True)

GiB = 1 << 30
TD = 0x80000000


# ---- what mfscli shows ---------------------------------------------------------

def servers(master):
    """{(ip, port): fields} of `mfscli -SCS`; disconnected ones have
    'connected': False, csid and maintenance only."""
    found = {}
    for line in master.mfscli("-SCS").splitlines():
        label, _, rest = line.partition(":")
        f = rest.strip().split("\t")
        if label == "chunk servers":
            # ip port id labels version load maintenance chunks used total
            # mfr-status tdchunks tdused tdtotal
            found[(f[0], int(f[1]))] = dict(
                connected=True, csid=int(f[2]), labels=f[3], version=f[4],
                load=f[5], maintenance=f[6], chunks=int(f[7]),
                used=int(f[8]), total=int(f[9]))
        elif label == "Disconnected chunk servers":
            found[(f[0], int(f[1]))] = dict(connected=False, csid=int(f[2]),
                                            maintenance=f[3])
    return found


def info(master):
    """`mfscli -SIG` as {name: value}."""
    out = {}
    for line in master.mfscli("-SIG").splitlines():
        label, _, rest = line.partition(":")
        if label != "master info":
            continue
        name, _, value = rest.strip().partition("\t")
        out[name] = value
    return out


def copies(master):
    i = info(master)
    return int(i["all chunk copies"]), int(i["regular chunk copies"])


def wait_until(what, predicate, timeout=20.0):
    return wait_for(predicate, timeout, what, interval=0.2)


def connected(master, address):
    s = servers(master).get(tuple(address))
    return s is not None and s["connected"]


# ---- stock chunkservers ----------------------------------------------------------

@BOTH
def test_two_chunkservers_register_and_are_listed_with_their_space(cluster_factory):
    cluster = cluster_factory(chunkservers=2, mounts=0,
                              chunkserver_config={"LABELS": "A,C"})
    listed = servers(cluster.master)
    want = {cs.address for cs in cluster.chunkservers}
    assert set(listed) == want, f"expected {want} listed, got {listed}"
    for addr, s in listed.items():
        assert s["connected"], f"{addr} listed as disconnected: {s}"
        assert s["version"] == "3.0.117", s
        assert s["labels"] == "A,C", s
        assert s["total"] > 0 and 0 < s["used"] <= s["total"], s
        assert s["maintenance"] == "maintenance_off", s
    assert sorted(s["csid"] for s in listed.values()) == [1, 2], listed
    # The stock master sums the space once a second.
    total = sum(s["total"] for s in listed.values())
    wait_until(f"-SIG total space to be {total}",
               lambda: int(info(cluster.master)["total space"]) == total)
    avail = int(info(cluster.master)["avail space"])
    assert 0 < avail <= total, f"avail space {avail} of {total}"


@BOTH
@pytest.mark.cluster(chunkservers=1, mounts=0)
def test_a_stopped_chunkserver_leaves_the_list_and_returns_with_its_csid(cluster):
    cs = cluster.chunkservers[0]
    before = servers(cluster.master)[cs.address]
    cs.stop()      # SIGTERM: the chunkserver says goodbye (rver 63)
    wait_until(f"{cs.address} to be listed disconnected",
               lambda: not connected(cluster.master, cs.address), timeout=10)
    gone = servers(cluster.master)[cs.address]
    assert gone == dict(connected=False, csid=before["csid"],
                        maintenance="maintenance_temp_on"), gone
    wait_until("-SIG total space to be 0",
               lambda: int(info(cluster.master)["total space"]) == 0)

    cs.start()
    cs.wait_registered()
    back = servers(cluster.master)[cs.address]
    assert back["csid"] == before["csid"], f"csid {before['csid']} -> {back}"
    assert back["maintenance"] == "maintenance_off", back
    assert back["total"] > 0, back


@BOTH
@pytest.mark.cluster(chunkservers=2, mounts=0)
def test_a_frozen_chunkserver_times_out_and_comes_back(cluster):
    frozen, alive = cluster.chunkservers
    frozen.proc.signal(signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        time.sleep(5)
        assert connected(cluster.master, frozen.address), \
            "a chunkserver silent for 5 s was dropped (timeout is 10 s)"
        wait_until(f"{frozen.address} to time out",
                   lambda: not connected(cluster.master, frozen.address),
                   timeout=15)
        waited = time.monotonic() - stopped
        assert 8 <= waited <= 16, f"dropped after {waited:.1f} s, timeout is 10 s"
        listed = servers(cluster.master)
        assert listed[frozen.address]["maintenance"] == "maintenance_off", listed
        assert listed[alive.address]["connected"], listed
    finally:
        frozen.proc.signal(signal.SIGCONT)
    frozen.wait_registered()
    assert connected(cluster.master, alive.address)


@BOTH
def test_auth_code_admits_only_chunkservers_that_know_it(cluster_factory, harness):
    cluster = cluster_factory(chunkservers=1, mounts=0,
                              master_config={"AUTH_CODE": "mfstestpw"},
                              chunkserver_config={"AUTH_CODE": "mfstestpw"})
    master = cluster.master
    outsider = StockChunkserver(harness, master).start()
    wrong = StockChunkserver(harness, master,
                             extra_config={"AUTH_CODE": "guess"}).start()
    time.sleep(4)
    listed = servers(master)
    assert listed[cluster.chunkservers[0].address]["connected"], listed
    assert outsider.address not in listed, listed
    assert wrong.address not in listed, listed

    # The exchange itself, played by hand.
    ns = harness.netns()
    cs = ScriptedChunkserver(ns, master, port=23456)
    atype, rnd = cs.begin(total=GiB)
    assert atype == 3 and len(rnd) == 32, (atype, rnd)
    atype, version, timeout, csid, metaid = cs.answer_challenge(rnd, b"mfstestpw",
                                                                total=GiB)
    assert atype == 0 and csid > 0 and metaid != 0
    cs.end()
    bad = ScriptedChunkserver(ns, master, port=23457)
    atype, rnd = bad.begin()
    assert atype == 3
    bad.send(100, bad.begin_payload(passcode=b"\0" * 16))
    assert bad.closed_by_master(), "a wrong passcode was not refused"
    wait_until("the scripted chunkserver to be listed",
               lambda: connected(master, cs.address))
    cs.close()


# ---- chunkservers played by the test ------------------------------------------------

@BOTH
def test_reports_update_the_server_and_the_chunk_copies(master, harness):
    ns = harness.netns()
    cs = ScriptedChunkserver(ns, master, port=23456)
    atype, version, timeout, csid, metaid = cs.begin(used=GiB, total=10 * GiB)
    assert (atype, version, timeout, csid) == (0, 0x000300EA, 10, 1)
    assert metaid != 0
    cs.labels(0b11)
    cs.chunk_batch([(0x1001, 1), (0x1002, 1)])
    cs.chunk_batch([(0x1003, 1)])
    cs.end()
    cs.space(2 * GiB, 10 * GiB, chunks=7)
    cs.load(3)

    def shows(want):
        s = servers(master).get(cs.address, {})
        return all(s.get(k) == v for k, v in want.items())
    wait_until("the reports to show",
               lambda: shows(dict(labels="A,B", chunks=7, used=2 * GiB,
                                  total=10 * GiB, load="3")))
    assert copies(master) == (3, 3)

    cs.chunk_lost([0x1002, 0x9999])          # a chunk it never had: ignored
    cs.chunk_damaged([0x1003])
    cs.chunk_new([(0x1004, 1 | TD), (0x1001, 1)])   # and a repeat
    cs.nop()
    wait_until("lost, damaged and marked copies to count",
               lambda: copies(master) == (2, 1))

    cs.close()
    wait_until("the server to be listed disconnected",
               lambda: not connected(master, cs.address))
    wait_until("its copies to go with it", lambda: copies(master) == (0, 0))
    assert servers(master)[cs.address] == dict(connected=False, csid=1,
                                               maintenance="maintenance_off")

    # Back without its id file: same address, same csid; no copies yet.
    again = ScriptedChunkserver(ns, master, port=23456)
    assert again.begin(total=10 * GiB)[3] == 1
    again.end()
    wait_until("the server to be back", lambda: connected(master, cs.address))
    assert copies(master) == (0, 0)
    again.close()


@BOTH
def test_no_nop_before_the_ack_then_nops_every_third_of_the_timeout(master, harness):
    ns = harness.netns()
    cs = ScriptedChunkserver(ns, master, port=23456)
    with pytest.raises(socket.timeout):
        cs.recv(timeout=4)       # a NOP now would mean "old master" to a chunkserver
    cs.begin(total=GiB)
    cs.end()
    arrivals = []
    start = time.monotonic()
    while time.monotonic() - start < 8:
        cs.nop()
        try:
            t, p = cs.recv(timeout=1)
        except socket.timeout:
            continue
        assert (t, p) == (0, b""), f"expected NOP, got type {t} {p.hex()}"
        arrivals.append(time.monotonic() - start)
    assert 2 <= len(arrivals) <= 3, f"NOPs at {arrivals}, expected about every 3.3 s"
    cs.close()


@BOTH
@pytest.mark.cluster(chunkservers=1, mounts=0)
def test_misbehaving_links_are_closed_without_disturbing_registered_ones(
        cluster, harness):
    master = cluster.master
    good = cluster.chunkservers[0]
    before = servers(master)
    ns = harness.netns()
    port = 23456

    def scripted():
        nonlocal port
        port += 1
        return ScriptedChunkserver(ns, master, port=port)

    cases = {}
    c = scripted(); c.chunk_batch([(1, 1)], wait_ack=False); cases["chunks before BEGIN"] = c
    c = scripted(); c.end(); cases["END before BEGIN"] = c
    c = scripted(); c.space(1, 2); cases["SPACE before BEGIN"] = c
    c = scripted(); c.send(100, b"\x3c" + b"\0" * 10); cases["short BEGIN"] = c
    c = scripted(); c.send(100, c.begin_payload(timeout=5)); cases["timeout 5 s"] = c
    c = scripted(); c.send(9999, b"x"); cases["unknown type"] = c
    c = scripted(); c.begin(); c.end(); c.end(); cases["END twice"] = c
    c = scripted(); c.begin(); c.send(100, c.begin_payload()); cases["second BEGIN"] = c
    c = scripted(); c.begin(); c.send(101, b"\0" * 7); cases["malformed SPACE"] = c
    for what, c in cases.items():
        assert c.closed_by_master(), f"{what}: the master kept the link open"
        c.close()

    # The address of a chunkserver that is connected: refused, the
    # chunkserver keeps its link.
    c = ScriptedChunkserver(good.netns, master, port=good.port)
    with pytest.raises((MasterClosed, ConnectionResetError)):
        c.begin()
    c.close()

    for garbage in (b"GET / HTTP/1.0\r\n\r\n",                   # 790 MB frame
                    struct.pack(">LL", 12345, 100) + os.urandom(100),  # unknown type
                    struct.pack(">LL", 0xFFFFFFFF, 0xFFFFFFF0)):
        raw = socket.create_connection(("127.0.0.1", master.cs_port), timeout=5)
        raw.sendall(garbage)
        try:
            answer = raw.recv(100)
        except ConnectionResetError:
            answer = b""
        assert answer == b"", f"garbage {garbage[:16]!r} was answered: {answer!r}"
        raw.close()

    def state():
        s = servers(master)[good.address]
        return s["connected"], s["csid"]
    want = (True, before[good.address]["csid"])
    assert state() == want
    time.sleep(2)
    assert state() == want, "a registered chunkserver was disturbed"
    assert good.proc.alive()
