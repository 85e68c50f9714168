"""Sessions and exports through a stock mfsmount, against the stock
mfsmaster and mds with the same expectations: read-only exports, passwords,
subfolder mounts, exports reloaded under a live mount.
"""

import errno
import os
import signal
import subprocess
import time

import pytest

from mfsharness.mount import DEFAULT_OPTIONS
from mfsharness.procs import HarnessError

BOTH = pytest.mark.parametrize("master_kind", ["stock", "mdsd"], indirect=True)


def write_exports(master, *lines):
    (master.conf_path / "mfsexports.cfg").write_text("\n".join(lines) + "\n")


def reload_master(master):
    master.proc.signal(signal.SIGHUP)
    time.sleep(1.0)


def retry(fn, timeout=30.0):
    end = time.time() + timeout
    while True:
        try:
            return fn()
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.5)


@BOTH
def test_read_only_export_refuses_changes_with_erofs(master, mount_factory):
    rw = mount_factory(master).path
    (rw / "d").mkdir()
    write_exports(master, "127.0.0.1\t/\tro,maproot=0:0", "127.0.0.1\t.\trw")
    reload_master(master)
    ro = mount_factory(master).path
    with pytest.raises(OSError) as e:
        (ro / "x").mkdir()
    assert e.value.errno == errno.EROFS
    assert os.listdir(ro) == ["d"]


@BOTH
def test_exports_reload_applies_to_a_live_mount(master, mount_factory):
    mount = mount_factory(master)
    (mount.path / "before").mkdir()
    write_exports(master, "127.0.0.1\t/\tro,alldirs,maproot=0:0", "127.0.0.1\t.\trw")
    reload_master(master)

    def refused():
        try:
            (mount.path / f"x{time.time()}").mkdir()
        except OSError as e:
            if e.errno == errno.EROFS:
                return True
            raise
        raise OSError(errno.EAGAIN, "still writable")

    assert retry(refused)
    assert "before" in os.listdir(mount.path)
    assert mount.proc.alive(), "the mount should survive an exports reload"


@BOTH
def test_password_protected_export(master, mount_factory):
    write_exports(master, "127.0.0.1\t/\trw,alldirs,maproot=0:0,password=sesame",
                  "127.0.0.1\t.\trw")
    reload_master(master)
    with pytest.raises(HarnessError):
        mount_factory(master)                       # no password: refused
    with pytest.raises(HarnessError):
        mount_factory(master, options=[*DEFAULT_OPTIONS, "mfspassword=wrong"])
    m = mount_factory(master, options=[*DEFAULT_OPTIONS, "mfspassword=sesame"])
    (m.path / "in").mkdir()
    assert os.listdir(m.path) == ["in"]


@BOTH
def test_subfolder_mount_sees_the_subfolder_as_root(master, mount_factory):
    top = mount_factory(master).path
    (top / "exported" / "inner").mkdir(parents=True)
    (top / "outside").mkdir()
    sub = mount_factory(master, subfolder="/exported").path
    assert os.listdir(sub) == ["inner"]
    assert os.stat(sub).st_ino == 1
    (sub / "new").mkdir()
    assert sorted(os.listdir(top / "exported")) == ["inner", "new"]
    assert sorted(os.listdir(sub / "inner" / "..")) == ["inner", "new"]
