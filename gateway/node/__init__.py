"""Node processes: the bureau and member nodes, assembled from settings and run until signalled."""

from gateway.node.runtime import RunningNode, start_bureau, start_member

__all__ = ["RunningNode", "start_bureau", "start_member"]
