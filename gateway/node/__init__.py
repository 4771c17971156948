"""Node processes: the bureau and member nodes, assembled from settings and run until signalled.

Start them with :func:`gateway.node.runtime.start_bureau` and :func:`gateway.node.runtime.start_member`.
"""
