"""A request re-sent after a lost connection: mdsd executes it once.

A stock mfsmount that loses its connection re-sends every unanswered
request, with the same msgid and the same bytes, on its next connection
(client protocol spec 5.4). These tests speak the protocol by hand to be
the mount in that moment: register, send a MKDIR (or RMDIR), drop the
connection without reading the reply, RECONNECT the session on a new
connection and send the very same bytes again.

mdsd answers the re-send with the original result (OK and the same
inode). The stock master executes it again and answers EEXIST (ENOENT for
the RMDIR): that is the behaviour mds improves on (docs/consistency.md,
"Retries after failover"), so the same test asserts each master's answer,
the stock one included, to show the difference is real and not an
artefact of the test.
"""

import socket
import struct
import time

import pytest

BOTH = pytest.mark.parametrize("master_kind", ["stock", "mdsd"], indirect=True)

REGISTER_BLOB = b"DjI1GAQDULI5d2YjA26ypc3ovkhjvhciTQVx3CS4nYgtBoUcsljiVpsErJENHaw0"
CLIENT_VERSION = 0x000300EA          # 3.0.117
REGISTER, NEWSESSION, RECONNECT = 400, 2, 3
LOOKUP, MKDIR, RMDIR = 406, 418, 422
STATUS_OK, STATUS_ENOENT, STATUS_EEXIST = 0, 3, 5
ROOT = 1


class RawMount:
    """One connection of a mount, spoken frame by frame."""

    def __init__(self, master):
        self.sock = socket.create_connection((master.client_host, master.client_port),
                                             timeout=10)

    def close(self):
        self.sock.close()

    def send(self, msgtype, payload):
        self.sock.sendall(struct.pack(">II", msgtype, len(payload)) + payload)

    def recv(self, want_type):
        """The next frame of want_type (NOPs the master sends are skipped)."""
        while True:
            mtype, length = struct.unpack(">II", self.sock.recv(8, socket.MSG_WAITALL))
            body = self.sock.recv(length, socket.MSG_WAITALL) if length else b""
            if mtype == 0:
                continue
            assert mtype == want_type, f"expected message {want_type}, got {mtype}: {body!r}"
            return body

    def register_new(self):
        info, path = b"/retry-probe\0", b"/\0"
        self.send(REGISTER, REGISTER_BLOB + bytes([NEWSESSION]) +
                  struct.pack(">II", CLIENT_VERSION, len(info)) + info +
                  struct.pack(">I", len(path)) + path)
        body = self.recv(REGISTER + 1)
        assert len(body) == 49, f"NEWSESSION: expected the 49-byte reply, got {body!r}"
        _, session, metaid = struct.unpack(">IIQ", body[:16])
        return session, metaid

    def reconnect(self, session, metaid):
        self.send(REGISTER, REGISTER_BLOB + bytes([RECONNECT]) +
                  struct.pack(">IIQ", session, CLIENT_VERSION, metaid))
        body = self.recv(REGISTER + 1)
        assert len(body) == 5 and body[4] == STATUS_OK, \
            f"RECONNECT of session {session}: expected status OK, got {body!r}"

    def request(self, msgtype, payload):
        self.send(msgtype, payload)
        return self.recv(msgtype + 1)


def name_request(msgid, parent, name, tail=b""):
    """msgid parent NAME ... uid GIDS: LOOKUP, RMDIR (and MKDIR with tail)."""
    return struct.pack(">IIB", msgid, parent, len(name)) + name + tail


def mkdir_bytes(msgid, name):
    # mode 0755, umask 022, uid 0, one gid (0), copysgid 1
    return name_request(msgid, ROOT, name, struct.pack(">HHIIIB", 0o755, 0o022, 0, 1, 0, 1))


def rmdir_bytes(msgid, name):
    return name_request(msgid, ROOT, name, struct.pack(">III", 0, 1, 0))


def lookup(observer, name):
    """The inode of name in the root, or None."""
    body = observer.request(LOOKUP, rmdir_bytes(99, name))
    if len(body) == 5:
        assert body[4] == STATUS_ENOENT, f"LOOKUP {name!r}: {body!r}"
        return None
    return struct.unpack(">I", body[4:8])[0]


