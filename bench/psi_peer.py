"""openmined-psi as an external peer: ECDH PSI cardinality between two parties, timed.

Runs inside its own virtualenv (``make bench`` creates ``.venv-psi``) because
openmined-psi pins an older protobuf than credgate's. Prints one JSON object:
``{size: seconds}`` for a client set of ``size`` against a server set of
``size`` with half the items in common. Standard library only, besides the peer.
"""

from __future__ import annotations

import json
import sys
import time

import private_set_intersection.python as psi  # type: ignore[import-not-found]


def run(size: int) -> float:
    """Seconds for setup, request, processing and cardinality at ``size`` items per side."""
    client_items = [f"subject-{i}" for i in range(size)]
    server_items = [f"subject-{i}" for i in range(size // 2, size + size // 2)]
    started = time.perf_counter()
    server = psi.server.CreateWithNewKey(True)
    client = psi.client.CreateWithNewKey(True)
    setup = server.CreateSetupMessage(1e-9, size, server_items, psi.DataStructure.GCS)
    request = client.CreateRequest(client_items)
    response = server.ProcessRequest(request)
    found = client.GetIntersectionSize(setup, response)
    seconds = time.perf_counter() - started
    assert found == size - size // 2, found
    return seconds


if __name__ == "__main__":
    print(json.dumps({size: run(int(size)) for size in sys.argv[1:]}))
