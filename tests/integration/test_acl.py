"""POSIX ACLs through a stock mfsmount, against the stock mfsmaster and
against mds, with the same expectations (differential).

An operator sets ACLs with setfacl, reads them with getfacl (package
`acl`), and checks who may open what as unprivileged users. mfsmount needs
no option for ACLs: the kernel hands system.posix_acl_* to it, and it turns
them into GETFACL/SETFACL. Files stay empty (no chunkservers), so "may
write" is checked by opening for writing without writing.

Where the stock master differs from a POSIX file system such as ext4, the
test says so and expects the stock behaviour from both masters:
  * setfacl -b (and any setfacl whose result has no named entries and no
    mask) leaves a minimal ACL stored: getfacl shows only user/group/other,
    but the ACL xattr still exists, so `ls -l` keeps its "+". A chmod then
    drops it. ext4 would store nothing.
  * ctime changes on SETFACL only when the mode bits change (ext4 always
    changes it).
"""

import errno
import os
import stat
import subprocess
import time

import pytest

BOTH = pytest.mark.parametrize("master_kind", ["stock", "mdsd"], indirect=True)

USER = 1000
OTHER_USER = 2000
ACL_XATTR = "system.posix_acl_access"


@pytest.fixture
def mnt(master, mount_factory):
    """The root of a fresh file system, mounted with a stock mfsmount."""
    return mount_factory(master).path


def as_user(mnt, argv, uid=USER, gid=None, groups=()):
    """Runs argv as an unprivileged user in directory mnt (paths relative to
    it: the test's own directories above the mount are root-only)."""
    gid = uid if gid is None else gid
    gopt = [f"--groups={','.join(map(str, groups))}"] if groups else ["--clear-groups"]
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", *gopt, *argv],
                          cwd=mnt, capture_output=True, text=True, timeout=60)


def can_read(mnt, path, **who):
    return as_user(mnt, ["cat", path], **who).returncode == 0


def can_write(mnt, path, **who):
    # Opens for appending and closes: no data, so no chunkserver needed.
    return as_user(mnt, ["sh", "-c", f": >> {path}"], **who).returncode == 0


def can_read_write(mnt, path, **who):
    return as_user(mnt, ["sh", "-c", f": <> {path}"], **who).returncode == 0


