"""plugin - the pytest fixtures and hooks of the integration harness.

tests/integration/conftest.py imports everything from here; another test
tree (e.g. an inner pytest run by a test) can load it with
`-p mfsharness.plugin` and tests/integration on PYTHONPATH.

Fixtures (all function-scoped; everything is torn down after the test,
also when it fails or is interrupted):
  harness            Harness: the test's directory tree, ports, namespaces,
                     processes; teardown of all of it
  work_dir           Path: the test's directory (harness.root)
  free_port          () -> int: a TCP port claimed until teardown
  netns_factory      () -> Netns: a namespace with a veth pair and a /30
  master_kind        str: "stock" (default), or the kind a test is
                     parametrised with (indirect=True), or --mds-master
  master             a started Master of master_kind
  stock_master       a started StockMaster whatever master_kind is
  chunkserver_factory (master, **kw) -> a StockChunkserver, registered
  mount_factory      (master, **kw) -> a started Mount
  cluster_factory    (**kw) -> a started Cluster of master_kind
  cluster            cluster_factory(**kw of @pytest.mark.cluster(...))

Markers:
  @pytest.mark.cluster(chunkservers=1, mounts=1, ...)  shape of `cluster`
  @pytest.mark.deadline(seconds)  fail the test body after this long
                                  (default: ini mds_deadline, 300 s)

On failure, the report of the test gets one section per process with the
tail of its log. At session start, leftovers of dead runs are swept (see
ledger.py); SIGTERM to pytest is turned into KeyboardInterrupt, so it tears
down like Ctrl-C does.
"""

import os
import re
import shutil
import signal
import sys
import threading
from pathlib import Path

import pytest

from .cluster import MASTER_KINDS, Cluster
from .harness import Harness
from .ledger import sweep_dead_runs
from .mount import Mount
from .stock import StockChunkserver, StockMaster

__all__ = [
    "pytest_addoption", "pytest_configure", "pytest_runtest_call",
    "pytest_runtest_makereport",
    "harness", "work_dir", "free_port", "netns_factory", "master_kind",
    "master", "stock_master", "chunkserver_factory", "mount_factory",
    "cluster_factory", "cluster",
]

HARNESS_KEY = pytest.StashKey[Harness]()
DEFAULT_DEADLINE = 300.0
LOG_TAIL_LINES = 30


class DeadlineExceeded(Exception):
    """The test body ran longer than its deadline."""


def pytest_addoption(parser):
    group = parser.getgroup("mds", "mds integration harness")
    group.addoption("--mds-master", default="stock",
                    choices=sorted(MASTER_KINDS),
                    help="master kind for tests not parametrised over it")
    parser.addini("mds_deadline", "default per-test deadline in seconds",
                  default=str(DEFAULT_DEADLINE))


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "cluster(chunkservers=1, mounts=1, master_config=None, "
        "chunkserver_config=None, mount_options=None): shape of `cluster`")
    config.addinivalue_line(
        "markers", "deadline(seconds): fail the test body after this long")
    if os.geteuid() == 0:
        for line in sweep_dead_runs():
            sys.stderr.write(f"mfsharness: swept leftover: {line}\n")
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL):
        signal.signal(signal.SIGTERM, _raise_interrupt)


def _deadline(item):
    marker = item.get_closest_marker("deadline")
    if marker is not None:
        return float(marker.args[0])
    try:
        return float(item.config.getini("mds_deadline"))
    except ValueError:
        return DEFAULT_DEADLINE


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    seconds = _deadline(item)
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise DeadlineExceeded(f"test body ran longer than {seconds:g}s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    harness = item.stash.get(HARNESS_KEY, None)
    if harness is None:
        return
    for name, path, tail in harness.log_tails(LOG_TAIL_LINES):
        report.sections.append(
            (f"log tail ({report.when}): {name} [{path}]", tail))


def _require_root_tools():
    if os.geteuid() != 0:
        pytest.skip("integration tests need root (namespaces, FUSE mounts)")
    for tool in ("ip", "mfsmount", "fusermount3", "mfscli"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (make deps)")
    if not os.path.exists("/dev/fuse"):
        pytest.skip("/dev/fuse missing")


@pytest.fixture
def harness(request, tmp_path):
    _require_root_tools()
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    h = Harness(Path(tmp_path), name)
    request.node.stash[HARNESS_KEY] = h
    yield h
    h.teardown()


@pytest.fixture
def work_dir(harness):
    return harness.root


@pytest.fixture
def free_port(harness):
    return harness.port


@pytest.fixture
def netns_factory(harness):
    return harness.netns


@pytest.fixture
def master_kind(request):
    kind = getattr(request, "param", None) or \
        request.config.getoption("--mds-master", default="stock")
    reason = MASTER_KINDS[kind].available()
    if reason:
        pytest.skip(f"master kind {kind!r} unavailable: {reason}")
    return kind


@pytest.fixture
def master(harness, master_kind):
    return MASTER_KINDS[master_kind](harness).start()


@pytest.fixture
def stock_master(harness):
    reason = StockMaster.available()
    if reason:
        pytest.skip(reason)
    return StockMaster(harness).start()


@pytest.fixture
def chunkserver_factory(harness):
    def make(master, **kwargs):
        cs = StockChunkserver(harness, master, **kwargs).start()
        cs.wait_registered()
        return cs
    return make


@pytest.fixture
def mount_factory(harness):
    def make(master, **kwargs):
        return Mount(harness, master, **kwargs).start()
    return make


@pytest.fixture
def cluster_factory(harness, master_kind):
    def make(**kwargs):
        kwargs.setdefault("master_kind", master_kind)
        return Cluster(harness, **kwargs).start()
    return make


@pytest.fixture
def cluster(request, cluster_factory):
    marker = request.node.get_closest_marker("cluster")
    return cluster_factory(**(marker.kwargs if marker else {}))
