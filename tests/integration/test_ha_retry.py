"""Exactly-once across a failover: the leader dies between commit and reply.

A stock mount re-sends an unanswered request, same msgid and bytes, to the
new leader after a failover (client protocol spec 5.4). Here the leader
commits a MKDIR (a majority has it, the followers applied it) but its reply
never reaches the client (a blackhole route in the leader's namespace for
the client's address: this kernel has no tc drop action), then it is
killed with SIGKILL. The client
RECONNECTs its session through the service address, now the new leader's,
and sends the very same bytes: mds answers with the original result (OK,
the same inode), where the stock master would execute it again and answer
EEXIST (test_retry.py shows that difference on a single master; the stock
master has no failover to test here).

mds only: a three-node cluster (mfsharness/mdscluster.py).
"""

import struct
import time

from mfsharness.netns import ip

from test_ha import ha  # noqa: F401  (the cluster fixture)
from test_retry import (CLIENT_VERSION, MKDIR, NEWSESSION, RECONNECT, REGISTER,
                        REGISTER_BLOB, STATUS_OK, RawMount, lookup, mkdir_bytes,
                        status_or_inode, wait_until)

STATUS_EPERM = 1


def resume(conn, session, metaid):
    """What stock mfsmount does on a new connection (spec 5.3.1): RECONNECT;
    on EPERM ("register again with this id": here because the client
    reaches the new leader from another address of this test's topology)
    NEWSESSION carrying the session id and metaid, which keeps the session
    and its open files."""
    conn.send(REGISTER, REGISTER_BLOB + bytes([RECONNECT]) +
              struct.pack(">IIQ", session, CLIENT_VERSION, metaid))
    body = conn.recv(REGISTER + 1)
    assert len(body) == 5, f"RECONNECT: unexpected reply {body!r}"
    if body[4] == STATUS_OK:
        return
    assert body[4] == STATUS_EPERM, f"RECONNECT of session {session}: status {body[4]}"
    info, path = b"/retry-probe\0", b"/\0"
    conn.send(REGISTER, REGISTER_BLOB + bytes([NEWSESSION]) +
              struct.pack(">II", CLIENT_VERSION, len(info)) + info +
              struct.pack(">I", len(path)) + path + struct.pack(">IQ", session, metaid))
    body = conn.recv(REGISTER + 1)
    assert len(body) == 49, f"NEWSESSION resuming {session}: got {body!r}"
    got = struct.unpack(">I", body[4:8])[0]
    assert got == session, f"resumed as session {got}, not {session}"


def applied(node):
    st = node.status()
    return st.get("applied", 0) if st else 0


def test_mkdir_committed_but_unanswered_when_the_leader_dies_is_answered_once(ha):  # noqa: F811
    c = ha.make(nodes=3, chunkservers=0, mounts=0)
    leader = c.wait_leader()
    c.wait_vip(30, node=leader)
    followers = [n for n in c.nodes if n is not leader]
    first = RawMount(c)
    session, metaid = first.register_new()

    old_term = leader.status()["term"]
    # The leader's answers to this client are lost from now on: the client
    # (root namespace) reaches the VIP from the host end of the leader's
    # veth, and the leader's namespace now drops what goes there.
    ip("-n", leader.netns.name, "route", "add", "blackhole",
       f"{leader.netns.host_addr}/32")

    request = mkdir_bytes(7, b"made-once")
    before = max(applied(n) for n in followers)
    first.send(MKDIR, request)
    # Committed: every follower applied it (a majority had it on disk).
    wait_until("the followers to apply the MKDIR",
               lambda: all(applied(n) > before for n in followers), timeout=20)
    leader.kill()
    first.close()

    new = c.wait_leader(30, among=followers, min_term=old_term + 1)
    c.wait_vip(30, node=new)
    # The mount's next connection: its session, then the same bytes.
    deadline = time.time() + 30
    while True:
        try:
            second = RawMount(c)
            resume(second, session, metaid)
            break
        except (OSError, AssertionError):
            assert time.time() < deadline, "could not reconnect the session"
            time.sleep(0.2)
    status, inode = status_or_inode(second.request(MKDIR, request))
    assert status == STATUS_OK, \
        f"the re-sent MKDIR: expected OK (the original result), got status {status}"

    observer = RawMount(c)
    observer.register_new()
    seen = lookup(observer, b"made-once")
    assert seen == inode, f"the reply names inode {inode}, the directory is {seen}"
    # A second re-send on yet another connection: the same answer.
    again = RawMount(c)
    resume(again, session, metaid)
    status2, inode2 = status_or_inode(again.request(MKDIR, request))
    assert (status2, inode2) == (STATUS_OK, inode), \
        "a second re-send on a new connection must get the same answer"
    for conn in (second, observer, again):
        conn.close()
