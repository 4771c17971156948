"""The relay's SuperNode key pins: one key per member, registered again with a restarted SuperLink."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import PolicyDenied
from gateway.federation.node_keys import SuperNodeKeyPins


def test_a_pinned_key_is_registered_once_per_superlink_and_again_after_it_restarts(tmp_path: Path) -> None:
    registered: list[tuple[bytes, str]] = []
    superlink = {"pid": 100}
    pins = SuperNodeKeyPins(
        tmp_path, lambda key, name: registered.append((key, name)) or 1, generation=lambda: superlink["pid"]
    )

    pins.admit("bank-1", b"key-1")
    pins.admit("bank-1", b"key-1")  # the same SuperNode activating again: nothing to do
    superlink["pid"] = 101  # the SuperLink restarted with empty (in-memory) state
    pins.admit("bank-1", b"key-1")

    assert registered == [(b"key-1", "bank-1"), (b"key-1", "bank-1")]


def test_a_second_key_is_refused_even_by_a_new_relay(tmp_path: Path) -> None:
    SuperNodeKeyPins(tmp_path, lambda key, name: 1).admit("bank-1", b"key-1")
    again = SuperNodeKeyPins(tmp_path, lambda key, name: 1)

    with pytest.raises(PolicyDenied, match="different SuperNode key"):
        again.admit("bank-1", b"key-2")
