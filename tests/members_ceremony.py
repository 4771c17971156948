"""The members' secret for tests that use it (contact clearance): the real ceremony of issue #11.

Contact tags are keyed with the members-only secret; a test consortium gets it the way a real
one does: every member's node runs, and one member makes an epoch and hands it to the others
through the bureau (``gateway.node.ceremony.run_ceremony``). The nodes are stopped afterwards;
the secret stays in each member's ``keys/members-secret`` folder for the sessions that follow.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from gateway.clock import Clock, system_clock
from gateway.config import Settings
from gateway.node.ceremony import run_ceremony
from gateway.node.runtime import start_member
from gateway.node.session import member_session

# Witnesses co-sign every half second, so new keys become trusted quickly (tests/conftest.py).
QUICK_CHECKPOINTS = ("checkpoint_seconds = 5.0", "checkpoint_seconds = 0.5")


def quick_checkpoints(policies: Path) -> None:
    """Make a copied policies folder co-sign key-log checkpoints every half second."""
    path = policies / "transparency.toml"
    text = path.read_text(encoding="utf-8")
    assert QUICK_CHECKPOINTS[0] in text, f"{path} no longer holds {QUICK_CHECKPOINTS[0]!r}"
    path.write_text(text.replace(*QUICK_CHECKPOINTS), encoding="utf-8")


def hand_out_members_secret(members: Sequence[Settings], *, clock: Clock = system_clock) -> int:
    """Start every member's node, run the ceremony from the first, stop the nodes; the epoch made.

    The bureau named in the settings must be running. Generous deadlines: a loaded machine may
    take seconds to register a node and to co-sign the key log.
    """
    nodes = [start_member(settings, clock=clock) for settings in members]
    try:
        deadline = time.monotonic() + 60.0
        for node in nodes:
            assert node.link is not None
            assert node.link.registered.wait(max(0.1, deadline - time.monotonic())), node.settings.member_id
        with member_session(members[0], clock=clock) as session:
            epoch, delivered, failed = run_ceremony(session)
        assert (sorted(delivered), failed) == (sorted(s.member_id for s in members[1:]), [])
        return epoch
    finally:
        for node in nodes:
            node.stop()