def wait_until(what, predicate, timeout=10.0):
    end = time.time() + timeout
    while not predicate():
        assert time.time() < end, f"timed out waiting for {what}"
        time.sleep(0.05)


def status_or_inode(body):
    """(status, inode) of a MKDIR/RMDIR reply."""
    if len(body) == 5:
        return body[4], None
    return STATUS_OK, struct.unpack(">I", body[4:8])[0]


def send_and_lose_the_reply(master, session, metaid, payload_type, payload, done):
    """Sends the request on a new connection of the session and drops the
    connection once `done()` shows it was executed, reply unread."""
    conn = RawMount(master)
    conn.reconnect(session, metaid)
    conn.send(payload_type, payload)
    wait_until("the request to be executed", done)
    conn.close()


@BOTH
def test_mkdir_resent_after_a_lost_reply_is_executed_once(master, master_kind):
    observer = RawMount(master)
    observer.register_new()
    first = RawMount(master)
    session, metaid = first.register_new()
    request = mkdir_bytes(7, b"made-once")
    first.send(MKDIR, request)
    wait_until("the MKDIR to be executed", lambda: lookup(observer, b"made-once"))
    inode = lookup(observer, b"made-once")
    first.close()                                    # the reply is never read

    # The mount reconnects its session and re-sends the same bytes, the
    # first request with msgid 7 on the new connection.
    second = RawMount(master)
    second.reconnect(session, metaid)
    status, got = status_or_inode(second.request(MKDIR, request))
    if master_kind == "mdsd":
        assert (status, got) == (STATUS_OK, inode), \
            f"re-sent MKDIR: expected OK with inode {inode}, got status {status} inode {got}"
    else:
        # Stock executes it again: the application would see EEXIST for
        # its own successful mkdir.
        assert status == STATUS_EEXIST, f"stock master: expected EEXIST, got {status}"
    assert lookup(observer, b"made-once") == inode

    # On a live connection a reused msgid is a new request: the same bytes
    # again are executed again, on both masters.
    status, _ = status_or_inode(second.request(MKDIR, request))
    assert status == STATUS_EEXIST, f"MKDIR again on the same connection: got {status}"
    second.close()
    observer.close()


@BOTH
def test_rmdir_resent_after_a_lost_reply_is_executed_once(master, master_kind):
    observer = RawMount(master)
    observer.register_new()
    owner = RawMount(master)
    session, metaid = owner.register_new()
    status, inode = status_or_inode(owner.request(MKDIR, mkdir_bytes(3, b"gone-once")))
    assert status == STATUS_OK
    owner.close()

    request = rmdir_bytes(4, b"gone-once")
    send_and_lose_the_reply(master, session, metaid, RMDIR, request,
                            lambda: lookup(observer, b"gone-once") is None)

    again = RawMount(master)
    again.reconnect(session, metaid)
    status, got = status_or_inode(again.request(RMDIR, request))
    if master_kind == "mdsd":
        assert (status, got) == (STATUS_OK, inode), \
            f"re-sent RMDIR: expected OK with inode {inode}, got status {status} inode {got}"
    else:
        assert status == STATUS_ENOENT, f"stock master: expected ENOENT, got {status}"
    assert lookup(observer, b"gone-once") is None
    again.close()
    observer.close()


@pytest.mark.parametrize("master_kind", ["mdsd"], indirect=True)
def test_resent_request_with_other_bytes_is_a_new_request(master):
    observer = RawMount(master)
    observer.register_new()
    first = RawMount(master)
    session, metaid = first.register_new()
    first.send(MKDIR, mkdir_bytes(9, b"one"))
    wait_until("the MKDIR to be executed", lambda: lookup(observer, b"one"))
    first.close()

    second = RawMount(master)
    second.reconnect(session, metaid)
    # Same msgid, another name: executed, not answered from the record.
    status, got = status_or_inode(second.request(MKDIR, mkdir_bytes(9, b"two")))
    assert status == STATUS_OK and got == lookup(observer, b"two")
    assert got != lookup(observer, b"one")
    second.close()
    observer.close()
