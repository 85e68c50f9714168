"""mfsharness - starts and stops real MooseFS processes for integration tests.

Modules, each one concern:
  ledger    what a run owns, on disk; claims; cleanup after crashed runs
  procs     daemons started by pid, stopped by pid; wait_for()
  ports     free TCP ports, unique across parallel runs
  netns     network namespaces with a veth pair and a /30 each
  masters   the Master interface (stock mfsmaster or mdsd) and the mdsd hook
  stock     stock mfsmaster and mfschunkserver
  cs_script a chunkserver played by the test, frame by frame (bad input too)
  mount     stock mfsmount
  harness   one test's resources and their teardown; Footprint
  cluster   master + chunkservers + mounts brought up together
  plugin    pytest fixtures and hooks (see its docstring for the API)
"""

from .cluster import MASTER_KINDS, Cluster
from .harness import Footprint, Harness
from .masters import ChunkserverInfo, ConfiguredMaster, Master, MdsdMaster
from .mount import Mount
from .netns import Netns
from .procs import HarnessError, Proc, wait_for
from .stock import StockChunkserver, StockMaster

__all__ = [
    "MASTER_KINDS", "ChunkserverInfo", "Cluster", "ConfiguredMaster",
    "Footprint", "Harness", "HarnessError", "Master", "MdsdMaster", "Mount",
    "Netns", "Proc", "StockChunkserver", "StockMaster", "wait_for",
]
