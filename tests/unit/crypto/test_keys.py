"""A node's long-term key files."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.crypto.errors import KeyFileError
from gateway.crypto.keys import KEY_FILE_VERSION, KeyPair, KeyPurpose, NodeKeys
from gateway.errors import InvalidInputError


def counting_random(start: int = 1) -> Callable[[int], bytes]:
    state = {"next": start}

    def draw(length: int) -> bytes:
        value = bytes([state["next"]]) * length
        state["next"] += 1
        return value

    return draw


def test_first_load_creates_both_keys_with_mode_0600(tmp_path: Path) -> None:
    keys = NodeKeys.load_or_create(tmp_path / "keys", random_bytes=counting_random())

    for purpose, pair in ((KeyPurpose.HPKE, keys.hpke), (KeyPurpose.MASK, keys.mask)):
        path = tmp_path / "keys" / purpose.file_name
        content = path.read_bytes()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert content[0] == KEY_FILE_VERSION and content[1] == purpose.tag
        assert content[2:] == pair.private_key
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert keys.hpke.private_key != keys.mask.private_key


def test_second_load_returns_the_same_keys(tmp_path: Path) -> None:
    first = NodeKeys.load_or_create(tmp_path)
    second = NodeKeys.load_or_create(tmp_path, random_bytes=counting_random(99))
    assert first == second


def test_injected_randomness_makes_keys_deterministic(tmp_path: Path) -> None:
    a = NodeKeys.load_or_create(tmp_path / "a", random_bytes=counting_random())
    b = NodeKeys.load_or_create(tmp_path / "b", random_bytes=counting_random())
    assert a == b


def test_a_missing_key_is_created_and_the_other_kept(tmp_path: Path) -> None:
    first = NodeKeys.load_or_create(tmp_path)
    (tmp_path / KeyPurpose.MASK.file_name).unlink()

    second = NodeKeys.load_or_create(tmp_path)

    assert second.hpke == first.hpke and second.mask != first.mask


def test_a_group_readable_key_file_is_refused(tmp_path: Path) -> None:
    NodeKeys.load_or_create(tmp_path)
    os.chmod(tmp_path / KeyPurpose.HPKE.file_name, 0o640)
    with pytest.raises(KeyFileError, match="must have mode 0600, found 0640"):
        NodeKeys.load_or_create(tmp_path)


def test_swapped_key_files_are_refused(tmp_path: Path) -> None:
    NodeKeys.load_or_create(tmp_path)
    hpke, mask = (tmp_path / p.file_name for p in (KeyPurpose.HPKE, KeyPurpose.MASK))
    hpke_bytes = hpke.read_bytes()
    hpke.write_bytes(mask.read_bytes())
    mask.write_bytes(hpke_bytes)
    with pytest.raises(KeyFileError, match="is not a version-1 hpke key"):
        NodeKeys.load_or_create(tmp_path)


@pytest.mark.parametrize("content", [b"", b"\x01\x01" + bytes(31), b"\x02\x01" + bytes(32)])
def test_malformed_key_files_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / KeyPurpose.HPKE.file_name
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileError):
        NodeKeys.load_or_create(tmp_path)


def test_key_pair_checks_that_its_halves_belong_together() -> None:
    a, b = KeyPair.generate(), KeyPair.generate()
    with pytest.raises(InvalidInputError, match="does not match"):
        KeyPair(private_key=a.private_key, public_key=b.public_key)


def test_key_pair_repr_hides_the_private_key() -> None:
    pair = KeyPair.generate()
    assert pair.private_key.hex() not in repr(pair) and repr(pair.private_key) not in repr(pair)
