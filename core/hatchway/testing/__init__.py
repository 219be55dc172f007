"""Test helpers for communicator authors: the contract suite and its fixtures."""
from .contract import AWKWARD_NAMES, CommunicatorContract, make_tree, piped

__all__ = ["AWKWARD_NAMES", "CommunicatorContract", "make_tree", "piped"]
