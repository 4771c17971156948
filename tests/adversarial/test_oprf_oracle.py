"""A member using the OPRF as an enumeration oracle (finding 8).

Before issue #11 the only limit was 600,000 evaluations a minute, kept in memory and
reset by a restart: the whole resident-ID space in about 78 days. Now each member's
evaluations are capped per day and per month at sizes derived from its book, persisted
in the bureau's store, with an alert near the cap.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.errors import RateLimited
from gateway.identifiers import resident_id_check_char
from gateway.identity.peer import Role
from gateway.identity.tls import TLSIdentity
from gateway.node.runtime import RunningNode, start_bureau
from gateway.node.tokeniser import RemoteTokeniser
from gateway.rpc.channel import open_channel
from gateway.store import open_store
from gateway.store.enums import TokenType
from gateway.store.repositories.audit import AuditLog

CAPS = [("default_book_size = 1000000", "default_book_size = 100")]  # daily cap 105, monthly 150


@pytest.fixture
def policies_dir(policies_copy: Callable[[dict[str, list[tuple[str, str]]]], Path]) -> Path:
    return policies_copy({"subject_check.toml": CAPS})


def ids(start: int, count: int) -> list[str]:
    bases = [f"11010519900307{n:03d}" for n in range(start, start + count)]
    return [base + resident_id_check_char(base) for base in bases]


def tokenise_at(address: str, member: RunningNode, values: list[str]) -> None:
    identity = TLSIdentity.from_settings(member.settings.tls)
    channel = open_channel(identity, address, peer_member_id="bureau", egress=None)
    try:
        RemoteTokeniser(channel).tokenise(TokenType.RESIDENT_ID, values)
    finally:
        channel.close()


def test_evaluations_are_capped_per_member_and_the_cap_survives_a_restart(
    bureau: RunningNode, start_members: Callable[..., RunningNode]
) -> None:
    member = start_members("bank-1", Role.BANK)
    tokenise_at(bureau.address, member, ids(0, 100))
    with pytest.raises(RateLimited, match="daily OPRF cap"):
        tokenise_at(bureau.address, member, ids(100, 10))

    settings = bureau.settings
    bureau.stop()
    restarted = start_bureau(settings)
    try:
        with pytest.raises(RateLimited, match="daily OPRF cap"):
            tokenise_at(restarted.address, member, ids(100, 10))
        store = open_store(settings.store_url)
        try:
            alerts = [e for e in AuditLog(store).entries() if e.action == "tokens.evaluate.cap_alert"]
        finally:
            store.close()
    finally:
        restarted.stop()

    assert [e.actor_member_id for e in alerts] == ["bank-1"]
