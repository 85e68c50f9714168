"""Integration tests: real daemons, namespaces and FUSE mounts.

The fixtures and hooks live in mfsharness/plugin.py (its docstring lists
them); this file only makes them visible to the tests in this directory.
"""

from mfsharness.plugin import *  # noqa: F401,F403  (fixtures and hooks)
