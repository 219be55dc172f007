"""Test helpers for plugin authors (public API): the communicator contract suite and its fixtures.

``CommunicatorContract`` is a pytest test class: subclass it and provide a
``relay`` fixture (a connected :class:`hatchway.Relay`). The pytest plugin
:mod:`hatchway.testing.plugin` (loaded automatically) adds the
``hatchway_relay_for`` fixture.
"""
from .contract import (AWKWARD_NAMES, EXCLUDE_KEPT, EXCLUDE_PATTERNS, CommunicatorContract, make_exclude_tree,
                       make_tree, piped)

__all__ = ["AWKWARD_NAMES", "EXCLUDE_KEPT", "EXCLUDE_PATTERNS", "CommunicatorContract", "make_exclude_tree",
           "make_tree", "piped"]