def run(mnt, *argv):
    r = subprocess.run(list(argv), cwd=mnt, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"{argv}: {r.stderr}"
    return r.stdout


def getfacl(mnt, path, *opts):
    """getfacl's entries (numeric ids, no header) as a list of lines."""
    out = run(mnt, "getfacl", "-n", "--omit-header", *opts, path)
    return [line for line in out.splitlines() if line]


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def has_acl_xattr(path):
    """What `ls -l` asks to decide on its "+"."""
    try:
        os.getxattr(path, ACL_XATTR)
        return True
    except OSError as e:
        assert e.errno == errno.ENODATA, e
        return False


def make_file(mnt, name, perms, owner=0):
    path = mnt / name
    path.touch()
    os.chmod(path, perms)
    if owner:
        os.chown(path, owner, owner)
    return path


@BOTH
def test_named_user_entry_lets_that_user_read(mnt):
    f = make_file(mnt, "f", 0o640)
    assert not has_acl_xattr(f)
    assert not can_read(mnt, "f")
    run(mnt, "setfacl", "-m", f"u:{USER}:r", "f")
    assert getfacl(mnt, "f") == [
        "user::rw-", f"user:{USER}:r--", "group::r--", "mask::r--", "other::---"]
    assert mode(f) == 0o640                       # group bits show the mask
    assert has_acl_xattr(f)
    assert can_read(mnt, "f")
    assert not can_write(mnt, "f")
    assert not can_read(mnt, "f", uid=OTHER_USER)
    r = as_user(mnt, ["cat", "f"], uid=OTHER_USER)
    assert "Permission denied" in r.stderr, r


@BOTH
def test_mask_limits_named_entries_and_follows_chmod(mnt):
    f = make_file(mnt, "f", 0o600)
    run(mnt, "setfacl", "-m", f"u:{USER}:rw", "f")
    assert mode(f) == 0o660
    assert can_read_write(mnt, "f")
    os.chmod(f, 0o640)                            # chmod sets the mask
    assert getfacl(mnt, "f") == [
        "user::rw-", f"user:{USER}:rw-\t#effective:r--", "group::---", "mask::r--",
        "other::---"]
    assert can_read(mnt, "f")
    assert not can_write(mnt, "f")
    os.chmod(f, 0o604)
    assert getfacl(mnt, "f", "-E") == [
        "user::rw-", f"user:{USER}:rw-", "group::---", "mask::---", "other::r--"]
    assert not can_read(mnt, "f")                 # masked out, though other may
    assert can_read(mnt, "f", uid=OTHER_USER)
    run(mnt, "setfacl", "-m", "m::rw", "f")
    assert mode(f) == 0o664
    assert can_read_write(mnt, "f")


@BOTH
def test_group_entries_are_judged_one_at_a_time(mnt):
    make_file(mnt, "g", 0o600)
    run(mnt, "setfacl", "-m", "g:1000:r,g:1001:w", "g")
    who = {"uid": 3000, "gid": 3000, "groups": (1000, 1001)}
    assert can_read(mnt, "g", **who)
    assert can_write(mnt, "g", **who)
    # POSIX.1e, and the stock master: r from one group entry and w from
    # another do not make rw.
    assert not can_read_write(mnt, "g", **who)
    assert not can_read(mnt, "g", uid=3000)       # in neither group: other


@BOTH
def test_default_acl_is_inherited_by_new_files_and_directories(mnt):
    d = mnt / "d"
    d.mkdir()
    os.chmod(d, 0o755)
    run(mnt, "setfacl", "-d", "-m", f"u:{USER}:rwx", "d")
    assert getfacl(mnt, "d") == [
        "user::rwx", "group::r-x", "other::r-x",
        "default:user::rwx", f"default:user:{USER}:rwx", "default:group::r-x",
        "default:mask::rwx", "default:other::r-x"]
    (d / "new").touch()                           # mode 0666, umask not applied
    assert getfacl(mnt, "d/new") == [
        "user::rw-", f"user:{USER}:rwx\t#effective:rw-", "group::r-x\t#effective:r--",
        "mask::rw-", "other::r--"]
    assert mode(d / "new") == 0o664
    assert can_write(mnt, "d/new")
    assert not can_write(mnt, "d/new", uid=OTHER_USER)
    os.mkdir(d / "sub", 0o750)
    assert getfacl(mnt, "d/sub") == [
        "user::rwx", f"user:{USER}:rwx\t#effective:r-x", "group::r-x", "mask::r-x",
        "other::---",
        "default:user::rwx", f"default:user:{USER}:rwx", "default:group::r-x",
        "default:mask::rwx", "default:other::r-x"]
    assert mode(d / "sub") == 0o750
    (d / "sub" / "deeper").touch()
    assert getfacl(mnt, "d/sub/deeper", "-E") == [
        "user::rw-", f"user:{USER}:rwx", "group::r-x", "mask::rw-", "other::r--"]
    run(mnt, "setfacl", "-k", "d")                # remove the default ACL
    assert getfacl(mnt, "d") == ["user::rwx", "group::r-x", "other::r-x"]
    (d / "plain").touch()
    assert getfacl(mnt, "d/plain") == ["user::rw-", "group::r--", "other::r--"]
    assert not has_acl_xattr(d / "plain")
    assert mode(d / "plain") == 0o644


@BOTH
def test_setfacl_b_removes_named_entries(mnt):
    f = make_file(mnt, "f", 0o640)
    run(mnt, "setfacl", "-m", f"u:{USER}:rw,g:1001:r", "f")
    assert can_read(mnt, "f")
    run(mnt, "setfacl", "-x", "g:1001", "f")
    assert getfacl(mnt, "f") == [
        "user::rw-", f"user:{USER}:rw-", "group::r--", "mask::rw-", "other::---"]
    run(mnt, "setfacl", "-b", "f")
    assert getfacl(mnt, "f") == ["user::rw-", "group::r--", "other::---"]
    assert mode(f) == 0o640
    assert not can_read(mnt, "f")
    # Stock: setfacl -b stores a minimal ACL, so the xattr (ls's "+")
    # remains until a chmod drops it. ext4 would drop it at once.
    assert has_acl_xattr(f)
    os.chmod(f, 0o600)
    assert not has_acl_xattr(f)
    assert getfacl(mnt, "f") == ["user::rw-", "group::---", "other::---"]


@BOTH
def test_only_the_owner_or_root_may_set_acls(mnt):
    make_file(mnt, "mine", 0o644, owner=USER)
    r = as_user(mnt, ["setfacl", "-m", f"u:{OTHER_USER}:rw", "mine"], uid=OTHER_USER)
    assert r.returncode != 0 and "not permitted" in r.stderr, r
    r = as_user(mnt, ["setfacl", "-m", f"u:{OTHER_USER}:rw", "mine"])
    assert r.returncode == 0, r.stderr
    assert can_read_write(mnt, "mine", uid=OTHER_USER)
    (mnt / "dd").mkdir()
    r = as_user(mnt, ["setfacl", "-d", "-m", f"u:{USER}:r", "dd"])
    assert r.returncode != 0 and "not permitted" in r.stderr, r


@BOTH
def test_setfacl_changes_ctime_only_when_the_mode_changes(mnt):
    # Stock behaviour (ext4 changes ctime on every ACL change).
    f = make_file(mnt, "f", 0o640)
    run(mnt, "setfacl", "-m", f"u:{USER}:r", "f")
    before = os.stat(f).st_ctime
    time.sleep(1.1)
    run(mnt, "setfacl", "-m", f"u:{OTHER_USER}:r", "f")   # mask stays r--
    assert os.stat(f).st_ctime == before
    run(mnt, "setfacl", "-m", "o::r", "f")                  # mode 0640 -> 0644
    assert os.stat(f).st_ctime > before
    assert mode(f) == 0o644
